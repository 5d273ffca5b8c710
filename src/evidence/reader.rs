//! Streaming reader for event files: JSON Lines, one JSON object, a JSON array of objects, or
//! several JSON documents one after another (pretty-printed or not), all read the same way.
//!
//! Text is read line by line into a small buffer that is parsed as soon as it holds complete
//! values, so memory stays bounded by the largest single event, whatever the file size. A top-level
//! array is entered rather than parsed whole, for the same reason. Every event keeps the 1-based
//! line where it starts, so a finding can point at it. Limits (events per file, bytes per line,
//! bytes per event) turn runaway input into a finding instead of exhausting memory.

use crate::diag::Code;
use serde_json::Value;
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
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_events: 10_000_000,
            max_line_bytes: 1 << 20,
            max_event_bytes: 4 << 20,
        }
    }
}

/// One JSON document read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// 1-based line where the document starts.
    pub line: usize,
    pub value: Value,
}

/// Why reading a file stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProblem {
    /// 1-based line of the problem.
    pub line: usize,
    /// `event_syntax` (not JSON), `event_limit` (a limit was hit) or `io_error`.
    pub code: Code,
    pub message: String,
}

/// Iterator over the events of one reader; yields at most one `Err`, then ends.
pub struct EventReader<R> {
    input: R,
    limits: ReadLimits,
    /// Unparsed text; starts at line `buf_line`.
    buf: String,
    buf_line: usize,
    /// Next line number to read.
    next_line: usize,
    in_array: bool,
    /// Inside an array, a value was read and its `,` or `]` is still due.
    expect_separator: bool,
    events: usize,
    pending: std::collections::VecDeque<RawEvent>,
    done: bool,
    eof: bool,
    line_buf: Vec<u8>,
}

impl<R: BufRead> EventReader<R> {
    pub fn new(input: R, limits: ReadLimits) -> Self {
        EventReader {
            input,
            limits,
            buf: String::new(),
            buf_line: 1,
            next_line: 1,
            in_array: false,
            expect_separator: false,
            events: 0,
            pending: std::collections::VecDeque::new(),
            done: false,
            eof: false,
            line_buf: Vec::new(),
        }
    }

    fn problem(&mut self, line: usize, code: Code, message: String) -> ReadProblem {
        self.done = true;
        self.pending.clear();
        ReadProblem {
            line,
            code,
            message,
        }
    }

    /// Appends the next line to the buffer; false at end of input.
    fn read_line(&mut self) -> Result<bool, ReadProblem> {
        self.line_buf.clear();
        // Read at most one byte past the limit so an endless line cannot fill memory.
        let cap = self.limits.max_line_bytes as u64 + 1;
        let n = std::io::Read::take(&mut self.input, cap)
            .read_until(b'\n', &mut self.line_buf)
            .map_err(|e| {
                let line = self.next_line;
                self.problem(line, Code::IoError, format!("cannot read: {e}"))
            })?;
        if n == 0 {
            return Ok(false);
        }
        let content = self.line_buf.strip_suffix(b"\n").unwrap_or(&self.line_buf);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.len() > self.limits.max_line_bytes {
            let line = self.next_line;
            let max = self.limits.max_line_bytes;
            return Err(self.problem(
                line,
                Code::EventLimit,
                format!("line longer than {max} bytes; reading of this file stopped"),
            ));
        }
        let text = match std::str::from_utf8(&self.line_buf) {
            Ok(t) => t,
            Err(_) => {
                let line = self.next_line;
                return Err(self.problem(line, Code::EventSyntax, "not valid UTF-8".into()));
            }
        };
        let text = if self.next_line == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        if self.buf.trim().is_empty() {
            self.buf.clear();
            self.buf_line = self.next_line;
        }
        self.buf.push_str(text);
        self.next_line += 1;
        if self.buf.len() > self.limits.max_event_bytes {
            let line = self.buf_line;
            let max = self.limits.max_event_bytes;
            return Err(self.problem(
                line,
                Code::EventLimit,
                format!("event longer than {max} bytes; reading of this file stopped"),
            ));
        }
        Ok(true)
    }

    /// Parses every complete value in the buffer into `pending`; keeps an incomplete tail.
    fn drain_buffer(&mut self) -> Result<(), ReadProblem> {
        let mut pos = 0usize;
        let bytes = self.buf.as_bytes();
        let mut line = self.buf_line;
        loop {
            // Skip whitespace and array punctuation, counting lines.
            while pos < bytes.len() {
                match bytes[pos] {
                    b'\n' => line += 1,
                    b' ' | b'\t' | b'\r' => {}
                    b'[' if !self.in_array => {
                        self.in_array = true;
                        self.expect_separator = false;
                    }
                    b',' if self.in_array && self.expect_separator => self.expect_separator = false,
                    b']' if self.in_array => {
                        self.in_array = false;
                        self.expect_separator = false;
                    }
                    _ => break,
                }
                pos += 1;
            }
            if pos >= bytes.len() {
                self.buf.clear();
                self.buf_line = line;
                return Ok(());
            }
            if self.in_array && self.expect_separator {
                return Err(self.problem(
                    line,
                    Code::EventSyntax,
                    "expected `,` or `]` between array elements".into(),
                ));
            }
            let rest = &self.buf[pos..];
            let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
            match stream.next() {
                Some(Ok(value)) => {
                    let end = stream.byte_offset();
                    // A bare number or word at the end of the buffer may continue on the next
                    // line; wait for more input unless the file ended.
                    if pos + end == bytes.len()
                        && !value.is_object()
                        && !value.is_array()
                        && !self.eof
                    {
                        self.keep_tail(pos, line);
                        return Ok(());
                    }
                    if self.events >= self.limits.max_events {
                        let max = self.limits.max_events;
                        return Err(self.problem(
                            line,
                            Code::EventLimit,
                            format!("more than {max} events; reading of this file stopped"),
                        ));
                    }
                    self.events += 1;
                    self.pending.push_back(RawEvent { line, value });
                    line += rest.as_bytes()[..end]
                        .iter()
                        .filter(|&&b| b == b'\n')
                        .count();
                    pos += end;
                    self.expect_separator = self.in_array;
                }
                Some(Err(e)) if e.is_eof() && !self.eof => {
                    self.keep_tail(pos, line);
                    return Ok(());
                }
                Some(Err(e)) if e.is_eof() => {
                    return Err(self.problem(
                        line,
                        Code::EventSyntax,
                        "the file ends inside the event that starts here".into(),
                    ));
                }
                Some(Err(e)) => {
                    let at = line + e.line().saturating_sub(1);
                    let text = e.to_string();
                    let what = text
                        .rsplit_once(" at line ")
                        .map_or(text.as_str(), |(w, _)| w);
                    return Err(self.problem(
                        at,
                        Code::EventSyntax,
                        format!(
                            "not JSON: {what} (column {}); reading of this file stopped",
                            e.column()
                        ),
                    ));
                }
                None => {
                    self.buf.clear();
                    return Ok(());
                }
            }
        }
    }

    fn keep_tail(&mut self, pos: usize, line: usize) {
        self.buf.drain(..pos);
        self.buf_line = line;
    }
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = Result<RawEvent, ReadProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(Ok(e));
            }
            if self.done {
                return None;
            }
            match self.read_line() {
                Ok(true) => {}
                Ok(false) => {
                    self.eof = true;
                    if let Err(p) = self.drain_buffer() {
                        return Some(Err(p));
                    }
                    self.done = true;
                    if self.in_array {
                        let line = self.next_line.saturating_sub(1).max(1);
                        return Some(Err(self.problem(
                            line,
                            Code::EventSyntax,
                            "the JSON array is not closed (missing `]`)".into(),
                        )));
                    }
                    continue;
                }
                Err(p) => return Some(Err(p)),
            }
            // Only a line that may end a value is worth parsing (pretty-printed events span many
            // lines); a top-level array element ends with `}` too.
            let t = self.buf.trim_end();
            if t.ends_with(['}', ']', '"', ','])
                || t.ends_with(|c: char| c.is_ascii_alphanumeric())
                || t.is_empty()
            {
                if let Err(p) = self.drain_buffer() {
                    return Some(Err(p));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str, limits: ReadLimits) -> (Vec<(usize, Value)>, Option<ReadProblem>) {
        let mut events = Vec::new();
        let mut problem = None;
        for item in EventReader::new(text.as_bytes(), limits) {
            match item {
                Ok(e) => events.push((e.line, e.value)),
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
}
