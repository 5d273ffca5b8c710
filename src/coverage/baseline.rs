//! A previous coverage report (`--baseline FILE`) and what changed since.

use super::model::{
    BaselineDiff, RuleLink, RuleRow, TechniqueChange, TechniqueRow, Tier, VersionChange,
    VersionReason, COVERAGE_SCHEMA,
};
use super::CoverageError;
use crate::attack::KnowledgeBase;
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

/// What the diff needs of the current run besides its rows.
pub(super) struct Current<'a> {
    pub kb: &'a KnowledgeBase,
    pub techniques: &'a [TechniqueRow],
    pub rules: &'a [RuleRow],
    /// Indexes of current rules with a revoked, deprecated or unknown technique tag.
    pub retired_tags: &'a BTreeSet<usize>,
}

/// Rule keys (ID, else path) -> titles, for the rules `links` point at.
fn rule_keys(links: &[RuleLink], rows: &[RuleRow]) -> BTreeMap<String, String> {
    links
        .iter()
        .filter_map(|l| rows.get(l.rule))
        .map(|r| (r.key().to_string(), r.title.clone()))
        .collect()
}

/// Titles of the keys in `a` and not in `b`, sorted.
fn titles_not_in(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = a
        .iter()
        .filter(|(k, _)| !b.contains_key(*k))
        .map(|(_, t)| t.clone())
        .collect();
    out.sort();
    out
}

pub(super) fn diff(cur: &Current<'_>, base: &Baseline) -> BaselineDiff {
    let before: BTreeMap<&str, &BaselineTechnique> =
        base.techniques.iter().map(|t| (t.id.as_str(), t)).collect();
    // Current rules by key, with whether their tags lost meaning in this data.
    let present: BTreeMap<&str, bool> = cur
        .rules
        .iter()
        .map(|r| (r.key(), cur.retired_tags.contains(&r.index)))
        .collect();
    let mut out = BaselineDiff::default();
    let mut seen = BTreeSet::new();
    for t in cur.techniques {
        seen.insert(t.id.as_str());
        let now = rule_keys(&t.rules, cur.rules);
        let (tier_before, then) = match before.get(t.id.as_str()) {
            Some(b) => (b.tier, rule_keys(&b.rules, &base.rules)),
            None => (Tier::None, BTreeMap::new()),
        };
        let change = TechniqueChange {
            id: t.id.clone(),
            name: t.name.clone(),
            before: tier_before,
            after: t.tier,
            rules_added: titles_not_in(&now, &then),
            rules_removed: titles_not_in(&then, &now),
        };
        let moved = !change.rules_added.is_empty() || !change.rules_removed.is_empty();
        if t.guidance {
            // Rules on guidance techniques are likely mis-tags: dropping one is no regression.
            if t.tier != tier_before || moved {
                out.changed.push(change);
            }
        } else if t.tier > tier_before {
            out.gained.push(change);
        } else if t.tier < tier_before {
            // Every rule that covered it is still here, with tags this data no longer counts.
            let mut gone = then.keys().filter(|k| !now.contains_key(*k)).peekable();
            let retired =
                gone.peek().is_some() && gone.all(|k| present.get(k.as_str()) == Some(&true));
            if retired {
                out.version.push(VersionChange {
                    id: change.id,
                    name: change.name,
                    before: change.before,
                    after: change.after,
                    reason: VersionReason::TagsRetired,
                    replacement: None,
                    rules: change.rules_removed,
                });
            } else {
                out.lost.push(change);
            }
        } else if moved {
            out.changed.push(change);
        }
    }
    // Claimed before (guidance has rules but no tier) and gone from the current rows.
    for b in base
        .techniques
        .iter()
        .filter(|b| !seen.contains(b.id.as_str()) && (b.tier > Tier::None || !b.rules.is_empty()))
    {
        match left_for_version(cur.kb, b, base) {
            Some(v) => out.version.push(v),
            None if b.tier > Tier::None => out.left_scope.push(b.id.clone()),
            None => {}
        }
    }
    out.left_scope.sort();
    out.version.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// A covered baseline technique absent from the current rows because the data revoked,
/// deprecated or does not know it; `None` when it is active and only out of scope.
fn left_for_version(
    kb: &KnowledgeBase,
    b: &BaselineTechnique,
    base: &Baseline,
) -> Option<VersionChange> {
    let (reason, replacement) = match kb.technique(&b.id) {
        None => (VersionReason::Unknown, None),
        Some(t) if t.revoked => (
            VersionReason::Revoked,
            kb.resolve_revoked(&t.id).map(|r| r.id.clone()),
        ),
        Some(t) if t.deprecated => (VersionReason::Deprecated, None),
        Some(_) => return None,
    };
    let mut rules: Vec<String> = rule_keys(&b.rules, &base.rules).into_values().collect();
    rules.sort();
    Some(VersionChange {
        id: b.id.clone(),
        name: b.name.clone(),
        before: b.tier,
        after: Tier::None,
        reason,
        replacement,
        rules,
    })
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
