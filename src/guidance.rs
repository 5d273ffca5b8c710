//! The guidance text of `mappings/guidance.yaml`: the generic "no portable rule" text, the
//! per-family texts, the domains' asset names and the validation checklist, plus the choice of
//! family for a technique.
//!
//! The card ([`crate::card`]) fills the texts for one technique; [`crate::template`] uses the
//! family's template name. Keeping the technique lists in the YAML means a new family is a data
//! edit, not a code change.

use crate::telemetry::ObsClass;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuidanceFile {
    pub no_portable_rule: NoPortableRuleText,
    pub checklist: Vec<ChecklistTemplate>,
    /// ATT&CK domain (`ics-attack`) -> what its assets are called, for techniques without platforms.
    pub assets: BTreeMap<String, String>,
    pub families: Vec<Family>,
}

/// The generic text, used when no family matches.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoPortableRuleText {
    pub title: String,
    pub title_environment_specific: String,
    pub why: String,
    pub why_no_named_source: String,
    pub build: String,
    #[serde(rename = "where")]
    pub where_to_look: Vec<String>,
    pub host_rules_note: String,
}

/// Guidance written for a group of techniques (or for a whole ATT&CK domain).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    pub key: String,
    /// Technique IDs; each also matches its sub-techniques unless another family lists the sub.
    #[serde(default, rename = "match")]
    pub matches: Vec<String>,
    /// Instead of `matches`: the fallback family for techniques of this ATT&CK domain.
    #[serde(default)]
    pub domain: Option<String>,
    pub why: String,
    pub build: String,
    pub actionable: String,
    #[serde(default)]
    pub checklist: Vec<String>,
    /// File name under `mappings/templates/`.
    #[serde(default)]
    pub template: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistTemplate {
    pub id: String,
    pub applies: Vec<ObsClass>,
    #[serde(default)]
    pub auto: Option<String>,
    pub text: String,
}

/// The embedded `mappings/guidance.yaml`, parsed once.
pub fn guidance_file() -> &'static GuidanceFile {
    static FILE: OnceLock<GuidanceFile> = OnceLock::new();
    FILE.get_or_init(|| {
        serde_norway::from_str(include_str!("../mappings/guidance.yaml"))
            // The file is embedded at build time and covered by tests; a broken edit fails them.
            .expect("mappings/guidance.yaml is valid")
    })
}

/// Families matching technique `id` by ID: the exact ID first, then its parent. The domain
/// fallback is not considered.
pub fn family_by_id(id: &str) -> Option<&'static Family> {
    let families = &guidance_file().families;
    let listed = |want: &str| {
        families
            .iter()
            .find(|f| f.matches.iter().any(|m| m.eq_ignore_ascii_case(want)))
    };
    listed(id).or_else(|| id.split_once('.').and_then(|(parent, _)| listed(parent)))
}

/// The family for technique `id` in ATT&CK `domain`: the most specific ID match, else the
/// domain's family, else none (the generic text applies).
pub fn family_for(id: &str, domain: &str) -> Option<&'static Family> {
    family_by_id(id).or_else(|| {
        guidance_file()
            .families
            .iter()
            .find(|f| f.domain.as_deref() == Some(domain))
    })
}

/// The platform list for guidance text: ATT&CK's placeholder platform `None` (ICS) is dropped,
/// and an empty list becomes the domain's asset names, so a card never says "deployed on None".
pub fn platforms_text(platforms: &[String], domain: &str) -> String {
    let real: Vec<&str> = platforms
        .iter()
        .map(String::as_str)
        .filter(|p| !p.eq_ignore_ascii_case("none") && !p.trim().is_empty())
        .collect();
    if !real.is_empty() {
        return real.join(", ");
    }
    let assets = &guidance_file().assets;
    assets
        .get(domain)
        .or_else(|| assets.get("enterprise-attack"))
        .cloned()
        .unwrap_or_else(|| "the systems in scope".to_string())
}

/// Values substituted into guidance templates.
pub struct Vars {
    pub id: String,
    pub name: String,
    pub tactics: String,
    pub platforms: String,
    pub data_components: String,
    pub log_sources: String,
}

impl Vars {
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{id}", &self.id)
            .replace("{name}", &self.name)
            .replace("{tactics}", &self.tactics)
            .replace("{platforms}", &self.platforms)
            .replace("{data_components}", &self.data_components)
            .replace("{log_sources}", &self.log_sources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            id: "T1".into(),
            name: "N".into(),
            tactics: "Tac".into(),
            platforms: "P".into(),
            data_components: "D".into(),
            log_sources: "L".into(),
        }
    }

    #[test]
    fn guidance_file_parses_and_every_class_has_items() {
        let g = guidance_file();
        for class in [
            ObsClass::Portable,
            ObsClass::EnvironmentSpecific,
            ObsClass::NoPortableRule,
        ] {
            assert!(
                g.checklist.iter().any(|c| c.applies.contains(&class)),
                "no checklist item for {class:?}"
            );
        }
        for c in &g.checklist {
            if let Some(a) = &c.auto {
                assert!(
                    ["falsepositives", "references", "tests"].contains(&a.as_str()),
                    "unknown auto fact {a}"
                );
            }
        }
    }

    #[test]
    fn templates_leave_no_placeholder() {
        let g = guidance_file();
        let mut all = vec![
            g.no_portable_rule.title.clone(),
            g.no_portable_rule.title_environment_specific.clone(),
            g.no_portable_rule.why.clone(),
            g.no_portable_rule.why_no_named_source.clone(),
            g.no_portable_rule.build.clone(),
            g.no_portable_rule.host_rules_note.clone(),
        ];
        all.extend(g.no_portable_rule.where_to_look.iter().cloned());
        all.extend(g.checklist.iter().map(|c| c.text.clone()));
        for f in &g.families {
            all.extend([f.why.clone(), f.build.clone(), f.actionable.clone()]);
            all.extend(f.checklist.iter().cloned());
        }
        for t in all {
            let filled = vars().fill(&t);
            assert!(
                !filled.contains('{') && !filled.contains('}'),
                "unfilled placeholder in {filled}"
            );
        }
    }

    #[test]
    fn families_are_well_formed() {
        let g = guidance_file();
        let mut keys = std::collections::BTreeSet::new();
        let mut ids = std::collections::BTreeSet::new();
        for f in &g.families {
            assert!(keys.insert(f.key.as_str()), "family key {} twice", f.key);
            assert!(
                f.matches.is_empty() != f.domain.is_none(),
                "family {} needs exactly one of `match` and `domain`",
                f.key
            );
            for m in &f.matches {
                assert!(ids.insert(m.as_str()), "{m} is listed by two families");
            }
            for text in [&f.why, &f.build, &f.actionable] {
                assert!(text.len() > 80, "family {} has a stub text", f.key);
            }
        }
        for d in ["enterprise-attack", "mobile-attack", "ics-attack"] {
            assert!(g.assets.contains_key(d), "no asset names for {d}");
        }
    }

    #[test]
    fn most_specific_family_wins() {
        let key = |id: &str, domain: &str| family_for(id, domain).map(|f| f.key.as_str());
        assert_eq!(key("T1595", "enterprise-attack"), Some("active-scanning"));
        assert_eq!(
            key("T1595.001", "enterprise-attack"),
            Some("scanning-ip-blocks")
        );
        assert_eq!(
            key("T1595.003", "enterprise-attack"),
            Some("wordlist-scanning")
        );
        // A sub-technique no family lists takes its parent's family.
        assert_eq!(
            key("T1583.003", "enterprise-attack"),
            Some("acquire-infrastructure")
        );
        assert_eq!(
            key("T1583.001", "enterprise-attack"),
            Some("acquire-domains")
        );
        // A sub listed by another family beats its parent's family.
        assert_eq!(
            key("T1598.004", "enterprise-attack"),
            Some("voice-phishing")
        );
        assert_eq!(
            key("T1598.003", "enterprise-attack"),
            Some("phishing-for-information")
        );
        assert_eq!(key("T1059.001", "enterprise-attack"), None);
        assert_eq!(key("T0807", "ics-attack"), Some("ics"));
        assert_eq!(key("T1407", "mobile-attack"), Some("mobile"));
    }

    #[test]
    fn platforms_never_none() {
        let none = vec!["None".to_string()];
        assert_eq!(
            platforms_text(&none, "ics-attack"),
            guidance_file().assets["ics-attack"]
        );
        assert!(!platforms_text(&[], "unknown-domain").contains("None"));
        assert_eq!(
            platforms_text(&["Android".into(), "iOS".into()], "mobile-attack"),
            "Android, iOS"
        );
    }
}
