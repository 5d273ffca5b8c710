//! End-to-end runs of `attacktrace test` with a correlation chain and a Sigma filter in the rules
//! (`tests/fixtures/events/correlation/`): results, exit codes, `--timestamp-field`, and a
//! correlation that cannot be evaluated failing the run.

use crate::common;

const RULES: &str = "tests/fixtures/events/correlation/rules.yml";
const EVENTS: &str = "tests/fixtures/events/correlation/events.jsonl";

fn json(r: &common::Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

#[test]
fn chain_and_filter_report_one_correlation() {
    let r = common::run(&["test", RULES, "--events", EVENTS]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("correlation_chain_text", r.stdout);
    let v = json(&common::run(&[
        "test", RULES, "--events", EVENTS, "--format", "json",
    ]));
    let rules = v["rules"].as_array().expect("rules");
    // The base rules and the inner correlation leave `generate` off: only the outer one reports.
    assert_eq!(rules.len(), 1, "{v}");
    let found = &rules[0]["correlation_matches"][0];
    assert_eq!(found["group"], serde_json::json!([["source", "192.0.2.7"]]));
    let lines: Vec<u64> = found["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![1, 2, 4, 7]);
    assert_eq!(v["summary"]["matches"], 1);
    assert!(v["findings"].as_array().unwrap().is_empty());
}

#[test]
fn events_without_the_named_timestamp_field_are_findings() {
    let r = common::run(&[
        "test",
        RULES,
        "--events",
        EVENTS,
        "--timestamp-field",
        "UtcTime,ts",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("event_timestamp_missing"), "{}", r.stdout);
    assert!(!r.stdout.contains("correlated ["), "{}", r.stdout);
}

#[test]
fn unknown_reference_fails_the_run() {
    let dir = common::scratch();
    let text = std::fs::read_to_string(common::root().join(RULES)).unwrap();
    let broken = dir.path().join("rules.yml");
    std::fs::write(
        &broken,
        text.replace("- accepted_logon\n", "- accepted_logon_v2\n"),
    )
    .unwrap();
    let r = common::run(&["test", broken.to_str().unwrap(), "--events", EVENTS]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("rule_reference_unknown"), "{}", r.stdout);
    assert!(r.stdout.contains("accepted_logon_v2"), "{}", r.stdout);
    // Placed on the correlation's `rules:` key, as `check` places it, not the document's start.
    assert!(
        r.stdout
            .contains("rules.yml:9: error rule_reference_unknown"),
        "{}",
        r.stdout
    );
}
