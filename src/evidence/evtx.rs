//! Native `.evtx` reading: Windows event logs become the same [`RawEvent`]s the JSON reader yields.
//!
//! The `evtx` crate renders each record as the JSON document `evtx_dump` writes (`Event.System`,
//! `Event.EventData`, attributes under `#attributes`), so a record takes exactly the EVTX-to-JSON
//! path of [`super::normalise`] and matches the same rules as its JSON conversion. An event's `line`
//! is its EVTX record number, so findings and matches point at a record.
//!
//! Hostile input: the file must be a regular file under [`ReadLimits::max_evtx_bytes`]; records are
//! parsed one 64 KiB chunk at a time (memory bounded by a chunk, whatever the file size); a corrupt
//! chunk or record is a non-fatal problem for that chunk or record, a file that is not EVTX at all
//! is a fatal one, and a panic inside the parser ends the file with a problem instead of the run.

use super::reader::{RawEvent, ReadLimits, ReadProblem};
use crate::diag::Code;
use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use std::collections::VecDeque;
use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

/// Problems reported per file at most before reading stops: a file of garbage chunks must not
/// bury the report (each problem is one line) nor spin through every byte of a huge file.
const MAX_PROBLEMS: usize = 100;

/// Whether `path` names an EVTX file (by extension, as Windows and every exporter name them).
pub fn is_evtx(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
}

/// What an event's `line` counts in `path`: EVTX record numbers or text lines.
pub fn unit(path: &Path) -> &'static str {
    if is_evtx(path) {
        "record"
    } else {
        "line"
    }
}

/// Iterator over the records of one EVTX file; yields problems in place, ends after a fatal one.
pub struct EvtxEvents {
    chunks: Option<IntoIterChunks<File>>,
    settings: Arc<ParserSettings>,
    limits: ReadLimits,
    pending: VecDeque<Result<RawEvent, ReadProblem>>,
    events: usize,
    problems: usize,
}

/// Opens an EVTX file already opened as a regular file (see [`crate::input::open_regular`]).
/// A file too large or without an EVTX header yields one fatal problem.
pub fn open(file: File, size: u64, limits: ReadLimits) -> EvtxEvents {
    let settings = Arc::new(ParserSettings::new().num_threads(1));
    let mut out = EvtxEvents {
        chunks: None,
        settings: Arc::clone(&settings),
        limits,
        pending: VecDeque::new(),
        events: 0,
        problems: 0,
    };
    if size > limits.max_evtx_bytes {
        let max = limits.max_evtx_bytes;
        out.fail(
            Code::EventLimit,
            format!("EVTX file larger than {max} bytes; not read"),
        );
        return out;
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        EvtxParser::from_read_seek(file).map(|p| p.with_configuration((*settings).clone()))
    }));
    match parsed {
        Ok(Ok(p)) => out.chunks = Some(p.into_chunks()),
        Ok(Err(e)) => out.fail(Code::EventSyntax, format!("not an EVTX file: {e}")),
        Err(_) => out.fail(
            Code::EventSyntax,
            "not an EVTX file: the parser failed".into(),
        ),
    }
    out
}

impl EvtxEvents {
    /// Queues a fatal problem after the records already read, and stops reading.
    fn fail(&mut self, code: Code, message: String) {
        self.chunks = None;
        self.pending.push_back(Err(ReadProblem {
            line: 0,
            code,
            message,
            fatal: true,
        }));
    }

    /// A corrupt chunk or record: reported, and reading goes on (up to [`MAX_PROBLEMS`]).
    fn note(&mut self, line: usize, message: String) {
        self.problems += 1;
        if self.problems > MAX_PROBLEMS {
            let msg =
                format!("more than {MAX_PROBLEMS} corrupt chunks or records; reading stopped");
            return self.fail(Code::EventSyntax, msg);
        }
        self.pending.push_back(Err(ReadProblem {
            line,
            code: Code::EventSyntax,
            message,
            fatal: false,
        }));
    }

    /// Parses the next chunk into `pending`; false when the file is done.
    fn next_chunk(&mut self) -> bool {
        let Some(chunks) = self.chunks.as_mut() else {
            return false;
        };
        let settings = Arc::clone(&self.settings);
        let step = catch_unwind(AssertUnwindSafe(|| {
            let data = chunks.next()?;
            Some(match data {
                Err(e) => vec![Err(format!("corrupt chunk: {e}"))],
                Ok(mut data) => match data.parse(settings) {
                    Err(e) => vec![Err(format!("corrupt chunk: {e}"))],
                    Ok(mut chunk) => chunk
                        .iter()
                        .map(|r| {
                            r.and_then(|r| r.into_json_value())
                                .map(|r| (r.event_record_id, r.data))
                                .map_err(|e| format!("corrupt record: {e}"))
                        })
                        .collect(),
                },
            })
        }));
        let records = match step {
            Ok(Some(records)) => records,
            Ok(None) => {
                self.chunks = None;
                return false;
            }
            Err(_) => {
                self.fail(
                    Code::EventSyntax,
                    "the EVTX parser failed on this file".into(),
                );
                return true;
            }
        };
        for r in records {
            if self.chunks.is_none() {
                break;
            }
            match r {
                Ok((id, value)) => self.push(id, value),
                Err(msg) => self.note(0, msg),
            }
        }
        true
    }

    fn push(&mut self, record: u64, value: serde_json::Value) {
        if self.events >= self.limits.max_events {
            let max = self.limits.max_events;
            let msg = format!("more than {max} events; reading of this file stopped");
            return self.fail(Code::EventLimit, msg);
        }
        self.events += 1;
        let line = usize::try_from(record).unwrap_or(usize::MAX);
        self.pending.push_back(Ok(RawEvent { line, value }));
    }
}

impl Iterator for EvtxEvents {
    type Item = Result<RawEvent, ReadProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if !self.next_chunk() && self.pending.is_empty() {
                return None;
            }
        }
    }
}
