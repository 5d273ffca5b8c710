//! Plain data types of the ATT&CK knowledge base.
//!
//! Everything the rest of the tool knows about ATT&CK lives in [`KnowledgeBase`]. It is filled either
//! from a full STIX bundle (`stix.rs`, prose included) or from the compiled catalog embedded in the
//! binary (`catalog.rs`, facts only). The serialised form of this struct *is* the compiled catalog, so
//! every prose field is an `Option` that the catalog leaves out.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Where the knowledge base came from; printed on every report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceInfo {
    /// `embedded`, or the path of the STIX bundle / catalog file given by the user.
    pub origin: String,
    /// `enterprise-attack`, `mobile-attack` or `ics-attack`.
    pub domain: String,
    /// ATT&CK release, e.g. `18.1`; `unknown` when neither the data nor the user said.
    pub version: String,
    /// How the version was established.
    pub version_from: VersionFrom,
    /// STIX spec version of the bundle (`2.0` or `2.1`).
    pub stix_version: String,
    /// True when descriptions and other MITRE prose are present (full bundle, not the catalog).
    pub has_prose: bool,
    /// SHA-256 of the file the data was read from, so a report names the exact bytes it used;
    /// `None` for the embedded catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// How the ATT&CK version of a knowledge base was established; serialised as the kebab-case name
/// (`file-name`), which the compiled catalog and every JSON report carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionFrom {
    /// The bundle's `x-mitre-collection` object.
    Collection,
    /// A compiled catalog's own `source.version`.
    Catalog,
    /// `--attack-version`.
    User,
    /// The bundle's file name (`enterprise-attack-18.1.json`).
    FileName,
    /// Nothing said; also what an unrecognised value in a hand-made catalog reads as.
    #[default]
    #[serde(other)]
    Unknown,
}

impl VersionFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionFrom::Collection => "collection",
            VersionFrom::Catalog => "catalog",
            VersionFrom::User => "user",
            VersionFrom::FileName => "file-name",
            VersionFrom::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for VersionFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and callers compare with the serialised name.
impl PartialEq<&str> for VersionFrom {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One ATT&CK tactic (a matrix column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tactic {
    /// `TA0043`.
    pub id: String,
    pub name: String,
    /// `reconnaissance`; the phase name techniques refer to and the Sigma tag suffix.
    pub shortname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A reference from a description, used to render `(Citation: X)` as a numbered footnote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalReference {
    pub source_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One technique or sub-technique, including revoked and deprecated ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    /// `T1059.001`, upper case.
    pub id: String,
    pub name: String,
    /// Tactic shortnames from `kill_chain_phases`, in matrix order.
    #[serde(default)]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub is_subtechnique: bool,
    /// Parent technique ID for a sub-technique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Sub-technique IDs, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtechniques: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    /// Replacement technique ID (direct `revoked-by` target; follow with `KnowledgeBase::resolve_revoked`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    /// v18+: IDs of detection strategies that `detects` this technique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detection_strategies: Vec<String>,
    /// v17 and earlier: `x_mitre_data_sources` entries ("Process: Process Creation").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_sources: Vec<String>,
    /// v17 and earlier: data component IDs whose `detects` relationship points here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_components: Vec<String>,
    /// MITRE prose (full bundle only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// v17 `x_mitre_detection` prose (full bundle only; empty in v18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detection_text: Option<String>,
    /// Citation targets for the prose (full bundle only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ExternalReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Technique {
    /// Not revoked and not deprecated: counts in denominators.
    pub fn is_active(&self) -> bool {
        !self.revoked && !self.deprecated
    }
}

/// v18 detection strategy (`DETxxxx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectionStrategy {
    pub id: String,
    pub name: String,
    /// Analytic IDs in the order the strategy lists them.
    #[serde(default)]
    pub analytics: Vec<String>,
    /// Technique IDs the strategy detects, sorted.
    #[serde(default)]
    pub techniques: Vec<String>,
}

/// One entry of an analytic's `x_mitre_log_source_references`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSourceRef {
    /// Data component ID (`DC0032`), empty when the reference is dangling.
    pub data_component: String,
    /// Log source name as written by ATT&CK (`WinEventLog:Security`).
    pub name: String,
    /// The channel when it is machine-usable (`EventCode=4688`, `execve`, `None`); `None` when the
    /// channel is free prose, which the compiled catalog does not carry (only its `facts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The channel prose (full bundle only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_text: Option<String>,
    /// Names found in the channel prose (syscalls, paths, registry keys...), computed when a bundle
    /// is loaded and kept by the catalog, which drops the prose itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<super::facts::Fact>,
}

/// A tunable element of an analytic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MutableElement {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// v18 analytic (`ANxxxx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analytic {
    pub id: String,
    #[serde(default)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub log_sources: Vec<LogSourceRef>,
    /// Field names are facts; their descriptions are prose (full bundle only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutable_elements: Vec<MutableElement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Data component (`DCxxxx`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataComponent {
    pub id: String,
    pub name: String,
    /// v17: name of the parent data source ("Process").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// v18: `x_mitre_log_sources` as (name, channel) pairs; prose channels dropped in the catalog.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_sources: Vec<LogSourceRef>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// A named ATT&CK object referenced by tags: group, software, mitigation, data source, campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedObject {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Technique IDs this object `uses` (groups, software, campaigns), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub techniques: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// The whole knowledge base. Vectors are sorted by ID except `tactics`, which is in matrix order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KnowledgeBase {
    pub source: SourceInfo,
    pub tactics: Vec<Tactic>,
    pub techniques: Vec<Technique>,
    #[serde(default)]
    pub detection_strategies: Vec<DetectionStrategy>,
    #[serde(default)]
    pub analytics: Vec<Analytic>,
    #[serde(default)]
    pub data_components: Vec<DataComponent>,
    #[serde(default)]
    pub groups: Vec<NamedObject>,
    #[serde(default)]
    pub software: Vec<NamedObject>,
    #[serde(default)]
    pub campaigns: Vec<NamedObject>,
    #[serde(default)]
    pub mitigations: Vec<NamedObject>,
    #[serde(default)]
    pub data_sources: Vec<NamedObject>,
    /// Lookup indexes, rebuilt by [`KnowledgeBase::index`] after loading.
    #[serde(skip)]
    pub idx: Index,
    /// Tolerated problems met while loading (dangling relationships, objects without an ID), sorted.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Position maps from ID (upper case) to the element's index in its vector.
#[derive(Debug, Clone, Default)]
pub struct Index {
    pub technique: HashMap<String, usize>,
    pub tactic_by_shortname: HashMap<String, usize>,
    pub tactic_by_id: HashMap<String, usize>,
    pub strategy: HashMap<String, usize>,
    pub analytic: HashMap<String, usize>,
    pub data_component: HashMap<String, usize>,
    pub group: HashMap<String, usize>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl KnowledgeBase {
    /// Rebuilds the lookup indexes; call after constructing or deserialising.
    pub fn index(&mut self) {
        fn build<T>(items: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
            items
                .iter()
                .enumerate()
                .map(|(i, t)| (key(t).to_ascii_uppercase(), i))
                .collect()
        }
        self.idx = Index {
            technique: build(&self.techniques, |t| &t.id),
            tactic_by_shortname: self
                .tactics
                .iter()
                .enumerate()
                .map(|(i, t)| (t.shortname.clone(), i))
                .collect(),
            tactic_by_id: build(&self.tactics, |t| &t.id),
            strategy: build(&self.detection_strategies, |t| &t.id),
            analytic: build(&self.analytics, |t| &t.id),
            data_component: build(&self.data_components, |t| &t.id),
            group: build(&self.groups, |t| &t.id),
        };
    }

    pub fn technique(&self, id: &str) -> Option<&Technique> {
        let key = id.to_ascii_uppercase();
        self.idx.technique.get(&key).map(|&i| &self.techniques[i])
    }

    pub fn tactic_by_shortname(&self, shortname: &str) -> Option<&Tactic> {
        self.idx
            .tactic_by_shortname
            .get(shortname)
            .map(|&i| &self.tactics[i])
    }

    pub fn tactic_by_id(&self, id: &str) -> Option<&Tactic> {
        self.idx
            .tactic_by_id
            .get(&id.to_ascii_uppercase())
            .map(|&i| &self.tactics[i])
    }

    /// Matrix position of a tactic shortname (unknown tactics sort last).
    pub fn tactic_order(&self, shortname: &str) -> usize {
        self.idx
            .tactic_by_shortname
            .get(shortname)
            .copied()
            .unwrap_or(usize::MAX)
    }

    pub fn strategy(&self, id: &str) -> Option<&DetectionStrategy> {
        self.idx
            .strategy
            .get(&id.to_ascii_uppercase())
            .map(|&i| &self.detection_strategies[i])
    }

    pub fn analytic(&self, id: &str) -> Option<&Analytic> {
        self.idx
            .analytic
            .get(&id.to_ascii_uppercase())
            .map(|&i| &self.analytics[i])
    }

    pub fn data_component(&self, id: &str) -> Option<&DataComponent> {
        self.idx
            .data_component
            .get(&id.to_ascii_uppercase())
            .map(|&i| &self.data_components[i])
    }

    pub fn group(&self, id: &str) -> Option<&NamedObject> {
        self.idx
            .group
            .get(&id.to_ascii_uppercase())
            .map(|&i| &self.groups[i])
    }

    /// Follows `revoked-by` links to the final replacement; `None` when `id` is not revoked or the
    /// chain ends nowhere. Cycles are cut.
    pub fn resolve_revoked(&self, id: &str) -> Option<&Technique> {
        let mut cur = self.technique(id)?;
        if !cur.revoked {
            return None;
        }
        for _ in 0..32 {
            let next = self.technique(cur.revoked_by.as_deref()?)?;
            if !next.revoked {
                return Some(next);
            }
            cur = next;
        }
        None
    }

    /// The analytics of every detection strategy of a technique, in strategy order.
    pub fn analytics_of(&self, technique: &Technique) -> Vec<(&DetectionStrategy, &Analytic)> {
        let mut out = Vec::new();
        for det in &technique.detection_strategies {
            if let Some(s) = self.strategy(det) {
                for an in &s.analytics {
                    if let Some(a) = self.analytic(an) {
                        out.push((s, a));
                    }
                }
            }
        }
        out
    }

    /// True when the data carries v18-style detection strategies.
    pub fn has_detection_strategies(&self) -> bool {
        !self.detection_strategies.is_empty()
    }
}
