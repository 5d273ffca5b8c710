//! Guidance families on technique cards and `technique ID --template`: cards per family are
//! snapshot-tested (text and JSON, embedded catalog); every template passes `check` and never
//! counts as coverage.

use crate::common::{run, scratch, Run};

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

/// Cards of one technique per family the issue names (T1595 and T1595.002 are in `technique.rs`).
#[test]
fn family_cards() {
    for id in [
        "T1595.003",
        "T1592",
        "T1583.001",
        "T1657",
        "T1195.003",
        "T1498.001",
        "T1669",
    ] {
        let name = id.to_ascii_lowercase().replace('.', "_");
        let r = run(&["technique", id]);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{id}");
        insta::assert_snapshot!(format!("card_{name}_text"), r.stdout);
        let j = run(&["technique", id, "--format", "json"]);
        assert_eq!(j.code, 0, "{id}");
        insta::assert_snapshot!(format!("card_{name}_json"), j.stdout);
    }
}

#[test]
fn family_guidance_names_its_family() {
    let j = json(&run(&["technique", "T1595.003", "--format", "json"]));
    assert_eq!(j["guidance"]["family"], "wordlist-scanning");
    assert!(j["guidance"]["actionable"]
        .as_str()
        .is_some_and(|a| a.contains("T1190")));
    assert!(j["guidance"]["template"].is_string());
    assert!(j["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "correlation"));
    // A sub-technique no family lists takes its parent's family.
    let j = json(&run(&["technique", "T1583.003", "--format", "json"]));
    assert_eq!(j["guidance"]["family"], "acquire-infrastructure");
    // A card without guidance still points at its template.
    let j = json(&run(&["technique", "T1110.003", "--format", "json"]));
    if j["guidance"].is_null() {
        let notes = j["rules"]["notes"].to_string();
        assert!(notes.contains("T1110.003 --template"), "{notes}");
    }
}

const WITH_TEMPLATES: [&str; 5] = ["T1595.001", "T1595.003", "T1110.001", "T1110.003", "T1498"];

#[test]
fn templates_pass_check_without_findings() {
    let dir = scratch();
    for id in WITH_TEMPLATES {
        let t = run(&["technique", id, "--template"]);
        assert_eq!((t.code, t.stderr.as_str()), (0, ""), "{id}");
        assert!(t.stdout.contains("status: experimental"), "{id}");
        assert!(t.stdout.contains("correlation:"), "{id}");
        assert!(t.stdout.contains("# SET:"), "{id}");
        assert!(t.stdout.contains("attacktrace.template"), "{id}");
        let path = dir.path().join(format!("{id}.yml"));
        std::fs::write(&path, &t.stdout).unwrap();
        let c = run(&["check", path.to_str().unwrap()]);
        assert_eq!(c.code, 0, "{id}: {}", c.stdout);
        assert!(
            c.stdout.contains("0 error(s), 0 warning(s), 0 info"),
            "{id}: {}",
            c.stdout
        );
    }
}

#[test]
fn templates_never_count_as_coverage() {
    let dir = scratch();
    for id in WITH_TEMPLATES {
        let t = run(&["technique", id, "--template"]);
        std::fs::write(dir.path().join(format!("{id}.yml")), &t.stdout).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let r = run(&["coverage", d, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("correlation templates: not counted as coverage"),
        "{}",
        r.stderr
    );
    let v = json(&r);
    assert_eq!(v["totals"]["claimed"], 0);
    assert_eq!(v["totals"]["rules_in_scope"], 0);
    assert_eq!(v["totals"]["techniques"]["covered"], 0);
    assert_eq!(v["totals"]["subtechniques"]["covered"], 0);
    assert!(v["rules"].as_array().unwrap().len() >= 10, "all loaded");
    // The card does not count them either, though they are tagged with the technique.
    let c = json(&run(&[
        "technique",
        "T1110.003",
        "--rules",
        d,
        "--format",
        "json",
    ]));
    assert!(!c["rules"]["tagged"].as_array().unwrap().is_empty());
    assert_eq!(c["rules"]["covered"], false);
}

#[test]
fn template_for_a_technique_without_one_is_a_usage_error() {
    let r = run(&["technique", "T1059.001", "--template"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    insta::assert_snapshot!("template_missing_stderr", r.stderr);
}
