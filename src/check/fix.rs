//! `check --fix`: the tag rewrites that are safe and unambiguous, applied in place.
//!
//! Computes a new tag list per rule (revoked technique -> final replacement, lower-cased tags,
//! repeated tags dropped, the tactic of a single-tactic technique added when none of its tactics is
//! tagged, and, only when the opt-in `tag_order` code is on for the rule, tag groups put in order:
//! tactics, techniques, other tags) and hands it to
//! [`crate::tagedit::rewrite_tags`], which edits only the `tags:` lines and verifies the result.
//! [`crate::check::pipeline::fix_files`] applies them to the files.
//!
//! A rule whose tactic tags belong to another ATT&CK release than the active data is never edited:
//! its tags would be "fixed" towards the wrong matrix (v18's `defense-evasion` added next to v19's
//! `stealth`). It is reported as [`Skipped`] with `attack_version_mismatch` instead.

use crate::attack::KnowledgeBase;
use crate::config::Settings;
use crate::diag::Code;
use crate::rules::{parse_attack_tag, tag_rank, AttackTag, RuleRecord, RuleSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

/// The new tags of one rule and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagFix {
    pub path: PathBuf,
    pub line: usize,
    pub tags: Vec<String>,
    /// One line per change, e.g. `attack.t1086 -> attack.t1059.001 (revoked)`.
    pub changes: Vec<String>,
}

/// A rule `--fix` leaves alone although its tags would change, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: PathBuf,
    pub line: usize,
    pub code: Code,
    /// The tag that shows the mismatch, as written.
    pub tag: String,
    /// The releases (`enterprise 19`) that have the tag's tactic.
    pub releases: Vec<String>,
    /// The active data's release (`enterprise-attack 18.1`).
    pub active: String,
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] `{}` is a tactic of ATT&CK {}, not of the active data (ATT&CK {}); tags left as they are: use matching data (--attack) or `attacktrace migrate`",
            self.code,
            self.tag,
            self.releases.join(", "),
            self.active
        )
    }
}

/// What `--fix` does with the rules: the fixes per file (documents in line order) and the rules
/// it refuses to edit.
#[derive(Debug, Default)]
pub struct FixPlan {
    pub by_file: BTreeMap<PathBuf, Vec<TagFix>>,
    pub skipped: Vec<Skipped>,
}

/// The first tactic tag of `rule` unknown to `kb` but known to another release, if any.
fn other_release(rule: &RuleRecord, kb: &KnowledgeBase) -> Option<Skipped> {
    rule.tags.iter().find_map(|tag| {
        let Some(AttackTag::Tactic(short)) = parse_attack_tag(tag) else {
            return None;
        };
        if kb.tactic_by_shortname(&short).is_some() {
            return None;
        }
        let releases = super::attack_tags::releases_with_tactic(&short);
        (!releases.is_empty()).then(|| Skipped {
            path: rule.path.clone(),
            line: rule.line,
            code: Code::AttackVersionMismatch,
            tag: tag.clone(),
            releases,
            active: format!("{} {}", kb.source.domain, kb.source.version),
        })
    })
}

/// New tags for a rule: `Ok(None)` when nothing is safe to change, `Err` when the rule's tags
/// belong to another ATT&CK release than `kb` and it must not be edited. `order_tags` sorts the
/// tag groups: a house style, so only when the config asks for it (`tag_order`).
pub fn plan(
    rule: &RuleRecord,
    kb: &KnowledgeBase,
    order_tags: bool,
) -> Result<Option<TagFix>, Skipped> {
    if let Some(skip) = other_release(rule, kb) {
        return Err(skip);
    }
    Ok(plan_tags(rule, kb, order_tags))
}

/// Whether `--fix` orders the tags of `rule`: `tag_order` is on and not excluded for it, so the
/// fix never moves tags the check would not complain about.
pub fn orders_tags(settings: &Settings, rule: &RuleRecord) -> bool {
    settings.is_enabled(Code::TagOrder) && !settings.is_excluded(rule.id.as_deref(), Code::TagOrder)
}

fn plan_tags(rule: &RuleRecord, kb: &KnowledgeBase, order_tags: bool) -> Option<TagFix> {
    let mut changes = Vec::new();
    let mut out: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for tag in &rule.tags {
        let mut new = tag.trim().to_string();
        if new != *tag {
            // Other engines may read the spaces as part of the tag: trimming is a visible fix.
            changes.push(format!("{tag:?} -> {new} (surrounding whitespace)"));
        }
        let lower = new.to_ascii_lowercase();
        if lower != new && crate::check::schema::is_tag_format(&lower) {
            changes.push(format!("{new} -> {lower} (case)"));
            new = lower;
        }
        if let Some(AttackTag::Technique(id)) = parse_attack_tag(&new) {
            if let Some(r) = kb.resolve_revoked(&id) {
                let replacement = format!("attack.{}", r.id.to_ascii_lowercase());
                changes.push(format!(
                    "{new} -> {replacement} (revoked, replaced by {})",
                    r.id
                ));
                new = replacement;
            }
        }
        if !seen.insert(new.to_ascii_lowercase()) {
            changes.push(format!("{new} removed (repeated)"));
            continue;
        }
        out.push(new);
    }
    // Tactics after the rewrite, then missing ones of single-tactic techniques.
    let tactics: HashSet<String> = out
        .iter()
        .filter_map(|t| match parse_attack_tag(t) {
            Some(AttackTag::Tactic(s)) => Some(s),
            _ => None,
        })
        .collect();
    let mut add = Vec::new();
    for t in out.iter().filter_map(|t| match parse_attack_tag(t) {
        Some(AttackTag::Technique(id)) => kb.technique(&id),
        _ => None,
    }) {
        if t.revoked || t.deprecated || t.tactics.len() != 1 {
            continue;
        }
        let tactic = &t.tactics[0];
        if !tactics.contains(tactic) && kb.tactic_by_shortname(tactic).is_some() {
            let tag = format!("attack.{tactic}");
            if !add.contains(&tag) {
                changes.push(format!("{tag} added (tactic of {})", t.id));
                add.push(tag);
            }
        }
    }
    // Missing tactics go before the first technique tag, as tactics usually lead.
    let at = out
        .iter()
        .position(|t| matches!(parse_attack_tag(t), Some(AttackTag::Technique(_))))
        .unwrap_or(out.len());
    out.splice(at..at, add);
    if order_tags {
        order(&mut out, &mut changes);
    }
    if changes.is_empty() {
        return None;
    }
    Some(TagFix {
        path: rule.path.clone(),
        line: rule.line,
        tags: out,
        changes,
    })
}

/// Order: ATT&CK tactics, then techniques, then other ATT&CK tags, then everything else. The sort
/// is stable, so tags keep their order within each group: only misplaced groups move.
fn order(tags: &mut Vec<String>, changes: &mut Vec<String>) {
    let mut ordered = tags.clone();
    ordered.sort_by_key(|t| tag_rank(t));
    if ordered != *tags {
        changes.push("tags reordered: tactics, then techniques, then other tags".into());
        *tags = ordered;
    }
}

/// Fixes for a rule set, grouped by file (documents in line order), and the rules left alone;
/// `settings` decides per rule whether tags are ordered ([`orders_tags`]).
pub fn plan_all(rules: &RuleSet, kb: &KnowledgeBase, settings: &Settings) -> FixPlan {
    let mut out = FixPlan::default();
    for rule in &rules.rules {
        match plan(rule, kb, orders_tags(settings, rule)) {
            Ok(Some(fix)) => out.by_file.entry(fix.path.clone()).or_default().push(fix),
            Ok(None) => {}
            Err(skip) => out.skipped.push(skip),
        }
    }
    out
}
