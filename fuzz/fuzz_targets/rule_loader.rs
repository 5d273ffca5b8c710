//! The rule loader on arbitrary text: YAML parsing, attribute checks, tag parsing and detection
//! compilation must never panic or hang, whatever the file holds.
#![no_main]

use attacktrace::rules::{load_text, LoadOptions};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (rules, reports) = load_text(Path::new("fuzz.yml"), text, &LoadOptions::default());
        // Every document is either loaded or reported; none vanishes.
        let _ = (rules.len(), reports.len());
    }
});
