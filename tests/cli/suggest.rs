//! End-to-end runs of `suggest` on the project's own fixtures (tests/fixtures/suggest): three
//! small tagged families as the reference, an untagged rule and a mis-tagged one to suggest for.

use crate::common::run;

const QUERY: &str = "tests/fixtures/suggest/query";
const REFERENCE: &str = "tests/fixtures/suggest/reference";

fn json(args: &[&str]) -> serde_json::Value {
    let r = run(args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

#[test]
fn suggests_the_technique_a_rule_detects() {
    let v = json(&[
        "suggest",
        QUERY,
        "--reference",
        REFERENCE,
        "--format",
        "json",
    ]);
    assert_eq!(v["schema"], "attacktrace.suggest/1");
    let rules = v["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    let timer = rules
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("timer_untagged.yml"))
        .unwrap();
    assert_eq!(timer["tags"], serde_json::json!([]));
    let first = &timer["suggestions"][0];
    assert_eq!(first["technique"], "T1053.006");
    assert_eq!(first["tagged"], false);
    assert!(first["score"].as_f64().unwrap() > 0.5);
    assert!(first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().contains("tagged neighbours: 3 of the")));
    assert_eq!(timer["suggestions"].as_array().unwrap().len(), 3);
    // The mis-tagged rule: it teaches the model too (it is tagged), but it is scored without its
    // own pull, so what it detects comes first and its wrong tag does not vouch for itself.
    let shadow = rules
        .iter()
        .find(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .ends_with("shadow_mistagged.yml")
        })
        .unwrap();
    let techniques: Vec<&str> = shadow["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["technique"].as_str().unwrap())
        .collect();
    assert_eq!(techniques[0], "T1490", "{techniques:?}");
}

#[test]
fn top_k_and_snapshots() {
    let r = run(&["suggest", QUERY, "--reference", REFERENCE, "--top", "2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    insta::assert_snapshot!("suggest_fixtures_text", r.stdout);
    let j = run(&[
        "suggest",
        QUERY,
        "--reference",
        REFERENCE,
        "--top",
        "2",
        "--format",
        "json",
    ]);
    insta::assert_snapshot!("suggest_fixtures_json", j.stdout);
}

#[test]
fn deterministic_output() {
    let a = run(&[
        "suggest",
        QUERY,
        "--reference",
        REFERENCE,
        "--format",
        "json",
    ]);
    let b = run(&[
        "suggest",
        QUERY,
        "--reference",
        REFERENCE,
        "--format",
        "json",
    ]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn missing_path_exits_2() {
    let r = run(&["suggest", "tests/fixtures/suggest/nope"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&[
        "suggest",
        QUERY,
        "--reference",
        "tests/fixtures/suggest/nope",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn without_tagged_rules_says_so() {
    let r = run(&["suggest", "tests/fixtures/suggest/query/timer_untagged.yml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("--reference"), "{}", r.stderr);
    assert!(r.stdout.contains("(no suggestion)"), "{}", r.stdout);
}

#[test]
fn check_finds_the_unlikely_tag_only_when_switched_on() {
    let dir = crate::common::scratch();
    let cfg = dir.path().join("on.yml");
    std::fs::write(&cfg, "validators:\n  - all\n  - attack_tag_unlikely\n").unwrap();
    let on = run(&[
        "--config",
        cfg.to_str().unwrap(),
        "check",
        "tests/fixtures/suggest",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&on.stdout).expect("JSON");
    let found: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "attack_tag_unlikely")
        .collect();
    assert_eq!(found.len(), 1, "{}", on.stdout);
    assert!(found[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("shadow_mistagged.yml"));
    assert!(found[0]["message"]
        .as_str()
        .unwrap()
        .contains("points at T1490"));
    // At the offending tag, not the rule's first line.
    assert_eq!(
        (found[0]["line"].as_u64(), found[0]["column"].as_u64()),
        (Some(9), Some(7))
    );
    let off = run(&[
        "--no-config",
        "check",
        "tests/fixtures/suggest",
        "--format",
        "json",
    ]);
    assert!(
        !off.stdout.contains("attack_tag_unlikely"),
        "{}",
        off.stdout
    );
    let shown = run(&["--config", cfg.to_str().unwrap(), "check", "--show-config"]);
    assert!(
        shown.stdout.contains("  - attack_tag_unlikely\n"),
        "{}",
        shown.stdout
    );
}

/// A copy of a reference rule (same `id`, another path) is the same rule: it does not teach
/// twice, and it is scored without the reference copy's pull, like the original.
#[test]
fn a_copy_of_a_reference_rule_is_scored_as_the_rule() {
    let dir = crate::common::scratch();
    let copy = dir.path().join("shadow_copy.yml");
    std::fs::copy(format!("{REFERENCE}/shadow_0.yml"), &copy).unwrap();
    let copied = run(&["suggest", copy.to_str().unwrap(), "--reference", REFERENCE]);
    let original = run(&[
        "suggest",
        &format!("{REFERENCE}/shadow_0.yml"),
        "--reference",
        REFERENCE,
    ]);
    assert_eq!(copied.code, 0, "{}", copied.stderr);
    assert!(
        copied.stdout.contains("model trained on 9 tagged rules"),
        "{}",
        copied.stdout
    );
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&copied.stdout), body(&original.stdout));
}
