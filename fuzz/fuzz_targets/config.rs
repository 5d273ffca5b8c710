//! The repository config (`.attacktrace.yml`) on arbitrary bytes: never panics, and what it says
//! about a file it rejects never quotes a long run of that file (the config may be a symlink to a
//! secret, and the message lands in a CI log). A config it accepts round-trips through
//! `--show-config`'s YAML.
#![no_main]

use attacktrace::config::Settings;
use attacktrace::diag::Code;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let said = match Settings::parse("c", text) {
        Ok(s) => {
            let again = Settings::parse("r", &s.to_yaml()).expect("--show-config output parses");
            let on = |x: &Settings| Code::all().filter(|c| x.is_enabled(*c)).collect::<Vec<_>>();
            assert_eq!(on(&again), on(&s));
            assert_eq!(again.fail_level, s.fail_level);
            s.notices.join("\n")
        }
        Err(e) => e.to_string(),
    };
    // Echoed names are plain identifiers of at most 32 bytes: no longer alphanumeric run (a base64
    // line of a key) ever shows, nor a long line with a character the messages never use (a line
    // made only of the messages' own words could be one of them, so it proves nothing).
    let longest_run = said
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_run <= 32, "echoed input: {said}");
    let ours = |c: char| c.is_ascii_alphanumeric() || " `,_.:;'()[]{}/-".contains(c);
    for line in text.lines().map(str::trim).filter(|l| l.len() > 32) {
        if !line.chars().all(ours) {
            assert!(!said.contains(line), "echoed input: {said}");
        }
    }
});
