//! Report-model pieces shared by several reports (card, coverage, ATT&CK diff), so each JSON shape
//! is defined once. Plain serde data; renderers read it, the core fills it.

use crate::attack::{SourceInfo, Tactic, VersionFrom};
use serde::Serialize;

/// The ATT&CK data a report was built from, as printed on the card and the coverage report.
#[derive(Debug, Clone, Serialize)]
pub struct AttackSource {
    pub domain: String,
    pub version: String,
    pub version_from: VersionFrom,
    pub origin: String,
}

impl AttackSource {
    pub fn of(source: &SourceInfo) -> AttackSource {
        AttackSource {
            domain: source.domain.clone(),
            version: source.version.clone(),
            version_from: source.version_from,
            origin: source.origin.clone(),
        }
    }
}

/// A tactic as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TacticRef {
    pub id: String,
    pub name: String,
    pub shortname: String,
    /// Rules tagged with this tactic shortname (filled by the ATT&CK diff when rules are given).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
}

impl TacticRef {
    pub fn of(t: &Tactic) -> TacticRef {
        TacticRef {
            id: t.id.clone(),
            name: t.name.clone(),
            shortname: t.shortname.clone(),
            rules: Vec::new(),
        }
    }
}
