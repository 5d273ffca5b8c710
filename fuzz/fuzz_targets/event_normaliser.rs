//! Event input end to end: the streaming reader on arbitrary bytes, the EVTX/flat normaliser on
//! every event it yields, and matching against a few rules that use wildcards, modifiers and regex
//! (so arbitrary field values reach the evaluator's matchers).
#![no_main]

use attacktrace::evidence::reader::EventReader;
use attacktrace::evidence::{FieldMap, ReadLimits};
use attacktrace::rules::{load_text, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

const RULES: &str = r#"
title: wildcards
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\cmd.exe'
    CommandLine|contains|all: ['/c', 'wh*mi']
  kw:
    - 'évil?'
  condition: sel or kw
---
title: modifiers
logsource: {product: windows, service: security}
detection:
  sel:
    CommandLine|contains|windash: ' -enc '
    EventID: [4688, 1]
  re:
    Payload|re: '(?i)^a.*ß$'
  b64:
    ScriptBlockText|base64offset|contains: 'IEX'
  condition: sel or re or b64
"#;

fn rules() -> &'static Vec<std::sync::Arc<attacktrace::rules::eval::Detection>> {
    static R: OnceLock<Vec<std::sync::Arc<attacktrace::rules::eval::Detection>>> = OnceLock::new();
    R.get_or_init(|| {
        let (records, _) = load_text(Path::new("fuzz.yml"), RULES, &LoadOptions::default());
        records.into_iter().filter_map(|r| r.compiled).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits {
        max_events: 64,
        max_line_bytes: 1 << 16,
        max_event_bytes: 1 << 16,
        max_evtx_bytes: 1 << 20,
    };
    for item in EventReader::new(data, limits) {
        // Problems of one event (out-of-range number, duplicate key) are followed by more events.
        let Ok(raw) = item else { continue };
        let Some(doc) = raw.into_tree(&mut Vec::new()) else {
            continue;
        };
        if let Ok(n) = FieldMap::embedded().normalise(doc) {
            for rule in rules() {
                let _ = rule.is_match(&n.event);
            }
        }
    }
});
