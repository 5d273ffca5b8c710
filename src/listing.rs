//! Report models for `attacktrace rules` and `attacktrace attack info`.

use crate::attack::KnowledgeBase;
use crate::link::LinkIndex;
use crate::report::RuleHead;
use crate::rules::{DetectionState, LoadSummary, RuleSet};
use serde::Serialize;

/// One rule in the listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListedRule {
    #[serde(flatten)]
    pub head: RuleHead,
    pub kind: crate::rules::RuleKind,
    pub techniques: Vec<String>,
    pub tactics: Vec<String>,
    pub logsource: String,
    pub path: String,
    pub line: usize,
    pub detection: DetectionState,
}

crate::report::deref_rule_head!(ListedRule);

/// Filters for `attacktrace rules`.
#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    /// Technique ID: rules covering it, directly or via a sub-technique.
    pub technique: Option<String>,
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleListing {
    pub schema: &'static str,
    pub attack_version: String,
    pub rules: Vec<ListedRule>,
    /// Rules shown after filtering.
    pub shown: usize,
    pub summary: LoadSummary,
}

pub fn rule_listing(
    kb: &KnowledgeBase,
    rules: &RuleSet,
    links: &LinkIndex,
    filter: &RuleFilter,
) -> RuleListing {
    let by_technique: Option<std::collections::BTreeSet<usize>> = filter
        .technique
        .as_deref()
        .map(|t| links.rules_for(t).iter().map(|l| l.rule).collect());
    let eq = |want: &Option<String>, have: &Option<String>| match want {
        None => true,
        Some(w) => have.as_deref() == Some(w.to_ascii_lowercase().as_str()),
    };
    let rows: Vec<ListedRule> = rules
        .rules
        .iter()
        .enumerate()
        .filter(|(i, _)| by_technique.as_ref().is_none_or(|s| s.contains(i)))
        .filter(|(_, r)| {
            eq(&filter.product, &r.logsource.product)
                && eq(&filter.category, &r.logsource.category)
                && eq(&filter.service, &r.logsource.service)
        })
        .map(|(_, r)| ListedRule {
            head: RuleHead::of(r),
            kind: r.kind,
            techniques: r.technique_tags().map(str::to_string).collect(),
            tactics: r.tactic_tags().map(str::to_string).collect(),
            logsource: r.logsource.key(),
            path: r.path.display().to_string(),
            line: r.line,
            detection: r.detection.clone(),
        })
        .collect();
    RuleListing {
        schema: "attacktrace.rules/1",
        attack_version: kb.source.version.clone(),
        shown: rows.len(),
        rules: rows,
        summary: LoadSummary::of(rules),
    }
}

/// Report model for `attacktrace attack info`.
#[derive(Debug, Clone, Serialize)]
pub struct AttackInfo {
    pub schema: &'static str,
    pub source: crate::attack::SourceInfo,
    pub stats: crate::attack::stats::AttackStats,
}
