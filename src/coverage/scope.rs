//! Scope: the user's flags (platforms, tactics, include/ignore, group, rule status/level) resolved
//! against the knowledge base, every problem reported before any work is done.

use super::model::{GroupRef, ScopeReport};
use super::CoverageError;
use crate::attack::{KnowledgeBase, NamedObject, Technique};
use crate::rules::RuleRecord;
use std::collections::BTreeSet;

/// Scope flags, as the user gave them; resolved against the knowledge base by [`super::build`].
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

/// [`ScopeOptions`] resolved: normalised lists, tactic shortnames in matrix order, matchers.
pub(super) struct Scope<'a> {
    pub platforms: Vec<String>,
    /// Tactic shortnames, matrix order (empty = all).
    pub tactics: Vec<String>,
    include: Vec<Matcher>,
    ignore: Vec<Matcher>,
    group: Option<&'a NamedObject>,
    /// Techniques the group uses, with the parents of its sub-techniques.
    group_set: Option<BTreeSet<String>>,
    pub statuses: Vec<String>,
    pub levels: Vec<String>,
}

impl<'a> Scope<'a> {
    /// Resolves every flag first, so all problems surface before any work.
    pub fn resolve(kb: &'a KnowledgeBase, opts: &ScopeOptions) -> Result<Scope<'a>, CoverageError> {
        let platforms = resolve_platforms(kb, &opts.platforms)?;
        let mut tactics = Vec::new();
        for q in &opts.tactics {
            let s = resolve_tactic(kb, q).ok_or_else(|| {
                CoverageError::Scope(format!(
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
        Ok(Scope {
            platforms,
            tactics,
            include,
            ignore,
            group,
            group_set: group.map(|g| group_techniques(kb, g)),
            statuses: norm_list(&opts.statuses),
            levels: norm_list(&opts.levels),
        })
    }

    /// Platform, include/ignore and group filters (activity and tactics are checked by the caller).
    pub fn keeps(&self, t: &Technique) -> bool {
        let platform_ok = self.platforms.is_empty()
            || t.platforms
                .iter()
                .any(|p| self.platforms.contains(&p.to_ascii_lowercase()));
        platform_ok
            && (self.include.is_empty() || self.include.iter().any(|m| m.matches(t)))
            && !self.ignore.iter().any(|m| m.matches(t))
            && self.group_set.as_ref().is_none_or(|g| g.contains(&t.id))
    }

    /// The technique's known, in-scope tactic shortnames in matrix order.
    pub fn tactics_of(&self, kb: &KnowledgeBase, t: &Technique) -> Vec<String> {
        let mut v: Vec<String> = t
            .tactics
            .iter()
            .filter(|s| kb.tactic_by_shortname(s).is_some())
            .filter(|s| self.tactics.is_empty() || self.tactics.contains(s))
            .cloned()
            .collect();
        v.sort_by_key(|s| kb.tactic_order(s));
        v.dedup();
        v
    }

    /// Correlation templates (`attacktrace.template`) are never in scope: they never count.
    pub fn rule_in_scope(&self, r: &RuleRecord) -> bool {
        !r.is_template() && rule_in_scope(r, &self.statuses, &self.levels)
    }

    /// The scope as reported, with a one-line description for people.
    pub fn report(self, opts: &ScopeOptions, profile: Option<String>) -> ScopeReport {
        ScopeReport {
            description: describe_scope(&self, opts),
            include: opts.include.clone(),
            ignore: opts.ignore.clone(),
            group: self.group.map(|g| GroupRef {
                id: g.id.clone(),
                name: g.name.clone(),
                techniques: g.techniques.len(),
            }),
            platforms: self.platforms,
            tactics: self.tactics,
            statuses: self.statuses,
            levels: self.levels,
            profile,
        }
    }
}

fn resolve_platforms(kb: &KnowledgeBase, given: &[String]) -> Result<Vec<String>, CoverageError> {
    let known: BTreeSet<String> = kb
        .techniques
        .iter()
        .flat_map(|t| t.platforms.iter().map(|p| p.to_ascii_lowercase()))
        .collect();
    let platforms = norm_list(given);
    if let Some(bad) = platforms.iter().find(|p| !known.contains(*p)) {
        return Err(CoverageError::Scope(format!(
            "--platform `{bad}` is not a platform of ATT&CK {} ({})",
            kb.source.version,
            known.iter().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(platforms)
}

/// The group's techniques; a group using a sub-technique also shows its parent's behaviour.
fn group_techniques(kb: &KnowledgeBase, g: &NamedObject) -> BTreeSet<String> {
    let mut s: BTreeSet<String> = BTreeSet::new();
    for id in &g.techniques {
        let id = id.to_ascii_uppercase();
        if let Some(p) = kb.technique(&id).and_then(|t| t.parent.clone()) {
            s.insert(p);
        }
        s.insert(id);
    }
    s
}

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
    Err(CoverageError::Scope(format!(
        "{flag} `{item}` matches no technique ID, ID prefix, tactic shortname or TA ID in ATT&CK {}",
        kb.source.version
    )))
}

fn resolve_group<'a>(kb: &'a KnowledgeBase, q: &str) -> Result<&'a NamedObject, CoverageError> {
    let q = q.trim();
    kb.group(q)
        .or_else(|| {
            kb.groups.iter().find(|g| {
                g.name.eq_ignore_ascii_case(q)
                    || g.aliases.iter().any(|a| a.eq_ignore_ascii_case(q))
            })
        })
        .ok_or_else(|| {
            CoverageError::Scope(format!(
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

fn describe_scope(scope: &Scope<'_>, opts: &ScopeOptions) -> String {
    let Scope {
        platforms,
        tactics,
        statuses,
        levels,
        group,
        ..
    } = scope;
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
