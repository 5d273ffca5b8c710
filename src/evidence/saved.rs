//! A saved `test --save FILE` result read back (`coverage --tests FILE`): which loaded rules it
//! marks validated.

use super::model::{TestReport, SCHEMA};
use crate::rules::RuleSet;
use std::collections::BTreeSet;

/// Why a saved test result cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedResultError {
    #[error("not a test result: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("schema `{found}`, expected `{SCHEMA}`")]
    Schema { found: String },
}

/// Indexes of the loaded rules that a saved test result marks validated, matched by path and
/// document, else by rule ID.
pub fn validated_rules(ruleset: &RuleSet, text: &str) -> Result<BTreeSet<usize>, SavedResultError> {
    let report: TestReport = serde_json::from_str(text).map_err(SavedResultError::NotJson)?;
    if report.schema != SCHEMA {
        return Err(SavedResultError::Schema {
            found: report.schema,
        });
    }
    let mut out = BTreeSet::new();
    for r in report.rules.iter().filter(|r| r.validated) {
        let found = ruleset
            .rules
            .iter()
            .position(|x| x.path == r.path && x.document == r.document)
            .or_else(|| {
                r.id.as_ref()
                    .and_then(|id| ruleset.rules.iter().position(|x| x.id.as_ref() == Some(id)))
            });
        out.extend(found);
    }
    Ok(out)
}
