//! The SigmaHQ regression corpus: every rule with `regression_tests_path` against its events.
//! Skipped when `../shared` is absent. Pins the verdicts (as SigmaHQ's CI gives them) so a
//! regression in the engine, the EVTX reader, the normaliser or the windash rewrite shows up.
#![allow(clippy::print_stderr)]

use attacktrace::evidence::{self, CaseKind, FieldMap, TestInputs, TestOptions};
use attacktrace::rules::load::{load, LoadOptions};
use attacktrace::telemetry::Telemetry;

#[test]
fn regression_pass_rate() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let rules = shared.join("sigmahq/rules");
    let set = load(&[rules], &LoadOptions::default());
    let report = evidence::run(
        &set,
        Telemetry::embedded(),
        FieldMap::embedded(),
        &TestInputs::default(),
        &TestOptions::default(),
    );
    let cases: Vec<_> = report
        .rules
        .iter()
        .flat_map(|r| r.cases.iter())
        .filter(|c| c.kind == CaseKind::Regression)
        .collect();
    let passed = cases.iter().filter(|c| c.passed).count();
    let warned = cases.iter().filter(|c| c.warning.is_some()).count();
    eprintln!(
        "regression: {passed} of {} cases pass, {warned} with a warning",
        cases.len()
    );
    assert_eq!(cases.len(), 159);
    // As SigmaHQ's CI judges them: every test passes; 4 match more events than their
    // `match_count`, which upstream only warns about (data, see README).
    assert_eq!((passed, warned), (159, 4));
    assert_eq!(report.summary.cases_warned, 4);
    // The `.evtx` named in info.yml is what runs (its `.json` only when the `.evtx` is absent).
    assert!(cases.iter().all(|c| evidence::evtx::is_evtx(&c.file)));
    for c in cases.iter().filter(|c| c.warning.is_some()) {
        assert!(c.matched > c.expected.unwrap_or(0), "{c:?}");
        assert_eq!(c.matched_lines.len(), c.matched, "{c:?}");
    }
    // The one rule whose test is commented out in its info.yml is a finding, not a failure.
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
}
