//! A technique's event table and Sigma logsources, and what a rule's logsource reads.
//!
//! v18 data: the events come from the technique's analytics (each reference parsed); v17 data: from
//! the curated events of its data components. Both are linked to Sigma logsources through
//! `sigma_logsources.yaml`, matching Windows sources by channel + event ID and other sources by ATT&CK
//! log-source name + named event.

use super::tables::SourceSpec;
use super::{EventGroup, EventRow, EventSource, ParsedRef, RefKind, TechniqueEvents, Telemetry};
use crate::attack::{KnowledgeBase, Technique};
use crate::rules::LogSource;
use std::collections::{BTreeMap, BTreeSet};

/// Where a group lands in [`TechniqueEvents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Windows,
    Sysmon,
    Other,
}

#[derive(Default)]
struct RowAcc {
    dcs: BTreeSet<String>,
    analytics: BTreeSet<String>,
}

/// Accumulates rows keyed by (section, source, event) so output order never depends on input order.
#[derive(Default)]
struct Acc {
    groups: BTreeMap<(Section, String), (String, BTreeMap<EventKey, RowAcc>)>,
    vague: BTreeSet<String>,
}

/// Numeric events sort by number, named ones after them by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum EventKey {
    Id(u32),
    Name(String),
}

impl EventKey {
    fn text(&self) -> String {
        match self {
            EventKey::Id(n) => n.to_string(),
            EventKey::Name(s) => s.clone(),
        }
    }
}

impl Acc {
    fn add(
        &mut self,
        section: Section,
        source: &str,
        family: &str,
        event: EventKey,
        dc: Option<&str>,
        analytic: Option<&str>,
    ) {
        let g = self
            .groups
            .entry((section, source.to_string()))
            .or_insert_with(|| (family.to_string(), BTreeMap::new()));
        let row = g.1.entry(event).or_default();
        if let Some(d) = dc {
            row.dcs.insert(d.to_string());
        }
        if let Some(a) = analytic {
            row.analytics.insert(a.to_string());
        }
    }
}

/// A concrete Windows event after moving misfiled IDs to the channel Windows really writes them to.
struct WinHit {
    channel: String,
    id: u32,
}

impl Telemetry {
    /// The events a technique's analytics (v18) or data components (v17) name, grouped by source.
    pub fn technique_events(&self, kb: &KnowledgeBase, t: &Technique) -> TechniqueEvents {
        let mut acc = Acc::default();
        if kb.has_detection_strategies() {
            for (_, a) in kb.analytics_of(t) {
                for r in &a.log_sources {
                    let p = self.parse_ref(r);
                    let dc = kb
                        .data_component(&r.data_component)
                        .map(|d| d.name.clone())
                        .unwrap_or_else(|| r.data_component.clone());
                    self.add_ref(&mut acc, &p, Some(&dc), Some(&a.id));
                }
            }
        } else {
            for comp in self.v17_components(kb, t) {
                match self.dc_entry(&comp) {
                    Some(e) if !e.events.is_empty() => {
                        for ev in &e.events {
                            self.add_v17_event(&mut acc, &ev.source, &ev.ids, &ev.names, &comp);
                        }
                    }
                    _ => {
                        acc.vague.insert(format!("{comp} (no concrete event)"));
                    }
                }
            }
        }
        self.finish(acc)
    }

    fn add_ref(&self, acc: &mut Acc, p: &ParsedRef, dc: Option<&str>, analytic: Option<&str>) {
        if !p.event_ids.is_empty() {
            if p.windows_channel.is_some() {
                for hit in self.win_hits(p) {
                    let section = if self.is_sysmon_source(&hit.channel) {
                        Section::Sysmon
                    } else {
                        Section::Windows
                    };
                    acc.add(
                        section,
                        &hit.channel,
                        "windows",
                        EventKey::Id(hit.id),
                        dc,
                        analytic,
                    );
                }
            } else {
                let section = if self.is_sysmon_source(&p.name) {
                    Section::Sysmon
                } else {
                    Section::Other
                };
                for &id in &p.event_ids {
                    acc.add(
                        section,
                        &p.name,
                        &p.platform_family,
                        EventKey::Id(id),
                        dc,
                        analytic,
                    );
                }
            }
        } else if !p.events.is_empty() && p.kind != RefKind::Placeholder {
            for e in &p.events {
                acc.add(
                    Section::Other,
                    &p.name,
                    &p.platform_family,
                    EventKey::Name(e.clone()),
                    dc,
                    analytic,
                );
            }
        } else {
            acc.vague
                .insert(format!("{} ({})", p.name, p.form.as_str()));
        }
    }

    fn add_v17_event(&self, acc: &mut Acc, source: &str, ids: &[u32], names: &[String], dc: &str) {
        let known_channel = self.win_channels.get(&source.to_lowercase()).cloned();
        let (section, family) = if self.is_sysmon_source(source) {
            let family = if known_channel.is_some() {
                "windows".into()
            } else {
                self.family_of(source).0
            };
            (Section::Sysmon, family)
        } else if known_channel.is_some() {
            (Section::Windows, "windows".to_string())
        } else {
            (Section::Other, self.family_of(source).0)
        };
        let source = known_channel.unwrap_or_else(|| source.to_string());
        for &id in ids {
            acc.add(section, &source, &family, EventKey::Id(id), Some(dc), None);
        }
        for n in names {
            acc.add(
                section,
                &source,
                &family,
                EventKey::Name(n.clone()),
                Some(dc),
                None,
            );
        }
    }

    /// Concrete Windows events of a reference; IDs the table marks `elsewhere` move to their channel.
    fn win_hits(&self, p: &ParsedRef) -> Vec<WinHit> {
        let Some(channel) = &p.windows_channel else {
            return Vec::new();
        };
        p.event_ids
            .iter()
            .map(|&id| {
                let channel = match self.win_event(channel, id) {
                    Some(e) => e
                        .event
                        .elsewhere
                        .clone()
                        .unwrap_or_else(|| e.channel.clone()),
                    None => self
                        .win_channels
                        .get(&channel.to_lowercase())
                        .cloned()
                        .unwrap_or_else(|| channel.clone()),
                };
                WinHit { channel, id }
            })
            .collect()
    }

    fn finish(&self, acc: Acc) -> TechniqueEvents {
        let mut out = TechniqueEvents::default();
        for ((section, source), (family, rows)) in acc.groups {
            let rows = rows
                .into_iter()
                .map(|(key, r)| {
                    let (title, why) = match &key {
                        EventKey::Id(id) => self.titles(&source, *id),
                        EventKey::Name(_) => (None, None),
                    };
                    EventRow {
                        event: key.text(),
                        title,
                        why,
                        data_components: r.dcs.into_iter().collect(),
                        analytics: r.analytics.into_iter().collect(),
                    }
                })
                .collect();
            let g = EventGroup {
                source,
                platform_family: family,
                rows,
            };
            match section {
                Section::Windows => out.windows.push(g),
                Section::Sysmon => out.sysmon.push(g),
                Section::Other => out.other.push(g),
            }
        }
        out.vague = acc.vague.into_iter().collect();
        out
    }

    /// Title and "why" of an event; Sysmon for Linux shares the Windows Sysmon numbering.
    fn titles(&self, source: &str, id: u32) -> (Option<String>, Option<String>) {
        let entry = self.win_event(source, id).or_else(|| {
            if self.is_sysmon_source(source) {
                self.names
                    .sysmon_channels
                    .iter()
                    .find_map(|c| self.win_event(c, id))
            } else {
                None
            }
        });
        match entry {
            Some(e) => (Some(e.event.title.clone()), e.event.why.clone()),
            None => (None, None),
        }
    }

    /// Sigma logsources that observe the events a technique's analytics (v18) or data components
    /// (v17) name; sorted, deduplicated.
    pub fn technique_logsources(&self, kb: &KnowledgeBase, t: &Technique) -> Vec<LogSource> {
        let mut out = BTreeSet::new();
        if kb.has_detection_strategies() {
            for (_, a) in kb.analytics_of(t) {
                for r in &a.log_sources {
                    let p = self.parse_ref(r);
                    if p.kind == RefKind::Placeholder {
                        continue;
                    }
                    for (ls, sources) in &self.sigma {
                        if sources.iter().any(|s| self.source_matches(s, &p)) {
                            out.insert(ls.clone());
                        }
                    }
                }
            }
        } else {
            for comp in self.v17_components(kb, t) {
                if let Some(e) = self.dc_entry(&comp) {
                    for k in &e.logsources {
                        if let Some(ls) = super::tables::logsource_from_key(k) {
                            out.insert(ls);
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// True when a Sigma event source reads what the reference names.
    fn source_matches(&self, s: &SourceSpec, p: &ParsedRef) -> bool {
        if let (Some(sc), Some(_)) = (&s.channel, &p.windows_channel) {
            let hits = self.win_hits(p);
            if hits.is_empty() {
                // A Windows log named without an ID: any source on that channel reads it.
                return p
                    .windows_channel
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(sc))
                    && s.event_ids.is_empty();
            }
            return hits.iter().any(|h| {
                h.channel.eq_ignore_ascii_case(sc)
                    && (s.event_ids.is_empty() || s.event_ids.contains(&h.id))
            });
        }
        if !s
            .attack
            .iter()
            .any(|pat| super::names::pattern_matches(pat, &p.name))
        {
            return false;
        }
        if !s.event_ids.is_empty() && !p.event_ids.iter().any(|id| s.event_ids.contains(id)) {
            return false;
        }
        if !s.events.is_empty() {
            let want: BTreeSet<String> = s.events.iter().map(|e| self.event_key(e)).collect();
            return p.events.iter().any(|e| want.contains(&self.event_key(e)));
        }
        true
    }

    /// What a rule's logsource reads: channel, provider and event IDs, or named events. Empty when
    /// the table has no entry for the logsource.
    pub fn logsource_sources(&self, ls: &LogSource) -> Vec<EventSource> {
        let lc = |o: &Option<String>| o.as_deref().map(str::to_ascii_lowercase);
        let key = LogSource {
            product: lc(&ls.product),
            category: lc(&ls.category),
            service: lc(&ls.service),
        };
        self.sigma
            .iter()
            .find(|(l, _)| *l == key)
            .map(|(_, sources)| {
                sources
                    .iter()
                    .map(|s| EventSource {
                        name: s.name.clone(),
                        windows_channel: s.channel.clone(),
                        provider: s.provider.clone(),
                        event_ids: s.event_ids.clone(),
                        events: s.events.clone(),
                        attack_names: s.attack.clone(),
                        alternative: s.alternative,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attack::{Analytic, DataComponent, DetectionStrategy, LogSourceRef};

    fn lsr(dc: &str, name: &str, channel: &str) -> LogSourceRef {
        LogSourceRef {
            data_component: dc.into(),
            name: name.into(),
            channel: Some(channel.into()),
            channel_text: None,
            facts: Vec::new(),
        }
    }

    fn kb(refs: Vec<LogSourceRef>) -> KnowledgeBase {
        let t = Technique {
            id: "T9999".into(),
            name: "x".into(),
            tactics: vec![],
            platforms: vec!["Windows".into()],
            is_subtechnique: false,
            parent: None,
            subtechniques: vec![],
            revoked: false,
            revoked_by: None,
            deprecated: false,
            detection_strategies: vec!["DET9999".into()],
            data_sources: vec![],
            data_components: vec![],
            description: None,
            detection_text: None,
            references: vec![],
            url: None,
        };
        let mut kb = KnowledgeBase {
            techniques: vec![t],
            detection_strategies: vec![DetectionStrategy {
                id: "DET9999".into(),
                name: "x".into(),
                analytics: vec!["AN9000".into()],
                techniques: vec!["T9999".into()],
            }],
            analytics: vec![Analytic {
                id: "AN9000".into(),
                platforms: vec!["Windows".into()],
                log_sources: refs,
                mutable_elements: vec![],
                description: None,
            }],
            data_components: vec![DataComponent {
                id: "DC0032".into(),
                name: "Process Creation".into(),
                data_source: None,
                log_sources: vec![],
                deprecated: false,
            }],
            ..Default::default()
        };
        kb.index();
        kb
    }

    #[test]
    fn sysmon_1_and_security_4688() {
        let kb = kb(vec![
            lsr("DC0032", "WinEventLog:Sysmon", "EventCode=1"),
            lsr("DC0032", "WinEventLog:Security", "EventCode=4688"),
            lsr("DC0032", "macos:unifiedlog", "None"),
        ]);
        let tel = Telemetry::embedded();
        let ev = tel.technique_events(&kb, &kb.techniques[0]);
        assert_eq!(ev.windows.len(), 1);
        assert_eq!(ev.windows[0].source, "Security");
        assert_eq!(ev.windows[0].rows[0].event, "4688");
        assert_eq!(
            ev.windows[0].rows[0].title.as_deref(),
            Some("Process created")
        );
        assert_eq!(
            ev.windows[0].rows[0].data_components,
            vec!["Process Creation"]
        );
        assert_eq!(ev.windows[0].rows[0].analytics, vec!["AN9000"]);
        assert_eq!(ev.sysmon.len(), 1);
        assert_eq!(ev.sysmon[0].source, "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(ev.sysmon[0].rows[0].event, "1");
        assert!(ev.sysmon[0].rows[0].why.is_some());
        assert!(ev.other.is_empty());
        assert_eq!(ev.vague, vec!["macos:unifiedlog (none)"]);

        let ls: Vec<String> = tel
            .technique_logsources(&kb, &kb.techniques[0])
            .iter()
            .map(LogSource::key)
            .collect();
        assert_eq!(
            ls,
            vec![
                "windows/*/security",
                "windows/*/sysmon",
                "windows/process_creation/*"
            ]
        );
    }

    #[test]
    fn misfiled_ids_move_and_identifiers_go_to_other() {
        let kb = kb(vec![
            lsr("DC0032", "WinEventLog:Security", "EventCode=4104"),
            lsr("DC0032", "auditd:SYSCALL", "execve"),
        ]);
        let tel = Telemetry::embedded();
        let ev = tel.technique_events(&kb, &kb.techniques[0]);
        assert_eq!(
            ev.windows[0].source,
            "Microsoft-Windows-PowerShell/Operational"
        );
        assert_eq!(ev.other[0].source, "auditd:SYSCALL");
        assert_eq!(ev.other[0].platform_family, "linux");
        let ls: Vec<String> = tel
            .technique_logsources(&kb, &kb.techniques[0])
            .iter()
            .map(LogSource::key)
            .collect();
        assert!(ls.contains(&"windows/ps_script/*".to_string()), "{ls:?}");
        assert!(ls.contains(&"linux/*/auditd".to_string()), "{ls:?}");
        assert!(
            ls.contains(&"linux/process_creation/*".to_string()),
            "{ls:?}"
        );
    }

    #[test]
    fn logsource_sources_lists_alternatives() {
        let tel = Telemetry::embedded();
        let ls = LogSource {
            product: Some("Windows".into()),
            category: Some("process_creation".into()),
            service: None,
        };
        let s = tel.logsource_sources(&ls);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].event_ids.as_slice(), s[0].alternative),
            (&[1][..], false)
        );
        assert_eq!(s[1].windows_channel.as_deref(), Some("Security"));
        assert_eq!(
            (s[1].event_ids.as_slice(), s[1].alternative),
            (&[4688][..], true)
        );
        let unknown = LogSource {
            product: Some("nothing".into()),
            ..Default::default()
        };
        assert!(tel.logsource_sources(&unknown).is_empty());
    }
}
