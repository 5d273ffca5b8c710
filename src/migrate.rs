//! Carries a rule repository's ATT&CK tags from one release to the next.
//!
//! Technique tags follow `revoked-by` chains in the new release. Tactic tags are never mapped by
//! name: a tactic tag is re-derived from the techniques that anchored it in the old release (the
//! rule's techniques that were under that tactic), looked up in the new release. So
//! `attack.defense-evasion` + `attack.t1562.001` (v18) becomes `attack.defense-impairment` +
//! `attack.t1685.001` (v19) because the replacement technique sits under Defense Impairment. When
//! the data cannot decide (no replacement, several candidate tactics and no technique to anchor the
//! tag), the tag is left as it is and reported as a [`Question`] for a person, with candidates.
//! Files are edited with [`crate::tagedit::apply_edits`] (comments and layout kept, verified,
//! written atomically).

use crate::attack::KnowledgeBase;
use crate::rules::{parse_attack_tag, AttackTag, RuleRecord, RuleSet};
use crate::tagedit::{apply_edits, DocEdit};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// One tag replaced by zero or more tags, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagChange {
    pub from: String,
    pub to: Vec<String>,
    pub reason: String,
}

/// Something the data cannot decide; the tag is left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Question {
    pub tag: String,
    pub reason: String,
    pub candidates: Vec<String>,
}

/// The migration of one rule document.
#[derive(Debug, Clone, Serialize)]
pub struct RulePlan {
    pub path: PathBuf,
    /// 1-based first line of the document (as `RuleRecord::line`).
    pub line: usize,
    pub title: String,
    pub old_tags: Vec<String>,
    pub new_tags: Vec<String>,
    pub changes: Vec<TagChange>,
    pub questions: Vec<Question>,
}

impl RulePlan {
    pub fn changed(&self) -> bool {
        self.old_tags != self.new_tags
    }
}

/// The migration of a rule set: only rules with a change or a question are listed.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub from: crate::attack::SourceInfo,
    pub to: crate::attack::SourceInfo,
    pub rules_checked: usize,
    pub rules: Vec<RulePlan>,
    /// Technique and tactic tags the source data does not know, sorted: rules written for another
    /// release than `from` (its tags cannot be migrated from it; pass the right `--from`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_to_source: Vec<UnknownTag>,
}

/// A tag the source data does not know, with how many rules carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownTag {
    /// Lower-case tag as Sigma writes it: `attack.stealth`, `attack.t1685`.
    pub tag: String,
    pub rules: usize,
}

/// Technique and tactic tags of `rules` that `old` does not know (not even as revoked).
fn unknown_to(old: &KnowledgeBase, rules: &RuleSet) -> Vec<UnknownTag> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for rule in &rules.rules {
        let unknown: BTreeSet<String> = rule
            .attack
            .iter()
            .filter_map(|t| match t {
                AttackTag::Technique(id) if old.technique(id).is_none() => Some(technique_tag(id)),
                AttackTag::Tactic(short) if old.tactic_by_shortname(short).is_none() => {
                    Some(tactic_tag(short))
                }
                _ => None,
            })
            .collect();
        for tag in unknown {
            *counts.entry(tag).or_insert(0) += 1;
        }
    }
    counts
        .into_iter()
        .map(|(tag, rules)| UnknownTag { tag, rules })
        .collect()
}

impl Plan {
    pub fn questions(&self) -> usize {
        self.rules.iter().map(|r| r.questions.len()).sum()
    }
    pub fn changed_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.changed()).count()
    }
}

fn technique_tag(id: &str) -> String {
    format!("attack.{}", id.to_ascii_lowercase())
}

fn tactic_tag(short: &str) -> String {
    format!("attack.{short}")
}

/// What a technique ID becomes in the new release: `Ok(Some(new))` when replaced, `Ok(None)` when
/// unchanged, `Err(question)` when a person must decide.
fn migrate_technique(new: &KnowledgeBase, id: &str, raw: &str) -> Result<Option<String>, Question> {
    let ask = |reason: String, candidates: Vec<String>| Question {
        tag: raw.to_string(),
        reason,
        candidates,
    };
    match new.technique(id) {
        Some(t) if t.is_active() => Ok(None),
        Some(t) if t.revoked => match new.resolve_revoked(id) {
            Some(r) if r.is_active() => Ok(Some(r.id.clone())),
            _ => Err(ask(
                format!(
                    "{id} is revoked in {} and its replacement chain ends nowhere",
                    new.source.version
                ),
                Vec::new(),
            )),
        },
        Some(t) => {
            // Deprecated: no successor in the data. Its parent (for a sub-technique) is the only
            // fact-based suggestion.
            let candidates = t
                .parent
                .as_deref()
                .and_then(|p| new.technique(p))
                .filter(|p| p.is_active())
                .map(|p| vec![technique_tag(&p.id)])
                .unwrap_or_default();
            Err(ask(
                format!(
                    "{id} is deprecated in {} without a replacement",
                    new.source.version
                ),
                candidates,
            ))
        }
        None => Err(ask(
            format!("{id} does not exist in {}", new.source.version),
            Vec::new(),
        )),
    }
}

/// The new-release tactics of every old-release technique under `tactic`, in new matrix order.
fn successor_tactics(old: &KnowledgeBase, new: &KnowledgeBase, tactic: &str) -> Vec<String> {
    let mut set = BTreeSet::new();
    for t in old
        .techniques
        .iter()
        .filter(|t| t.is_active() && t.tactics.iter().any(|x| x == tactic))
    {
        let now = match new.technique(&t.id) {
            Some(n) if n.revoked => new.resolve_revoked(&n.id),
            other => other,
        };
        if let Some(n) = now.filter(|n| n.is_active()) {
            set.extend(n.tactics.iter().cloned());
        }
    }
    sorted_tactics(new, set)
}

fn sorted_tactics(kb: &KnowledgeBase, set: BTreeSet<String>) -> Vec<String> {
    let mut v: Vec<String> = set.into_iter().collect();
    v.sort_by_key(|s| (kb.tactic_order(s), s.clone()));
    v
}

/// Plans the migration of one rule document from `old` to `new`.
pub fn plan_rule(old: &KnowledgeBase, new: &KnowledgeBase, rule: &RuleRecord) -> RulePlan {
    let mut changes = Vec::new();
    let mut questions = Vec::new();
    // Technique tags: old ID -> new ID (or unchanged).
    let mut tech_map: BTreeMap<String, String> = BTreeMap::new();
    let mut per_tag: Vec<Vec<String>> = Vec::with_capacity(rule.tags.len());
    for raw in &rule.tags {
        if let Some(AttackTag::Technique(id)) = parse_attack_tag(raw) {
            match migrate_technique(new, &id, raw) {
                Ok(Some(to)) => {
                    let reason = format!(
                        "{id} is revoked in {}; replaced by {to} {}",
                        new.source.version,
                        new.technique(&to).map_or("", |t| t.name.as_str())
                    );
                    changes.push(TagChange {
                        from: raw.clone(),
                        to: vec![technique_tag(&to)],
                        reason,
                    });
                    tech_map.insert(id, to.clone());
                    per_tag.push(vec![technique_tag(&to)]);
                    continue;
                }
                Ok(None) => {
                    tech_map.insert(id.clone(), id);
                }
                Err(q) => questions.push(q),
            }
        }
        per_tag.push(vec![raw.clone()]);
    }
    // Tactic tags: re-derived from the techniques that anchored them in the old release.
    for (k, raw) in rule.tags.iter().enumerate() {
        let Some(AttackTag::Tactic(short)) = parse_attack_tag(raw) else {
            continue;
        };
        let anchors: Vec<(&String, &String)> = tech_map
            .iter()
            .filter(|(o, _)| old.technique(o).is_some_and(|t| t.tactics.contains(&short)))
            .collect();
        if !anchors.is_empty() {
            let mut set = BTreeSet::new();
            for (_, n) in &anchors {
                if let Some(t) = new.technique(n) {
                    set.extend(t.tactics.iter().cloned());
                }
            }
            if set.contains(&short) || set.is_empty() {
                continue;
            }
            let to: Vec<String> = sorted_tactics(new, set)
                .iter()
                .map(|s| tactic_tag(s))
                .collect();
            let via: Vec<&str> = anchors.iter().map(|(_, n)| n.as_str()).collect();
            changes.push(TagChange {
                from: raw.clone(),
                to: to.clone(),
                reason: format!(
                    "in {} {} {} under {}",
                    new.source.version,
                    via.join(", "),
                    if via.len() == 1 { "is" } else { "are" },
                    to.iter()
                        .map(|t| t.trim_start_matches("attack."))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
            per_tag[k] = to;
        } else if new.tactic_by_shortname(&short).is_none()
            && old.tactic_by_shortname(&short).is_some()
        {
            let candidates = successor_tactics(old, new, &short);
            if let [only] = candidates.as_slice() {
                let to = vec![tactic_tag(only)];
                changes.push(TagChange {
                    from: raw.clone(),
                    to: to.clone(),
                    reason: format!(
                        "tactic {short} is gone in {}; all its techniques are under {only} now",
                        new.source.version
                    ),
                });
                per_tag[k] = to;
            } else {
                questions.push(Question {
                    tag: raw.clone(),
                    reason: format!(
                        "tactic {short} is gone in {} and no technique tag of this rule tells which successor applies",
                        new.source.version
                    ),
                    candidates: candidates.iter().map(|s| tactic_tag(s)).collect(),
                });
            }
        }
    }
    let mut seen = BTreeSet::new();
    let new_tags: Vec<String> = per_tag
        .into_iter()
        .flatten()
        .filter(|t| seen.insert(t.to_ascii_lowercase()))
        .collect();
    RulePlan {
        path: rule.path.clone(),
        line: rule.line,
        title: rule.title.clone(),
        old_tags: rule.tags.clone(),
        new_tags,
        changes,
        questions,
    }
}

/// Plans the migration of every rule in `rules`.
pub fn plan(old: &KnowledgeBase, new: &KnowledgeBase, rules: &RuleSet) -> Plan {
    Plan {
        from: old.source.clone(),
        to: new.source.clone(),
        rules_checked: rules.rules.len(),
        rules: rules
            .rules
            .iter()
            .map(|r| plan_rule(old, new, r))
            .filter(|p| p.changed() || !p.questions.is_empty())
            .collect(),
        unknown_to_source: unknown_to(old, rules),
    }
}

/// One file's edit: the unified diff, or why it could not be edited.
#[derive(Debug, Clone, Serialize)]
pub struct FileEdit {
    pub path: PathBuf,
    pub diff: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Computes (and unless `dry_run`, writes atomically) the edits of a plan, one per file. A file
/// that cannot be edited safely is left untouched and reported.
pub fn apply(plan: &Plan, dry_run: bool) -> Vec<FileEdit> {
    let mut by_file: BTreeMap<&PathBuf, Vec<DocEdit<'_>>> = BTreeMap::new();
    for r in plan.rules.iter().filter(|r| r.changed()) {
        by_file.entry(&r.path).or_default().push(DocEdit {
            line: r.line,
            tags: &r.new_tags,
        });
    }
    by_file
        .into_iter()
        .map(|(path, edits)| match apply_edits(path, &edits, !dry_run) {
            Ok(applied) => FileEdit {
                path: path.clone(),
                diff: applied.diff(&crate::output::path_line(path)),
                error: None,
            },
            Err(e) => FileEdit {
                path: path.clone(),
                diff: String::new(),
                error: Some(e.to_string()),
            },
        })
        .collect()
}

/// The `--format json` report: the plan and what was done with it.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub schema: &'static str,
    pub dry_run: bool,
    pub plan: &'a Plan,
    pub edits: &'a [FileEdit],
}

impl<'a> Report<'a> {
    pub const SCHEMA: &'static str = "attacktrace.migrate/1";

    pub fn new(plan: &'a Plan, edits: &'a [FileEdit], dry_run: bool) -> Report<'a> {
        Report {
            schema: Self::SCHEMA,
            dry_run,
            plan,
            edits,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::stix::{load_path, LoadOptions};
    use std::path::Path;

    fn kb(name: &str) -> KnowledgeBase {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/versions")
            .join(name);
        load_path(&p, &LoadOptions::default()).unwrap()
    }

    fn rule(tags: &[&str]) -> RuleRecord {
        let text = format!(
            "title: t\ntags:\n{}\nlogsource:\n    product: windows\ndetection:\n    s:\n        a: 1\n    condition: s\n",
            tags.iter().map(|t| format!("    - {t}")).collect::<Vec<_>>().join("\n")
        );
        let (mut rules, _) =
            crate::rules::load_text(Path::new("r.yml"), &text, &Default::default());
        rules.remove(0)
    }

    fn new_tags(tags: &[&str]) -> (Vec<String>, Vec<Question>) {
        let p = plan_rule(&kb("v18-mini.json"), &kb("v19-mini.json"), &rule(tags));
        (p.new_tags, p.questions)
    }

    #[test]
    fn defense_evasion_follows_the_technique_not_the_name() {
        let (t, q) = new_tags(&["attack.defense-evasion", "attack.t1562.001"]);
        assert_eq!(t, ["attack.defense-impairment", "attack.t1685.001"]);
        assert!(q.is_empty());
        let (t, _) = new_tags(&["attack.defense-evasion", "attack.t1036"]);
        assert_eq!(t, ["attack.stealth", "attack.t1036"]);
        // A technique under both successor tactics yields both.
        let (t, _) = new_tags(&["attack.defense-evasion", "attack.t1070"]);
        assert_eq!(
            t,
            [
                "attack.stealth",
                "attack.defense-impairment",
                "attack.t1070"
            ]
        );
        let (t, _) = new_tags(&["attack.defense-evasion", "attack.t1562.002", "attack.t1027"]);
        assert_eq!(
            t,
            [
                "attack.stealth",
                "attack.defense-impairment",
                "attack.t1686",
                "attack.t1027"
            ]
        );
    }

    #[test]
    fn unanchored_and_unresolvable_tags_ask_a_person() {
        let (t, q) = new_tags(&["attack.defense-evasion", "attack.execution", "attack.t1059"]);
        assert_eq!(
            t,
            ["attack.defense-evasion", "attack.execution", "attack.t1059"]
        );
        assert_eq!(q.len(), 1);
        assert_eq!(
            q[0].candidates,
            ["attack.stealth", "attack.defense-impairment"]
        );
        let (t, q) = new_tags(&["attack.t1218"]);
        assert_eq!(t, ["attack.t1218"]);
        assert!(q[0].reason.contains("deprecated"), "{q:?}");
    }

    #[test]
    fn unchanged_rules_have_no_plan_entries() {
        let (t, q) = new_tags(&[
            "attack.execution",
            "attack.t1059.001",
            "attack.s0002",
            "cve.2021-1",
        ]);
        assert_eq!(
            t,
            [
                "attack.execution",
                "attack.t1059.001",
                "attack.s0002",
                "cve.2021-1"
            ]
        );
        assert!(q.is_empty());
    }
}
