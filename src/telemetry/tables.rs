//! Typed form of the five `mappings/` tables and their validation.
//!
//! Each file is parsed with `deny_unknown_fields`, so a typo in a key fails the build-time test instead
//! of silently dropping a row; cross-file references (a data component naming a Sigma logsource that
//! the logsource table lacks) are checked once here, with every problem collected.

use super::{Confidence, ObsClass};
use crate::rules::LogSource;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `mappings/logsource_names.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamesFile {
    pub spelling: BTreeMap<String, String>,
    pub names: BTreeMap<String, NameEntry>,
    pub prefixes: BTreeMap<String, Vec<String>>,
    pub host_families: Vec<String>,
    pub cloud_families: Vec<String>,
    /// Names of providers' own audit logs (CloudTrail, Entra ID, Okta...); `*` suffix allowed.
    #[serde(default)]
    pub provider_audit: Vec<String>,
    /// Channel words that name a field, not an event (`eventName`): never a concrete event.
    #[serde(default)]
    pub field_names: Vec<String>,
    pub placeholders: Vec<String>,
    pub specific: Vec<SpecificRule>,
    pub windows_channels: BTreeMap<String, String>,
    pub sysmon_channels: Vec<String>,
    pub network_sensor: Vec<DcRef>,
    #[serde(default)]
    pub event_name_prefixes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NameEntry {
    pub family: String,
    #[serde(default = "yes")]
    pub host_side: bool,
}

fn yes() -> bool {
    true
}

/// Which channel form makes a host provider's reference concrete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum SpecificForm {
    EventCode,
    Identifier,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpecificRule {
    pub pattern: String,
    pub form: SpecificForm,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DcRef {
    pub id: String,
    pub name: String,
}

/// `mappings/windows_events.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WindowsEventsFile {
    pub channels: Vec<ChannelEvents>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelEvents {
    pub channel: String,
    #[serde(default)]
    pub provider: Option<String>,
    pub events: Vec<WinEvent>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WinEvent {
    pub id: u32,
    pub title: String,
    #[serde(default)]
    pub why: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub elsewhere: Option<String>,
    /// ATT&CK names this ID under the channel, but Windows documents no such event there.
    #[serde(default)]
    pub attack_only: bool,
}

/// `mappings/sigma_logsources.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigmaFile {
    pub logsources: Vec<SigmaEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SigmaEntry {
    pub logsource: String,
    pub sources: Vec<SourceSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceSpec {
    pub name: String,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub event_ids: Vec<u32>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub attack: Vec<String>,
    #[serde(default)]
    pub alternative: bool,
    #[serde(default)]
    #[allow(dead_code)] // provenance for readers of the YAML
    pub src: Option<String>,
}

/// `mappings/data_components.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DcFile {
    pub components: Vec<DcEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // data_source, deprecated, confidence, src document the row
pub(crate) struct DcEntry {
    pub name: String,
    pub id: String,
    pub data_source: String,
    #[serde(default)]
    pub deprecated: bool,
    pub host: bool,
    #[serde(default)]
    pub external: bool,
    #[serde(default)]
    pub logsources: Vec<String>,
    #[serde(default)]
    pub events: Vec<DcEvent>,
    pub confidence: String,
    pub src: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DcEvent {
    pub source: String,
    #[serde(default)]
    pub ids: Vec<u32>,
    #[serde(default)]
    pub names: Vec<String>,
}

/// `mappings/observability.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ObsFile {
    pub v17_host_share: f64,
    pub pre_platform: String,
    pub host_platforms: Vec<String>,
    /// Platforms whose provider audit log counts as a standard source.
    #[serde(default)]
    pub audit_platforms: Vec<String>,
    /// Platforms with no standard log a Sigma rule reads (mobile devices).
    #[serde(default)]
    pub no_standard_log_platforms: Vec<String>,
    /// Platform values that name no platform (ICS v18 writes `None`).
    #[serde(default)]
    pub placeholder_platforms: Vec<String>,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Override {
    pub technique: String,
    pub class: ObsClass,
    pub reason: String,
    #[serde(default)]
    pub subkind: Option<String>,
    /// Default `high`: an override is a reviewed decision.
    #[serde(default)]
    pub confidence: Option<Confidence>,
    /// Also applies to sub-techniques that have no override of their own (basis `parent`).
    #[serde(default)]
    pub inherit: bool,
}

/// Parses `product/category/service` (with `*` for an absent part) into a [`LogSource`].
pub(crate) fn logsource_from_key(key: &str) -> Option<LogSource> {
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() != 3 {
        return None;
    }
    let part = |s: &str| (s != "*" && !s.is_empty()).then(|| s.to_ascii_lowercase());
    Some(LogSource {
        product: part(parts[0]),
        category: part(parts[1]),
        service: part(parts[2]),
    })
}

/// Parses one YAML table, naming the file in the error.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<T, super::TableError> {
    serde_norway::from_str(text).map_err(|source| super::TableError { file, source })
}

const SUBKINDS: &[&str] = &[
    "network",
    "host-assisted",
    "cloud/saas",
    "other",
    "pre-platform",
    "no-named-source",
];

/// Cross-checks the parsed tables; returns every problem found.
pub(crate) fn validate(
    names: &NamesFile,
    sigma: &SigmaFile,
    dcs: &DcFile,
    obs: &ObsFile,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut keys = std::collections::BTreeSet::new();
    for e in &sigma.logsources {
        match logsource_from_key(&e.logsource) {
            None => problems.push(format!(
                "sigma_logsources.yaml: `{}` is not product/category/service",
                e.logsource
            )),
            Some(ls) => {
                if !keys.insert(ls.key()) {
                    problems.push(format!(
                        "sigma_logsources.yaml: `{}` is listed twice",
                        e.logsource
                    ));
                }
            }
        }
    }
    for c in &dcs.components {
        for k in &c.logsources {
            let known = logsource_from_key(k).is_some_and(|ls| keys.contains(&ls.key()));
            if !known {
                problems.push(format!(
                    "data_components.yaml: {} names logsource `{k}`, which sigma_logsources.yaml lacks",
                    c.name
                ));
            }
        }
        for ev in &c.events {
            if ev.ids.is_empty() == ev.names.is_empty() {
                problems.push(format!(
                    "data_components.yaml: {} event source `{}` needs exactly one of ids / names",
                    c.name, ev.source
                ));
            }
        }
    }
    let families: std::collections::BTreeSet<&str> = names
        .prefixes
        .keys()
        .map(String::as_str)
        .chain(names.names.values().map(|n| n.family.as_str()))
        .collect();
    for f in names.host_families.iter().chain(&names.cloud_families) {
        if !families.contains(f.as_str()) {
            problems.push(format!(
                "logsource_names.yaml: family `{f}` is used but no prefix or name maps to it"
            ));
        }
    }
    if !(obs.v17_host_share > 0.0 && obs.v17_host_share <= 1.0) {
        problems.push(format!(
            "observability.yaml: v17_host_share must be in (0, 1], got {}",
            obs.v17_host_share
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for o in &obs.overrides {
        if !is_technique_id(&o.technique) {
            problems.push(format!(
                "observability.yaml: override `{}` is not a technique ID (T1234 or T1234.001)",
                o.technique
            ));
        }
        if o.reason.trim().is_empty() {
            problems.push(format!(
                "observability.yaml: override {} needs a reason",
                o.technique
            ));
        }
        if !seen.insert(o.technique.to_ascii_uppercase()) {
            problems.push(format!(
                "observability.yaml: override {} is listed twice",
                o.technique
            ));
        }
        if let Some(s) = &o.subkind {
            if !SUBKINDS.contains(&s.as_str()) {
                problems.push(format!(
                    "observability.yaml: override {} has unknown subkind `{s}` (expected one of {})",
                    o.technique,
                    SUBKINDS.join(", ")
                ));
            }
        }
    }
    problems
}

fn is_technique_id(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => (b[0] == b'T' || b[0] == b't') && digits(&b[1..5]),
        9 => (b[0] == b'T' || b[0] == b't') && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..9]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let ls = logsource_from_key("windows/*/security").unwrap();
        assert_eq!(ls.product.as_deref(), Some("windows"));
        assert_eq!(ls.category, None);
        assert_eq!(ls.service.as_deref(), Some("security"));
        assert_eq!(ls.key(), "windows/*/security");
        assert!(logsource_from_key("windows/security").is_none());
    }

    #[test]
    fn technique_ids() {
        assert!(is_technique_id("T1059"));
        assert!(is_technique_id("T1059.001"));
        assert!(!is_technique_id("T105"));
        assert!(!is_technique_id("TA0001"));
    }
}
