//! Conformance table of the evaluator against the Sigma specification's wording (rules and events
//! are this project's own): one row per (detection, event, expected match).

use attacktrace::rules::compile::compile_detection;
use attacktrace::rules::eval::Event;

/// (what the row checks, detection YAML, event JSON, expected match).
const ROWS: &[(&str, &str, &str, bool)] = &[
    // Keywords: anywhere in any field value, case-insensitive, wildcards inside.
    (
        "keyword inside a value",
        "kw:\n  - 'mimikatz'\ncondition: kw",
        r#"{"CommandLine": "run MimiKatz.exe now"}"#,
        true,
    ),
    (
        "keyword absent",
        "kw:\n  - 'mimikatz'\ncondition: kw",
        r#"{"CommandLine": "notepad"}"#,
        false,
    ),
    (
        "keyword as a plain string",
        "kw: 'event::clear'\ncondition: kw",
        r#"{"Payload": "x event::clear y"}"#,
        true,
    ),
    (
        "keyword wildcard inside",
        "kw:\n  - 'invoke-*shell'\ncondition: kw",
        r#"{"Msg": "a Invoke-PowerShell b"}"#,
        true,
    ),
    (
        "keyword wildcard order",
        "kw:\n  - 'invoke-*shell'\ncondition: kw",
        r#"{"Msg": "shell invoke-"}"#,
        false,
    ),
    (
        "keyword in a number",
        "kw:\n  - '4688'\ncondition: kw",
        r#"{"EventID": 4688}"#,
        true,
    ),
    (
        "keyword in a nested list",
        "kw:\n  - 'evil'\ncondition: kw",
        r#"{"target": [{"name": "an EVIL app"}]}"#,
        true,
    ),
    (
        "keyword list is OR",
        "kw:\n  - 'aaa'\n  - 'bbb'\ncondition: kw",
        r#"{"M": "xbbbx"}"#,
        true,
    ),
    (
        "'|all' keywords: all",
        "kw:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: kw",
        r#"{"M": "Set-OabVirtualDirectory -ExternalUrl http://x"}"#,
        true,
    ),
    (
        "'|all' keywords: one missing",
        "kw:\n  '|all':\n    - 'OabVirtualDirectory'\n    - ' -ExternalUrl '\ncondition: kw",
        r#"{"M": "Set-OabVirtualDirectory"}"#,
        false,
    ),
    (
        "'|all' keywords across fields",
        "kw:\n  '|all':\n    - 'alpha'\n    - 'beta'\ncondition: kw",
        r#"{"A": "alpha", "B": "beta"}"#,
        true,
    ),
    // `all` with windash / base64offset: every value, each in any of its spellings.
    (
        "all|windash",
        "sel:\n  CommandLine|contains|all|windash:\n    - ' -a '\n    - ' -b '\ncondition: sel",
        r#"{"CommandLine": "x /a \u2013b y"}"#,
        true,
    ),
    (
        "all|windash one missing",
        "sel:\n  CommandLine|contains|all|windash:\n    - ' -a '\n    - ' -b '\ncondition: sel",
        r#"{"CommandLine": "x /a"}"#,
        false,
    ),
    (
        "all|windash the rule's own text",
        "sel:\n  CommandLine|windash|contains|all:\n    - '-enc'\n    - '-nop'\ncondition: sel",
        r#"{"CommandLine": "powershell -nop -enc AAA"}"#,
        true,
    ),
    (
        "base64offset|contains|all",
        "sel:\n  Script|base64offset|contains|all:\n    - 'http'\n    - 'IEX'\ncondition: sel",
        r#"{"Script": "SQBFAFgAaHR0cDovL2V4YW1wbGUuY29tSUVY"}"#,
        true,
    ),
    (
        "base64offset|contains|all one missing",
        "sel:\n  Script|base64offset|contains|all:\n    - 'http'\n    - 'zzzz'\ncondition: sel",
        r#"{"Script": "aHR0cDovL2V4YW1wbGUuY29t"}"#,
        false,
    ),
    // Regex flags.
    (
        "re is case-sensitive",
        "sel:\n  A|re: 'abc'\ncondition: sel",
        r#"{"A": "ABC"}"#,
        false,
    ),
    (
        "re|i",
        "sel:\n  A|re|i: '^abc$'\ncondition: sel",
        r#"{"A": "ABC"}"#,
        true,
    ),
    (
        "re|m",
        "sel:\n  A|re|m: '^two$'\ncondition: sel",
        r#"{"A": "one\ntwo\nthree"}"#,
        true,
    ),
    (
        "re without m",
        "sel:\n  A|re: '^two$'\ncondition: sel",
        r#"{"A": "one\ntwo\nthree"}"#,
        false,
    ),
    (
        "re|s",
        "sel:\n  A|re|s: 'one.two'\ncondition: sel",
        r#"{"A": "one\ntwo"}"#,
        true,
    ),
    (
        "re|i|m|s",
        "sel:\n  A|re|i|m|s: '^ONE.TWO$'\ncondition: sel",
        r#"{"A": "x\none\ntwo"}"#,
        true,
    ),
    // neq, fieldref|neq.
    (
        "neq differs",
        "sel:\n  User|neq: 'SYSTEM'\ncondition: sel",
        r#"{"User": "alice"}"#,
        true,
    ),
    (
        "neq equal",
        "sel:\n  User|neq: 'SYSTEM'\ncondition: sel",
        r#"{"User": "system"}"#,
        false,
    ),
    (
        "neq list: different from every value",
        "sel:\n  User|neq:\n    - 'a'\n    - 'b'\ncondition: sel",
        r#"{"User": "b"}"#,
        false,
    ),
    (
        "neq number",
        "sel:\n  Code|neq: 0\ncondition: sel",
        r#"{"Code": "5"}"#,
        true,
    ),
    (
        "fieldref equal",
        "sel:\n  A|fieldref: B\ncondition: sel",
        r#"{"A": "x", "B": "X"}"#,
        true,
    ),
    (
        "fieldref|neq",
        "sel:\n  A|fieldref|neq: B\ncondition: sel",
        r#"{"A": "x", "B": "y"}"#,
        true,
    ),
    (
        "fieldref|neq equal",
        "sel:\n  A|fieldref|neq: B\ncondition: sel",
        r#"{"A": "x", "B": "x"}"#,
        false,
    ),
    // Time modifiers on the event's timestamp value.
    (
        "hour",
        "sel:\n  UtcTime|hour: 3\ncondition: sel",
        r#"{"UtcTime": "2024-05-17 03:12:44.123"}"#,
        true,
    ),
    (
        "hour other",
        "sel:\n  UtcTime|hour: 4\ncondition: sel",
        r#"{"UtcTime": "2024-05-17 03:12:44.123"}"#,
        false,
    ),
    (
        "minute",
        "sel:\n  T|minute: 12\ncondition: sel",
        r#"{"T": "2024-05-17T03:12:44Z"}"#,
        true,
    ),
    (
        "day",
        "sel:\n  T|day: 17\ncondition: sel",
        r#"{"T": "2024-05-17T03:12:44Z"}"#,
        true,
    ),
    (
        "week",
        "sel:\n  T|week: 20\ncondition: sel",
        r#"{"T": "2024-05-17T03:12:44Z"}"#,
        true,
    ),
    (
        "month",
        "sel:\n  T|month: 5\ncondition: sel",
        r#"{"T": "2024-05-17T03:12:44Z"}"#,
        true,
    ),
    (
        "year",
        "sel:\n  T|year: 2024\ncondition: sel",
        r#"{"T": "2024-05-17T03:12:44Z"}"#,
        true,
    ),
    (
        "hour|gte",
        "sel:\n  T|hour|gte: 22\ncondition: sel",
        r#"{"T": "2024-05-17T23:00:00Z"}"#,
        true,
    ),
    (
        "time part of garbage",
        "sel:\n  T|year: 2024\ncondition: sel",
        r#"{"T": "yesterday"}"#,
        false,
    ),
    // Condition as a list: OR.
    (
        "condition list, second",
        "a:\n  X: 1\nb:\n  Y: 2\ncondition:\n  - a\n  - b",
        r#"{"Y": 2}"#,
        true,
    ),
    (
        "condition list, none",
        "a:\n  X: 1\nb:\n  Y: 2\ncondition:\n  - a\n  - b",
        r#"{"Z": 2}"#,
        false,
    ),
    // `them` ignores identifiers starting with `_`.
    (
        "all of them ignores _",
        "sel:\n  A: x\n_aux:\n  B: y\ncondition: all of them",
        r#"{"A": "x"}"#,
        true,
    ),
    (
        "1 of them ignores _",
        "sel:\n  A: x\n_aux:\n  B: y\ncondition: 1 of them",
        r#"{"B": "y"}"#,
        false,
    ),
    (
        "2 of them",
        "a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\ncondition: 2 of them",
        r#"{"A": 1, "C": 1}"#,
        true,
    ),
    (
        "1 of pattern",
        "sel_a:\n  A: 1\nsel_b:\n  B: 1\ncondition: 1 of sel_*",
        r#"{"B": 1}"#,
        true,
    ),
    // Null and empty.
    (
        "null matches missing",
        "sel:\n  A: x\n  B: null\ncondition: sel",
        r#"{"A": "x"}"#,
        true,
    ),
    (
        "null matches JSON null",
        "sel:\n  A: x\n  B: null\ncondition: sel",
        r#"{"A": "x", "B": null}"#,
        true,
    ),
    (
        "null does not match a value",
        "sel:\n  B: null\ncondition: sel",
        r#"{"B": "v"}"#,
        false,
    ),
    (
        "null does not match an empty string",
        "sel:\n  B: null\ncondition: sel",
        r#"{"B": ""}"#,
        false,
    ),
    (
        "empty matches empty",
        "sel:\n  B: ''\ncondition: sel",
        r#"{"B": ""}"#,
        true,
    ),
    (
        "empty does not match missing",
        "sel:\n  A: x\n  B: ''\ncondition: sel",
        r#"{"A": "x"}"#,
        false,
    ),
    (
        "empty does not match null",
        "sel:\n  B: ''\ncondition: sel",
        r#"{"B": null}"#,
        false,
    ),
    (
        "not null",
        "sel:\n  B: null\ncondition: not sel",
        r#"{"B": "v"}"#,
        true,
    ),
    (
        "exists true on null",
        "sel:\n  B|exists: true\ncondition: sel",
        r#"{"B": null}"#,
        true,
    ),
    (
        "exists false",
        "sel:\n  B|exists: false\ncondition: sel",
        r#"{"A": 1}"#,
        true,
    ),
    // List-valued event fields and dotted names.
    (
        "any element matches",
        "sel:\n  target|contains: 'admin'\ncondition: sel",
        r#"{"target": ["user", "Global Admin"]}"#,
        true,
    ),
    (
        "no element matches",
        "sel:\n  target|contains: 'admin'\ncondition: sel",
        r#"{"target": ["user", "guest"]}"#,
        false,
    ),
    (
        "dotted into array of objects",
        "sel:\n  TargetResources.displayName: 'App One'\ncondition: sel",
        r#"{"TargetResources": [{"displayName": "Other"}, {"displayName": "app one"}]}"#,
        true,
    ),
    (
        "dotted into nested arrays",
        "sel:\n  target.alternateId|endswith: '@x.com'\ncondition: sel",
        r#"{"target": [{"alternateId": "a@y.com"}, {"alternateId": "b@X.com"}]}"#,
        true,
    ),
    (
        "dotted key itself",
        "sel:\n  a.b: 1\ncondition: sel",
        r#"{"a.b": 1}"#,
        true,
    ),
    (
        "nested object",
        "sel:\n  actor.id: 'u1'\ncondition: sel",
        r#"{"actor": {"id": "u1"}}"#,
        true,
    ),
    // Numbers: rule numbers and event strings both ways.
    (
        "float rule, string event",
        "sel:\n  V: 1.5\ncondition: sel",
        r#"{"V": "1.5"}"#,
        true,
    ),
    (
        "string rule, float event",
        "sel:\n  V: '1.5'\ncondition: sel",
        r#"{"V": 1.5}"#,
        true,
    ),
    (
        "int rule, string event",
        "sel:\n  EventID: 4688\ncondition: sel",
        r#"{"EventID": "4688"}"#,
        true,
    ),
    (
        "string rule, int event",
        "sel:\n  EventID: '4688'\ncondition: sel",
        r#"{"EventID": 4688}"#,
        true,
    ),
    (
        "int rule, other int",
        "sel:\n  EventID: 4688\ncondition: sel",
        r#"{"EventID": 46880}"#,
        false,
    ),
    (
        "gt on a string number",
        "sel:\n  N|gt: 10\ncondition: sel",
        r#"{"N": "11"}"#,
        true,
    ),
    (
        "lte",
        "sel:\n  N|lte: 10\ncondition: sel",
        r#"{"N": 10.0}"#,
        true,
    ),
    (
        "bool",
        "sel:\n  B: true\ncondition: sel",
        r#"{"B": "True"}"#,
        true,
    ),
    // Plain modifiers still behave.
    (
        "endswith case-insensitive",
        "sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel",
        r#"{"Image": "C:\\Windows\\CMD.EXE"}"#,
        true,
    ),
    (
        "cased",
        "sel:\n  Image|endswith|cased: '\\cmd.exe'\ncondition: sel",
        r#"{"Image": "C:\\Windows\\CMD.EXE"}"#,
        false,
    ),
    (
        "escaped wildcard",
        "sel:\n  A: 'a\\*b'\ncondition: sel",
        r#"{"A": "a*b"}"#,
        true,
    ),
    (
        "escaped wildcard is literal",
        "sel:\n  A: 'a\\*b'\ncondition: sel",
        r#"{"A": "axxb"}"#,
        false,
    ),
    (
        "cidr",
        "sel:\n  Ip|cidr: '10.0.0.0/8'\ncondition: sel",
        r#"{"Ip": "10.2.3.4"}"#,
        true,
    ),
    (
        "windash",
        "sel:\n  C|windash|contains: ' -s '\ncondition: sel",
        r#"{"C": "dir \u2013s x"}"#,
        true,
    ),
    (
        "base64",
        "sel:\n  C|base64: 'cmd'\ncondition: sel",
        r#"{"C": "Y21k"}"#,
        true,
    ),
    (
        "utf16le base64offset",
        "sel:\n  C|wide|base64offset|contains: 'ps'\ncondition: sel",
        r#"{"C": "xxcABzAA=="}"#,
        true,
    ),
    (
        "missing field fails",
        "sel:\n  A|contains: 'x'\ncondition: sel",
        r#"{"B": "x"}"#,
        false,
    ),
];

#[test]
fn conformance_table() {
    let mut failures = Vec::new();
    for (what, yaml, json, expected) in ROWS {
        let det = serde_norway::from_str(yaml).unwrap_or_else(|e| panic!("{what}: {e}"));
        let rule = match compile_detection("t", det) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{what}: not compiled: {e}"));
                continue;
            }
        };
        let event = Event::new(
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json)
                .unwrap_or_else(|e| panic!("{what}: {e}")),
        );
        if rule.is_match(&event) != *expected {
            failures.push(format!("{what}: expected {expected}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Rules the evaluator cannot express are refused with a reason, never silently kept.
#[test]
fn inexpressible_rules_are_refused() {
    for (yaml, reason) in [
        ("sel:\n  A|expand: '%x%'\ncondition: sel", "expand"),
        (
            "sel:\n  A|frob: 'x'\ncondition: sel",
            "Unknown field modifier 'frob'",
        ),
        ("sel:\n  A|gt: 'abc'\ncondition: sel", "needs a number"),
        ("sel:\n  A: x\ncondition: sel and or sel", "has `or` where"),
        ("sel:\n  A: x\ncondition: sel sel", "unexpected"),
        ("sel:\n  A: x\ncondition: (sel", "without its `)`"),
        ("sel:\n  A: {B: 1}\ncondition: sel", "a mapping"),
        ("sel:\n  A|wide: 'x'\ncondition: sel", "UTF-16"),
        ("sel:\n  A|cidr: 'nope'\ncondition: sel", "CIDR"),
        ("sel: {}\ncondition: sel", "empty"),
        ("sel: []\ncondition: sel", "empty"),
        ("sel:\n  - {}\ncondition: sel", "empty"),
    ] {
        let det = serde_norway::from_str(yaml).expect("yaml");
        let err = compile_detection("t", det).expect_err(yaml);
        assert!(err.contains(reason), "{yaml}: {err}");
    }
}

/// `attacktrace test` never skips a rule it cannot evaluate in silence: the rule is a finding and
/// the run fails, even without own tests.
#[test]
fn test_runs_report_unevaluable_rules() {
    use attacktrace::evidence::{run, FieldMap, TestInputs, TestOptions};
    use attacktrace::rules::{load, LoadOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("r.yml"),
        "title: t\nid: 5b0f1a2e-0000-4000-8000-000000000009\nstatus: test\nlogsource:\n    \
         product: windows\ndetection:\n    sel:\n        CommandLine|expand: '%x%'\n    \
         condition: sel\nlevel: low\n",
    )
    .expect("rule");
    let events = dir.path().join("e.jsonl");
    std::fs::write(&events, "{\"CommandLine\": \"x\"}\n").expect("events");
    let rules = load(&[dir.path().join("r.yml")], &LoadOptions::default());
    let report = run(
        &rules,
        attacktrace::telemetry::Telemetry::embedded(),
        FieldMap::embedded(),
        &TestInputs {
            events: vec![events],
            benign: Vec::new(),
        },
        &TestOptions::default(),
    );
    assert!(report.failed());
    assert!(report
        .findings
        .iter()
        .any(|d| d.code.as_str() == "detection_not_evaluable" && d.message.contains("expand")));
}
