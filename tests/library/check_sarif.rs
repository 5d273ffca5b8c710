//! SARIF output checked against what GitHub code scanning enforces on upload: SARIF 2.1.0,
//! required properties, stable rule ids with metadata, repository-relative URIs with a
//! `uriBaseId`, start lines >= 1, levels error/warning/note, `partialFingerprints`, and at most
//! 25,000 results per run.

use attacktrace::attack::catalog;
use attacktrace::check::{self, config::Settings, CheckInput, CheckReport, Finding};
use attacktrace::diag::{Code, Diagnostic};
use attacktrace::render::sarif::{to_sarif, SarifOptions, MAX_RESULTS};
use attacktrace::telemetry::Telemetry;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options() -> SarifOptions {
    SarifOptions {
        base: root(),
        root: root(),
        tool_version: "0.0.0-test".into(),
    }
}

fn fixture_report() -> CheckReport {
    let kb = catalog::embedded();
    let rules = check::load_rules(&[PathBuf::from("tests/fixtures/check/rules")]);
    check::run(&CheckInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rules,
        settings: &Settings::default(),
    })
}

/// Every rule GitHub applies, as assertions; returns the results.
fn assert_github_valid(doc: &Value) -> Vec<Value> {
    assert_eq!(doc["version"], "2.1.0");
    assert!(doc["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let runs = doc["runs"].as_array().expect("runs is an array");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "attacktrace");
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let unique: BTreeSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "rule ids unique");
    for r in rules {
        for key in ["shortDescription", "fullDescription", "help"] {
            assert!(
                !r[key]["text"].as_str().unwrap_or("").is_empty(),
                "{key} of {}",
                r["id"]
            );
        }
        let level = r["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["error", "warning", "note"].contains(&level));
    }
    let results = run["results"].as_array().expect("results").clone();
    assert!(results.len() <= MAX_RESULTS);
    let mut fingerprints = BTreeSet::new();
    for res in &results {
        let rule_id = res["ruleId"].as_str().expect("ruleId");
        let index = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(ids[index], rule_id, "ruleIndex points at the rule");
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap()));
        assert!(!res["message"]["text"].as_str().unwrap().is_empty());
        let fp = res["partialFingerprints"]
            .as_object()
            .expect("partialFingerprints");
        assert!(!fp.is_empty());
        assert!(
            fingerprints.insert(fp.values().next().unwrap().to_string()),
            "fingerprints unique"
        );
        let locations = res["locations"].as_array().expect("a location");
        assert!(!locations.is_empty() && locations.len() <= 10);
        let phys = &locations[0]["physicalLocation"];
        let uri = phys["artifactLocation"]["uri"].as_str().unwrap();
        assert_eq!(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(
            !uri.starts_with('/') && !uri.contains(':') && !uri.contains('\\'),
            "relative URI: {uri}"
        );
        assert!(!uri.split('/').any(|s| s == ".." || s == "."), "{uri}");
        assert!(phys["region"]["startLine"].as_u64().unwrap() >= 1);
        if let Some(c) = phys["region"]["startColumn"].as_u64() {
            assert!(c >= 1);
        }
    }
    results
}

#[test]
fn fixture_sarif_meets_github_rules() {
    let report = fixture_report();
    let text = to_sarif(&report, &options());
    let doc: Value = serde_json::from_str(&text).unwrap();
    let results = assert_github_valid(&doc);
    assert_eq!(results.len(), report.findings.len());
    assert!(results.iter().any(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "tests/fixtures/check/rules/attack_revoked.yml"
    ));
    // Same input, same bytes.
    assert_eq!(text, to_sarif(&fixture_report(), &options()));
}

#[test]
fn fingerprints_survive_line_moves() {
    let report = fixture_report();
    let mut moved = report.clone();
    for f in &mut moved.findings {
        f.diagnostic.line = f.diagnostic.line.map(|l| l + 7);
    }
    let fp = |r: &CheckReport| -> Vec<Value> {
        let doc: Value = serde_json::from_str(&to_sarif(r, &options())).unwrap();
        doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].clone())
            .collect()
    };
    assert_eq!(fp(&report), fp(&moved));
}

#[test]
fn results_are_capped_at_25000_with_a_notification() {
    let mut report = fixture_report();
    let template = Finding::new(
        Diagnostic::new(Code::FieldUnknown, "x")
            .at("rules/a.yml")
            .line(Some(1), Some(1)),
        Some("id"),
    );
    report.findings = (0..MAX_RESULTS + 10)
        .map(|i| {
            let mut f = template.clone();
            f.diagnostic.message = format!("finding {i}");
            f
        })
        .collect();
    let doc: Value = serde_json::from_str(&to_sarif(&report, &options())).unwrap();
    let results = assert_github_valid(&doc);
    assert_eq!(results.len(), MAX_RESULTS);
    let note = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert!(note["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("10 findings were left out"));
}

#[test]
fn sarif_snapshot_of_one_fixture() {
    let kb = catalog::embedded();
    let rules = check::load_rules(&[PathBuf::from(
        "tests/fixtures/check/rules/attack_revoked.yml",
    )]);
    let report = check::run(&CheckInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rules,
        settings: &Settings::default(),
    });
    let doc: Value = serde_json::from_str(&to_sarif(&report, &options())).unwrap();
    // The rule table is the code registry (snapshotted elsewhere); pin the run and its results.
    insta::assert_json_snapshot!("sarif_attack_revoked_results", doc["runs"][0]["results"]);
    assert_github_valid(&doc);
}

#[test]
fn run_level_findings_become_notifications() {
    let mut report = fixture_report();
    let n = report.findings.len();
    report.findings.push(Finding::new(
        Diagnostic::new(
            Code::CoverageMinimum,
            "execution: 10.0% of techniques covered",
        ),
        None,
    ));
    let doc: Value = serde_json::from_str(&to_sarif(&report, &options())).unwrap();
    assert_eq!(assert_github_valid(&doc).len(), n);
    let note = &doc["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["descriptor"]["id"], "coverage_minimum");
    assert_eq!(note["level"], "error");
}
