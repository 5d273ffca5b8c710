//! Observability classifier (telemetry-facts.md section 4).
//!
//! v18 data (detection strategies present): a technique is portable when one of its analytics names
//! only host telemetry and at least one concrete host event; network-sensor references are set aside
//! as corroboration. v17 data: a share of the technique's data components must have a standard host
//! event (threshold in `observability.yaml`). PRE techniques are never portable.

use super::{ObsClass, Observability, ParsedRef, RefKind, Telemetry};
use crate::attack::{KnowledgeBase, Technique};
use std::collections::BTreeSet;

const BASIS_V18: &str = "v18 analytics";
const BASIS_V17: &str = "v17 data components";
const BASIS_OVERRIDE: &str = "override";

/// A parsed reference with the name of its data component (when the knowledge base has it).
type NamedRef = (ParsedRef, Option<String>);

impl Telemetry {
    /// Classifies a technique; an override in `observability.yaml` wins over the data.
    pub fn classify(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        if let Some(o) = self.overrides.get(&t.id.to_ascii_uppercase()) {
            return Observability {
                class: o.class,
                reason: o.reason.clone(),
                basis: BASIS_OVERRIDE.into(),
                analytics: Vec::new(),
                subkind: o.subkind.clone(),
            };
        }
        if kb.has_detection_strategies() {
            self.classify_v18(kb, t)
        } else {
            self.classify_v17(kb, t)
        }
    }

    fn is_pre(&self, t: &Technique) -> bool {
        t.platforms
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&self.obs.pre_platform))
    }

    /// `subkind` tells the card which guidance applies: `pre-platform` (the activity happens
    /// outside the defender's systems) or `no-named-source` (ATT&CK names only placeholder sources).
    fn no_portable(reason: String, basis: &str, subkind: &str) -> Observability {
        Observability {
            class: ObsClass::NoPortableRule,
            reason,
            basis: basis.into(),
            analytics: Vec::new(),
            subkind: Some(subkind.into()),
        }
    }

    fn classify_v18(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        if self.is_pre(t) {
            return Self::no_portable(
                format!("{} platform", self.obs.pre_platform),
                BASIS_V18,
                "pre-platform",
            );
        }
        let dc_name = |id: &str| kb.data_component(id).map(|d| d.name.clone());
        let analytics: Vec<(String, Vec<NamedRef>)> = kb
            .analytics_of(t)
            .into_iter()
            .map(|(_, a)| {
                let refs = a
                    .log_sources
                    .iter()
                    .map(|r| (self.parse_ref(r), dc_name(&r.data_component)))
                    .collect();
                (a.id.clone(), refs)
            })
            .collect();
        let concrete: Vec<&NamedRef> = analytics
            .iter()
            .flat_map(|(_, refs)| refs)
            .filter(|(p, _)| p.kind != RefKind::Placeholder)
            .collect();
        if concrete.is_empty() {
            let reason = if analytics.is_empty() {
                "no analytic is linked to the technique".to_string()
            } else {
                "its analytics name only placeholder log sources".to_string()
            };
            return Self::no_portable(reason, BASIS_V18, "no-named-source");
        }

        let mut qualifying = Vec::new();
        let mut events = BTreeSet::new();
        let mut set_aside = false;
        for (id, refs) in &analytics {
            let (sensor, rest): (Vec<_>, Vec<_>) = refs
                .iter()
                .partition(|(p, n)| self.is_network_sensor(p, n.as_deref()));
            if rest.is_empty() {
                continue;
            }
            let host_only = rest
                .iter()
                .all(|(p, _)| matches!(p.kind, RefKind::HostSpecific | RefKind::HostVague));
            let anchors: Vec<&ParsedRef> = rest
                .iter()
                .filter(|(p, n)| {
                    p.kind == RefKind::HostSpecific
                        && (sensor.is_empty()
                            || !self.is_network_dc(&p.data_component, n.as_deref()))
                })
                .map(|(p, _)| p)
                .collect();
            if host_only && !anchors.is_empty() {
                qualifying.push(id.clone());
                set_aside |= !sensor.is_empty();
                events.extend(anchors.iter().flat_map(|p| event_labels(p)));
            }
        }
        if !qualifying.is_empty() {
            let list: Vec<String> = events.into_iter().collect();
            let reason = format!(
                "{} {} {} only host telemetry with a specific event ({}){}",
                if qualifying.len() == 1 {
                    "analytic"
                } else {
                    "analytics"
                },
                qualifying.join(", "),
                if qualifying.len() == 1 {
                    "names"
                } else {
                    "name"
                },
                shorten(&list, 6),
                if set_aside {
                    "; network-sensor references set aside"
                } else {
                    ""
                }
            );
            return Observability {
                class: ObsClass::Portable,
                reason,
                basis: BASIS_V18.into(),
                analytics: qualifying,
                subkind: None,
            };
        }

        let all_network = concrete
            .iter()
            .all(|(p, n)| self.is_network_dc(&p.data_component, n.as_deref()));
        let host_specific = concrete
            .iter()
            .any(|(p, _)| p.kind == RefKind::HostSpecific);
        let all_cloud = concrete
            .iter()
            .all(|(p, _)| self.is_cloud_family(&p.platform_family));
        let (subkind, reason) = if all_network {
            (
                "network",
                "only network-traffic sources are named".to_string(),
            )
        } else if host_specific {
            (
                "host-assisted",
                "host events are named, but every analytic also needs a log from outside the host"
                    .to_string(),
            )
        } else if all_cloud {
            (
                "cloud/saas",
                "only cloud or SaaS audit logs are named".to_string(),
            )
        } else {
            let families: BTreeSet<&str> = concrete
                .iter()
                .map(|(p, _)| p.platform_family.as_str())
                .collect();
            (
                "other",
                format!(
                    "no analytic names a specific host event (sources: {})",
                    families.into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
        };
        Observability {
            class: ObsClass::EnvironmentSpecific,
            reason,
            basis: BASIS_V18.into(),
            analytics: Vec::new(),
            subkind: Some(subkind.into()),
        }
    }

    /// Data component names of a v17 technique: from `x_mitre_data_sources` ("Process: Process
    /// Creation"), else from the `detects` relationships.
    pub(crate) fn v17_components(&self, kb: &KnowledgeBase, t: &Technique) -> Vec<String> {
        fn push(out: &mut Vec<String>, n: String) {
            if !n.is_empty() && !out.contains(&n) {
                out.push(n);
            }
        }
        let mut out: Vec<String> = Vec::new();
        for ds in &t.data_sources {
            push(
                &mut out,
                ds.split_once(':')
                    .map_or(ds.as_str(), |(_, c)| c)
                    .trim()
                    .to_string(),
            );
        }
        if out.is_empty() {
            for id in &t.data_components {
                if let Some(dc) = kb.data_component(id) {
                    push(&mut out, dc.name.clone());
                }
            }
        }
        out
    }

    fn classify_v17(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        if self.is_pre(t) {
            return Self::no_portable(
                format!("{} platform", self.obs.pre_platform),
                BASIS_V17,
                "pre-platform",
            );
        }
        let comps = self.v17_components(kb, t);
        if comps.is_empty() {
            return Self::no_portable(
                "no data components are listed".into(),
                BASIS_V17,
                "no-named-source",
            );
        }
        let entries: Vec<_> = comps.iter().map(|c| self.dc_entry(c)).collect();
        if entries.iter().all(|e| e.is_some_and(|e| e.external)) {
            return Self::no_portable(
                format!(
                    "only data from outside the defender's systems ({})",
                    comps.join(", ")
                ),
                BASIS_V17,
                "no-named-source",
            );
        }
        let host = entries.iter().filter(|e| e.is_some_and(|e| e.host)).count();
        let total = comps.len();
        let host_platform = t.platforms.iter().any(|p| {
            self.obs
                .host_platforms
                .iter()
                .any(|h| h.eq_ignore_ascii_case(p))
        });
        let share_ok = host as f64 >= self.obs.v17_host_share * total as f64;
        let (class, reason) = if host_platform && share_ok {
            (
                ObsClass::Portable,
                format!("{host}/{total} data components have a standard host event"),
            )
        } else if !host_platform {
            (
                ObsClass::EnvironmentSpecific,
                format!(
                    "no {} platform ({host}/{total} data components have a standard host event)",
                    self.obs.host_platforms.join("/")
                ),
            )
        } else {
            (
                ObsClass::EnvironmentSpecific,
                format!(
                    "too few data components have a standard host event ({host}/{total}, need {}%)",
                    (self.obs.v17_host_share * 100.0).round()
                ),
            )
        };
        Observability {
            class,
            reason,
            basis: BASIS_V17.into(),
            analytics: Vec::new(),
            subkind: None,
        }
    }
}

/// Short labels of a reference's concrete events: `Sysmon 1`, `Security 4688`, `auditd:SYSCALL execve`.
pub(crate) fn event_labels(p: &ParsedRef) -> Vec<String> {
    let source = p
        .name
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("WinEventLog"))
        .map_or(p.name.as_str(), |(_, s)| s);
    let ids = p.event_ids.iter().map(u32::to_string);
    ids.chain(p.events.iter().cloned())
        .map(|e| format!("{source} {e}"))
        .collect()
}

/// Joins at most `max` items and says how many were left out.
fn shorten(items: &[String], max: usize) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{Analytic, DataComponent, DetectionStrategy, LogSourceRef};

    fn tech(id: &str, platforms: &[&str]) -> Technique {
        Technique {
            id: id.into(),
            name: id.into(),
            tactics: vec![],
            platforms: platforms.iter().map(|s| s.to_string()).collect(),
            is_subtechnique: false,
            parent: None,
            subtechniques: vec![],
            revoked: false,
            revoked_by: None,
            deprecated: false,
            detection_strategies: vec![],
            data_sources: vec![],
            data_components: vec![],
            description: None,
            detection_text: None,
            references: vec![],
            url: None,
        }
    }

    fn lsr(dc: &str, name: &str, channel: Option<&str>) -> LogSourceRef {
        LogSourceRef {
            data_component: dc.into(),
            name: name.into(),
            channel: channel.map(Into::into),
            channel_text: None,
            facts: Vec::new(),
        }
    }

    fn dc(id: &str, name: &str) -> DataComponent {
        DataComponent {
            id: id.into(),
            name: name.into(),
            data_source: None,
            log_sources: vec![],
            deprecated: false,
        }
    }

    /// One technique with one strategy whose analytics carry the given references.
    fn kb_v18(platforms: &[&str], analytics: Vec<Vec<LogSourceRef>>) -> KnowledgeBase {
        let mut t = tech("T9999", platforms);
        t.detection_strategies = vec!["DET9999".into()];
        let ans: Vec<Analytic> = analytics
            .into_iter()
            .enumerate()
            .map(|(i, refs)| Analytic {
                id: format!("AN900{i}"),
                platforms: vec![],
                log_sources: refs,
                mutable_elements: vec![],
                description: None,
            })
            .collect();
        let mut kb = KnowledgeBase {
            techniques: vec![t],
            detection_strategies: vec![DetectionStrategy {
                id: "DET9999".into(),
                name: "x".into(),
                analytics: ans.iter().map(|a| a.id.clone()).collect(),
                techniques: vec!["T9999".into()],
            }],
            analytics: ans,
            data_components: vec![
                dc("DC0032", "Process Creation"),
                dc("DC0064", "Command Execution"),
                dc("DC0078", "Network Traffic Flow"),
                dc("DC0082", "Network Connection Creation"),
                dc("DC0038", "Application Log Content"),
                dc("DC0039", "File Creation"),
            ],
            ..Default::default()
        };
        kb.index();
        kb
    }

    fn classify(kb: &KnowledgeBase) -> Observability {
        Telemetry::embedded().classify(kb, &kb.techniques[0])
    }

    #[test]
    fn pre_is_no_portable_rule() {
        let kb = kb_v18(
            &["PRE"],
            vec![vec![lsr("DC0078", "Network Traffic", Some("None"))]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::NoPortableRule);
        assert_eq!(o.reason, "PRE platform");
        assert_eq!(o.basis, "v18 analytics");
    }

    #[test]
    fn placeholders_only_is_no_portable_rule() {
        let kb = kb_v18(
            &["Windows"],
            vec![vec![lsr("DC0078", "Internet Scan", Some("None"))]],
        );
        assert_eq!(classify(&kb).class, ObsClass::NoPortableRule);
    }

    #[test]
    fn host_specific_analytic_is_portable() {
        let kb = kb_v18(
            &["Windows"],
            vec![vec![
                lsr("DC0032", "WinEventLog:Sysmon", Some("EventCode=1")),
                lsr("DC0064", "WinEventLog:PowerShell", Some("EventCode=4104")),
            ]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::Portable);
        assert_eq!(o.analytics, vec!["AN9000"]);
        assert_eq!(
            o.reason,
            "analytic AN9000 names only host telemetry with a specific event (PowerShell 4104, Sysmon 1)"
        );
    }

    #[test]
    fn network_sensor_refs_are_set_aside_but_need_a_non_network_anchor() {
        // NSM:Flow set aside, Sysmon 1 anchors: portable.
        let kb = kb_v18(
            &["Windows"],
            vec![vec![
                lsr("DC0078", "NSM:Flow", Some("conn.log")),
                lsr("DC0032", "WinEventLog:Sysmon", Some("EventCode=1")),
            ]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::Portable);
        assert!(
            o.reason.ends_with("network-sensor references set aside"),
            "{}",
            o.reason
        );
        // Only a bare Sysmon 3 next to NSM: not enough.
        let kb = kb_v18(
            &["Windows"],
            vec![vec![
                lsr("DC0078", "NSM:Flow", None),
                lsr("DC0082", "WinEventLog:Sysmon", Some("EventCode=3, 22")),
            ]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::EnvironmentSpecific);
        assert_eq!(o.subkind.as_deref(), Some("network"));
    }

    #[test]
    fn mail_plus_host_is_host_assisted() {
        let kb = kb_v18(
            &["Windows", "Office Suite"],
            vec![vec![
                lsr("DC0038", "m365:unified", None),
                lsr("DC0039", "WinEventLog:Sysmon", Some("EventCode=11")),
            ]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::EnvironmentSpecific);
        assert_eq!(o.subkind.as_deref(), Some("host-assisted"));
    }

    #[test]
    fn cloud_only_and_vague_host() {
        let kb = kb_v18(
            &["IaaS"],
            vec![vec![lsr("DC0038", "AWS:CloudTrail", Some("RunInstances"))]],
        );
        assert_eq!(classify(&kb).subkind.as_deref(), Some("cloud/saas"));
        let kb = kb_v18(
            &["macOS"],
            vec![vec![lsr("DC0032", "macos:unifiedlog", None)]],
        );
        let o = classify(&kb);
        assert_eq!(
            (o.class, o.subkind.as_deref()),
            (ObsClass::EnvironmentSpecific, Some("other"))
        );
    }

    fn kb_v17(platforms: &[&str], sources: &[&str]) -> KnowledgeBase {
        let mut t = tech("T9998", platforms);
        t.data_sources = sources.iter().map(|s| s.to_string()).collect();
        let mut kb = KnowledgeBase {
            techniques: vec![t],
            ..Default::default()
        };
        kb.index();
        kb
    }

    #[test]
    fn v17_at_least_half() {
        let kb = kb_v17(
            &["Windows"],
            &[
                "Process: Process Creation",
                "Network Traffic: Network Traffic Flow",
            ],
        );
        let o = classify(&kb);
        assert_eq!(
            (o.class, o.basis.as_str()),
            (ObsClass::Portable, "v17 data components")
        );
        assert_eq!(o.reason, "1/2 data components have a standard host event");
        let kb = kb_v17(
            &["Windows"],
            &[
                "Process: Process Creation",
                "Network Traffic: Network Traffic Flow",
                "Network Traffic: Network Traffic Content",
            ],
        );
        assert_eq!(classify(&kb).class, ObsClass::EnvironmentSpecific);
        let kb = kb_v17(&["IaaS"], &["Process: Process Creation"]);
        assert_eq!(classify(&kb).class, ObsClass::EnvironmentSpecific);
        let kb = kb_v17(&["Windows"], &["Internet Scan: Response Content"]);
        assert_eq!(classify(&kb).class, ObsClass::NoPortableRule);
        let kb = kb_v17(&["PRE"], &["Process: Process Creation"]);
        assert_eq!(classify(&kb).reason, "PRE platform");
    }

    #[test]
    fn overrides_win() {
        let mut src = super::super::TableSources::embedded();
        src.observability = "v17_host_share: 0.5\npre_platform: PRE\nhost_platforms: [Windows]\noverrides:\n  - { technique: t9998, class: no-portable-rule, reason: 'lab decision' }\n";
        let t = Telemetry::from_sources(src).unwrap();
        let kb = kb_v17(&["Windows"], &["Process: Process Creation"]);
        let o = t.classify(&kb, &kb.techniques[0]);
        assert_eq!(
            (o.class, o.basis.as_str(), o.reason.as_str()),
            (ObsClass::NoPortableRule, "override", "lab decision")
        );
    }
}
