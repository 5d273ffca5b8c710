//! The streaming event reader alone, on arbitrary bytes, with invariants: lines never go back, a
//! fatal problem is the last item, the event limit holds, and a single JSON object is read exactly
//! as serde_json reads it (the framing finds its end, whatever its strings and brackets hold).
#![no_main]

use attacktrace::evidence::reader::EventReader;
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
                events.push(raw.value);
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
    if !fatal {
        if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_slice(data) {
            assert_eq!(events, vec![v]);
        }
    }
});
