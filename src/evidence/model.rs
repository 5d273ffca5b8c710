//! Result model of `attacktrace test`: plain data, rendered by `render::test_report` and saved as
//! JSON (schema `attacktrace.test/1`) that `coverage --tests FILE` reads back for the validated tier.

use crate::diag::Diagnostic;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const SCHEMA: &str = "attacktrace.test/1";

/// Whole run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestReport {
    pub schema: String,
    pub routing: bool,
    pub summary: Summary,
    /// Rules with at least one test case, match or false positive, in rule-set order.
    pub rules: Vec<RuleResult>,
    /// Problems with event files, regression data and paths, sorted.
    #[serde(skip_deserializing)]
    pub findings: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    pub rules_loaded: usize,
    /// Rule files that yielded no rule (their reports are among the findings): their tests did not
    /// run, so the run fails.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rule_files_not_loaded: usize,
    /// Rules with a compiled detection.
    pub rules_evaluable: usize,
    /// Event files read for `--events` and `--benign`.
    pub event_files: usize,
    /// Events read from those files.
    pub events: usize,
    /// Events that carried no channel, provider or logsource field (evaluated against every rule).
    pub events_unroutable: usize,
    /// Rule evaluations performed on `--events`/`--benign` events (rule x event pairs).
    pub evaluations: u64,
    pub cases: usize,
    pub cases_passed: usize,
    pub cases_failed: usize,
    /// Passed cases with a warning (a regression case matched more than its `match_count`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cases_warned: usize,
    /// Matches on `--events` events.
    pub matches: usize,
    /// Matches on `--benign` events.
    pub false_positives: usize,
    /// Rules that passed a positive test and had no false positive.
    pub rules_validated: usize,
    pub findings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// Every case passed and no benign event matched.
    Passed,
    /// A case failed or a benign event matched.
    Failed,
    /// No test case (only matches on `--events`).
    Untested,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleResult {
    pub path: PathBuf,
    pub document: usize,
    pub id: Option<String>,
    pub title: String,
    /// Technique IDs the rule is tagged with.
    pub techniques: Vec<String>,
    pub status: RuleStatus,
    /// A positive case passed and nothing failed: the rule counts for the validated tier.
    pub validated: bool,
    /// Why the evaluator cannot evaluate the rule, when it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_evaluable: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<CaseResult>,
    /// Events of `--events` files that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<EventRef>,
    /// Events of `--benign` files that matched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub false_positives: Vec<EventRef>,
    /// A correlation's results on `--events` (group and contributing events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation_matches: Vec<super::correlate::CorrelationMatch>,
    /// A correlation's results on `--benign` events: false positives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub correlation_false_positives: Vec<super::correlate::CorrelationMatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// `name.tests/positive.jsonl`: every event must match.
    Positive,
    /// `name.tests/negative.jsonl`: no event may match.
    Negative,
    /// SigmaHQ `regression_tests_path`: the listed events must match, at least `match_count` times
    /// when given (more is a warning, as upstream).
    Regression,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub kind: CaseKind,
    pub file: PathBuf,
    /// Events read from the file.
    pub events: usize,
    /// Events that matched.
    pub matched: usize,
    /// Required number of matches (regression `match_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<usize>,
    pub passed: bool,
    /// Lines of the events that went wrong (positives that did not match, negatives that did).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_lines: Vec<usize>,
    /// Why the case failed, when it is not just the lines above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Why a passed case deserves a look (more regression matches than `match_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Lines (EVTX: record numbers) of the events that matched, for a regression case that failed
    /// or warned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched_lines: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventRef {
    pub file: PathBuf,
    /// 1-based line of the event (EVTX: its record number).
    pub line: usize,
}

impl TestReport {
    /// A run fails (exit 1) when a case failed, a benign event matched, or an input had problems.
    pub fn failed(&self) -> bool {
        self.summary.cases_failed > 0
            || self.summary.false_positives > 0
            // An info.yml with no active test is SigmaHQ's own "nothing to run": a note only.
            // Every other finding fails, info level included: a rule `test` cannot evaluate must
            // never pass quietly.
            || self
                .findings
                .iter()
                .any(|d| d.code != crate::diag::Code::RegressionTestsNone)
    }
}
