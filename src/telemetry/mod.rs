//! Telemetry map: ATT&CK log-source references, Sigma logsources and event IDs, read from `mappings/`.
//!
//! Three questions are answered here, all from data files embedded at build time:
//! - what an analytic's log-source reference means ([`Telemetry::parse_ref`]: platform family,
//!   provider, Windows channel, event IDs or named events, and how concrete it is);
//! - how observable a technique is ([`Telemetry::classify`], the rule of telemetry-facts.md section 4);
//! - which events and Sigma logsources belong to a technique ([`Telemetry::technique_events`],
//!   [`Telemetry::technique_logsources`]) and what a rule's logsource reads
//!   ([`Telemetry::logsource_sources`]).
//!
//! Rust holds only the logic; every name, prefix, channel and event number lives in the YAML tables.

mod analytics;
mod classify;
mod events;
pub mod listing;
mod names;
mod tables;

use crate::attack::channel::ChannelForm;
use crate::rules::LogSource;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Observability class of a technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObsClass {
    /// A concrete host event is named: a Sigma rule can be written once and run wherever that
    /// telemetry is collected.
    Portable,
    /// Observable only in logs whose shape depends on the environment (cloud, SaaS, network sensors,
    /// mail gateways) or named only in prose.
    EnvironmentSpecific,
    /// Pre-compromise activity, or nothing but placeholder sources: outside the defender's telemetry.
    NoPortableRule,
}

/// How sure the class is: `high` for clear-cut data or a reviewed override, `medium` when a
/// reasonable engineer could argue the neighbouring class, `low` when it hinges on deployment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

impl Confidence {
    /// One step less sure, for a class taken over from somewhere else.
    pub fn lower(self) -> Confidence {
        match self {
            Confidence::High => Confidence::Medium,
            Confidence::Medium | Confidence::Low => Confidence::Low,
        }
    }
}

/// Where a class comes from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, strum::Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Basis {
    /// ATT&CK v18 analytics, after the channel check.
    Analytics,
    /// Data components: ATT&CK v17, or v18 domains whose analytics name no log (mobile, ICS).
    DataComponents,
    /// A reviewed entry of `mappings/observability.yaml`.
    Override,
    /// Taken from the parent technique (an inherited override, or no evidence of its own).
    Parent,
}

/// The class of one technique with the data that led to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observability {
    pub class: ObsClass,
    pub confidence: Confidence,
    /// Which source and event see the technique, or why none does, e.g. `Sysmon 1, PowerShell
    /// 4104 (analytic AN1252)`.
    pub reason: String,
    pub basis: Basis,
    /// Analytic IDs that qualify the technique as portable (v18 only).
    pub analytics: Vec<String>,
    /// Environment-specific sub-kind (`network`, `host-assisted`, `cloud/saas`, `other`) or why no
    /// portable rule exists (`pre-platform`, `no-named-source`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subkind: Option<String>,
    /// Analytic events the channel check set aside, e.g. `Security 7045 (written to System)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<String>,
}

/// How concrete a log-source reference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RefKind {
    /// Endpoint telemetry with a concrete event (EventCode, syscall, record type, ESF event, osquery table).
    HostSpecific,
    /// Endpoint telemetry without a concrete event (prose, unified-log predicates, EDR, ETW).
    HostVague,
    /// A real log outside the endpoint: cloud and SaaS audit logs, network sensors, devices, apps.
    Environment,
    /// A data-source name standing in for a log, or the channel `None`.
    Placeholder,
}

/// One analytic log-source reference, parsed (telemetry-facts.md section 3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParsedRef {
    /// Data component ID as the reference gives it (`DC0032`).
    pub data_component: String,
    /// Trimmed, spelling-fixed name (`linus:syslog` -> `linux:syslog`).
    pub name: String,
    /// `windows`, `linux`, `macos`, `network`, `iaas:aws`, ... or `n/a` for placeholders.
    pub platform_family: String,
    /// `WinEventLog:<real channel>` for Windows event logs, otherwise the name.
    pub provider: String,
    /// The channel Windows writes to, for `WinEventLog:*` names.
    pub windows_channel: Option<String>,
    /// Event numbers from `EventCode=` channels.
    pub event_ids: Vec<u32>,
    /// Named events from identifier channels (syscalls, record types, API names, Zeek logs).
    pub events: Vec<String>,
    #[serde(serialize_with = "ser_form")]
    pub form: ChannelForm,
    pub kind: RefKind,
}

fn ser_form<S: Serializer>(f: &ChannelForm, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.as_str())
}

/// One event of a technique's event table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    /// `4688` or `execve`.
    pub event: String,
    pub title: Option<String>,
    /// Why the event matters (Sysmon rows).
    pub why: Option<String>,
    /// Data component names that led to this event, sorted.
    pub data_components: Vec<String>,
    /// Analytic IDs naming this event, sorted (empty on v17 data).
    pub analytics: Vec<String>,
}

/// The events of one source (a Windows channel, auditd, a cloud log...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventGroup {
    /// `Security`, `Microsoft-Windows-Sysmon/Operational`, `auditd:SYSCALL`, `AWS:CloudTrail`.
    pub source: String,
    pub platform_family: String,
    pub rows: Vec<EventRow>,
}

/// A technique's events, grouped for the card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TechniqueEvents {
    /// Windows event-log channels other than Sysmon.
    pub windows: Vec<EventGroup>,
    /// Sysmon (Windows and Linux).
    pub sysmon: Vec<EventGroup>,
    /// auditd, ESF, osquery, cloud audit logs, network sensors: only where a concrete event is named.
    pub other: Vec<EventGroup>,
    /// Sources named without a concrete event, e.g. `macos:unifiedlog (prose)`.
    pub vague: Vec<String>,
}

/// What a Sigma logsource reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventSource {
    pub name: String,
    pub windows_channel: Option<String>,
    pub provider: Option<String>,
    /// Empty means any event of the channel.
    pub event_ids: Vec<u32>,
    /// Named events (record types, ESF events, Zeek logs); empty means any.
    pub events: Vec<String>,
    /// ATT&CK log-source names for the same data.
    pub attack_names: Vec<String>,
    /// A second way to feed the same rules, usually through a field-mapping pipeline.
    pub alternative: bool,
}

/// A mapping table that does not parse as its schema.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {source}")]
pub struct TableError {
    pub file: &'static str,
    #[source]
    pub source: serde_norway::Error,
}

/// A problem in the mapping tables. Every problem is collected so one run shows them all.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// Tables that do not parse; the first is the error's source.
    #[error("invalid telemetry mapping: {}", join_tables(first, rest))]
    Parse {
        #[source]
        first: TableError,
        rest: Vec<TableError>,
    },
    /// Tables that parse but contradict each other or their own rules.
    #[error("invalid telemetry mapping: {}", problems.join("; "))]
    Invalid { problems: Vec<String> },
}

fn join_tables(first: &TableError, rest: &[TableError]) -> String {
    std::iter::once(first)
        .chain(rest)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The YAML sources of a [`Telemetry`], one string per file.
#[derive(Debug, Clone, Copy)]
pub struct TableSources<'a> {
    pub logsource_names: &'a str,
    pub windows_events: &'a str,
    pub sigma_logsources: &'a str,
    pub data_components: &'a str,
    pub observability: &'a str,
}

impl TableSources<'static> {
    /// The tables compiled into the binary.
    pub fn embedded() -> Self {
        TableSources {
            logsource_names: include_str!("../../mappings/logsource_names.yaml"),
            windows_events: include_str!("../../mappings/windows_events.yaml"),
            sigma_logsources: include_str!("../../mappings/sigma_logsources.yaml"),
            data_components: include_str!("../../mappings/data_components.yaml"),
            observability: include_str!("../../mappings/observability.yaml"),
        }
    }
}

/// Windows event lookup entry: the event and the channel as the table spells it.
#[derive(Debug, Clone)]
struct WinEventEntry {
    channel: String,
    event: tables::WinEvent,
}

/// The parsed mapping tables with lookup indexes (all keys lower-case).
#[derive(Debug)]
pub struct Telemetry {
    names: tables::NamesFile,
    spelling_ci: BTreeMap<String, String>,
    names_ci: BTreeMap<String, (String, bool)>,
    prefix_family: BTreeMap<String, String>,
    windows_channels_ci: BTreeMap<String, String>,
    placeholders_ci: BTreeSet<String>,
    sysmon_ci: BTreeSet<String>,
    /// (channel lower-case, id) -> event.
    win_events: BTreeMap<(String, u32), WinEventEntry>,
    /// Channel lower-case -> spelling in the table.
    win_channels: BTreeMap<String, String>,
    sigma: Vec<(LogSource, Vec<tables::SourceSpec>)>,
    dcs: Vec<tables::DcEntry>,
    dc_by_name: BTreeMap<String, usize>,
    dc_by_id: BTreeMap<String, usize>,
    obs: tables::ObsFile,
    overrides: BTreeMap<String, tables::Override>,
}

impl Telemetry {
    /// The embedded tables, parsed once. The tables are checked by unit tests, so a failure here is
    /// a build defect rather than bad user input.
    pub fn embedded() -> &'static Telemetry {
        static T: OnceLock<Telemetry> = OnceLock::new();
        T.get_or_init(|| {
            Telemetry::from_sources(TableSources::embedded())
                .unwrap_or_else(|e| panic!("embedded mappings are invalid: {e}"))
        })
    }

    /// Parses and validates a set of tables (e.g. a user's edited copies).
    pub fn from_sources(src: TableSources<'_>) -> Result<Telemetry, TelemetryError> {
        let names = tables::parse::<tables::NamesFile>("logsource_names.yaml", src.logsource_names);
        let win =
            tables::parse::<tables::WindowsEventsFile>("windows_events.yaml", src.windows_events);
        let sigma =
            tables::parse::<tables::SigmaFile>("sigma_logsources.yaml", src.sigma_logsources);
        let dcs = tables::parse::<tables::DcFile>("data_components.yaml", src.data_components);
        let obs = tables::parse::<tables::ObsFile>("observability.yaml", src.observability);
        let (names, win, sigma, dcs, obs) = match (names, win, sigma, dcs, obs) {
            (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e)) => (a, b, c, d, e),
            (a, b, c, d, e) => {
                let mut errs = [a.err(), b.err(), c.err(), d.err(), e.err()]
                    .into_iter()
                    .flatten();
                let first = errs.next().expect("a table failed to parse");
                return Err(TelemetryError::Parse {
                    first,
                    rest: errs.collect(),
                });
            }
        };
        let problems = tables::validate(&names, &sigma, &dcs, &obs);
        if !problems.is_empty() {
            return Err(TelemetryError::Invalid { problems });
        }

        let lc = |s: &str| s.trim().to_lowercase();
        let spelling_ci = names
            .spelling
            .iter()
            .map(|(k, v)| (lc(k), v.clone()))
            .collect();
        let names_ci = names
            .names
            .iter()
            .map(|(k, v)| (lc(k), (v.family.clone(), v.host_side)))
            .collect();
        let mut prefix_family = BTreeMap::new();
        for (family, prefixes) in &names.prefixes {
            for p in prefixes {
                prefix_family.insert(lc(p), family.clone());
            }
        }
        let windows_channels_ci = names
            .windows_channels
            .iter()
            .map(|(k, v)| (lc(k), v.clone()))
            .collect();
        let placeholders_ci = names.placeholders.iter().map(|p| lc(p)).collect();
        let sysmon_ci = names.sysmon_channels.iter().map(|p| lc(p)).collect();
        let mut win_events = BTreeMap::new();
        let mut win_channels = BTreeMap::new();
        for ch in win.channels {
            win_channels.insert(lc(&ch.channel), ch.channel.clone());
            for ev in ch.events {
                let mut ev = ev;
                if ev.provider.is_none() {
                    ev.provider = ch.provider.clone();
                }
                win_events.insert(
                    (lc(&ch.channel), ev.id),
                    WinEventEntry {
                        channel: ch.channel.clone(),
                        event: ev,
                    },
                );
            }
        }
        let sigma = sigma
            .logsources
            .into_iter()
            .filter_map(|e| tables::logsource_from_key(&e.logsource).map(|ls| (ls, e.sources)))
            .collect();
        let mut dc_by_name = BTreeMap::new();
        let mut dc_by_id = BTreeMap::new();
        for (i, d) in dcs.components.iter().enumerate() {
            dc_by_name.insert(lc(&d.name), i);
            dc_by_id.insert(lc(&d.id), i);
        }
        let overrides = obs
            .overrides
            .iter()
            .map(|o| (o.technique.to_ascii_uppercase(), o.clone()))
            .collect();
        Ok(Telemetry {
            names,
            spelling_ci,
            names_ci,
            prefix_family,
            windows_channels_ci,
            placeholders_ci,
            sysmon_ci,
            win_events,
            win_channels,
            sigma,
            dcs: dcs.components,
            dc_by_name,
            dc_by_id,
            obs,
            overrides,
        })
    }

    /// ATT&CK platforms on which a host rule runs (`observability.yaml`), e.g. for `check`'s
    /// PRE-platform mis-tag finding.
    pub fn host_platforms(&self) -> &[String] {
        &self.obs.host_platforms
    }

    /// A technique's platforms without ATT&CK's placeholder values (ICS v18.1 writes `None`).
    pub fn named_platforms<'a>(&self, platforms: &'a [String]) -> Vec<&'a String> {
        platforms
            .iter()
            .filter(|p| {
                !self
                    .obs
                    .placeholder_platforms
                    .iter()
                    .any(|q| q.eq_ignore_ascii_case(p))
            })
            .collect()
    }

    /// Every Sigma logsource the table knows, in table order.
    pub fn known_logsources(&self) -> impl Iterator<Item = &LogSource> {
        self.sigma.iter().map(|(ls, _)| ls)
    }

    /// Title of a Windows event, if the table has it.
    pub fn windows_event_title(&self, channel: &str, id: u32) -> Option<&str> {
        self.win_event(channel, id).map(|e| e.event.title.as_str())
    }

    fn win_event(&self, channel: &str, id: u32) -> Option<&WinEventEntry> {
        self.win_events.get(&(channel.trim().to_lowercase(), id))
    }

    fn dc_entry(&self, name_or_id: &str) -> Option<&tables::DcEntry> {
        let k = name_or_id.trim().to_lowercase();
        self.dc_by_name
            .get(&k)
            .or_else(|| self.dc_by_id.get(&k))
            .map(|&i| &self.dcs[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_tables_parse_and_validate() {
        let t = Telemetry::from_sources(TableSources::embedded());
        assert!(
            t.is_ok(),
            "{}",
            t.err().map(|e| e.to_string()).unwrap_or_default()
        );
        let t = Telemetry::embedded();
        assert!(t.known_logsources().count() >= 126);
        assert_eq!(
            t.windows_event_title("security", 4688),
            Some("Process created")
        );
    }

    #[test]
    fn bad_tables_report_every_problem() {
        let mut src = TableSources::embedded();
        src.observability = "v17_host_share: 2\npre_platform: PRE\nhost_platforms: []\noverrides:\n  - { technique: X1, class: portable, reason: '' }\n";
        let err = Telemetry::from_sources(src).unwrap_err();
        match &err {
            TelemetryError::Invalid { problems } => assert_eq!(problems.len(), 3, "{err}"),
            other => panic!("unexpected {other:?}"),
        }
        src.observability = "unknown_key: 1\n";
        let err = Telemetry::from_sources(src).unwrap_err();
        assert!(err.to_string().contains("observability.yaml"), "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "parser cause kept"
        );
    }
}
