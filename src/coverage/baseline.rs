//! A previous coverage report (`--baseline FILE`) and what changed since.

use super::model::{
    BaselineDiff, RuleLink, RuleRow, TechniqueChange, TechniqueRow, Tier, COVERAGE_SCHEMA,
};
use super::CoverageError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The parts of a previous `attacktrace.coverage/1` JSON output the diff needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Baseline {
    pub schema: String,
    pub techniques: Vec<BaselineTechnique>,
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BaselineTechnique {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub tier: Tier,
    #[serde(default)]
    pub rules: Vec<RuleLink>,
}

impl Baseline {
    pub fn parse(label: &str, text: &str) -> Result<Baseline, CoverageError> {
        let b: Baseline =
            serde_json::from_str(text).map_err(|source| CoverageError::BaselineSyntax {
                label: label.to_string(),
                source,
            })?;
        if b.schema != COVERAGE_SCHEMA {
            return Err(CoverageError::BaselineSchema {
                label: label.to_string(),
                found: b.schema,
            });
        }
        Ok(b)
    }
}

pub(super) fn diff(current: &[TechniqueRow], rules: &[RuleRow], base: &Baseline) -> BaselineDiff {
    let key_set = |links: &[RuleLink], rows: &[RuleRow]| -> BTreeSet<String> {
        links
            .iter()
            .filter_map(|l| rows.get(l.rule).map(|r| r.key().to_string()))
            .collect()
    };
    let before: BTreeMap<&str, &BaselineTechnique> =
        base.techniques.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut out = BaselineDiff::default();
    let mut seen = BTreeSet::new();
    for t in current {
        seen.insert(t.id.as_str());
        let now = key_set(&t.rules, rules);
        let (tier_before, then) = match before.get(t.id.as_str()) {
            Some(b) => (b.tier, key_set(&b.rules, &base.rules)),
            None => (Tier::None, BTreeSet::new()),
        };
        let change = TechniqueChange {
            id: t.id.clone(),
            name: t.name.clone(),
            before: tier_before,
            after: t.tier,
            rules_added: now.difference(&then).cloned().collect(),
            rules_removed: then.difference(&now).cloned().collect(),
        };
        if t.guidance {
            // Rules on guidance techniques are likely mis-tags: dropping one is no regression.
            if t.tier != tier_before
                || !change.rules_added.is_empty()
                || !change.rules_removed.is_empty()
            {
                out.changed.push(change);
            }
        } else if t.tier > tier_before {
            out.gained.push(change);
        } else if t.tier < tier_before {
            out.lost.push(change);
        } else if !change.rules_added.is_empty() || !change.rules_removed.is_empty() {
            out.changed.push(change);
        }
    }
    out.left_scope = base
        .techniques
        .iter()
        .filter(|b| !seen.contains(b.id.as_str()) && b.tier > Tier::None)
        .map(|b| b.id.clone())
        .collect();
    out.left_scope.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_rejects_other_schemas() {
        let e = Baseline::parse("b", r#"{"schema":"x","techniques":[],"rules":[]}"#).unwrap_err();
        assert!(e.to_string().contains("expected"), "{e}");
        assert!(matches!(e, CoverageError::BaselineSchema { .. }));
        let e = Baseline::parse("b", "not json").unwrap_err();
        assert!(std::error::Error::source(&e).is_some(), "cause kept");
        assert!(Baseline::parse("b", "not json").is_err());
    }
}
