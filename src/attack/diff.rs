//! What changed between two ATT&CK releases, and which rules each change touches.
//!
//! Both sides are ordinary [`KnowledgeBase`]s (a file, the embedded catalog or the cache), so the
//! diff works on facts only: IDs, names, tactic membership, revocations and detection strategies.
//! Tactics are matched by ID (`TA0005`), so a renamed tactic is told apart from a removed one;
//! techniques by ID. The report is plain data, rendered by `render::attack_diff`; JSON is its serde
//! form.

use super::model::{KnowledgeBase, SourceInfo, Technique};
pub use crate::report::{TacticRef, TechRef};
use crate::rules::{AttackTag, RuleSet};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A technique as the diff names it: the shared [`TechRef`] (reached through `Deref`, so `t.id`
/// reads as before) plus its tactics and the rules a change touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedTechnique {
    #[serde(flatten)]
    pub named: TechRef,
    pub tactics: Vec<String>,
    /// Rules tagged with this technique (filled by [`KbDiff::attach_rules`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl std::ops::Deref for ChangedTechnique {
    type Target = TechRef;
    fn deref(&self) -> &TechRef {
        &self.named
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revoked {
    #[serde(flatten)]
    pub technique: ChangedTechnique,
    /// Final replacement in the new release (revoked-by chain followed); `None` when it ends nowhere.
    pub replacement: Option<ChangedTechnique>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Renamed {
    #[serde(flatten)]
    pub technique: ChangedTechnique,
    pub old_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    #[serde(flatten)]
    pub technique: ChangedTechnique,
    pub old_tactics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TacticRenamed {
    #[serde(flatten)]
    pub tactic: TacticRef,
    pub old_name: String,
    pub old_shortname: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrategyRef {
    pub id: String,
    pub name: String,
    pub techniques: Vec<String>,
}

/// The difference between two releases. Every list is sorted by ID.
#[derive(Debug, Clone, Serialize)]
pub struct KbDiff {
    pub old: SourceInfo,
    pub new: SourceInfo,
    pub tactics_added: Vec<TacticRef>,
    pub tactics_removed: Vec<TacticRef>,
    pub tactics_renamed: Vec<TacticRenamed>,
    /// Active in the new release, absent from the old one.
    pub techniques_added: Vec<ChangedTechnique>,
    /// Not revoked in the old release, revoked in the new one.
    pub techniques_revoked: Vec<Revoked>,
    /// Active in the old release, deprecated in the new one.
    pub techniques_deprecated: Vec<ChangedTechnique>,
    /// Present in the old release, absent from the new one (rare: MITRE revokes instead).
    pub techniques_removed: Vec<ChangedTechnique>,
    /// Active in both, name changed.
    pub techniques_renamed: Vec<Renamed>,
    /// Active in both, tactic set changed.
    pub techniques_moved: Vec<Moved>,
    pub detection_strategies_added: Vec<StrategyRef>,
    pub detection_strategies_removed: Vec<StrategyRef>,
    /// Rule files given with `--rules`: how many rule documents were checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules_checked: Option<usize>,
}

fn tech_ref(t: &Technique) -> ChangedTechnique {
    ChangedTechnique {
        named: TechRef::of(t),
        tactics: t.tactics.clone(),
        rules: Vec::new(),
    }
}

/// Compares `old` to `new`.
pub fn diff(old: &KnowledgeBase, new: &KnowledgeBase) -> KbDiff {
    let mut d = KbDiff {
        old: old.source.clone(),
        new: new.source.clone(),
        tactics_added: Vec::new(),
        tactics_removed: Vec::new(),
        tactics_renamed: Vec::new(),
        techniques_added: Vec::new(),
        techniques_revoked: Vec::new(),
        techniques_deprecated: Vec::new(),
        techniques_removed: Vec::new(),
        techniques_renamed: Vec::new(),
        techniques_moved: Vec::new(),
        detection_strategies_added: Vec::new(),
        detection_strategies_removed: Vec::new(),
        rules_checked: None,
    };
    let tref = TacticRef::of;
    for t in &new.tactics {
        match old.tactic_by_id(&t.id) {
            None => d.tactics_added.push(tref(t)),
            Some(o) if o.name != t.name || o.shortname != t.shortname => {
                d.tactics_renamed.push(TacticRenamed {
                    tactic: tref(t),
                    old_name: o.name.clone(),
                    old_shortname: o.shortname.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for t in &old.tactics {
        if new.tactic_by_id(&t.id).is_none() {
            d.tactics_removed.push(tref(t));
        }
    }
    for t in &new.techniques {
        if t.is_active() && old.technique(&t.id).is_none() {
            d.techniques_added.push(tech_ref(t));
        }
    }
    for o in &old.techniques {
        let Some(n) = new.technique(&o.id) else {
            if !o.revoked {
                d.techniques_removed.push(tech_ref(o));
            }
            continue;
        };
        if n.revoked && !o.revoked {
            d.techniques_revoked.push(Revoked {
                technique: tech_ref(o),
                replacement: new.resolve_revoked(&n.id).map(tech_ref),
            });
        } else if n.deprecated && o.is_active() {
            d.techniques_deprecated.push(tech_ref(n));
        } else if n.is_active() && o.is_active() {
            if n.name != o.name {
                d.techniques_renamed.push(Renamed {
                    technique: tech_ref(n),
                    old_name: o.name.clone(),
                });
            }
            let (a, b): (BTreeSet<_>, BTreeSet<_>) =
                (o.tactics.iter().collect(), n.tactics.iter().collect());
            if a != b {
                d.techniques_moved.push(Moved {
                    technique: tech_ref(n),
                    old_tactics: o.tactics.clone(),
                });
            }
        }
    }
    let sref = |s: &super::model::DetectionStrategy| StrategyRef {
        id: s.id.clone(),
        name: s.name.clone(),
        techniques: s.techniques.clone(),
    };
    for s in &new.detection_strategies {
        if old.strategy(&s.id).is_none() {
            d.detection_strategies_added.push(sref(s));
        }
    }
    for s in &old.detection_strategies {
        if new.strategy(&s.id).is_none() {
            d.detection_strategies_removed.push(sref(s));
        }
    }
    d
}

/// A rule's label in reports: its path, plus `:line` for the second and later documents of a file.
pub fn rule_label(r: &crate::rules::RuleRecord) -> String {
    if r.document > 0 {
        format!("{}:{}", r.path.display(), r.line)
    } else {
        r.path.display().to_string()
    }
}

impl KbDiff {
    /// Lists, under each change, the rules tagged with that technique or tactic shortname.
    pub fn attach_rules(&mut self, rules: &RuleSet) {
        let mut by_tech: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut by_tactic: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in &rules.rules {
            for tag in &r.attack {
                match tag {
                    AttackTag::Technique(id) => by_tech.entry(id.clone()),
                    AttackTag::Tactic(s) => by_tactic.entry(s.clone()),
                    _ => continue,
                }
                .or_default()
                .insert(rule_label(r));
            }
        }
        let get = |m: &BTreeMap<String, BTreeSet<String>>, k: &str| -> Vec<String> {
            m.get(k)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default()
        };
        for t in self
            .techniques_revoked
            .iter_mut()
            .map(|r| &mut r.technique)
            .chain(self.techniques_deprecated.iter_mut())
            .chain(self.techniques_removed.iter_mut())
            .chain(self.techniques_renamed.iter_mut().map(|r| &mut r.technique))
            .chain(self.techniques_moved.iter_mut().map(|r| &mut r.technique))
        {
            t.rules = get(&by_tech, &t.id);
        }
        for t in self.tactics_removed.iter_mut() {
            t.rules = get(&by_tactic, &t.shortname);
        }
        for t in self.tactics_renamed.iter_mut() {
            t.tactic.rules = get(&by_tactic, &t.old_shortname);
        }
        self.rules_checked = Some(rules.rules.len());
    }

    /// Number of changes of each kind, in report order.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("tactics added", self.tactics_added.len()),
            ("tactics removed", self.tactics_removed.len()),
            ("tactics renamed", self.tactics_renamed.len()),
            ("techniques added", self.techniques_added.len()),
            ("techniques revoked", self.techniques_revoked.len()),
            ("techniques deprecated", self.techniques_deprecated.len()),
            ("techniques removed", self.techniques_removed.len()),
            ("techniques renamed", self.techniques_renamed.len()),
            (
                "techniques moved between tactics",
                self.techniques_moved.len(),
            ),
            (
                "detection strategies added",
                self.detection_strategies_added.len(),
            ),
            (
                "detection strategies removed",
                self.detection_strategies_removed.len(),
            ),
        ]
    }

    /// Rules touched by at least one change.
    pub fn affected_rules(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        let techs = self
            .techniques_revoked
            .iter()
            .map(|r| &r.technique)
            .chain(self.techniques_deprecated.iter())
            .chain(self.techniques_removed.iter())
            .chain(self.techniques_renamed.iter().map(|r| &r.technique))
            .chain(self.techniques_moved.iter().map(|r| &r.technique));
        for t in techs {
            out.extend(t.rules.iter().map(String::as_str));
        }
        for t in self
            .tactics_removed
            .iter()
            .chain(self.tactics_renamed.iter().map(|t| &t.tactic))
        {
            out.extend(t.rules.iter().map(String::as_str));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.counts().iter().all(|(_, n)| *n == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::stix::{load_path, LoadOptions};
    use std::path::Path;

    fn fixture(name: &str) -> KnowledgeBase {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/versions")
            .join(name);
        load_path(&p, &LoadOptions::default()).unwrap()
    }

    #[test]
    fn v18_to_v19_fixture() {
        let d = diff(&fixture("v18-mini.json"), &fixture("v19-mini.json"));
        let ids = |v: Vec<&str>| v.join(" ");
        assert_eq!(
            ids(d.tactics_added.iter().map(|t| t.id.as_str()).collect()),
            "TA0112"
        );
        assert_eq!(d.tactics_renamed[0].old_shortname, "defense-evasion");
        assert_eq!(d.tactics_renamed[0].tactic.shortname, "stealth");
        assert_eq!(
            ids(d.techniques_added.iter().map(|t| t.id.as_str()).collect()),
            "T1685 T1685.001 T1686 T1687"
        );
        let revoked: Vec<String> = d
            .techniques_revoked
            .iter()
            .map(|r| format!("{}->{}", r.technique.id, r.replacement.as_ref().unwrap().id))
            .collect();
        assert_eq!(
            revoked,
            ["T1562->T1685", "T1562.001->T1685.001", "T1562.002->T1686"]
        );
        assert_eq!(d.techniques_deprecated[0].id, "T1218");
        assert_eq!(
            d.techniques_renamed[0].old_name,
            "Obfuscated Files or Information"
        );
        assert_eq!(
            ids(d
                .techniques_moved
                .iter()
                .map(|t| t.technique.id.as_str())
                .collect()),
            "T1027 T1036 T1070"
        );
        assert_eq!(d.detection_strategies_added[0].id, "DET0901");
        // Same input, same data.
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            serde_json::to_string(&diff(&fixture("v18-mini.json"), &fixture("v19-mini.json")))
                .unwrap()
        );
    }

    #[test]
    fn identical_releases_have_no_changes() {
        let kb = fixture("v19-mini.json");
        assert!(diff(&kb, &kb).is_empty());
    }
}
