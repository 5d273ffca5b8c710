//! The rule loader on arbitrary text: YAML parsing, attribute checks, tag parsing and detection
//! compilation must never panic or hang, whatever the file holds; nor may the content model's
//! feature extraction (`suggest`, the card's candidates, `attack_tag_unlikely`) on what loaded.
#![no_main]

use attacktrace::rules::{load_text, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let opts = LoadOptions {
            keep_source: true,
            ..LoadOptions::default()
        };
        let (rules, reports) = load_text(Path::new("fuzz.yml"), text, &opts);
        // Every document is either loaded or reported; none vanishes.
        let _ = (rules.len(), reports.len());
        for rule in &rules {
            let f = attacktrace::suggest::extract(rule);
            let present: std::collections::HashSet<_> = f.features.iter().collect();
            for feature in f.spelled.keys() {
                assert!(present.contains(feature), "a spelling without its feature");
            }
        }
    }
});
