//! One fixture per `check` code under `tests/fixtures/check/rules/` (a file `CODE.yml`, or a
//! directory `CODE/` for repository-wide codes), each with a JSON snapshot of its findings. Also
//! snapshots the list of codes and proves every code a fixture can show has one.

use attacktrace::attack::catalog;
use attacktrace::check::{self, config::Settings, CheckInput, CheckReport};
use attacktrace::telemetry::Telemetry;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const DIR: &str = "tests/fixtures/check/rules";

/// Codes that no rule file can trigger: I/O trouble, a path on the command line, an 8 MiB file,
/// and the coverage gate (tested in `check_cli.rs`); and `attack_tag_unlikely`, off by default
/// (these fixtures run with the default settings) and learnt from a set of rules, not one file
/// (tested in `tests/cli/suggest.rs` and `suggest::mistag`).
const NOT_FROM_A_FIXTURE: &[&str] = &[
    "io_error",
    "path_not_found",
    "file_too_large",
    "coverage_loss",
    "coverage_minimum",
    "attack_tag_unlikely",
];

/// Checks with every code on, opt-in ones (`tag_order`) included, so each fixture shows its code.
fn check_paths(paths: &[PathBuf]) -> CheckReport {
    let kb = catalog::embedded();
    let rules = check::load_rules(paths);
    let settings = Settings {
        enabled: attacktrace::diag::Code::all().collect(),
        ..Settings::default()
    };
    check::run(&CheckInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rules,
        settings: &settings,
    })
}

#[test]
fn tag_order_is_off_by_default_and_on_when_named() {
    let kb = catalog::embedded();
    let rules = check::load_rules(&[PathBuf::from(DIR).join("tag_order.yml")]);
    let codes = |settings: &Settings| -> BTreeSet<&'static str> {
        check::run(&CheckInput {
            kb: &kb,
            telemetry: Telemetry::embedded(),
            rules: &rules,
            settings,
        })
        .findings
        .iter()
        .map(|f| f.diagnostic.code.as_str())
        .collect()
    };
    assert!(!codes(&Settings::default()).contains("tag_order"));
    let all = Settings::parse("c", "validators: [all]\n").unwrap();
    assert!(!codes(&all).contains("tag_order"));
    let named = Settings::parse("c", "validators: [all, tag_order]\n").unwrap();
    assert!(codes(&named).contains("tag_order"));
    assert!(named.to_yaml().contains("  - tag_order\n"));
}

fn fixtures() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(DIR)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, Path::new(DIR).join(p.file_name().unwrap()))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn every_fixture_shows_its_code_and_matches_its_snapshot() {
    for (name, path) in fixtures() {
        let report = check_paths(std::slice::from_ref(&path));
        let codes: BTreeSet<&str> = report
            .findings
            .iter()
            .map(|f| f.diagnostic.code.as_str())
            .collect();
        match name.as_str() {
            "clean" => assert!(codes.is_empty(), "clean fixture: {codes:?}"),
            "suppressed" => {
                assert!(codes.is_empty(), "{codes:?}");
                assert_eq!(report.suppressed, 1);
            }
            code => {
                assert!(
                    attacktrace::diag::lookup(code).is_some(),
                    "fixture {name} is not named after a code"
                );
                assert!(codes.contains(code), "{name}: found {codes:?}");
            }
        }
        insta::assert_json_snapshot!(format!("finding_{name}"), report.findings);
    }
}

#[test]
fn every_code_has_a_fixture() {
    let have: BTreeSet<String> = fixtures().into_iter().map(|(n, _)| n).collect();
    let missing: Vec<&str> = check::codes()
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !NOT_FROM_A_FIXTURE.contains(c) && !have.contains(*c))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}

#[test]
fn code_list_snapshot() {
    let list: Vec<String> = check::codes()
        .iter()
        .map(|c| c.info())
        .map(|c| format!("{} {} {}", c.code, c.severity.as_str(), c.summary))
        .collect();
    let unique: BTreeSet<&String> = list.iter().collect();
    assert_eq!(unique.len(), list.len(), "codes are unique");
    insta::assert_snapshot!("code_list", list.join("\n"));
}

#[test]
fn all_fixtures_together_add_up() {
    let report = check_paths(&[PathBuf::from(DIR)]);
    assert_eq!(
        report.files_seen,
        report.files_loaded + report.files_reported
    );
    // Every per-fixture code also shows in the combined run; ids repeat across fixtures there.
    let codes: BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.diagnostic.code.as_str())
        .collect();
    assert!(codes.contains("identifier_uniqueness"));
    assert!(report.failed());
}
