//! `check` on detections the evaluator reads differently from before: broken conditions and
//! values their modifiers cannot take are errors; every modifier of the specification is known.

use attacktrace::attack::catalog;
use attacktrace::check::{self, config::Settings, CheckInput};
use attacktrace::diag::Severity;
use attacktrace::telemetry::Telemetry;

/// (code, severity) of every finding on a rule with this detection block.
fn findings(detection: &str) -> Vec<(String, Severity)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.yml");
    let text = format!(
        "title: Detection check\nid: 5b0f1a2e-1c2d-4e5f-8a9b-0c1d2e3f4a5b\nstatus: test\n\
         description: d\nauthor: a\ndate: 2026-01-15\ntags:\n    - attack.execution\n    - attack.t1059.001\n\
         logsource:\n    product: windows\n    category: process_creation\ndetection:\n{detection}\nlevel: low\n"
    );
    std::fs::write(&path, text).expect("write");
    let kb = catalog::embedded();
    let rules = check::load_rules(&[path]);
    let report = check::run(&CheckInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rules,
        settings: &Settings::default(),
    });
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.diagnostic.code.as_str().to_string(),
                f.diagnostic.severity,
            )
        })
        .collect()
}

fn has(found: &[(String, Severity)], code: &str, severity: Severity) -> bool {
    found.iter().any(|(c, s)| c == code && *s == severity)
}

#[test]
fn broken_conditions_are_errors() {
    for condition in ["sel and or filter", "(sel", "sel filter", "sel and"] {
        let f = findings(&format!(
            "    sel:\n        Image|endswith: '\\x.exe'\n    filter:\n        User: a\n    condition: {condition}"
        ));
        assert!(
            has(&f, "detection_invalid", Severity::Error),
            "{condition}: {f:?}"
        );
    }
}

#[test]
fn values_their_modifiers_cannot_take_are_errors() {
    for sel in [
        "        Count|gt: 'abc'",
        "        Field:\n            - 'a'\n            - null",
        "        UtcTime|hour: 'noon'",
    ] {
        let f = findings(&format!("    sel:\n{sel}\n    condition: sel"));
        assert!(
            has(&f, "detection_invalid", Severity::Error),
            "{sel}: {f:?}"
        );
    }
}

#[test]
fn spec_modifiers_are_known_and_valid() {
    for sel in [
        "        CommandLine|re|i: 'abc'",
        "        CommandLine|re|i|m|s: 'abc'",
        "        User|neq: 'SYSTEM'",
        "        User|fieldref|neq: TargetUser",
        "        UtcTime|hour|gte: 22",
        "        UtcTime|week: 20",
        "        Image|startswith|endswith: 'cmd'",
        "        CommandLine|contains|all|windash:\n            - ' -a '\n            - ' -b '",
    ] {
        let f = findings(&format!("    sel:\n{sel}\n    condition: sel"));
        assert!(
            f.iter().all(|(c, s)| *s != Severity::Error
                && !matches!(c.as_str(), "unknown_modifier" | "detection_not_evaluable")),
            "{sel}: {f:?}"
        );
    }
}

#[test]
fn a_condition_list_is_valid() {
    let f = findings(
        "    a:\n        User: x\n    b:\n        Image: y\n    condition:\n        - a\n        - b",
    );
    assert!(f.iter().all(|(_, s)| *s != Severity::Error), "{f:?}");
    assert!(
        !f.iter().any(|(c, _)| c == "detection_not_evaluable"),
        "{f:?}"
    );
}
