//! ATT&CK version skew: rule tags written for another release than the loaded data.
//!
//! A v19 rule set (`attack.stealth`, `T1685`) read against v18.1 data, or v18 tags against v19 data,
//! loses coverage for reasons that have nothing to do with the rules. Every report says so on top
//! instead of letting the drop pass for a real gap. Tactics of other releases come from
//! `mappings/tactic_versions.yaml` (facts, no list in code); an unknown technique ID just above the
//! highest one the data knows can only be from a newer release (one far above, like `T9999`, is
//! an invented ID and stays an ordinary unknown tag).

use crate::attack::KnowledgeBase;
use crate::rules::{AttackTag, RuleSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// domain -> release -> tactic shortnames.
type TacticVersions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn tactic_versions() -> &'static TacticVersions {
    static TABLE: OnceLock<TacticVersions> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Part of the build (a unit test parses it): failing to parse is a bug, not a reason to
        // drop version-skew reports silently.
        serde_norway::from_str(include_str!("../mappings/tactic_versions.yaml"))
            .unwrap_or_else(|e| panic!("embedded mappings/tactic_versions.yaml is invalid: {e}"))
    })
}

/// Releases (as `domain release`) whose tactics include `shortname`.
pub fn releases_with_tactic(shortname: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (domain, releases) in tactic_versions() {
        for (release, tactics) in releases {
            if tactics.iter().any(|t| t == shortname) {
                out.push(format!("{domain} {release}"));
            }
        }
    }
    out
}

/// Why a tag is taken for one of another release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkewKind {
    /// A tactic shortname the data lacks but another release has.
    Tactic,
    /// A technique ID the data lacks, numbered just above every technique it knows.
    NewerTechnique,
}

/// One tag of another release, with how many rules carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkewTag {
    /// As tagged, without `attack.`: `stealth`, `T1685`.
    pub tag: String,
    pub kind: SkewKind,
    /// Releases that have it (tactics only; empty for a newer technique).
    pub releases: Vec<String>,
    pub rules: usize,
}

/// Tags unknown to the loaded data but explained by another release; empty when there is none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VersionSkew {
    /// `domain vVERSION` of the loaded data.
    pub data: String,
    /// Tactics first, then techniques; each sorted by tag.
    pub tags: Vec<SkewTag>,
    /// Distinct rules carrying at least one such tag.
    pub rules: usize,
}

impl VersionSkew {
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// One line for the top of a report, without a trailing period.
    pub fn summary(&self) -> String {
        let list = |kind: SkewKind| {
            self.tags
                .iter()
                .filter(|t| t.kind == kind)
                .map(|t| {
                    let rules = match t.rules {
                        1 => "1 rule".to_string(),
                        n => format!("{n} rules"),
                    };
                    match t.releases.last() {
                        Some(r) => format!("{} ({r}, {rules})", t.tag),
                        None => format!("{} ({rules})", t.tag),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        let tactics = list(SkewKind::Tactic);
        if !tactics.is_empty() {
            parts.push(format!("tactics of another release: {tactics}"));
        }
        let newer = list(SkewKind::NewerTechnique);
        if !newer.is_empty() {
            parts.push(format!("techniques newer than the data: {newer}"));
        }
        format!(
            "ATT&CK version skew: {} rule(s) are tagged for another release than the data ({}): {}; coverage of those tags is missing because of the version, not the rules (use matching --attack data or `attacktrace migrate`)",
            self.rules,
            self.data,
            parts.join("; ")
        )
    }
}

/// The releases of the data's own domain (`enterprise` for `enterprise-attack`) when there are any,
/// else all: `defense-evasion` against v19 enterprise data is an enterprise 18 tag, not a mobile one.
fn same_domain_first(domain: &str, releases: Vec<String>) -> Vec<String> {
    let own: Vec<String> = releases
        .iter()
        .filter(|r| r.split(' ').next().is_some_and(|d| domain.starts_with(d)))
        .cloned()
        .collect();
    if own.is_empty() {
        releases
    } else {
        own
    }
}

/// How far above the data's highest technique number a newer release's IDs may go: releases add
/// a handful of techniques each (v19 added T1685-T1687 over v18.1's T1681).
const NEWER_ID_SPAN: u32 = 50;

/// The highest technique number (`T1684` -> 1684) the data knows.
fn highest_technique(kb: &KnowledgeBase) -> u32 {
    kb.techniques
        .iter()
        .filter_map(|t| technique_number(&t.id))
        .max()
        .unwrap_or(0)
}

fn technique_number(id: &str) -> Option<u32> {
    let digits = id.strip_prefix(['T', 't'])?;
    digits.split('.').next()?.parse().ok()
}

/// What in the given tags says the rules were written for another ATT&CK release than `kb`.
pub fn detect<'a>(
    kb: &KnowledgeBase,
    tags: impl IntoIterator<Item = &'a [AttackTag]>,
) -> VersionSkew {
    let highest = highest_technique(kb);
    let mut found: BTreeMap<(SkewKind, String), (Vec<String>, usize)> = BTreeMap::new();
    let mut rules = 0;
    for rule_tags in tags {
        let mut seen = std::collections::BTreeSet::new();
        for tag in rule_tags {
            let hit = match tag {
                AttackTag::Tactic(short) if kb.tactic_by_shortname(short).is_none() => {
                    let releases =
                        same_domain_first(&kb.source.domain, releases_with_tactic(short));
                    (!releases.is_empty()).then(|| (short.clone(), SkewKind::Tactic, releases))
                }
                AttackTag::Technique(id)
                    if kb.technique(id).is_none()
                        && technique_number(id)
                            .is_some_and(|n| n > highest && n <= highest + NEWER_ID_SPAN) =>
                {
                    Some((id.clone(), SkewKind::NewerTechnique, Vec::new()))
                }
                _ => None,
            };
            if let Some((tag, kind, releases)) = hit {
                if seen.insert((kind, tag.clone())) {
                    found.entry((kind, tag)).or_insert((releases, 0)).1 += 1;
                }
            }
        }
        rules += usize::from(!seen.is_empty());
    }
    VersionSkew {
        data: format!("{} v{}", kb.source.domain, kb.source.version),
        tags: found
            .into_iter()
            .map(|((kind, tag), (releases, rules))| SkewTag {
                tag,
                kind,
                releases,
                rules,
            })
            .collect(),
        rules,
    }
}

/// [`detect`] over every loaded rule.
pub fn of_rules(kb: &KnowledgeBase, rules: &RuleSet) -> VersionSkew {
    detect(kb, rules.rules.iter().map(|r| r.attack.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tactic_table_parses_and_knows_v19() {
        assert_eq!(releases_with_tactic("stealth"), ["enterprise 19"]);
        assert!(releases_with_tactic("defense-evasion").contains(&"enterprise 18".to_string()));
        assert!(releases_with_tactic("no-such-tactic").is_empty());
    }

    #[test]
    fn v19_tags_on_v18_data_are_skew_and_typos_are_not() {
        let kb = crate::attack::catalog::embedded();
        let tags = [
            vec![
                AttackTag::Tactic("stealth".into()),
                AttackTag::Technique("T1685".into()),
            ],
            vec![
                AttackTag::Tactic("defense-impairment".into()),
                AttackTag::Technique("T1686".into()),
                AttackTag::Tactic("stealth".into()),
            ],
            // A typo of a tactic, an unknown low ID and an invented high one are no version's.
            vec![
                AttackTag::Tactic("executoin".into()),
                AttackTag::Technique("T1000".into()),
                AttackTag::Technique("T9999".into()),
                AttackTag::Tactic("execution".into()),
            ],
        ];
        let s = detect(&kb, tags.iter().map(Vec::as_slice));
        assert_eq!(s.rules, 2);
        let got: Vec<(&str, usize)> = s.tags.iter().map(|t| (t.tag.as_str(), t.rules)).collect();
        assert_eq!(
            got,
            [
                ("defense-impairment", 1),
                ("stealth", 2),
                ("T1685", 1),
                ("T1686", 1)
            ]
        );
        assert!(s.summary().starts_with("ATT&CK version skew: 2 rule(s)"));
        assert!(detect(&kb, [tags[2].as_slice()]).is_empty());
    }
}
