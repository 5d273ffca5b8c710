//! `check` over the full SigmaHQ rule set in `../shared` (skipped with a notice when absent): the
//! run completes, every file is accounted for, and the finding counts by code are snapshotted so
//! that any change in a validator's behaviour on real rules is reviewed. Only counts and codes are
//! kept, never rule content.
#![allow(clippy::print_stderr)]

use attacktrace::attack::catalog;
use attacktrace::check::{self, config::Settings, CheckInput};
use attacktrace::telemetry::Telemetry;
use std::path::PathBuf;

#[test]
fn sigmahq_counts_by_code() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let rules_dir = shared.join("sigmahq/rules");
    let kb = catalog::embedded();
    let rules = check::load_rules(&[PathBuf::from(&rules_dir)]);
    let report = check::run(&CheckInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rules,
        settings: &Settings::default(),
    });
    assert_eq!(report.files_seen, 3132);
    assert_eq!(
        report.files_seen,
        report.files_loaded + report.files_reported
    );
    let mut lines = vec![format!(
        "files {} loaded {} not-loaded {} rules {} findings {}",
        report.files_seen,
        report.files_loaded,
        report.files_reported,
        report.rules,
        report.findings.len()
    )];
    for c in &report.summary {
        lines.push(format!(
            "{:<8} {:<30} {}",
            c.severity.as_str(),
            c.code,
            c.count
        ));
    }
    insta::assert_snapshot!("sigmahq_counts", lines.join("\n"));
    // Every finding points into a file that exists, at a real line.
    for f in &report.findings {
        let d = &f.diagnostic;
        assert!(d.path.as_ref().is_some_and(|p| p.is_file()), "{d:?}");
        assert!(d.line.is_some_and(|l| l >= 1), "{d:?}");
    }
}
