//! Tag classification on arbitrary strings.
#![no_main]

use attacktrace::rules::parse_attack_tag;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tag) = std::str::from_utf8(data) {
        let _ = parse_attack_tag(tag);
    }
});
