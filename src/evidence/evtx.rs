//! Native `.evtx` reading: Windows event logs become the same [`RawEvent`]s the JSON reader yields.
//!
//! The `evtx` crate renders each record as the JSON document `evtx_dump` writes (`Event.System`,
//! `Event.EventData`, attributes under `#attributes`), so a record takes exactly the EVTX-to-JSON
//! path of [`super::normalise`]: a record is normalised exactly as its export would be. An event's
//! `line` is its EVTX record number, so findings and matches point at a record.
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

/// The format's fixed sizes: a 4 KiB file header, then 64 KiB chunks.
const FILE_HEADER_BYTES: u64 = 4096;
const CHUNK_BYTES: u64 = 65536;

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
    /// Why the file looks cut short, reported once its chunks are read.
    truncated: Option<String>,
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
        truncated: None,
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
        Ok(Ok(p)) => {
            out.truncated = truncation(size, p.header().chunk_count);
            out.chunks = Some(p.into_chunks());
        }
        Ok(Err(e)) => out.fail(Code::EventSyntax, format!("not an EVTX file: {e}")),
        Err(_) => out.fail(
            Code::EventSyntax,
            "not an EVTX file: the parser failed".into(),
        ),
    }
    out
}

/// Why a file of `size` bytes whose header announces `chunks` chunks was cut short, if it was: the
/// parser silently skips a partial chunk, so its records would vanish without a word.
fn truncation(size: u64, chunks: u16) -> Option<String> {
    let data = size.saturating_sub(FILE_HEADER_BYTES);
    let partial = data % CHUNK_BYTES;
    let announced = FILE_HEADER_BYTES + u64::from(chunks) * CHUNK_BYTES;
    if partial != 0 {
        Some(format!(
            "the file is truncated: its last chunk has {partial} of {CHUNK_BYTES} bytes and was \
             not read"
        ))
    } else if size < announced {
        Some(format!(
            "the file is truncated: {size} bytes, its header announces {chunks} chunk(s) \
             ({announced} bytes)"
        ))
    } else {
        None
    }
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
                Ok(mut data) => {
                    let h = &data.header;
                    let announced = h
                        .last_event_record_number
                        .checked_sub(h.first_event_record_number)
                        .map_or(0, |n| n.saturating_add(1));
                    match data.parse(settings) {
                        Err(e) => vec![Err(format!("corrupt chunk: {e}"))],
                        Ok(mut chunk) => {
                            let mut records: Vec<_> = chunk
                                .iter()
                                .map(|r| {
                                    r.and_then(|r| r.into_json_value())
                                        .map(|r| (r.event_record_id, r.data))
                                        .map_err(|e| format!("corrupt record: {e}"))
                                })
                                .collect();
                            let seen = records.len() as u64;
                            if seen < announced {
                                // The parser stops at a damaged record header without a word.
                                records.push(Err(format!(
                                    "damaged chunk: {seen} of the {announced} records its header \
                                     announces could be read"
                                )));
                            }
                            records
                        }
                    }
                }
            })
        }));
        let records = match step {
            Ok(Some(records)) => records,
            Ok(None) => {
                self.chunks = None;
                if let Some(why) = self.truncated.take() {
                    self.note(0, why);
                    return true;
                }
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
        self.pending.push_back(Ok(RawEvent {
            line,
            doc: super::reader::Doc::Tree(value.into()),
        }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(bytes: &[u8], limits: ReadLimits) -> Vec<Result<RawEvent, ReadProblem>> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        std::io::Seek::rewind(&mut f).unwrap();
        open(f, bytes.len() as u64, limits).collect()
    }

    /// A file header as the format lays it out (`ElfFile\0`, header size 128, version 3.1, block
    /// size 4096, `chunks` chunks), followed by `chunk`.
    fn with_header(chunks: u16, chunk: &[u8]) -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[..8].copy_from_slice(b"ElfFile\0");
        h[32..36].copy_from_slice(&128u32.to_le_bytes());
        h[36..38].copy_from_slice(&1u16.to_le_bytes());
        h[38..40].copy_from_slice(&3u16.to_le_bytes());
        h[40..42].copy_from_slice(&4096u16.to_le_bytes());
        h[42..44].copy_from_slice(&chunks.to_le_bytes());
        h.extend_from_slice(chunk);
        h
    }

    #[test]
    fn corrupt_bytes_are_problems_never_panics() {
        let mut chunk = vec![0u8; 65536];
        chunk[..8].copy_from_slice(b"ElfChnk\0");
        for (i, b) in chunk.iter_mut().enumerate().skip(8) {
            *b = (i.wrapping_mul(2_654_435_761) >> 13) as u8;
        }
        let cases: Vec<Vec<u8>> = vec![
            Vec::new(),
            b"not an event log".to_vec(),
            b"ElfFile\0".to_vec(),
            with_header(0, &[]),
            with_header(1, &[]),
            with_header(1, &chunk[..1000]),
            with_header(1, &chunk),
            with_header(u16::MAX, &chunk),
            vec![0xff; 70_000],
        ];
        for bytes in &cases {
            let items = read(bytes, ReadLimits::default());
            assert!(items.len() <= MAX_PROBLEMS + 2, "{}", items.len());
            if let Some(Err(p)) = items.last() {
                assert_eq!(p.code, Code::EventSyntax, "{}", p.message);
            }
        }
        // A header announcing a chunk the file does not hold: truncated, said once.
        let items = read(&with_header(1, &[]), ReadLimits::default());
        assert!(
            matches!(&items[..], [Err(p)] if !p.fatal && p.message.contains("truncated")),
            "{items:?}"
        );
        let items = read(&with_header(1, &chunk[..1000]), ReadLimits::default());
        assert!(items
            .iter()
            .any(|i| matches!(i, Err(p) if p.message.contains("truncated"))));
        // Not EVTX at all: one fatal problem, no event.
        let items = read(b"not an event log", ReadLimits::default());
        assert!(matches!(&items[..], [Err(p)] if p.fatal && p.at().is_none()));
    }

    #[test]
    fn a_file_over_the_cap_is_not_read() {
        let limits = ReadLimits {
            max_evtx_bytes: 10,
            ..ReadLimits::default()
        };
        let items = read(&with_header(0, &[]), limits);
        assert!(matches!(&items[..], [Err(p)] if p.fatal && p.code == Code::EventLimit));
    }

    #[test]
    fn evtx_is_known_by_extension() {
        assert!(is_evtx(Path::new("a/b.EVTX")) && is_evtx(Path::new("x.evtx")));
        assert!(!is_evtx(Path::new("x.json")) && !is_evtx(Path::new("evtx")));
        assert_eq!(
            (unit(Path::new("x.evtx")), unit(Path::new("x.jsonl"))),
            ("record", "line")
        );
    }
}
