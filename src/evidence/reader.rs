//! Streaming reader for event files: JSON Lines, one JSON object, a JSON array of objects, or
//! several JSON documents one after another (pretty-printed or not), all read the same way.
//!
//! Reading is one pass: lines are read one at a time and each byte goes through a small framing
//! state machine (bracket depth, inside a string or not) that only finds where a document ends; a
//! complete document is then parsed once. Re-parsing a growing buffer at every line made
//! pretty-printed input quadratic (a 700 KB event took minutes). Memory stays bounded by the
//! largest single event, whatever the file size, and a top-level array is entered rather than
//! parsed whole. Every event keeps the 1-based line where it starts, so a finding can point at it.
//! Limits (events per file, bytes per line, bytes per event) turn runaway input into a finding
//! instead of exhausting memory.
//!
//! Two problems only affect their own event and reading goes on: a number out of the `f64` range
//! (`1e400`) skips that event, since no finite value represents it and inventing one would change
//! what the rule sees; a duplicate key is reported and the last value kept, as every JSON parser
//! the events may come from does not agree on which one wins.

use super::tree::{parse, validate, Node};
use crate::diag::Code;
use std::collections::VecDeque;
use std::io::BufRead;

/// Limits on one event file; hitting one ends the file with a [`ReadProblem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Events read from one file at most.
    pub max_events: usize,
    /// Bytes in one line at most (a minified multi-megabyte line is a mistake or an attack).
    pub max_line_bytes: usize,
    /// Bytes one event may span (several lines for pretty-printed JSON).
    pub max_event_bytes: usize,
    /// Bytes of one `.evtx` file at most (read a chunk at a time; the cap bounds the time spent).
    pub max_evtx_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_events: 10_000_000,
            max_line_bytes: 1 << 20,
            max_event_bytes: 4 << 20,
            max_evtx_bytes: 1 << 30,
        }
    }
}

/// One JSON document read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// 1-based line where the document starts.
    pub line: usize,
    pub doc: Doc,
}

/// An event's document: parsed, or (see [`Events::defer_parsing`]) a line known to be JSON whose
/// tree is built by the thread that evaluates it.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    Tree(Node),
    Line(Box<str>),
}

impl RawEvent {
    /// The document as serde_json's value (tests and tools; the runner flattens the tree).
    pub fn value(&self) -> serde_json::Value {
        match &self.doc {
            Doc::Tree(n) => n.clone().into_value(),
            Doc::Line(text) => serde_json::from_str(text).unwrap_or_default(),
        }
    }

    /// The parsed document. A deferred line's problems are the reader's own: a duplicate key is
    /// noted and the event follows; a number out of range is noted and the event is skipped.
    pub fn into_tree(self, notes: &mut Vec<ReadProblem>) -> Option<Node> {
        let text = match self.doc {
            Doc::Tree(n) => return Some(n),
            Doc::Line(text) => text,
        };
        match parse(&mut serde_json::Deserializer::from_str(&text)) {
            Ok((node, duplicate)) => {
                notes.extend(duplicate.map(|key| duplicate_note(self.line, &key)));
                Some(node)
            }
            Err(e) => {
                notes.push(skipped_note(self.line, &e));
                None
            }
        }
    }
}

/// The note of an event whose key repeats (the event is read with the key's last value).
fn duplicate_note(line: usize, key: &str) -> ReadProblem {
    ReadProblem {
        line,
        code: Code::EventDuplicateKey,
        message: format!(
            "duplicate key \"{}\" in this event; the last value is used",
            shorten(key)
        ),
        fatal: false,
    }
}

/// The note of an event that is skipped: a number out of range (or, for a line validated before,
/// anything else the parser refuses).
fn skipped_note(line: usize, e: &serde_json::Error) -> ReadProblem {
    let (code, message) = if is_out_of_range(e) {
        let msg = format!(
            "number out of range (column {}); this event was skipped",
            e.column()
        );
        (Code::EventNumberOutOfRange, msg)
    } else {
        let msg = format!("not JSON (column {}); this event was skipped", e.column());
        (Code::EventSyntax, msg)
    };
    ReadProblem {
        line: line + e.line().saturating_sub(1),
        code,
        message,
        fatal: false,
    }
}

/// A problem in an event file: fatal ones end the file, the others concern one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProblem {
    /// 1-based line of the problem (EVTX: record number); 0 when it concerns no one line or record.
    pub line: usize,
    /// Fatal: `event_syntax` (not JSON), `event_limit` (a limit was hit) or `io_error`. Not fatal:
    /// `event_number_out_of_range` (the event is skipped) or `event_duplicate_key` (the event
    /// follows, with the last value of the key).
    pub code: Code,
    pub message: String,
    /// Reading of the file stopped here.
    pub fatal: bool,
}

/// Where the framing state machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// Between documents.
    Idle,
    /// Inside an object or array; the closing brackets due are in `EventReader::closers`.
    Nested { in_string: bool, escaped: bool },
    /// Inside a top-level string.
    Text { escaped: bool },
    /// Inside a top-level number or word, which ends at whitespace or punctuation.
    Bare,
}

/// Iterator over the events of one reader; yields problems in place, and after a fatal one ends.
pub struct EventReader<R> {
    input: R,
    limits: ReadLimits,
    frame: Frame,
    /// The document being framed; it starts at line `doc_line`.
    doc: Vec<u8>,
    doc_line: usize,
    /// Closing brackets due in the document, innermost last.
    closers: Vec<u8>,
    /// Next line number to read.
    next_line: usize,
    in_array: bool,
    /// Inside an array, a value was read and its `,` or `]` is still due.
    expect_separator: bool,
    events: usize,
    pending: VecDeque<Result<RawEvent, ReadProblem>>,
    done: bool,
    line_buf: Vec<u8>,
    /// Whole-line events are validated, not parsed ([`Events::defer_parsing`]).
    defer: bool,
}

impl ReadProblem {
    /// The line or record, when the problem has one.
    pub fn at(&self) -> Option<usize> {
        (self.line > 0).then_some(self.line)
    }
}

impl<R: BufRead> EventReader<R> {
    /// See [`Events::defer_parsing`].
    pub fn defer_parsing(mut self) -> Self {
        self.defer = true;
        self
    }

    pub fn new(input: R, limits: ReadLimits) -> Self {
        EventReader {
            input,
            limits,
            frame: Frame::Idle,
            doc: Vec::new(),
            doc_line: 1,
            closers: Vec::new(),
            next_line: 1,
            in_array: false,
            expect_separator: false,
            events: 0,
            pending: VecDeque::new(),
            done: false,
            line_buf: Vec::new(),
            defer: false,
        }
    }

    /// Queues a fatal problem after the events already read, and stops reading.
    fn fail(&mut self, line: usize, code: Code, message: String) {
        self.done = true;
        self.pending.push_back(Err(ReadProblem {
            line,
            code,
            message,
            fatal: true,
        }));
    }

    /// Reads and frames the next line; false at end of input.
    fn read_line(&mut self) -> bool {
        let mut line_buf = std::mem::take(&mut self.line_buf);
        line_buf.clear();
        // Read at most one byte past the limit so an endless line cannot fill memory.
        let cap = self.limits.max_line_bytes as u64 + 1;
        let line = self.next_line;
        let n = match std::io::Read::take(&mut self.input, cap).read_until(b'\n', &mut line_buf) {
            Ok(n) => n,
            Err(e) => {
                self.fail(line, Code::IoError, format!("cannot read: {e}"));
                return false;
            }
        };
        if n == 0 {
            self.line_buf = line_buf;
            return false;
        }
        let content = line_buf.strip_suffix(b"\n").unwrap_or(&line_buf);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.len() > self.limits.max_line_bytes {
            let max = self.limits.max_line_bytes;
            let msg = format!("line longer than {max} bytes; reading of this file stopped");
            self.fail(line, Code::EventLimit, msg);
        } else if let Ok(text) = std::str::from_utf8(&line_buf) {
            let text = match line {
                1 => text.strip_prefix('\u{feff}').unwrap_or(text),
                _ => text,
            };
            if !self.whole_line(text, line) {
                self.frame_bytes(text.as_bytes(), line);
            }
        } else {
            self.fail(line, Code::EventSyntax, "not valid UTF-8".into());
        }
        self.next_line += 1;
        self.line_buf = line_buf;
        true
    }

    /// Runs the framing state machine over one line's bytes.
    fn frame_bytes(&mut self, bytes: &[u8], line: usize) {
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if self.done {
                return;
            }
            i += 1;
            match self.frame {
                Frame::Idle => self.idle_byte(b, line),
                Frame::Nested { .. } => {
                    // A run of bytes at once, never past the byte that breaks the event limit,
                    // so the limit is reported exactly where the byte-wise machine would.
                    let room = (self.limits.max_event_bytes + 1).saturating_sub(self.doc.len());
                    let end = bytes.len().min(i - 1 + room.max(1));
                    let used = self.nested_run(&bytes[i - 1..end]);
                    self.doc.extend_from_slice(&bytes[i - 1..i - 1 + used]);
                    i += used - 1;
                    if self.frame == Frame::Idle {
                        self.finish_doc();
                    }
                }
                Frame::Text { escaped } => {
                    self.doc.push(b);
                    if escaped {
                        self.frame = Frame::Text { escaped: false };
                    } else if b == b'\\' {
                        self.frame = Frame::Text { escaped: true };
                    } else if b == b'"' {
                        self.finish_doc();
                    }
                }
                Frame::Bare if ends_bare(b) => {
                    self.finish_doc();
                    if !self.done {
                        self.idle_byte(b, line);
                    }
                }
                Frame::Bare => self.doc.push(b),
            }
            if self.doc.len() > self.limits.max_event_bytes && !self.done {
                self.too_long();
            }
        }
    }

    /// A byte between documents: array punctuation, whitespace, or the start of a document.
    fn idle_byte(&mut self, b: u8, line: usize) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => return,
            b'[' if !self.in_array => {
                self.in_array = true;
                self.expect_separator = false;
                return;
            }
            b',' if self.in_array && self.expect_separator => {
                self.expect_separator = false;
                return;
            }
            b']' if self.in_array => {
                self.in_array = false;
                self.expect_separator = false;
                return;
            }
            _ => {}
        }
        if self.in_array && self.expect_separator {
            let msg = "expected `,` or `]` between array elements".into();
            return self.fail(line, Code::EventSyntax, msg);
        }
        self.doc.clear();
        self.doc.push(b);
        self.doc_line = line;
        self.frame = match b {
            b'{' | b'[' => {
                self.closers.clear();
                self.closers.push(if b == b'{' { b'}' } else { b']' });
                Frame::Nested {
                    in_string: false,
                    escaped: false,
                }
            }
            b'"' => Frame::Text { escaped: false },
            _ if ends_bare(b) => {
                // Stray punctuation: a one-byte document the parser rejects with a clear message.
                self.finish_doc();
                return;
            }
            _ => Frame::Bare,
        };
    }

    /// Parses the framed document and queues the event or the problem.
    fn finish_doc(&mut self) {
        self.frame = Frame::Idle;
        let mut de = serde_json::Deserializer::from_slice(&self.doc);
        match parse(&mut de) {
            Ok((value, duplicate)) => self.accept(Doc::Tree(value), duplicate),
            Err(e) => self.parse_error(&e),
        }
    }

    /// JSON Lines fast path: a line that is one whole object, outside an array, is parsed where it
    /// is, without framing or copying it. False when the line is anything else or does not parse:
    /// the framing then reads it and reports its problems exactly as for any other input.
    fn whole_line(&mut self, text: &str, line: usize) -> bool {
        if self.frame != Frame::Idle || self.in_array || self.done {
            return false;
        }
        let t = text.trim_matches([' ', '\t', '\r', '\n']);
        if !(t.starts_with('{') && t.ends_with('}')) || t.len() > self.limits.max_event_bytes {
            return false;
        }
        if self.defer {
            // Validated only: the evaluating thread builds (and frees) the tree.
            if validate(&mut serde_json::Deserializer::from_str(t)).is_err() {
                return false;
            }
            self.doc_line = line;
            self.accept(Doc::Line(t.into()), None);
            return true;
        }
        let Ok((value, duplicate)) = parse(&mut serde_json::Deserializer::from_str(t)) else {
            return false;
        };
        self.doc_line = line;
        self.accept(Doc::Tree(value), duplicate);
        true
    }

    /// Queues a parsed document (and its duplicate-key note), or the event limit.
    fn accept(&mut self, doc: Doc, duplicate: Option<String>) {
        let line = self.doc_line;
        if self.events >= self.limits.max_events {
            let max = self.limits.max_events;
            let msg = format!("more than {max} events; reading of this file stopped");
            return self.fail(line, Code::EventLimit, msg);
        }
        self.events += 1;
        self.expect_separator = self.in_array;
        if let Some(key) = duplicate {
            self.pending.push_back(Err(duplicate_note(line, &key)));
        }
        self.pending.push_back(Ok(RawEvent { line, doc }));
    }

    fn parse_error(&mut self, e: &serde_json::Error) {
        let at = self.doc_line + e.line().saturating_sub(1);
        let text = e.to_string();
        let what = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(w, _)| w);
        if e.is_eof() {
            let msg = "the file ends inside the event that starts here".into();
            return self.fail(self.doc_line, Code::EventSyntax, msg);
        }
        if is_out_of_range(e) {
            // Only this event is lost: the framing already knows where the next one starts.
            self.expect_separator = self.in_array;
            self.pending.push_back(Err(skipped_note(self.doc_line, e)));
            return;
        }
        let msg = format!(
            "not JSON: {what} (column {}); reading of this file stopped",
            e.column()
        );
        self.fail(at, Code::EventSyntax, msg);
    }

    /// The event limit is hit: a syntax error already in the document is the better report.
    fn too_long(&mut self) {
        let mut de = serde_json::Deserializer::from_slice(&self.doc);
        match <serde::de::IgnoredAny as serde::Deserialize>::deserialize(&mut de) {
            Err(e) if !e.is_eof() && !is_out_of_range(&e) => self.parse_error(&e),
            _ => {
                let max = self.limits.max_event_bytes;
                let msg = format!("event longer than {max} bytes; reading of this file stopped");
                self.fail(self.doc_line, Code::EventLimit, msg);
            }
        }
    }

    /// End of input: finishes a pending document, then checks the array was closed.
    fn finish_input(&mut self) {
        if self.frame != Frame::Idle {
            self.finish_doc();
        }
        if self.done {
            return;
        }
        self.done = true;
        if self.in_array {
            let line = self.next_line.saturating_sub(1).max(1);
            let msg = "the JSON array is not closed (missing `]`)".into();
            self.fail(line, Code::EventSyntax, msg);
        }
    }
}

impl<R> EventReader<R> {
    /// Runs [`EventReader::nested_step`] over `bytes` (at least one) until the document ends;
    /// returns how many bytes were used. Inside a string, plain bytes are skipped in bulk.
    fn nested_run(&mut self, bytes: &[u8]) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            if let Frame::Nested {
                in_string: true,
                escaped: false,
            } = self.frame
            {
                if let Some(n) = bytes[i..].iter().position(|&b| b == b'"' || b == b'\\') {
                    i += n;
                } else {
                    return bytes.len();
                }
            }
            let Frame::Nested { in_string, escaped } = self.frame else {
                return i;
            };
            self.frame = self.nested_step(in_string, escaped, bytes[i]);
            i += 1;
            if self.frame == Frame::Idle {
                return i;
            }
        }
        i
    }

    /// The framing state after byte `b` inside an object or array: `Idle` once the last bracket
    /// closes, or at a mismatched one, which the parser then reports.
    fn nested_step(&mut self, in_string: bool, escaped: bool, b: u8) -> Frame {
        let (mut in_string, mut escaped) = (in_string, escaped);
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'{' => self.closers.push(b'}'),
                b'[' => self.closers.push(b']'),
                b'}' | b']' if self.closers.pop() != Some(b) => return Frame::Idle,
                _ => {}
            }
            if self.closers.is_empty() {
                return Frame::Idle;
            }
        }
        Frame::Nested { in_string, escaped }
    }
}

/// The events of one file: EVTX records for a `.evtx` file (see [`super::evtx`]), JSON documents
/// otherwise. Either way an item is an event or a [`ReadProblem`], and a fatal problem ends it.
pub enum Events {
    Json(EventReader<std::io::BufReader<std::fs::File>>),
    Evtx(super::evtx::EvtxEvents),
}

impl Events {
    /// JSON Lines events come as lines known to be JSON ([`Doc::Line`]), for the caller to parse
    /// ([`RawEvent::into_tree`]) on the thread that also drops the tree: freeing on another
    /// thread than the one that allocated cost more than the parsing itself. Other documents and
    /// EVTX records come parsed.
    pub fn defer_parsing(self) -> Events {
        match self {
            Events::Json(r) => Events::Json(r.defer_parsing()),
            other => other,
        }
    }
}

impl Iterator for Events {
    type Item = Result<RawEvent, ReadProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Events::Json(r) => r.next(),
            Events::Evtx(r) => r.next(),
        }
    }
}

/// Opens an event file, regular files only and without blocking (a FIFO must not hang the run).
pub fn open_events(
    path: &std::path::Path,
    limits: ReadLimits,
) -> Result<Events, crate::input::ReadError> {
    let (file, meta) = crate::input::open_regular(path)?;
    Ok(if super::evtx::is_evtx(path) {
        Events::Evtx(super::evtx::open(file, meta.len(), limits))
    } else {
        let input = std::io::BufReader::with_capacity(1 << 16, file);
        Events::Json(EventReader::new(input, limits))
    })
}

/// serde_json rejects `1e400` with this error; it has no code of its own to match.
fn is_out_of_range(e: &serde_json::Error) -> bool {
    e.to_string().starts_with("number out of range")
}

/// Whitespace or punctuation: the end of a bare number or word.
fn ends_bare(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']' | b'{' | b'}' | b'"' | b':'
    )
}

/// A key for a message: at most 80 characters, control characters escaped.
fn shorten(key: &str) -> String {
    let mut s: String = key
        .chars()
        .take(80)
        .collect::<String>()
        .escape_debug()
        .collect();
    if key.chars().nth(80).is_some() {
        s.push_str("...");
    }
    s
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = Result<RawEvent, ReadProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if self.done {
                return None;
            }
            if !self.read_line() && !self.done {
                self.finish_input();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn read(text: &str, limits: ReadLimits) -> (Vec<(usize, Value)>, Option<ReadProblem>) {
        let mut events = Vec::new();
        let mut problem = None;
        for item in EventReader::new(text.as_bytes(), limits) {
            match item {
                Ok(e) => events.push((e.line, e.value())),
                Err(p) => problem = Some(p),
            }
        }
        (events, problem)
    }

    fn ok(text: &str) -> Vec<(usize, Value)> {
        let (events, problem) = read(text, ReadLimits::default());
        assert_eq!(problem, None, "{text:?}");
        events
    }

    #[test]
    fn json_lines_with_blank_lines_and_crlf() {
        let e = ok("{\"a\":1}\r\n\r\n{\"a\":2}\n{\"a\":3}");
        assert_eq!(
            e,
            vec![
                (1, json!({"a":1})),
                (3, json!({"a":2})),
                (4, json!({"a":3}))
            ]
        );
    }

    #[test]
    fn pretty_printed_documents_one_after_another() {
        let e = ok("{\n  \"a\": {\n    \"b\": 1\n  }\n}\n{\n  \"a\": 2\n}{\"a\": 3}\n");
        assert_eq!(
            e,
            vec![
                (1, json!({"a":{"b":1}})),
                (6, json!({"a":2})),
                (8, json!({"a":3}))
            ]
        );
    }

    #[test]
    fn arrays_are_streamed() {
        let e = ok("[\n {\"a\": 1},\n {\"a\":\n 2}\n]\n");
        assert_eq!(e, vec![(2, json!({"a":1})), (3, json!({"a":2}))]);
        let e = ok("[{\"a\":1},{\"a\":2}] {\"a\":3}");
        assert_eq!(e.len(), 3);
        assert_eq!(ok("[]"), vec![]);
        assert_eq!(ok("\u{feff}{\"x\":true}"), vec![(1, json!({"x": true}))]);
    }

    #[test]
    fn syntax_errors_and_limits_are_problems() {
        let (e, p) = read("{\"a\":1}\n{\"a\":\n", ReadLimits::default());
        assert_eq!(e.len(), 1);
        let p = p.expect("problem");
        assert_eq!((p.code, p.line), (Code::EventSyntax, 2));
        let (_, p) = read("{\"a\":1}\n{oops}\n", ReadLimits::default());
        assert_eq!(p.map(|p| (p.code, p.line)), Some((Code::EventSyntax, 2)));
        let (_, p) = read("[{\"a\":1}", ReadLimits::default());
        assert!(p.expect("unclosed").message.contains("not closed"));
        let (_, p) = read("[{\"a\":1} {\"a\":2}]", ReadLimits::default());
        assert!(p.expect("separator").message.contains("`,`"));
        let limits = ReadLimits {
            max_events: 2,
            ..ReadLimits::default()
        };
        let (e, p) = read("{}\n{}\n{}\n{}\n", limits);
        assert_eq!(e.len(), 2);
        assert_eq!(p.map(|p| (p.code, p.line)), Some((Code::EventLimit, 3)));
        let limits = ReadLimits {
            max_line_bytes: 10,
            ..ReadLimits::default()
        };
        let (e, p) = read("{}\n{\"long\": \"xxxxxxxxxxxxxxx\"}\n", limits);
        assert_eq!(e.len(), 1);
        assert_eq!(p.map(|p| (p.code, p.line)), Some((Code::EventLimit, 2)));
        let limits = ReadLimits {
            max_event_bytes: 20,
            ..ReadLimits::default()
        };
        let (_, p) = read("{\n\"a\": 1,\n\"b\": 2,\n\"c\": 3,\n\"d\": 4\n}\n", limits);
        assert_eq!(p.map(|p| p.code), Some(Code::EventLimit));
    }

    #[test]
    fn scalars_are_read_for_the_caller_to_reject() {
        let e = ok("1\n\"x\"\n");
        assert_eq!(e, vec![(1, json!(1)), (2, json!("x"))]);
    }

    #[test]
    fn a_big_pretty_printed_event_is_read_in_one_pass() {
        // 20,000 lines: re-parsing the buffer at every line would take minutes here.
        let fields: Vec<String> = (0..20_000)
            .map(|i| format!("  \"F{i}\": \"value {i}\""))
            .collect();
        let text = format!("{{\n{}\n}}\n{{\"after\": true}}\n", fields.join(",\n"));
        let e = ok(&text);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].1.as_object().map(|o| o.len()), Some(20_000));
        assert_eq!(e[1], (20_003, json!({"after": true})));
    }

    #[test]
    fn strings_may_hold_brackets_and_escaped_quotes() {
        let e = ok("{\"a\": \"}]\\\"{\"}\n\"x}\\\"\" {\"b\": [1,\n[2]]}\n");
        assert_eq!(
            e,
            vec![
                (1, json!({"a": "}]\"{"})),
                (2, json!("x}\"")),
                (2, json!({"b": [1, [2]]}))
            ]
        );
    }

    #[test]
    fn mismatched_brackets_are_reported_where_they_are() {
        let (e, p) = read(
            "{\"a\": 1}\n{\"a\": [1}\n{\"a\": 2}\n",
            ReadLimits::default(),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(p.map(|p| (p.code, p.line)), Some((Code::EventSyntax, 2)));
        let limits = ReadLimits {
            max_event_bytes: 30,
            ..ReadLimits::default()
        };
        let (_, p) = read(
            "{\n\"a\": oops,\n\"b\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n",
            limits,
        );
        let p = p.expect("problem");
        assert_eq!((p.code, p.line), (Code::EventSyntax, 2), "{}", p.message);
    }

    #[test]
    fn an_out_of_range_number_skips_only_its_event() {
        let items: Vec<_> = EventReader::new(
            "{\"a\": 1}\n{\"a\":\n 1e400}\n[{\"b\": -1e999}, {\"a\": 3}]\n".as_bytes(),
            ReadLimits::default(),
        )
        .collect();
        assert_eq!(items.len(), 4);
        assert_eq!(
            items[0],
            Ok(RawEvent {
                line: 1,
                doc: Doc::Tree(Node::from(json!({"a": 1})))
            })
        );
        let p = items[1].clone().expect_err("out of range");
        assert_eq!(
            (p.code, p.line, p.fatal),
            (Code::EventNumberOutOfRange, 3, false)
        );
        let p = items[2].clone().expect_err("out of range");
        assert_eq!((p.code, p.line), (Code::EventNumberOutOfRange, 4));
        assert_eq!(
            items[3],
            Ok(RawEvent {
                line: 4,
                doc: Doc::Tree(Node::from(json!({"a": 3})))
            })
        );
    }

    #[test]
    fn duplicate_keys_are_reported_and_the_last_value_kept() {
        let items: Vec<_> = EventReader::new(
            "{\"a\": 1}\n{\"x\": {\"k\": 1, \"k\": 2}, \"b\": 1}\n".as_bytes(),
            ReadLimits::default(),
        )
        .collect();
        assert_eq!(items.len(), 3);
        let p = items[1].clone().expect_err("duplicate");
        assert_eq!(
            (p.code, p.line, p.fatal),
            (Code::EventDuplicateKey, 2, false)
        );
        assert!(p.message.contains("\"k\""), "{}", p.message);
        assert_eq!(
            items[2],
            Ok(RawEvent {
                line: 2,
                doc: Doc::Tree(Node::from(json!({"x": {"k": 2}, "b": 1})))
            })
        );
    }

    #[test]
    fn deferred_lines_give_the_events_and_notes_of_the_parsing_reader() {
        let text = "{\"a\": 1}\n{\"x\": {\"k\": 1, \"k\": 2}}\n{\"n\": 1e400}\n[{\"b\": 2}]\n";
        let parsed: Vec<_> = EventReader::new(text.as_bytes(), ReadLimits::default()).collect();
        let deferred = EventReader::new(text.as_bytes(), ReadLimits::default()).defer_parsing();
        let mut items = Vec::new();
        for item in deferred {
            let Ok(raw) = item else {
                items.push(item);
                continue;
            };
            assert!(matches!(raw.doc, Doc::Line(_)) || raw.line == 4, "{raw:?}");
            let line = raw.line;
            let mut notes = Vec::new();
            let tree = raw.into_tree(&mut notes);
            items.extend(notes.into_iter().map(Err));
            items.extend(tree.map(|doc| {
                Ok(RawEvent {
                    line,
                    doc: Doc::Tree(doc),
                })
            }));
        }
        assert_eq!(items, parsed);
    }
}
