//! The coverage report model: plain serde data, the documented `attacktrace.coverage/1` JSON shape.

use super::AttackSource;
use crate::link::{TagProblem, Via};
use crate::report::RuleHead;
use crate::rules::LoadSummary;
use crate::telemetry::ObsClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const COVERAGE_SCHEMA: &str = "attacktrace.coverage/1";

/// How far a technique's coverage goes. Ordered: a later tier is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// No rule in scope claims the technique.
    None,
    /// A rule claims it (tag, directly or via a sub-technique).
    Tagged,
    /// A claiming rule reads a log source the telemetry profile says is collected.
    Runnable,
    /// A claiming rule passed its positive tests without a benign hit.
    Validated,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::None => "none",
            Tier::Tagged => "tagged",
            Tier::Runnable => "runnable",
            Tier::Validated => "validated",
        }
    }
}

// ---- report model -----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    pub schema: &'static str,
    pub attack: AttackSource,
    /// Rule tags of another ATT&CK release than the data; absent when there is none. Every format
    /// shows it on top: it explains missing coverage that is no gap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew: Option<crate::skew::VersionSkew>,
    pub scope: ScopeReport,
    pub totals: Totals,
    pub tiers: TierCounts,
    /// In matrix order.
    pub tactics: Vec<TacticRow>,
    /// Every active in-scope technique and sub-technique, sorted by ID.
    pub techniques: Vec<TechniqueRow>,
    /// Active in-scope techniques with a portable or environment-specific class and no rule,
    /// sorted by (first tactic in matrix order, ID).
    pub gaps: Vec<Gap>,
    /// "No portable rule" techniques in scope, with the rules that claim them (likely mis-tags).
    pub guidance: Vec<GuidanceRow>,
    pub tag_problems: TagProblems,
    /// Every loaded rule, in rule-set order; `rules[].index` is what technique rows refer to.
    pub rules: Vec<RuleRow>,
    pub load: LoadSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineDiff>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupRef {
    pub id: String,
    pub name: String,
    /// Techniques the group uses (from `uses` relationships), before other scope flags.
    pub techniques: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeReport {
    /// One line for people, e.g. `all active techniques` or `platforms Windows; rules with level high`.
    pub description: String,
    pub platforms: Vec<String>,
    /// Resolved tactic shortnames (empty = all).
    pub tactics: Vec<String>,
    pub include: Vec<String>,
    pub ignore: Vec<String>,
    pub statuses: Vec<String>,
    pub levels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupRef>,
    /// Label of the telemetry profile (its path), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// Covered / in scope.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub covered: usize,
    pub in_scope: usize,
}

impl Count {
    /// The two counts together (techniques plus sub-techniques).
    pub fn plus(self, other: Count) -> Count {
        Count {
            covered: self.covered + other.covered,
            in_scope: self.in_scope + other.in_scope,
        }
    }

    /// Covered share in percent; `None` when nothing is in scope.
    pub fn percent(self) -> Option<f64> {
        (self.in_scope > 0).then(|| 100.0 * self.covered as f64 / self.in_scope as f64)
    }
}

/// Which coverage share a percentage means. One definition for the report and the `check` gate,
/// so a threshold copied from the report measures the same thing; guidance is never counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Techniques (not sub-techniques): the per-tactic `%` column of the text report.
    Techniques,
    /// Sub-techniques only.
    Subtechniques,
    /// Techniques and sub-techniques together: the report's headline `Covered:` figure.
    #[default]
    All,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Techniques => "techniques",
            Metric::Subtechniques => "subtechniques",
            Metric::All => "all",
        }
    }

    /// What is counted, for sentences: `... of techniques and sub-techniques covered`.
    pub fn noun(self) -> &'static str {
        match self {
            Metric::Techniques => "techniques",
            Metric::Subtechniques => "sub-techniques",
            Metric::All => "techniques and sub-techniques",
        }
    }

    /// The covered / in-scope pair this metric takes from a technique and a sub-technique count.
    pub fn pick(self, techniques: Count, subtechniques: Count) -> Count {
        match self {
            Metric::Techniques => techniques,
            Metric::Subtechniques => subtechniques,
            Metric::All => techniques.plus(subtechniques),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    /// Active in-scope techniques and sub-techniques, guidance included (each counted once).
    pub active: usize,
    /// Of `active`, those any in-scope rule claims (guidance included): the plain tag count.
    pub claimed: usize,
    /// Techniques (not sub-techniques) a rule can be written for: `active` minus guidance.
    pub techniques: Count,
    /// Sub-techniques a rule can be written for.
    pub subtechniques: Count,
    /// Of `techniques` and `subtechniques`, those of class portable (the rest are
    /// environment-specific): zero says the domain has no portable class at all.
    pub portable: usize,
    /// "No portable rule" techniques in scope.
    pub guidance: usize,
    /// Guidance techniques that rules claim anyway (likely mis-tags).
    pub guidance_claimed: usize,
    /// Loaded rules passing the status/level filters.
    pub rules_in_scope: usize,
    /// In-scope rules that cover at least one in-scope non-guidance technique.
    pub rules_covering: usize,
}

/// Non-guidance techniques (and sub-techniques) reaching at least each tier. `runnable` is `None`
/// without a telemetry profile and `validated` without test results: unknown, not zero.
#[derive(Debug, Clone, Serialize)]
pub struct TierCounts {
    pub tagged: usize,
    pub runnable: Option<usize>,
    pub validated: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TacticRow {
    pub id: String,
    pub name: String,
    pub shortname: String,
    pub techniques: Count,
    pub subtechniques: Count,
    /// Guidance techniques and sub-techniques under this tactic.
    pub guidance: usize,
    /// Distinct in-scope rules covering a non-guidance technique of this tactic.
    pub rules: usize,
}

/// One rule linked to one technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleLink {
    /// Index into `CoverageReport::rules`.
    pub rule: usize,
    /// Serialised as `direct`, or the sub-technique ID through which the rule reaches this technique.
    #[serde(with = "crate::link::via_string")]
    pub via: Via,
}

#[derive(Debug, Clone, Serialize)]
pub struct TechniqueRow {
    pub id: String,
    pub name: String,
    /// In-scope tactic shortnames, matrix order.
    pub tactics: Vec<String>,
    pub is_sub: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub class: ObsClass,
    /// Which source and event see it, or why none does.
    pub class_reason: String,
    /// True for "no portable rule": reported apart, never counted as covered.
    pub guidance: bool,
    /// Always `none` for guidance, whatever rules claim it (they are listed in `rules`).
    pub tier: Tier,
    /// Direct links first, then via sub-techniques; each by rule index.
    pub rules: Vec<RuleLink>,
    /// Covered, but only through sub-technique tags.
    pub covered_via_sub: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub id: String,
    pub name: String,
    /// First in-scope tactic (the sort key).
    pub tactic: String,
    pub tactics: Vec<String>,
    pub is_sub: bool,
    pub class: ObsClass,
    pub class_reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct GuidanceRow {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
    /// Why no portable rule exists.
    pub class_reason: String,
    /// Rules claiming the technique, each with what the content model makes of the claim.
    pub rules: Vec<GuidanceRule>,
}

/// A rule claiming a guidance technique. The technique happens outside the defender's logs, so
/// the claim is suspect; the content model (each rule scored without its own share, see `suggest::mistag`) says which claims
/// the rule's detection does not support.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidanceRule {
    #[serde(flatten)]
    pub link: RuleLink,
    /// The model's score for the technique; absent when it could not judge (no other rule taught
    /// it the technique, or the report was built without rule features).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// The model's first suggestion for the rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested: Option<Suggested>,
    /// The score is far below a confident first suggestion (`check`'s `attack_tag_unlikely`).
    pub likely_mistag: bool,
}

/// A technique the content model suggests, with its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggested {
    pub technique: String,
    pub score: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TagProblems {
    /// Problem -> number of (rule, tag) pairs.
    pub counts: BTreeMap<&'static str, usize>,
    /// Sorted by (rule, technique).
    pub items: Vec<TagProblem>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRow {
    pub index: usize,
    #[serde(flatten)]
    pub head: RuleHead,
    pub path: String,
    pub line: usize,
    pub logsource: String,
    /// Passes the `--status` / `--level` filters.
    pub in_scope: bool,
    /// Log source collected per the profile; `None` without a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runnable: Option<bool>,
}

crate::report::deref_rule_head!(RuleRow);

impl RuleRow {
    /// Stable identity across runs: the rule ID, else its path.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.path)
    }
}

/// What changed for one technique since the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueChange {
    pub id: String,
    pub name: String,
    pub before: Tier,
    pub after: Tier,
    /// Titles of the rules now covering it that did not before (rules are matched by ID, else
    /// path), sorted.
    pub rules_added: Vec<String>,
    /// Titles of the rules that covered it before and no longer do, sorted.
    pub rules_removed: Vec<String>,
}

/// Why a technique's coverage dropped because of the ATT&CK release, not because of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionReason {
    /// Revoked in the current data (see `replacement`).
    Revoked,
    /// Deprecated in the current data.
    Deprecated,
    /// Not in the current data at all (a technique of another release).
    Unknown,
    /// Still active, and the rules that covered it are all still there, but their tags no longer
    /// count against the current data (revoked, deprecated or unknown tags).
    TagsRetired,
}

impl VersionReason {
    /// For sentences: `T1562.001 revoked in the current data`.
    pub fn phrase(self) -> &'static str {
        match self {
            VersionReason::Revoked => "revoked in the current data",
            VersionReason::Deprecated => "deprecated in the current data",
            VersionReason::Unknown => "unknown to the current data",
            VersionReason::TagsRetired => "its rules' tags no longer count in the current data",
        }
    }
}

/// A coverage drop explained by the ATT&CK release: not a loss `--fail-on-loss` gates on, and
/// fixed with `attacktrace migrate` rather than new rules.
#[derive(Debug, Clone, Serialize)]
pub struct VersionChange {
    pub id: String,
    pub name: String,
    pub before: Tier,
    pub after: Tier,
    pub reason: VersionReason,
    /// Final replacement of a revoked technique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
    /// Titles of the rules that covered it in the baseline, sorted.
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BaselineDiff {
    /// Tier went up (including from `none`). Guidance techniques only ever appear in `changed`.
    pub gained: Vec<TechniqueChange>,
    /// Tier went down (including to `none`) because rules were removed or retagged: what
    /// `--fail-on-loss` gates on.
    pub lost: Vec<TechniqueChange>,
    /// Coverage that went away with the ATT&CK release (technique revoked, deprecated or unknown
    /// in the current data; the covering rules' tags retired): shown apart, never gated on.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version: Vec<VersionChange>,
    /// Same tier, different rules.
    pub changed: Vec<TechniqueChange>,
    /// Covered techniques of the baseline that are active in the current data but out of the
    /// current scope (a different scope); listed, not counted as losses.
    pub left_scope: Vec<String>,
}

impl Totals {
    /// The overall count under `metric` (guidance apart).
    pub fn count(&self, metric: Metric) -> Count {
        metric.pick(self.techniques, self.subtechniques)
    }
}

impl TacticRow {
    /// This tactic's count under `metric` (guidance apart).
    pub fn count(&self, metric: Metric) -> Count {
        metric.pick(self.techniques, self.subtechniques)
    }
}

impl CoverageReport {
    /// Techniques that lost coverage or tier against the baseline (0 without one).
    pub fn losses(&self) -> usize {
        self.baseline.as_ref().map_or(0, |b| b.lost.len())
    }
}

/// Sigma level rank for scoring (`informational` 1 .. `critical` 5; unknown 0).
pub fn level_rank(level: Option<&str>) -> u32 {
    match level.map(|l| l.trim().to_ascii_lowercase()).as_deref() {
        Some("informational") => 1,
        Some("low") => 2,
        Some("medium") => 3,
        Some("high") => 4,
        Some("critical") => 5,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_order() {
        assert!(Tier::None < Tier::Tagged);
        assert!(Tier::Tagged < Tier::Runnable);
        assert!(Tier::Runnable < Tier::Validated);
        assert_eq!(
            serde_json::to_string(&Tier::Runnable).unwrap(),
            "\"runnable\""
        );
    }

    #[test]
    fn level_ranks() {
        assert_eq!(level_rank(Some("High")), 4);
        assert_eq!(level_rank(None), 0);
    }
}
