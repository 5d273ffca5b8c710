//! Condition handling: an arbitrary condition string over a fixed set of selections goes through
//! the complexity guard and the evaluator's condition parser.
#![no_main]

use attacktrace::rules::compile::compile_detection;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(condition) = std::str::from_utf8(data) else {
        return;
    };
    let yaml = "selection:\n  Image|endswith: '\\cmd.exe'\nfilter_1:\n  User: SYSTEM\nkeywords:\n  - evil\n";
    let Ok(serde_norway::Value::Mapping(mut detection)) = serde_norway::from_str(yaml) else {
        return;
    };
    detection.insert("condition".into(), condition.into());
    let _ = compile_detection("fuzz", serde_norway::Value::Mapping(detection));
});
