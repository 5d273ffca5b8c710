//! The streaming event reader alone, on arbitrary bytes, with invariants: lines never go back, a
//! fatal problem is the last item, the event limit holds, a single JSON object is read exactly
//! as serde_json reads it (the framing finds its end, whatever its strings and brackets hold), and
//! the reader that leaves lines to the caller to parse gives the same events and problems.
#![no_main]

use attacktrace::evidence::reader::{Doc, EventReader, RawEvent, ReadProblem};
use attacktrace::evidence::ReadLimits;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits {
        max_events: 64,
        max_line_bytes: 1 << 16,
        max_event_bytes: 1 << 16,
        max_evtx_bytes: 1 << 20,
    };
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let mut events = Vec::new();
    let mut last_line = 0;
    let mut fatal = false;
    for item in EventReader::new(data, limits) {
        assert!(!fatal, "an item after a fatal problem");
        let line = match item {
            Ok(raw) => {
                events.push(raw.value());
                raw.line
            }
            Err(p) => {
                fatal = p.fatal;
                p.line
            }
        };
        assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        assert!(line >= last_line, "line {line} after {last_line}");
        last_line = line;
    }
    assert!(events.len() <= limits.max_events);
    assert_eq!(deferred(data, limits), EventReader::new(data, limits).collect::<Vec<_>>());
    if !fatal {
        if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_slice(data) {
            assert_eq!(events, vec![v]);
        }
    }
});

/// The deferred reader's items, each line parsed as the runner parses it.
fn deferred(data: &[u8], limits: ReadLimits) -> Vec<Result<RawEvent, ReadProblem>> {
    let mut items = Vec::new();
    for item in EventReader::new(data, limits).defer_parsing() {
        let Ok(raw) = item else {
            items.push(item);
            continue;
        };
        let line = raw.line;
        let mut notes = Vec::new();
        let tree = raw.into_tree(&mut notes);
        items.extend(notes.into_iter().map(Err));
        items.extend(tree.map(|doc| Ok(RawEvent { line, doc: Doc::Tree(doc) })));
    }
    items
}
