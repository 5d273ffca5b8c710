//! Arbitrary bytes as an `.evtx` file: the EVTX reader yields events or per-file problems, never a
//! panic or a hang, and stops at its limits.
#![no_main]

use attacktrace::evidence::{evtx, ReadLimits};
use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("attacktrace-fuzz-{}.evtx", std::process::id()));
    let Ok(mut f) = std::fs::File::create(&path) else { return };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    let Ok(file) = std::fs::File::open(&path) else { return };
    let limits = ReadLimits {
        max_events: 256,
        max_line_bytes: 1 << 16,
        max_event_bytes: 1 << 16,
        max_evtx_bytes: 1 << 20,
    };
    let mut n = 0usize;
    for _ in evtx::open(file, data.len() as u64, limits) {
        n += 1;
        assert!(n <= 100_000, "the reader stops at its limits");
    }
});
