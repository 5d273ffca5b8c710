//! Coverage report: which ATT&CK techniques a rule set covers, how well, and where the gaps are.
//!
//! Built from the knowledge base, the loaded rules and the [`LinkIndex`] (which owns the roll-up:
//! a sub-technique tag covers its parent, each rule counts once per technique). This module adds
//! scope (platforms, tactics, include/ignore, groups, rule status/level), observability classes
//! (guidance techniques are counted apart), tiers (tagged, runnable against a telemetry profile,
//! validated by rule tests), tag problems and the baseline diff. The result is plain data; every
//! renderer (text, Markdown, JSON, CSV, Navigator, HTML) reads the same [`CoverageReport`], whose
//! JSON form is the documented `attacktrace.coverage/1` shape and the input of `--baseline`.

use crate::attack::{KnowledgeBase, Technique};
use crate::link::{LinkIndex, Via};
use crate::listing::LoadSummary;
pub use crate::report::AttackSource;
use crate::rules::{LogSource, RuleRecord, RuleSet};
use crate::telemetry::{ObsClass, Telemetry};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

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

/// A problem with the user's coverage options (unknown tactic, group, bad profile...): exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverageError(pub String);

impl fmt::Display for CoverageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CoverageError {}

/// Scope flags, as the user gave them; resolved against the knowledge base by [`build`].
#[derive(Debug, Clone, Default)]
pub struct ScopeOptions {
    /// Keep techniques with at least one of these platforms (case-insensitive).
    pub platforms: Vec<String>,
    /// Keep only these tactics (shortname, TA ID or name).
    pub tactics: Vec<String>,
    /// When non-empty, keep only techniques matching one item: technique ID, ID prefix, tactic
    /// shortname or TA ID.
    pub include: Vec<String>,
    /// Drop techniques matching one item (same forms as `include`).
    pub ignore: Vec<String>,
    /// Keep only rules with one of these statuses.
    pub statuses: Vec<String>,
    /// Keep only rules with one of these levels.
    pub levels: Vec<String>,
    /// Restrict to the techniques a group uses (ID, name or alias).
    pub group: Option<String>,
}

/// Everything [`build`] reads.
pub struct CoverageInput<'a> {
    pub kb: &'a KnowledgeBase,
    pub telemetry: &'a Telemetry,
    pub rules: &'a RuleSet,
    pub links: &'a LinkIndex,
    pub scope: &'a ScopeOptions,
    pub profile: Option<&'a Profile>,
    /// Rule indexes that passed their tests (positive match, no benign hit). `None` until a test
    /// runner provides results; the validated tier is then reported as unknown, never guessed.
    pub validated: Option<&'a BTreeSet<usize>>,
    pub baseline: Option<&'a Baseline>,
}

// ---- report model -----------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct CoverageReport {
    pub schema: &'static str,
    pub attack: AttackSource,
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
    /// `direct`, or the sub-technique ID through which the rule reaches this technique.
    pub via: String,
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
    /// True for "no portable rule": reported apart, never counted as covered.
    pub guidance: bool,
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
}

#[derive(Debug, Clone, Serialize)]
pub struct GuidanceRow {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
    /// Rules claiming the technique: likely mis-tags, since it happens outside the defender's logs.
    pub rules: Vec<RuleLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagProblemRow {
    pub rule: usize,
    pub technique: String,
    /// `unknown`, `revoked` or `deprecated`.
    pub problem: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TagProblems {
    /// Problem -> number of (rule, tag) pairs.
    pub counts: BTreeMap<&'static str, usize>,
    /// Sorted by (rule, technique).
    pub items: Vec<TagProblemRow>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRow {
    pub index: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub path: String,
    pub line: usize,
    pub logsource: String,
    /// Passes the `--status` / `--level` filters.
    pub in_scope: bool,
    /// Log source collected per the profile; `None` without a profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runnable: Option<bool>,
}

impl RuleRow {
    /// Stable identity across runs: the rule ID, else its path.
    pub fn key(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.path)
    }
}

// ---- telemetry profile ------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    logsources: Vec<ProfileEntry>,
}

/// One collected log source: a Sigma logsource (any subset of product/category/service), optionally
/// narrowed to event IDs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub event_ids: Vec<u32>,
}

/// The log sources an environment collects (`--profile FILE`).
///
/// A rule is runnable when (a) an entry without `event_ids` names a subset of the rule's logsource
/// fields with equal values (`product: windows` alone means all Windows logs), or (b) the event
/// sources the telemetry map gives for the rule's logsource (a Windows channel, auditd, ...) are
/// collected: the entry's own logsource maps to the same source, and the entry's `event_ids` (or
/// the table's, or any event when neither lists one) meet the events the rule reads.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub label: String,
    pub entries: Vec<ProfileEntry>,
    /// Source key (lower-case channel or source name) -> collected events (`None` = any).
    collected: BTreeMap<String, Option<BTreeSet<u32>>>,
}

fn source_key(s: &crate::telemetry::EventSource) -> String {
    s.windows_channel
        .as_deref()
        .unwrap_or(&s.name)
        .to_ascii_lowercase()
}

fn lc(o: &Option<String>) -> Option<String> {
    o.as_deref().map(|s| s.trim().to_ascii_lowercase())
}

impl Profile {
    /// Parses a profile file (see [`Profile`] and the README for the format).
    pub fn parse(label: &str, text: &str, telemetry: &Telemetry) -> Result<Profile, CoverageError> {
        let file: ProfileFile = serde_norway::from_str(text)
            .map_err(|e| CoverageError(format!("profile {label}: {e}")))?;
        let mut problems = Vec::new();
        let mut collected: BTreeMap<String, Option<BTreeSet<u32>>> = BTreeMap::new();
        let mut entries = Vec::new();
        for (i, e) in file.logsources.into_iter().enumerate() {
            let e = ProfileEntry {
                product: lc(&e.product),
                category: lc(&e.category),
                service: lc(&e.service),
                event_ids: e.event_ids,
            };
            if e.product.is_none() && e.category.is_none() && e.service.is_none() {
                problems.push(format!(
                    "entry {} names no product, category or service",
                    i + 1
                ));
                continue;
            }
            let ls = LogSource {
                product: e.product.clone(),
                category: e.category.clone(),
                service: e.service.clone(),
            };
            for s in telemetry
                .logsource_sources(&ls)
                .iter()
                .filter(|s| !s.alternative)
            {
                let ids: Option<BTreeSet<u32>> = if !e.event_ids.is_empty() {
                    Some(e.event_ids.iter().copied().collect())
                } else if !s.event_ids.is_empty() {
                    Some(s.event_ids.iter().copied().collect())
                } else {
                    None
                };
                let slot = collected
                    .entry(source_key(s))
                    .or_insert(Some(BTreeSet::new()));
                match (slot.as_mut(), ids) {
                    (Some(have), Some(ids)) => have.extend(ids),
                    _ => *slot = None,
                }
            }
            entries.push(e);
        }
        if !problems.is_empty() {
            return Err(CoverageError(format!(
                "profile {label}: {}",
                problems.join("; ")
            )));
        }
        Ok(Profile {
            label: label.to_string(),
            entries,
            collected,
        })
    }

    /// True when a rule with this logsource can run on the collected telemetry.
    pub fn collects(&self, ls: &LogSource, telemetry: &Telemetry) -> bool {
        let (p, c, s) = (lc(&ls.product), lc(&ls.category), lc(&ls.service));
        let field = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        if self.entries.iter().any(|e| {
            e.event_ids.is_empty()
                && field(&e.product, &p)
                && field(&e.category, &c)
                && field(&e.service, &s)
        }) {
            return true;
        }
        if p.is_none() && c.is_none() && s.is_none() {
            return false;
        }
        telemetry.logsource_sources(ls).iter().any(|src| {
            match self.collected.get(&source_key(src)) {
                None => false,
                Some(None) => true,
                Some(Some(ids)) => {
                    src.event_ids.is_empty() || src.event_ids.iter().any(|i| ids.contains(i))
                }
            }
        })
    }
}

// ---- baseline ---------------------------------------------------------------------------------

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
        let b: Baseline = serde_json::from_str(text).map_err(|e| {
            CoverageError(format!(
                "baseline {label}: not an attacktrace coverage JSON file: {e}"
            ))
        })?;
        if b.schema != COVERAGE_SCHEMA {
            return Err(CoverageError(format!(
                "baseline {label}: schema `{}`, expected `{COVERAGE_SCHEMA}`",
                b.schema
            )));
        }
        Ok(b)
    }
}

/// What changed for one technique since the baseline.
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueChange {
    pub id: String,
    pub name: String,
    pub before: Tier,
    pub after: Tier,
    /// Rule keys (ID, else path) now covering it that did not before, sorted.
    pub rules_added: Vec<String>,
    pub rules_removed: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BaselineDiff {
    /// Tier went up (including from `none`). Guidance techniques only ever appear in `changed`.
    pub gained: Vec<TechniqueChange>,
    /// Tier went down (including to `none`): what `--fail-on-loss` gates on.
    pub lost: Vec<TechniqueChange>,
    /// Same tier, different rules.
    pub changed: Vec<TechniqueChange>,
    /// Techniques in the baseline that are not in the current scope (revoked since, or a
    /// different scope); listed, not counted as losses.
    pub left_scope: Vec<String>,
}

fn diff(current: &[TechniqueRow], rules: &[RuleRow], base: &Baseline) -> BaselineDiff {
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

impl CoverageReport {
    /// Techniques that lost coverage or tier against the baseline (0 without one).
    pub fn losses(&self) -> usize {
        self.baseline.as_ref().map_or(0, |b| b.lost.len())
    }
}

// ---- scope resolution -------------------------------------------------------------------------

/// One include/ignore item, resolved.
#[derive(Debug, Clone)]
enum Matcher {
    Tactic(String),
    Prefix(String),
}

impl Matcher {
    fn matches(&self, t: &Technique) -> bool {
        match self {
            Matcher::Tactic(s) => t.tactics.iter().any(|x| x == s),
            Matcher::Prefix(p) => t.id.starts_with(p.as_str()),
        }
    }
}

fn resolve_tactic(kb: &KnowledgeBase, q: &str) -> Option<String> {
    let q = q.trim();
    let short = q.to_ascii_lowercase().replace(['_', ' '], "-");
    kb.tactic_by_shortname(&short)
        .or_else(|| kb.tactic_by_id(q))
        .or_else(|| kb.tactics.iter().find(|t| t.name.eq_ignore_ascii_case(q)))
        .map(|t| t.shortname.clone())
}

fn resolve_matcher(kb: &KnowledgeBase, item: &str, flag: &str) -> Result<Matcher, CoverageError> {
    if let Some(s) = resolve_tactic(kb, item) {
        return Ok(Matcher::Tactic(s));
    }
    let p = item.trim().to_ascii_uppercase();
    if p.starts_with('T') && kb.techniques.iter().any(|t| t.id.starts_with(&p)) {
        return Ok(Matcher::Prefix(p));
    }
    Err(CoverageError(format!(
        "{flag} `{item}` matches no technique ID, ID prefix, tactic shortname or TA ID in ATT&CK {}",
        kb.source.version
    )))
}

fn resolve_group<'a>(
    kb: &'a KnowledgeBase,
    q: &str,
) -> Result<&'a crate::attack::NamedObject, CoverageError> {
    let q = q.trim();
    kb.group(q)
        .or_else(|| {
            kb.groups.iter().find(|g| {
                g.name.eq_ignore_ascii_case(q)
                    || g.aliases.iter().any(|a| a.eq_ignore_ascii_case(q))
            })
        })
        .ok_or_else(|| {
            CoverageError(format!(
                "unknown group `{q}`: give a group ID (G0016) or name from ATT&CK {}",
                kb.source.version
            ))
        })
}

fn norm_list(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
    out.sort();
    out.dedup();
    out
}

fn rule_in_scope(r: &RuleRecord, statuses: &[String], levels: &[String]) -> bool {
    let ok = |want: &[String], have: &Option<String>| {
        want.is_empty()
            || have
                .as_deref()
                .is_some_and(|h| want.iter().any(|w| w.eq_ignore_ascii_case(h.trim())))
    };
    ok(statuses, &r.status) && ok(levels, &r.level)
}

// ---- building ---------------------------------------------------------------------------------

/// Builds the coverage report. O(rules + techniques + links); the observability classifier runs
/// once per in-scope technique.
pub fn build(input: &CoverageInput<'_>) -> Result<CoverageReport, CoverageError> {
    let kb = input.kb;
    let opts = input.scope;

    // Scope: resolve every flag first, so all problems surface before any work.
    let known_platforms: BTreeSet<String> = kb
        .techniques
        .iter()
        .flat_map(|t| t.platforms.iter().map(|p| p.to_ascii_lowercase()))
        .collect();
    let platforms = norm_list(&opts.platforms);
    if let Some(bad) = platforms.iter().find(|p| !known_platforms.contains(*p)) {
        return Err(CoverageError(format!(
            "--platform `{bad}` is not a platform of ATT&CK {} ({})",
            kb.source.version,
            known_platforms
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let mut tactics = Vec::new();
    for q in &opts.tactics {
        let s = resolve_tactic(kb, q).ok_or_else(|| {
            CoverageError(format!(
                "--tactic `{q}` is not a tactic of ATT&CK {} (use a shortname such as `{}`, a TA ID or a name)",
                kb.source.version,
                kb.tactics.first().map(|t| t.shortname.as_str()).unwrap_or("execution")
            ))
        })?;
        tactics.push(s);
    }
    tactics.sort_by_key(|s| kb.tactic_order(s));
    tactics.dedup();
    let include = opts
        .include
        .iter()
        .map(|i| resolve_matcher(kb, i, "--include"))
        .collect::<Result<Vec<_>, _>>()?;
    let ignore = opts
        .ignore
        .iter()
        .map(|i| resolve_matcher(kb, i, "--ignore"))
        .collect::<Result<Vec<_>, _>>()?;
    let group = match &opts.group {
        Some(q) => Some(resolve_group(kb, q)?),
        None => None,
    };
    let group_set: Option<BTreeSet<String>> = group.map(|g| {
        let mut s: BTreeSet<String> = BTreeSet::new();
        for id in &g.techniques {
            let id = id.to_ascii_uppercase();
            // A group using a sub-technique also shows its parent's behaviour.
            if let Some(p) = kb.technique(&id).and_then(|t| t.parent.clone()) {
                s.insert(p);
            }
            s.insert(id);
        }
        s
    });
    let statuses = norm_list(&opts.statuses);
    let levels = norm_list(&opts.levels);

    let in_scope_tactics = |t: &Technique| -> Vec<String> {
        let mut v: Vec<String> = t
            .tactics
            .iter()
            .filter(|s| kb.tactic_by_shortname(s).is_some())
            .filter(|s| tactics.is_empty() || tactics.contains(s))
            .cloned()
            .collect();
        v.sort_by_key(|s| kb.tactic_order(s));
        v.dedup();
        v
    };

    // Rules: scope and runnability, each distinct logsource checked once.
    let mut runnable_cache: BTreeMap<&LogSource, bool> = BTreeMap::new();
    let mut rule_rows = Vec::with_capacity(input.rules.rules.len());
    for (i, r) in input.rules.rules.iter().enumerate() {
        let runnable = input.profile.map(|p| {
            *runnable_cache
                .entry(&r.logsource)
                .or_insert_with(|| p.collects(&r.logsource, input.telemetry))
        });
        rule_rows.push(RuleRow {
            index: i,
            id: r.id.clone(),
            title: r.title.clone(),
            level: r.level.clone(),
            status: r.status.clone(),
            path: r.path.display().to_string(),
            line: r.line,
            logsource: r.logsource.key(),
            in_scope: rule_in_scope(r, &statuses, &levels),
            runnable,
        });
    }

    // Techniques.
    let mut rows = Vec::new();
    for t in &kb.techniques {
        if !t.is_active() {
            continue;
        }
        if !platforms.is_empty()
            && !t
                .platforms
                .iter()
                .any(|p| platforms.contains(&p.to_ascii_lowercase()))
        {
            continue;
        }
        if !include.is_empty() && !include.iter().any(|m| m.matches(t)) {
            continue;
        }
        if ignore.iter().any(|m| m.matches(t)) {
            continue;
        }
        if group_set.as_ref().is_some_and(|g| !g.contains(&t.id)) {
            continue;
        }
        let tacs = in_scope_tactics(t);
        if tacs.is_empty() {
            continue;
        }
        let class = input.telemetry.classify(kb, t).class;
        let mut links: Vec<RuleLink> = Vec::new();
        let mut direct = false;
        for l in input.links.rules_for(&t.id) {
            if !rule_rows[l.rule].in_scope {
                continue;
            }
            direct |= l.via == Via::Direct;
            links.push(RuleLink {
                rule: l.rule,
                via: match &l.via {
                    Via::Direct => "direct".to_string(),
                    Via::SubTechnique(s) => s.clone(),
                },
            });
        }
        // Direct first, then via sub-techniques, each by rule index.
        links.sort_by(|a, b| {
            (a.via != "direct", a.rule, &a.via).cmp(&(b.via != "direct", b.rule, &b.via))
        });
        let tier = if links.is_empty() {
            Tier::None
        } else if input
            .validated
            .is_some_and(|v| links.iter().any(|l| v.contains(&l.rule)))
        {
            Tier::Validated
        } else if links
            .iter()
            .any(|l| rule_rows[l.rule].runnable == Some(true))
        {
            Tier::Runnable
        } else {
            Tier::Tagged
        };
        rows.push(TechniqueRow {
            id: t.id.clone(),
            name: t.name.clone(),
            tactics: tacs,
            is_sub: t.is_subtechnique,
            parent: t.parent.clone(),
            class,
            guidance: class == ObsClass::NoPortableRule,
            tier,
            covered_via_sub: !links.is_empty() && !direct,
            rules: links,
        });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));

    // Aggregates.
    let mut totals = Totals {
        active: rows.len(),
        claimed: 0,
        techniques: Count::default(),
        subtechniques: Count::default(),
        guidance: 0,
        guidance_claimed: 0,
        rules_in_scope: rule_rows.iter().filter(|r| r.in_scope).count(),
        rules_covering: 0,
    };
    let mut tiers = TierCounts {
        tagged: 0,
        runnable: input.profile.map(|_| 0),
        validated: input.validated.map(|_| 0),
    };
    let mut tac_rows: Vec<TacticRow> = kb
        .tactics
        .iter()
        .filter(|t| tactics.is_empty() || tactics.contains(&t.shortname))
        .map(|t| TacticRow {
            id: t.id.clone(),
            name: t.name.clone(),
            shortname: t.shortname.clone(),
            techniques: Count::default(),
            subtechniques: Count::default(),
            guidance: 0,
            rules: 0,
        })
        .collect();
    let tac_pos: BTreeMap<String, usize> = tac_rows
        .iter()
        .enumerate()
        .map(|(i, t)| (t.shortname.clone(), i))
        .collect();
    let mut tac_rules: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tac_rows.len()];
    let mut covering: BTreeSet<usize> = BTreeSet::new();
    let mut gaps = Vec::new();
    let mut guidance = Vec::new();
    for r in &rows {
        let covered = !r.rules.is_empty();
        totals.claimed += usize::from(covered);
        if r.guidance {
            totals.guidance += 1;
            totals.guidance_claimed += usize::from(covered);
            for s in &r.tactics {
                if let Some(&i) = tac_pos.get(s) {
                    tac_rows[i].guidance += 1;
                }
            }
            guidance.push(GuidanceRow {
                id: r.id.clone(),
                name: r.name.clone(),
                tactics: r.tactics.clone(),
                rules: r.rules.clone(),
            });
            continue;
        }
        let bump = |c: &mut Count| {
            c.in_scope += 1;
            c.covered += usize::from(covered);
        };
        bump(if r.is_sub {
            &mut totals.subtechniques
        } else {
            &mut totals.techniques
        });
        for s in &r.tactics {
            if let Some(&i) = tac_pos.get(s) {
                let row = &mut tac_rows[i];
                bump(if r.is_sub {
                    &mut row.subtechniques
                } else {
                    &mut row.techniques
                });
                tac_rules[i].extend(r.rules.iter().map(|l| l.rule));
            }
        }
        covering.extend(r.rules.iter().map(|l| l.rule));
        if r.tier >= Tier::Tagged {
            tiers.tagged += 1;
        }
        if r.tier >= Tier::Runnable {
            if let Some(n) = tiers.runnable.as_mut() {
                *n += 1;
            }
        }
        if r.tier >= Tier::Validated {
            if let Some(n) = tiers.validated.as_mut() {
                *n += 1;
            }
        }
        if !covered {
            gaps.push(Gap {
                id: r.id.clone(),
                name: r.name.clone(),
                tactic: r.tactics[0].clone(),
                tactics: r.tactics.clone(),
                is_sub: r.is_sub,
                class: r.class,
            });
        }
    }
    for (row, set) in tac_rows.iter_mut().zip(&tac_rules) {
        row.rules = set.len();
    }
    // A tactic with nothing in scope (e.g. after `--include T1059`) is noise, not a 0/0 row.
    tac_rows.retain(|t| t.techniques.in_scope + t.subtechniques.in_scope + t.guidance > 0);
    totals.rules_covering = covering.len();
    gaps.sort_by(|a, b| {
        (kb.tactic_order(&a.tactic), &a.id).cmp(&(kb.tactic_order(&b.tactic), &b.id))
    });

    let mut tag_problems = TagProblems::default();
    for p in &input.links.tag_problems {
        if !rule_rows[p.rule].in_scope {
            continue;
        }
        *tag_problems.counts.entry(p.problem).or_insert(0) += 1;
        tag_problems.items.push(TagProblemRow {
            rule: p.rule,
            technique: p.technique.clone(),
            problem: p.problem,
            replacement: p.replacement.clone(),
        });
    }

    let scope = ScopeReport {
        description: describe_scope(&platforms, &tactics, opts, &statuses, &levels, group),
        platforms,
        tactics,
        include: opts.include.clone(),
        ignore: opts.ignore.clone(),
        statuses,
        levels,
        group: group.map(|g| GroupRef {
            id: g.id.clone(),
            name: g.name.clone(),
            techniques: g.techniques.len(),
        }),
        profile: input.profile.map(|p| p.label.clone()),
    };
    let baseline = input.baseline.map(|b| diff(&rows, &rule_rows, b));
    Ok(CoverageReport {
        schema: COVERAGE_SCHEMA,
        attack: AttackSource::of(&kb.source),
        scope,
        totals,
        tiers,
        tactics: tac_rows,
        techniques: rows,
        gaps,
        guidance,
        tag_problems,
        rules: rule_rows,
        load: LoadSummary::of(input.rules),
        baseline,
    })
}

fn describe_scope(
    platforms: &[String],
    tactics: &[String],
    opts: &ScopeOptions,
    statuses: &[String],
    levels: &[String],
    group: Option<&crate::attack::NamedObject>,
) -> String {
    let mut parts = Vec::new();
    if let Some(g) = group {
        parts.push(format!("techniques used by {} {}", g.id, g.name));
    }
    if !platforms.is_empty() {
        parts.push(format!("platforms {}", platforms.join(", ")));
    }
    if !tactics.is_empty() {
        parts.push(format!("tactics {}", tactics.join(", ")));
    }
    if !opts.include.is_empty() {
        parts.push(format!("including {}", opts.include.join(", ")));
    }
    if !opts.ignore.is_empty() {
        parts.push(format!("ignoring {}", opts.ignore.join(", ")));
    }
    if !statuses.is_empty() {
        parts.push(format!("rules with status {}", statuses.join(", ")));
    }
    if !levels.is_empty() {
        parts.push(format!("rules with level {}", levels.join(", ")));
    }
    if parts.is_empty() {
        "all active techniques, all rules".to_string()
    } else {
        parts.join("; ")
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

    #[test]
    fn profile_matches_fields_and_events() {
        let t = Telemetry::embedded();
        let p = Profile::parse(
            "p",
            "logsources:\n  - { product: linux, service: auditd }\n  - { product: windows, service: security, event_ids: [4688] }\n",
            t,
        )
        .unwrap();
        let ls = |p: &str, c: Option<&str>, s: Option<&str>| LogSource {
            product: Some(p.into()),
            category: c.map(Into::into),
            service: s.map(Into::into),
        };
        assert!(p.collects(&ls("linux", None, Some("auditd")), t));
        // process_creation can be fed by Security 4688 (an alternative source).
        assert!(p.collects(&ls("windows", Some("process_creation"), None), t));
        assert!(!p.collects(&ls("windows", Some("registry_set"), None), t));
        assert!(!p.collects(&ls("macos", Some("process_creation"), None), t));
        assert!(Profile::parse("p", "logsources:\n  - { event_ids: [1] }\n", t).is_err());
        assert!(Profile::parse("p", "sources: []\n", t).is_err());
    }

    #[test]
    fn baseline_rejects_other_schemas() {
        let e = Baseline::parse("b", r#"{"schema":"x","techniques":[],"rules":[]}"#).unwrap_err();
        assert!(e.0.contains("expected"), "{e}");
        assert!(Baseline::parse("b", "not json").is_err());
    }
}
