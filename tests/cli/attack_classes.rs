//! `attacktrace attack classes`: filters, formats, counts that add up, usage errors.

use crate::common::run;

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--no-config", "attack", "classes", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("json")
}

#[test]
fn json_counts_add_up_and_filters_narrow() {
    let all = json(&[]);
    let n = all["techniques"].as_array().unwrap().len();
    assert_eq!(n, 691);
    let sum: u64 = all["counts"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(sum as usize, n);
    let recon = json(&["--tactic", "TA0043", "--class", "no-portable-rule"]);
    let rows = recon["techniques"].as_array().unwrap();
    assert!(rows.len() >= 40, "{}", rows.len());
    for t in rows {
        assert_eq!(t["class"], "no-portable-rule");
        assert!(t["tactics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "Reconnaissance"));
        for key in ["confidence", "reason", "basis"] {
            assert!(
                t[key].as_str().is_some_and(|s| !s.is_empty()),
                "{key} in {t}"
            );
        }
    }
    // The same tactic by shortname and by name.
    assert_eq!(
        json(&["--tactic", "reconnaissance"])["techniques"],
        json(&["--tactic", "Reconnaissance"])["techniques"]
    );
}

#[test]
fn csv_has_one_row_per_technique_and_the_header() {
    let r = run(&[
        "--no-config",
        "attack",
        "classes",
        "--format",
        "csv",
        "--class",
        "portable",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("id,name,tactics,platforms,class,confidence,basis,subkind,reason,analytics,rejected,data_class")
    );
    let rows: Vec<&str> = lines.collect();
    let expected = json(&["--class", "portable"])["techniques"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|l| l.contains(",portable,")));
}

#[test]
fn text_names_class_confidence_basis_and_reason() {
    let r = run(&["--no-config", "attack", "classes", "--tactic", "TA0043"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("ATT&CK enterprise-attack v18.1 (embedded)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("\nT1595 Active Scanning\n  no portable rule (high confidence, basis: "),
        "{}",
        r.stdout
    );
}

#[test]
fn an_unknown_tactic_or_class_is_a_usage_error() {
    let r = run(&["--no-config", "attack", "classes", "--tactic", "TA9999"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown tactic `TA9999`"), "{}", r.stderr);
    let r = run(&["--no-config", "attack", "classes", "--class", "covered"]);
    assert_eq!(r.code, 2);
}
