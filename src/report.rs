//! Report-model pieces shared by several reports (card, coverage, ATT&CK diff), so each JSON shape
//! is defined once. Plain serde data; renderers read it, the core fills it.

use crate::attack::{SourceInfo, Tactic, Technique, VersionFrom};
use crate::rules::RuleRecord;
use serde::{Deserialize, Serialize};

/// The ATT&CK data a report was built from, as printed on the card and the coverage report.
#[derive(Debug, Clone, Serialize)]
pub struct AttackSource {
    pub domain: String,
    pub version: String,
    pub version_from: VersionFrom,
    pub origin: String,
    /// SHA-256 of the file read; absent for the embedded catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl AttackSource {
    pub fn of(source: &SourceInfo) -> AttackSource {
        AttackSource {
            domain: source.domain.clone(),
            version: source.version.clone(),
            version_from: source.version_from,
            origin: source.origin.clone(),
            sha256: source.sha256.clone(),
        }
    }

    /// `embedded catalog`, or the file and its SHA-256 (unescaped: renderers escape it), so a
    /// modified bundle never passes for the release it names.
    pub fn label(&self) -> String {
        match (&self.sha256, self.origin.as_str()) {
            (_, "embedded") => "embedded catalog".to_string(),
            (Some(sha), origin) => format!("{origin}, sha256 {sha}"),
            (None, origin) => origin.to_string(),
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

/// A technique as reports name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechRef {
    pub id: String,
    pub name: String,
}

impl TechRef {
    pub fn of(t: &Technique) -> TechRef {
        TechRef {
            id: t.id.clone(),
            name: t.name.clone(),
        }
    }
}

/// What every report says about a rule first: ID, title, level, status. Report rows flatten it
/// (`#[serde(flatten)]`), so the JSON keeps these keys at the row's top level, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHead {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl RuleHead {
    pub fn of(r: &RuleRecord) -> RuleHead {
        RuleHead {
            id: r.id.clone(),
            title: r.title.clone(),
            level: r.level.clone(),
            status: r.status.clone(),
        }
    }
}

/// Report rows that start with a [`RuleHead`] read its fields directly (`row.title`).
macro_rules! deref_rule_head {
    ($t:ty) => {
        impl std::ops::Deref for $t {
            type Target = $crate::report::RuleHead;
            fn deref(&self) -> &$crate::report::RuleHead {
                &self.head
            }
        }
    };
}
pub(crate) use deref_rule_head;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::diff::ChangedTechnique;
    use crate::coverage::RuleRow;

    #[test]
    fn flattened_rows_keep_their_json_shape() {
        let t = ChangedTechnique {
            named: TechRef {
                id: "T1".into(),
                name: "N".into(),
            },
            tactics: Vec::new(),
            rules: Vec::new(),
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"id":"T1","name":"N","tactics":[]}"#
        );
        let json = r#"{"index":0,"title":"t","level":"high","path":"p","line":1,"logsource":"x","in_scope":true}"#;
        let row: RuleRow = serde_json::from_str(json).unwrap();
        assert_eq!(row.level.as_deref(), Some("high"));
        assert_eq!(serde_json::to_string(&row).unwrap(), json);
    }
}
