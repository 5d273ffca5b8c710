//! Link index: which loaded rules cover which technique, and how.
//!
//! Semantics (shared by the card and coverage): a rule tagged with a sub-technique also covers its
//! parent ("via sub-technique"); a parent tag does not cover sub-techniques; each rule counts once per
//! technique, a direct tag winning over a sub-technique path. Tags naming techniques the knowledge
//! base does not know, or knows as revoked or deprecated, are kept in [`TagProblem`]s, never dropped.

use crate::attack::KnowledgeBase;
use crate::rules::RuleSet;
use serde::Serialize;
use std::collections::BTreeMap;

/// How a rule reaches a technique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "via", content = "sub_technique", rename_all = "kebab-case")]
pub enum Via {
    Direct,
    /// Tagged with this sub-technique of the technique.
    SubTechnique(String),
}

impl Via {
    /// `direct`, or the sub-technique ID: the form reports print and serialise.
    pub fn as_str(&self) -> &str {
        match self {
            Via::Direct => "direct",
            Via::SubTechnique(s) => s,
        }
    }
}

impl std::fmt::Display for Via {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the serialised form.
impl PartialEq<&str> for Via {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Serde for the report form of [`Via`]: the string `direct` or the sub-technique ID, as the card
/// and coverage JSON have always carried it (`#[serde(with = "crate::link::via_string")]`).
pub mod via_string {
    use super::Via;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(via: &Via, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(via.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Via, D::Error> {
        let s = String::deserialize(d)?;
        Ok(if s == "direct" {
            Via::Direct
        } else {
            Via::SubTechnique(s)
        })
    }

    /// For `Option<Via>` fields (skip `None` with `skip_serializing_if`).
    pub fn serialize_option<S: Serializer>(via: &Option<Via>, s: S) -> Result<S::Ok, S::Error> {
        match via {
            Some(v) => s.serialize_str(v.as_str()),
            None => s.serialize_none(),
        }
    }
}

/// Why a technique tag does not name an active technique. Variants are in the alphabetical order
/// of their names so that sorting by kind and by name agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagProblemKind {
    Deprecated,
    Revoked,
    Unknown,
}

impl TagProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagProblemKind::Deprecated => "deprecated",
            TagProblemKind::Revoked => "revoked",
            TagProblemKind::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for TagProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the serialised name.
impl PartialEq<&str> for TagProblemKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One rule linked to one technique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Link {
    /// Index into `RuleSet::rules`.
    pub rule: usize,
    pub via: Via,
}

/// A technique tag that does not name an active technique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TagProblem {
    pub rule: usize,
    pub technique: String,
    pub problem: TagProblemKind,
    /// Final replacement of a revoked technique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkIndex {
    /// Technique ID -> links, sorted by rule index.
    pub by_technique: BTreeMap<String, Vec<Link>>,
    pub tag_problems: Vec<TagProblem>,
}

/// Parent ID of a sub-technique ID (`T1059.001` -> `T1059`), from the data when known.
fn parent_of(kb: &KnowledgeBase, id: &str) -> Option<String> {
    match kb.technique(id) {
        Some(t) => t.parent.clone(),
        None => id.split_once('.').map(|(p, _)| p.to_string()),
    }
}

impl LinkIndex {
    pub fn build(kb: &KnowledgeBase, rules: &RuleSet) -> LinkIndex {
        let mut by_technique: BTreeMap<String, BTreeMap<usize, Via>> = BTreeMap::new();
        let mut tag_problems = Vec::new();
        for (i, rule) in rules.rules.iter().enumerate() {
            for tag in rule.technique_tags() {
                match kb.technique(tag) {
                    None => tag_problems.push(TagProblem {
                        rule: i,
                        technique: tag.to_string(),
                        problem: TagProblemKind::Unknown,
                        replacement: None,
                    }),
                    Some(t) if t.revoked => tag_problems.push(TagProblem {
                        rule: i,
                        technique: tag.to_string(),
                        problem: TagProblemKind::Revoked,
                        replacement: kb.resolve_revoked(tag).map(|r| r.id.clone()),
                    }),
                    Some(t) if t.deprecated => tag_problems.push(TagProblem {
                        rule: i,
                        technique: tag.to_string(),
                        problem: TagProblemKind::Deprecated,
                        replacement: None,
                    }),
                    Some(_) => {}
                }
                // Link even when the tag is problematic: the card of a revoked ID should still
                // show who claims it. Coverage filters on active techniques.
                by_technique
                    .entry(tag.to_string())
                    .or_default()
                    .insert(i, Via::Direct);
                if let Some(parent) = parent_of(kb, tag) {
                    by_technique
                        .entry(parent)
                        .or_default()
                        .entry(i)
                        .or_insert_with(|| Via::SubTechnique(tag.to_string()));
                }
            }
        }
        tag_problems.sort();
        LinkIndex {
            by_technique: by_technique
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.into_iter()
                            .map(|(rule, via)| Link { rule, via })
                            .collect(),
                    )
                })
                .collect(),
            tag_problems,
        }
    }

    /// Rules linked to a technique (direct first by rule order, then via sub-techniques).
    pub fn rules_for(&self, technique: &str) -> &[Link] {
        self.by_technique
            .get(&technique.to_ascii_uppercase())
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
