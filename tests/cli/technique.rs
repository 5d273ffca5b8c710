//! End-to-end runs of the binary: `technique`, `rules`, `attack info`, `explain`.
//! Each test pins exit code, stdout and stderr together; cards are snapshot-tested per format.

use crate::common;
use crate::common::{run, Run};

const FIXTURE_RULES: &str = "tests/fixtures/rules/valid";

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

#[test]
fn t1595_embedded_is_no_portable_rule_with_guidance() {
    let r = run(&["technique", "T1595"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "");
    insta::assert_snapshot!("t1595_text", r.stdout);
    let j = run(&["technique", "T1595", "--format", "json"]);
    let v = json(&j);
    assert_eq!(v["observability"]["class"], "no-portable-rule");
    assert_eq!(v["detection"]["model"], "v18");
    assert_eq!(v["detection"]["strategies"][0]["id"], "DET0830");
    assert_eq!(
        v["detection"]["strategies"][0]["analytics"][0]["id"],
        "AN1962"
    );
    assert!(v["guidance"].is_object());
    assert!(
        v["events"]["statement"].is_string(),
        "no placeholder event rows"
    );
    // The seed card's flaws must not come back.
    assert!(!r.stdout.contains("No MITRE detection guidance"));
    assert!(!r.stdout.contains("(Citation:"));
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| *l == "T1595 Active Scanning")
            .count(),
        1,
        "the header is printed once"
    );
    insta::assert_snapshot!("t1595_json", j.stdout);
}

#[test]
fn t1595_with_rules_never_counts_as_covered() {
    let r = run(&[
        "technique",
        "T1595",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["rules"]["covered"], false);
    assert_eq!(v["rules"]["indicators_only"], true);
    assert!(
        !v["rules"]["tagged"].as_array().unwrap().is_empty(),
        "fixture has a rule tagged t1595"
    );
    assert!(!v["rules"]["notes"].as_array().unwrap().is_empty());
}

#[test]
fn t1059_001_with_fixture_rules() {
    let r = run(&["technique", "t1059.001", "--rules", FIXTURE_RULES]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("t1059_001_fixtures_text", r.stdout);
    let j = run(&[
        "technique",
        "T1059.001",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "json",
    ]);
    let v = json(&j);
    assert_eq!(v["observability"]["class"], "portable");
    assert_eq!(v["rules"]["covered"], true);
    assert_eq!(v["technique"]["parent"]["id"], "T1059");
    insta::assert_snapshot!("t1059_001_fixtures_json", j.stdout);
}

#[test]
fn parent_is_covered_via_sub_technique() {
    let j = run(&[
        "technique",
        "T1059",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "json",
    ]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    let v = json(&j);
    let tagged = v["rules"]["tagged"].as_array().unwrap();
    assert!(tagged
        .iter()
        .any(|r| r["via"].as_str().is_some_and(|s| s.starts_with("T1059."))));
}

#[test]
fn t1566_is_environment_specific() {
    let r = run(&["technique", "T1566"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("t1566_text", r.stdout);
    let j = run(&["technique", "T1566", "--format", "json"]);
    assert_eq!(json(&j)["observability"]["class"], "environment-specific");
    insta::assert_snapshot!("t1566_json", j.stdout);
}

#[test]
fn markdown_card() {
    let r = run(&[
        "technique",
        "T1059.001",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "markdown",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("t1059_001_fixtures_markdown", r.stdout);
}

#[test]
fn sub_technique_card() {
    let r = run(&["technique", "T1595.002"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("t1595_002_text", r.stdout);
    let j = run(&["technique", "T1595.002", "--format", "json"]);
    insta::assert_snapshot!("t1595_002_json", j.stdout);
}

#[test]
fn revoked_technique_resolves_to_replacement() {
    // T1086 (PowerShell) was revoked by T1059.001.
    let r = run(&["technique", "T1086"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("T1086"), "notice on stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("T1059.001"),
        "notice names replacement: {}",
        r.stderr
    );
    insta::assert_snapshot!("t1086_revoked_text", r.stdout);
    let j = run(&["technique", "T1086", "--format", "json", "--quiet"]);
    assert_eq!(j.stderr, "");
    let v = json(&j);
    assert_eq!(v["technique"]["id"], "T1059.001");
    insta::assert_snapshot!("t1086_revoked_json", j.stdout);
}

#[test]
fn unknown_technique_exits_2_with_suggestions() {
    let r = run(&["technique", "T1595.009"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.starts_with("error:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("T1595"),
        "suggests close IDs: {}",
        r.stderr
    );
}

#[test]
fn lookup_by_name() {
    let r = run(&["technique", "active scanning", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["technique"]["id"], "T1595");
}

#[test]
fn output_is_deterministic() {
    let a = run(&[
        "technique",
        "T1059",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "json",
    ]);
    let b = run(&[
        "technique",
        "T1059",
        "--rules",
        FIXTURE_RULES,
        "--format",
        "json",
    ]);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn injected_panic_becomes_internal_error_exit_2() {
    // The test binary is a debug build, where ATTACKTRACE_INJECT_PANIC triggers a panic.
    let out = common::command(&common::root())
        .args(["technique", "T1595"])
        .env("ATTACKTRACE_INJECT_PANIC", "1")
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: internal error"), "{stderr}");
    assert!(stderr.contains("please report"), "{stderr}");
    assert!(
        !stderr.contains("panicked at"),
        "no raw panic output: {stderr}"
    );
    assert_eq!(out.stdout, b"");
}

#[test]
fn usage_error_exits_2() {
    let r = run(&["technique"]);
    assert_eq!(r.code, 2);
    let r = run(&["no-such-command"]);
    assert_eq!(r.code, 2);
}

#[test]
fn attack_info_embedded() {
    let r = run(&["attack", "info", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["source"]["version"], "18.1");
    assert_eq!(v["source"]["domain"], "enterprise-attack");
    insta::assert_snapshot!("attack_info_embedded", run(&["attack", "info"]).stdout);
}

#[test]
fn rules_listing_counts_add_up() {
    let r = run(&["rules", "tests/fixtures/rules", "--format", "json"]);
    assert_eq!(r.code, 1, "broken fixtures are findings: {}", r.stderr);
    let v = json(&r);
    let s = &v["summary"];
    assert_eq!(
        s["files_seen"].as_u64().unwrap(),
        s["files_loaded"].as_u64().unwrap() + s["files_reported"].as_u64().unwrap()
    );
    let text = run(&["rules", "tests/fixtures/rules"]);
    insta::assert_snapshot!("rules_fixtures_text", text.stdout);
    let valid = run(&["rules", FIXTURE_RULES, "--technique", "T1059"]);
    assert_eq!(valid.code, 0, "{}", valid.stdout);
    insta::assert_snapshot!("rules_fixtures_t1059_text", valid.stdout);
}

#[test]
fn explain_known_and_unknown_codes() {
    let r = run(&["explain", "yaml_error"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("yaml_error"));
    let r = run(&["explain", "nope"]);
    assert_eq!(r.code, 2);
    insta::assert_snapshot!("explain_list", run(&["explain"]).stdout);
}

#[test]
fn repository_config_names_the_attack_data() {
    let tmp = common::scratch();
    let dir = tmp.path().to_path_buf();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::create_dir_all(dir.join("attack")).unwrap();
    std::fs::copy(
        common::root().join("tests/fixtures/attack/mini-v17-21.json"),
        dir.join("attack/mini.json"),
    )
    .unwrap();
    std::fs::write(dir.join(".attacktrace.yml"), "attack: attack/mini.json\n").unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    // Found from a subdirectory, resolved against the config file's directory.
    let r = common::run_in(&dir.join("sub"), &["attack", "info", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["source"]["version"], "17.1",
        "the fixture's collection version"
    );
    // --attack wins over the config.
    let bundle = common::root().join("tests/fixtures/attack/mini-v18.json");
    let r = common::run_in(
        &dir,
        &[
            "--attack",
            bundle.to_str().unwrap(),
            "attack",
            "info",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_ne!(v["source"]["version"], "17.1");
    // A broken config is an input error.
    std::fs::write(dir.join(".attacktrace.yml"), "attack: [unclosed\n").unwrap();
    assert_eq!(common::run_in(&dir, &["attack", "info"]).code, 2);
}
