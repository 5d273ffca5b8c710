//! Telemetry profile (`--profile FILE`): which log sources an environment collects, and whether a
//! rule's log source is among them.

use super::CoverageError;
use crate::rules::LogSource;
use crate::telemetry::Telemetry;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    logsources: Vec<ProfileEntry>,
}

/// One collected log source: a Sigma logsource (any subset of product/category/service), optionally
/// narrowed to event IDs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileEntry {
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub event_ids: Vec<u32>,
}

/// The log sources an environment collects (`--profile FILE`).
///
/// A rule is runnable when (a) an entry without `event_ids` names a subset of the rule's logsource
/// fields with equal values (`product: windows` alone means all Windows logs), or (b) the event
/// sources the telemetry map gives for the rule's logsource (a Windows channel, auditd, ...) are
/// collected: the entry's own logsource maps to the same source, and the entry's `event_ids` (or
/// the table's, or any event when neither lists one) meet the events the rule reads.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub label: String,
    pub entries: Vec<ProfileEntry>,
    /// Source key (lower-case channel or source name) -> collected events (`None` = any).
    collected: BTreeMap<String, Option<BTreeSet<u32>>>,
}

fn source_key(s: &crate::telemetry::EventSource) -> String {
    s.windows_channel
        .as_deref()
        .unwrap_or(&s.name)
        .to_ascii_lowercase()
}

fn lc(o: &Option<String>) -> Option<String> {
    o.as_deref().map(|s| s.trim().to_ascii_lowercase())
}

impl Profile {
    /// Parses a profile file (see [`Profile`] and the README for the format).
    pub fn parse(label: &str, text: &str, telemetry: &Telemetry) -> Result<Profile, CoverageError> {
        let file: ProfileFile =
            serde_norway::from_str(text).map_err(|source| CoverageError::ProfileSyntax {
                label: label.to_string(),
                source,
            })?;
        let mut problems = Vec::new();
        let mut collected: BTreeMap<String, Option<BTreeSet<u32>>> = BTreeMap::new();
        let mut entries = Vec::new();
        for (i, e) in file.logsources.into_iter().enumerate() {
            let e = ProfileEntry {
                product: lc(&e.product),
                category: lc(&e.category),
                service: lc(&e.service),
                event_ids: e.event_ids,
            };
            if e.product.is_none() && e.category.is_none() && e.service.is_none() {
                problems.push(format!(
                    "entry {} names no product, category or service",
                    i + 1
                ));
                continue;
            }
            let ls = LogSource {
                product: e.product.clone(),
                category: e.category.clone(),
                service: e.service.clone(),
            };
            for s in telemetry
                .logsource_sources(&ls)
                .iter()
                .filter(|s| !s.alternative)
            {
                let ids: Option<BTreeSet<u32>> = if !e.event_ids.is_empty() {
                    Some(e.event_ids.iter().copied().collect())
                } else if !s.event_ids.is_empty() {
                    Some(s.event_ids.iter().copied().collect())
                } else {
                    None
                };
                let slot = collected
                    .entry(source_key(s))
                    .or_insert(Some(BTreeSet::new()));
                match (slot.as_mut(), ids) {
                    (Some(have), Some(ids)) => have.extend(ids),
                    _ => *slot = None,
                }
            }
            entries.push(e);
        }
        if !problems.is_empty() {
            return Err(CoverageError::ProfileEntries {
                label: label.to_string(),
                problems,
            });
        }
        Ok(Profile {
            label: label.to_string(),
            entries,
            collected,
        })
    }

    /// True when a rule with this logsource can run on the collected telemetry.
    pub fn collects(&self, ls: &LogSource, telemetry: &Telemetry) -> bool {
        let (p, c, s) = (lc(&ls.product), lc(&ls.category), lc(&ls.service));
        let field = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        if self.entries.iter().any(|e| {
            e.event_ids.is_empty()
                && field(&e.product, &p)
                && field(&e.category, &c)
                && field(&e.service, &s)
        }) {
            return true;
        }
        if p.is_none() && c.is_none() && s.is_none() {
            return false;
        }
        telemetry.logsource_sources(ls).iter().any(|src| {
            match self.collected.get(&source_key(src)) {
                None => false,
                Some(None) => true,
                Some(Some(ids)) => {
                    src.event_ids.is_empty() || src.event_ids.iter().any(|i| ids.contains(i))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_matches_fields_and_events() {
        let t = Telemetry::embedded();
        let p = Profile::parse(
            "p",
            "logsources:\n  - { product: linux, service: auditd }\n  - { product: windows, service: security, event_ids: [4688] }\n",
            t,
        )
        .unwrap();
        let ls = |p: &str, c: Option<&str>, s: Option<&str>| LogSource {
            product: Some(p.into()),
            category: c.map(Into::into),
            service: s.map(Into::into),
        };
        assert!(p.collects(&ls("linux", None, Some("auditd")), t));
        // process_creation can be fed by Security 4688 (an alternative source).
        assert!(p.collects(&ls("windows", Some("process_creation"), None), t));
        assert!(!p.collects(&ls("windows", Some("registry_set"), None), t));
        assert!(!p.collects(&ls("macos", Some("process_creation"), None), t));
        assert!(Profile::parse("p", "logsources:\n  - { event_ids: [1] }\n", t).is_err());
        assert!(Profile::parse("p", "sources: []\n", t).is_err());
    }
}
