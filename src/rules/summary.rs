//! The load summary every rule-reading command reports: what was seen, loaded and skipped, by reason.

use super::{DetectionState, RuleSet};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::collections::BTreeMap;

/// Files seen, loaded and reported, with reports counted by code. `files_seen = files_loaded +
/// files_reported` always holds; a test checks it.
#[derive(Debug, Clone, Serialize)]
pub struct LoadSummary {
    pub files_seen: usize,
    pub files_loaded: usize,
    pub files_reported: usize,
    pub rules_loaded: usize,
    /// Loaded rules whose detection the engine cannot evaluate (kept for linking).
    pub not_evaluable: usize,
    /// Report code -> count (documents or files not loaded).
    pub reported_by_reason: BTreeMap<&'static str, usize>,
    /// Every report, sorted by path and line.
    pub reports: Vec<Diagnostic>,
}

impl LoadSummary {
    pub fn of(rules: &RuleSet) -> LoadSummary {
        let mut by = BTreeMap::new();
        for d in &rules.reports {
            *by.entry(d.code.as_str()).or_insert(0) += 1;
        }
        LoadSummary {
            files_seen: rules.files_seen,
            files_loaded: rules.files_loaded,
            files_reported: rules.files_reported,
            rules_loaded: rules.rules.len(),
            not_evaluable: rules
                .rules
                .iter()
                .filter(|r| matches!(r.detection, DetectionState::NotEvaluable { .. }))
                .count(),
            reported_by_reason: by,
            reports: rules.reports.clone(),
        }
    }
}
