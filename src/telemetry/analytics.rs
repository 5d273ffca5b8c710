//! The v18 rule over ATT&CK analytics, with a second opinion on what the analytics claim.
//!
//! ATT&CK's analytics are evidence, not truth: many are machine-written. Before an analytic can make
//! a technique portable its references are checked: a Windows event must exist in the channel it is
//! named with (`windows_events.yaml`), network sensors are corroboration only, and a provider's own
//! audit log (CloudTrail, Entra ID, Okta...) counts as standard on cloud, identity and SaaS platforms.

use super::{Basis, Confidence, ObsClass, Observability, ParsedRef, RefKind, Telemetry};
use crate::attack::{Analytic, KnowledgeBase, Technique};
use std::collections::BTreeSet;

/// What one reference contributes to its analytic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A data-source name or channel `None`.
    Placeholder,
    /// A network-traffic component seen by a sensor: corroboration, set aside.
    Sensor,
    /// Standard source with a concrete event: host event or provider audit event.
    Anchor,
    /// Standard source without a concrete event.
    Vague,
    /// A log that depends on what the organisation deployed.
    Deployed,
}

/// One reference after the check.
struct Checked {
    parsed: ParsedRef,
    role: Role,
    /// Labels of the concrete events that passed the check.
    events: Vec<String>,
    /// Events the channel check refused.
    rejected: Vec<String>,
    network_dc: bool,
    audit: bool,
}

impl Telemetry {
    pub(super) fn classify_analytics(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        let analytics: Vec<(&Analytic, Vec<Checked>)> = kb
            .analytics_of(t)
            .into_iter()
            .map(|(_, a)| (a, self.check_analytic(kb, t, a)))
            .collect();
        let rejected: BTreeSet<String> = analytics
            .iter()
            .flat_map(|(_, refs)| refs.iter().flat_map(|c| c.rejected.iter().cloned()))
            .collect();
        let mut obs = self.analytics_verdict(&analytics);
        obs.rejected = rejected.into_iter().collect();
        if !obs.rejected.is_empty() {
            obs.reason.push_str(&format!(
                "; channel check set aside {}",
                shorten(&obs.rejected, 4)
            ));
        }
        obs
    }

    fn analytics_verdict(&self, analytics: &[(&Analytic, Vec<Checked>)]) -> Observability {
        let concrete: Vec<&Checked> = analytics
            .iter()
            .flat_map(|(_, refs)| refs)
            .filter(|c| c.role != Role::Placeholder)
            .collect();
        if concrete.is_empty() {
            let reason = if analytics.is_empty() {
                "no analytic is linked to the technique"
            } else {
                "its analytics name only placeholder log sources"
            };
            return no_portable(reason.into(), "no-named-source", Confidence::Medium);
        }
        let qualifying: Vec<(&str, Vec<String>)> = analytics
            .iter()
            .filter_map(|(a, refs)| qualifies(refs).map(|ev| (a.id.as_str(), ev)))
            .collect();
        if !qualifying.is_empty() {
            return portable(&qualifying, analytics.len());
        }
        self.environment_specific(&concrete)
    }

    /// Checks every reference of one analytic.
    fn check_analytic(&self, kb: &KnowledgeBase, t: &Technique, a: &Analytic) -> Vec<Checked> {
        let on_audit_platform = {
            let platforms = if a.platforms.is_empty() {
                &t.platforms
            } else {
                &a.platforms
            };
            platforms.iter().any(|p| {
                self.obs
                    .audit_platforms
                    .iter()
                    .any(|q| q.eq_ignore_ascii_case(p))
            })
        };
        a.log_sources
            .iter()
            .map(|r| {
                let dc_name = kb
                    .data_component(&r.data_component)
                    .map(|d| d.name.as_str());
                let p = self.parse_ref(r);
                let facts = fact_events(&p, &r.facts);
                self.check_ref(p, dc_name, on_audit_platform, facts)
            })
            .collect()
    }

    /// `facts`: labels of the syscalls and named events read out of a free-text channel; they
    /// make a prose reference concrete (`auditd:SYSCALL creat` from "creat/open/write on ...").
    fn check_ref(
        &self,
        p: ParsedRef,
        dc_name: Option<&str>,
        on_audit_platform: bool,
        facts: Vec<String>,
    ) -> Checked {
        let network_dc = self.is_network_dc(&p.data_component, dc_name);
        let audit = on_audit_platform && self.is_provider_audit(&p.name);
        let (mut events, rejected) = self.channel_check(&p);
        // A vague host source's channel words are no events (`auth.log`, `process`); only the
        // syscalls and event names read out of its text are.
        if p.kind == RefKind::HostVague {
            events.clear();
        }
        if events.is_empty() {
            events = facts;
        }
        let role = match p.kind {
            RefKind::Placeholder => Role::Placeholder,
            _ if self.is_network_sensor(&p, dc_name) => Role::Sensor,
            RefKind::HostSpecific | RefKind::HostVague if !events.is_empty() => Role::Anchor,
            RefKind::HostSpecific | RefKind::HostVague => Role::Vague,
            RefKind::Environment if audit && !events.is_empty() => Role::Anchor,
            // An audit log named without an operation says nothing a rule could select on.
            RefKind::Environment => Role::Deployed,
        };
        Checked {
            parsed: p,
            role,
            events,
            rejected,
            network_dc,
            audit,
        }
    }

    /// Splits a reference's events into those that exist where they are named and those that do
    /// not. Only Windows channels the table knows are checked; other sources pass as named.
    fn channel_check(&self, p: &ParsedRef) -> (Vec<String>, Vec<String>) {
        let source = label_source(p);
        let (fields, named): (Vec<&String>, Vec<&String>) = p.events.iter().partition(|e| {
            self.names
                .field_names
                .iter()
                .any(|f| f.eq_ignore_ascii_case(e))
        });
        let fields = fields
            .into_iter()
            .map(|e| format!("{source} {e} (a field name, not an event)"));
        let named = named.into_iter().map(|e| format!("{source} {e}"));
        let Some(channel) = p
            .windows_channel
            .as_deref()
            .filter(|c| self.knows_channel(c))
        else {
            let ids = p.event_ids.iter().map(|id| format!("{source} {id}"));
            return (ids.chain(named).collect(), fields.collect());
        };
        let (mut ok, mut bad): (Vec<String>, Vec<String>) = (Vec::new(), fields.collect());
        for id in &p.event_ids {
            let label = format!("{source} {id}");
            match self.win_event(channel, *id).map(|e| &e.event) {
                Some(ev) if ev.attack_only => bad.push(format!("{label} (not a {source} event)")),
                Some(ev) => match &ev.elsewhere {
                    Some(real) => bad.push(format!("{label} (written to {real})")),
                    None => ok.push(label),
                },
                None => bad.push(format!("{label} (not a {source} event)")),
            }
        }
        ok.extend(named);
        (ok, bad)
    }

    fn environment_specific(&self, concrete: &[&Checked]) -> Observability {
        let all_network = concrete.iter().all(|c| c.network_dc);
        let host_anchor = concrete.iter().any(|c| c.role == Role::Anchor && !c.audit);
        let all_cloud = concrete
            .iter()
            .all(|c| self.is_cloud_family(&c.parsed.platform_family));
        let deployed = || {
            let names: BTreeSet<&str> = concrete
                .iter()
                .filter(|c| c.role == Role::Deployed || c.role == Role::Sensor)
                .map(|c| c.parsed.name.as_str())
                .collect();
            shorten(&names.into_iter().map(String::from).collect::<Vec<_>>(), 4)
        };
        let (subkind, reason, confidence) = if all_network {
            (
                "network",
                format!("only network sensors see it ({})", deployed()),
                Confidence::High,
            )
        } else if host_anchor {
            (
                "host-assisted",
                format!(
                    "host events follow it, but every analytic also needs a deployed source ({})",
                    deployed()
                ),
                Confidence::Medium,
            )
        } else if all_cloud {
            let reason = if concrete.iter().all(|c| c.audit) {
                "names provider audit logs but no operation a rule could select on"
            } else {
                "needs cloud or SaaS logs beyond the provider audit log"
            };
            (
                "cloud/saas",
                format!("{reason} ({})", deployed()),
                Confidence::Medium,
            )
        } else {
            let families: BTreeSet<&str> = concrete
                .iter()
                .map(|c| c.parsed.platform_family.as_str())
                .collect();
            let list: Vec<String> = families.into_iter().map(String::from).collect();
            (
                "other",
                format!(
                    "no analytic names a concrete event in a standard log (sources: {})",
                    list.join(", ")
                ),
                Confidence::Low,
            )
        };
        Observability {
            class: ObsClass::EnvironmentSpecific,
            confidence,
            reason,
            basis: Basis::Analytics,
            analytics: Vec::new(),
            subkind: Some(subkind.into()),
            rejected: Vec::new(),
        }
    }

    fn knows_channel(&self, channel: &str) -> bool {
        self.win_channels
            .contains_key(&channel.trim().to_lowercase())
    }

    fn is_provider_audit(&self, name: &str) -> bool {
        self.names
            .provider_audit
            .iter()
            .any(|p| super::names::pattern_matches(p, name))
    }
}

/// The events of an analytic that make it portable: every reference is a standard source or a
/// set-aside sensor, and one names a concrete event that passed the check (not a bare network
/// component when sensors were set aside, since a Sysmon 3 beside NSM adds nothing of its own).
fn qualifies(refs: &[Checked]) -> Option<Vec<String>> {
    let sensors = refs.iter().any(|c| c.role == Role::Sensor);
    let standard_only = refs.iter().all(|c| {
        matches!(
            c.role,
            Role::Anchor | Role::Vague | Role::Sensor | Role::Placeholder
        )
    });
    let events: Vec<String> = refs
        .iter()
        .filter(|c| c.role == Role::Anchor && !(sensors && c.network_dc))
        .flat_map(|c| c.events.iter().cloned())
        .collect();
    (standard_only && !events.is_empty()).then_some(events)
}

fn portable(qualifying: &[(&str, Vec<String>)], total: usize) -> Observability {
    let events: BTreeSet<&String> = qualifying.iter().flat_map(|(_, e)| e).collect();
    let events: Vec<String> = events.into_iter().cloned().collect();
    let ids: Vec<&str> = qualifying.iter().map(|(id, _)| *id).collect();
    let confidence = if qualifying.len() >= 2 || qualifying.len() == total {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Observability {
        class: ObsClass::Portable,
        confidence,
        reason: format!(
            "{} ({} {})",
            shorten(&events, 6),
            if ids.len() == 1 {
                "analytic"
            } else {
                "analytics"
            },
            ids.join(", ")
        ),
        basis: Basis::Analytics,
        analytics: ids.into_iter().map(String::from).collect(),
        subkind: None,
        rejected: Vec::new(),
    }
}

pub(super) fn no_portable(reason: String, subkind: &str, confidence: Confidence) -> Observability {
    Observability {
        class: ObsClass::NoPortableRule,
        confidence,
        reason,
        basis: Basis::Analytics,
        analytics: Vec::new(),
        subkind: Some(subkind.into()),
        rejected: Vec::new(),
    }
}

/// Syscalls and named events read out of a free-text channel, labelled like channel events.
fn fact_events(p: &ParsedRef, facts: &[crate::attack::facts::Fact]) -> Vec<String> {
    use crate::attack::facts::FactKind;
    let source = label_source(p);
    facts
        .iter()
        .filter(|f| matches!(f.kind, FactKind::Syscall | FactKind::Event))
        .map(|f| format!("{source} {}", f.value))
        .collect()
}

/// `Sysmon`, `Security`, `auditd:SYSCALL`: the source as a reader says it.
fn label_source(p: &ParsedRef) -> &str {
    p.name
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("WinEventLog"))
        .map_or(p.name.as_str(), |(_, s)| s)
}

/// Joins at most `max` items and says how many were left out.
pub(super) fn shorten(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!(
            "{}, and {} more",
            items[..max].join(", "),
            items.len() - max
        )
    }
}
