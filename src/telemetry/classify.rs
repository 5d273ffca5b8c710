//! Observability classifier: a reviewed override, else the data (v18 analytics with a second
//! opinion, see [`super::analytics`]; v17 data components; data components again for domains whose
//! analytics name no log), else the parent technique. PRE techniques are never portable.

use super::analytics::{no_portable, shorten};
use super::{Basis, Confidence, ObsClass, Observability, Telemetry};
use crate::attack::{KnowledgeBase, Technique};

impl Telemetry {
    /// Classifies a technique; an override in `observability.yaml` wins over the data.
    pub fn classify(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        if let Some(o) = self.override_of(t) {
            return o;
        }
        let own = self.classify_data(kb, t);
        if own.subkind.as_deref() != Some("no-named-source") || !own.analytics.is_empty() {
            return own;
        }
        // No evidence of its own: a sub-technique takes its parent's class.
        match t.parent.as_deref().and_then(|id| kb.technique(id)) {
            Some(parent) => {
                let p = self.classify(kb, parent);
                Observability {
                    basis: Basis::Parent,
                    confidence: p.confidence.lower(),
                    reason: format!("as its parent {}: {}", parent.id, p.reason),
                    analytics: Vec::new(),
                    ..p
                }
            }
            None => own,
        }
    }

    /// The technique's own override, or its parent's when that one is inherited.
    fn override_of(&self, t: &Technique) -> Option<Observability> {
        let own = self.overrides.get(&t.id.to_ascii_uppercase());
        let (o, basis) = match (own, t.parent.as_deref()) {
            (Some(o), _) => (o, Basis::Override),
            (None, Some(parent)) => (
                self.overrides
                    .get(&parent.to_ascii_uppercase())
                    .filter(|o| o.inherit)?,
                Basis::Parent,
            ),
            (None, None) => return None,
        };
        Some(Observability {
            class: o.class,
            confidence: o.confidence.unwrap_or(Confidence::High),
            reason: o.reason.clone(),
            basis,
            analytics: Vec::new(),
            subkind: o.subkind.clone(),
            rejected: Vec::new(),
        })
    }

    /// The class the data alone gives, overrides ignored: what a reviewer compares an override with.
    pub fn classify_data(&self, kb: &KnowledgeBase, t: &Technique) -> Observability {
        if self.is_pre(t) {
            let basis = if kb.has_detection_strategies() {
                Basis::Analytics
            } else {
                Basis::DataComponents
            };
            return Observability {
                basis,
                ..no_portable(
                    format!(
                        "{} platform: run from the adversary's side before the intrusion; perimeter or third-party sources may catch traces, no standard log records it",
                        self.obs.pre_platform
                    ),
                    "pre-platform",
                    Confidence::High,
                )
            };
        }
        if !kb.has_detection_strategies() {
            return self.classify_components(t, &self.v17_components(kb, t));
        }
        let obs = self.classify_analytics(kb, t);
        if obs.subkind.as_deref() == Some("no-named-source") {
            // Domains whose analytics name no log (mobile, ICS): read their data components.
            let comps = self.analytic_components(kb, t);
            if !comps.is_empty() {
                return self.classify_components(t, &comps);
            }
        }
        obs
    }

    fn is_pre(&self, t: &Technique) -> bool {
        t.platforms
            .iter()
            .any(|p| p.eq_ignore_ascii_case(&self.obs.pre_platform))
    }

    /// Data component names of a v17 technique: from `x_mitre_data_sources` ("Process: Process
    /// Creation"), else from the `detects` relationships.
    pub(crate) fn v17_components(&self, kb: &KnowledgeBase, t: &Technique) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for ds in &t.data_sources {
            let name = ds.split_once(':').map_or(ds.as_str(), |(_, c)| c).trim();
            push_unique(&mut out, name);
        }
        if out.is_empty() {
            for id in &t.data_components {
                if let Some(dc) = kb.data_component(id) {
                    push_unique(&mut out, &dc.name);
                }
            }
        }
        out
    }

    /// Data component names the technique's analytics reference, in order.
    fn analytic_components(&self, kb: &KnowledgeBase, t: &Technique) -> Vec<String> {
        let mut out = Vec::new();
        for (_, a) in kb.analytics_of(t) {
            for r in &a.log_sources {
                if let Some(dc) = kb.data_component(&r.data_component) {
                    push_unique(&mut out, &dc.name);
                }
            }
        }
        out
    }

    /// The data-component rule: enough components with a standard host event on a platform
    /// where host rules run make the technique portable (threshold in `observability.yaml`).
    fn classify_components(&self, t: &Technique, comps: &[String]) -> Observability {
        let with_basis = |o: Observability| Observability {
            basis: Basis::DataComponents,
            ..o
        };
        if comps.is_empty() {
            return with_basis(no_portable(
                "no data components are listed".into(),
                "no-named-source",
                Confidence::Medium,
            ));
        }
        let entries: Vec<_> = comps.iter().map(|c| self.dc_entry(c)).collect();
        if entries.iter().all(|e| e.is_some_and(|e| e.external)) {
            return with_basis(no_portable(
                format!("only data from outside your systems ({})", comps.join(", ")),
                "no-named-source",
                Confidence::High,
            ));
        }
        let host: Vec<&super::tables::DcEntry> = entries
            .iter()
            .flatten()
            .copied()
            .filter(|e| e.host)
            .collect();
        let share = format!("{}/{} data components", host.len(), comps.len());
        let events = host_events(&host);
        let on = |list: &[String]| {
            t.platforms
                .iter()
                .any(|p| list.iter().any(|h| h.eq_ignore_ascii_case(p)))
        };
        let unnamed = t.platforms.iter().all(|p| {
            self.obs
                .placeholder_platforms
                .iter()
                .any(|q| q.eq_ignore_ascii_case(p))
        });
        let no_log = on(&self.obs.no_standard_log_platforms);
        // ICS names no platform: its Windows and Linux assets (HMIs, workstations) run host rules.
        let host_platform = on(&self.obs.host_platforms) || unnamed && !no_log;
        let share_ok = host.len() as f64 >= self.obs.v17_host_share * comps.len() as f64;
        let (class, confidence, reason) = if no_log {
            (
                ObsClass::EnvironmentSpecific,
                Confidence::Medium,
                format!(
                    "{} keep no log a Sigma rule reads; only device management or mobile threat defence reports it ({})",
                    t.platforms.join("/"),
                    comps.join(", ")
                ),
            )
        } else if host_platform && share_ok && !host.is_empty() {
            (
                ObsClass::Portable,
                Confidence::Medium,
                format!("{share} have a standard host event ({events})"),
            )
        } else if !host_platform {
            (
                ObsClass::EnvironmentSpecific,
                Confidence::Medium,
                format!(
                    "no {} platform: seen in {} ({share} have a standard host event)",
                    self.obs.host_platforms.join("/"),
                    comps.join(", ")
                ),
            )
        } else {
            let others: Vec<String> = comps
                .iter()
                .zip(&entries)
                .filter(|(_, e)| !e.is_some_and(|e| e.host))
                .map(|(c, _)| c.clone())
                .collect();
            (
                ObsClass::EnvironmentSpecific,
                Confidence::Low,
                format!(
                    "mostly seen outside standard host logs, in {} ({share} have a standard host event, need {}%)",
                    shorten(&others, 5),
                    (self.obs.v17_host_share * 100.0).round()
                ),
            )
        };
        Observability {
            class,
            confidence,
            reason,
            basis: Basis::DataComponents,
            analytics: Vec::new(),
            subkind: None,
            rejected: Vec::new(),
        }
    }
}

fn push_unique(out: &mut Vec<String>, name: &str) {
    if !name.is_empty() && !out.iter().any(|n| n == name) {
        out.push(name.to_string());
    }
}

/// `Security 4688, Sysmon 1, auditd execve`: the first concrete events of host components.
fn host_events(host: &[&super::tables::DcEntry]) -> String {
    let mut out: Vec<String> = Vec::new();
    for e in host.iter().flat_map(|d| &d.events) {
        let short = e
            .source
            .rsplit_once('/')
            .map_or(e.source.as_str(), |(a, _)| a);
        let short = short.strip_prefix("Microsoft-Windows-").unwrap_or(short);
        let labels = e
            .ids
            .iter()
            .map(|i| format!("{short} {i}"))
            .chain(e.names.iter().map(|n| format!("{short} {n}")));
        for l in labels {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    shorten(&out, 5)
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
                dc("DC0018", "Host Status"),
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
        assert!(o.reason.starts_with("PRE platform"), "{}", o.reason);
        assert_eq!(
            (o.basis, o.confidence),
            (Basis::Analytics, Confidence::High)
        );
        assert_eq!(o.subkind.as_deref(), Some("pre-platform"));
    }

    #[test]
    fn placeholders_only_is_no_portable_rule() {
        let kb = kb_v18(
            &["Windows"],
            vec![vec![lsr("DC9998", "Internet Scan", Some("None"))]],
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
        assert_eq!(o.reason, "PowerShell 4104, Sysmon 1 (analytic AN9000)");
        assert_eq!(
            o.confidence,
            Confidence::High,
            "the only analytic qualifies"
        );
    }

    #[test]
    fn channel_check_refuses_events_named_with_the_wrong_channel() {
        // 7045 is written to System, 1166 is no Security event: nothing concrete is left.
        let kb = kb_v18(
            &["Windows"],
            vec![vec![lsr(
                "DC0018",
                "WinEventLog:Security",
                Some("EventCode=1166, 7045"),
            )]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::EnvironmentSpecific, "{}", o.reason);
        assert_eq!(
            o.rejected,
            vec![
                "Security 1166 (not a Security event)",
                "Security 7045 (written to System)"
            ]
        );
        assert!(o.reason.contains("channel check set aside"), "{}", o.reason);
        // The same ID under its real channel passes.
        let kb = kb_v18(
            &["Windows"],
            vec![vec![lsr(
                "DC0018",
                "WinEventLog:System",
                Some("EventCode=7045"),
            )]],
        );
        let o = classify(&kb);
        assert_eq!(o.class, ObsClass::Portable, "{}", o.reason);
        assert!(o.rejected.is_empty());
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
        assert_eq!(classify(&kb).class, ObsClass::Portable);
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
    fn provider_audit_events_are_standard_on_cloud_platforms() {
        let cloudtrail = || lsr("DC0038", "AWS:CloudTrail", Some("CreateAccessKey"));
        let o = classify(&kb_v18(&["IaaS"], vec![vec![cloudtrail()]]));
        assert_eq!(o.class, ObsClass::Portable, "{}", o.reason);
        assert_eq!(o.reason, "AWS:CloudTrail CreateAccessKey (analytic AN9000)");
        // Flow logs are deployed, not the provider's audit log.
        let flow = lsr("DC0038", "AWS:VPCFlowLogs", Some("REJECT"));
        let o = classify(&kb_v18(&["IaaS"], vec![vec![flow]]));
        assert_eq!(
            (o.class, o.subkind.as_deref()),
            (ObsClass::EnvironmentSpecific, Some("cloud/saas"))
        );
        // A field name is no operation.
        let field = lsr("DC0038", "AWS:CloudTrail", Some("eventName"));
        let o = classify(&kb_v18(&["IaaS"], vec![vec![field]]));
        assert_eq!(o.class, ObsClass::EnvironmentSpecific, "{}", o.reason);
        assert_eq!(
            o.rejected,
            vec!["AWS:CloudTrail eventName (a field name, not an event)"]
        );
        assert!(
            o.reason
                .starts_with("names provider audit logs but no operation"),
            "{}",
            o.reason
        );
        // The audit log of a cloud provider is not standard for a Windows-only technique.
        let o = classify(&kb_v18(&["Windows"], vec![vec![cloudtrail()]]));
        assert_eq!(o.class, ObsClass::EnvironmentSpecific);
    }

    #[test]
    fn facts_of_a_free_text_channel_make_it_concrete() {
        use crate::attack::facts::{Fact, FactKind};
        let mut r = lsr("DC0039", "auditd:SYSCALL", None);
        r.channel_text = Some("prose".into());
        r.facts = vec![
            Fact {
                kind: FactKind::Syscall,
                value: "creat".into(),
            },
            Fact {
                kind: FactKind::Path,
                value: "/etc/systemd/system".into(),
            },
        ];
        let o = classify(&kb_v18(&["Linux"], vec![vec![r]]));
        assert_eq!(o.class, ObsClass::Portable, "{}", o.reason);
        assert_eq!(o.reason, "auditd:SYSCALL creat (analytic AN9000)");
    }

    #[test]
    fn vague_host_only_is_other() {
        let kb = kb_v18(
            &["macOS"],
            vec![vec![lsr("DC0032", "macos:unifiedlog", None)]],
        );
        let o = classify(&kb);
        assert_eq!(
            (o.class, o.subkind.as_deref(), o.confidence),
            (
                ObsClass::EnvironmentSpecific,
                Some("other"),
                Confidence::Low
            )
        );
    }

    #[test]
    fn domains_without_named_logs_fall_back_to_data_components() {
        // ICS writes the platform "None": read as the domain's Windows/Linux assets.
        let refs = || {
            vec![vec![
                lsr("DC0064", "Command", Some("None")),
                lsr("DC0032", "Process", Some("None")),
            ]]
        };
        let o = classify(&kb_v18(&["None"], refs()));
        assert_eq!(
            (o.class, o.basis),
            (ObsClass::Portable, Basis::DataComponents),
            "{}",
            o.reason
        );
        assert!(o.reason.contains("Sysmon 1"), "{}", o.reason);
        // Phones keep no log a Sigma rule reads.
        let o = classify(&kb_v18(&["Android", "iOS"], refs()));
        assert_eq!(o.class, ObsClass::EnvironmentSpecific);
        assert!(
            o.reason.starts_with("Android/iOS keep no log"),
            "{}",
            o.reason
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
            (o.class, o.basis),
            (ObsClass::Portable, Basis::DataComponents)
        );
        assert!(
            o.reason.starts_with(
                "1/2 data components have a standard host event (Sysmon 1, Security 4688"
            ),
            "{}",
            o.reason
        );
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
        assert!(classify(&kb).reason.starts_with("PRE platform"));
    }

    #[test]
    fn overrides_win_and_inherit_only_when_asked() {
        let mut src = super::super::TableSources::embedded();
        src.observability = "v17_host_share: 0.5\npre_platform: PRE\nhost_platforms: [Windows]\noverrides:\n  - { technique: t9998, class: no-portable-rule, reason: 'lab decision', inherit: true }\n  - { technique: T9997, class: environment-specific, reason: 'needs flow logs', confidence: medium }\n";
        let t = Telemetry::from_sources(src).unwrap();
        let mut kb = kb_v17(&["Windows"], &["Process: Process Creation"]);
        let mut sub = tech("T9998.001", &["Windows"]);
        sub.parent = Some("T9998".into());
        sub.data_sources = vec!["Process: Process Creation".into()];
        let mut other = tech("T9997", &["Windows"]);
        other.data_sources = sub.data_sources.clone();
        let mut other_sub = tech("T9997.001", &["Windows"]);
        other_sub.parent = Some("T9997".into());
        other_sub.data_sources = sub.data_sources.clone();
        kb.techniques.extend([sub, other, other_sub]);
        kb.index();
        let c = |id: &str| t.classify(&kb, kb.technique(id).unwrap());
        let o = c("T9998");
        assert_eq!(
            (o.class, o.basis, o.reason.as_str(), o.confidence),
            (
                ObsClass::NoPortableRule,
                Basis::Override,
                "lab decision",
                Confidence::High
            )
        );
        let o = c("T9998.001");
        assert_eq!(
            (o.class, o.basis),
            (ObsClass::NoPortableRule, Basis::Parent)
        );
        assert_eq!(c("T9997").confidence, Confidence::Medium);
        let o = c("T9997.001");
        assert_eq!(
            (o.class, o.basis),
            (ObsClass::Portable, Basis::DataComponents),
            "not inherited"
        );
    }

    #[test]
    fn a_sub_technique_without_evidence_takes_its_parent_class() {
        let mut kb = kb_v17(&["Windows"], &["Process: Process Creation"]);
        let mut sub = tech("T9998.001", &["Windows"]);
        sub.parent = Some("T9998".into());
        kb.techniques.push(sub);
        kb.index();
        let o = Telemetry::embedded().classify(&kb, kb.technique("T9998.001").unwrap());
        assert_eq!((o.class, o.basis), (ObsClass::Portable, Basis::Parent));
        assert!(
            o.reason.starts_with("as its parent T9998: "),
            "{}",
            o.reason
        );
        assert_eq!(o.confidence, Confidence::Low);
    }
}
