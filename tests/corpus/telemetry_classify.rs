//! Observability classes and reference parsing on the real ATT&CK bundles (telemetry-facts.md
//! sections 3.5 and 4.1). Skipped when `../shared` is absent.
#![allow(clippy::print_stderr)] // skip notice when ../shared is absent

use attacktrace::attack::{self, KnowledgeBase, LoadOptions};
use attacktrace::telemetry::{ObsClass, RefKind, Telemetry};
use std::collections::BTreeMap;

use crate::common::shared;

fn load(version: &str) -> Option<KnowledgeBase> {
    let p = shared()?.join(format!("attack/enterprise-attack-{version}.json"));
    Some(attack::load_path(&p, &LoadOptions::default()).expect("bundle loads"))
}

fn counts(kb: &KnowledgeBase) -> (usize, BTreeMap<ObsClass, usize>, BTreeMap<String, usize>) {
    let tel = Telemetry::embedded();
    let mut classes = BTreeMap::new();
    let mut subkinds = BTreeMap::new();
    let mut total = 0;
    for t in kb.techniques.iter().filter(|t| t.is_active()) {
        total += 1;
        let o = tel.classify(kb, t);
        *classes.entry(o.class).or_default() += 1;
        if let Some(s) = o.subkind {
            *subkinds.entry(s).or_default() += 1;
        }
    }
    (total, classes, subkinds)
}

fn class_of(kb: &KnowledgeBase, id: &str) -> attacktrace::telemetry::Observability {
    let t = kb.technique(id).expect("technique exists");
    Telemetry::embedded().classify(kb, t)
}

#[test]
fn v18_1_bundle_and_embedded_catalog_agree() {
    let Some(kb) = load("18.1") else { return };
    let (total, classes, _) = counts(&kb);
    assert_eq!(total, 691);
    let embedded = attacktrace::attack::catalog::embedded();
    let (_, embedded_classes, _) = counts(&embedded);
    assert_eq!(classes, embedded_classes);
    for t in kb.techniques.iter().filter(|t| t.is_active()) {
        let e = embedded.technique(&t.id).expect("same techniques");
        assert_eq!(
            class_of(&kb, &t.id),
            Telemetry::embedded().classify(&embedded, e),
            "{}",
            t.id
        );
    }
    let o = class_of(&kb, "T1059");
    assert_eq!(o.class, ObsClass::Portable);
    assert_eq!(o.analytics, vec!["AN1428", "AN1429"]);
    // The channel check: 7045 is a System event, 1166 no Security event at all.
    let o = class_of(&kb, "T1195.003");
    assert_eq!(o.class, ObsClass::NoPortableRule);
    let data = Telemetry::embedded().classify_data(&kb, kb.technique("T1195.003").unwrap());
    assert!(
        data.rejected
            .iter()
            .any(|r| r.starts_with("Security 7045 (written to System)")),
        "{data:?}"
    );
    // Provider audit logs are standard on cloud platforms.
    let data = Telemetry::embedded().classify_data(&kb, kb.technique("T1098.001").unwrap());
    assert_eq!(data.class, ObsClass::Portable, "{}", data.reason);
    assert!(data.reason.contains("CreateAccessKey"), "{}", data.reason);
}

fn load_domain(domain: &str) -> Option<KnowledgeBase> {
    let p = shared()?.join(format!("attack/{domain}-attack-18.1.json"));
    Some(attack::load_path(&p, &LoadOptions::default()).expect("bundle loads"))
}

#[test]
fn mobile_and_ics_are_read_through_their_data_components() {
    let Some(ics) = load_domain("ics") else {
        return;
    };
    let o = class_of(&ics, "T0807");
    assert_eq!(o.class, ObsClass::Portable, "{}", o.reason);
    assert!(
        o.reason.contains("Sysmon 1") || o.reason.contains("Security 4688"),
        "{}",
        o.reason
    );
    let (_, classes, _) = counts(&ics);
    assert!(
        classes.get(&ObsClass::Portable).copied().unwrap_or(0) > 0,
        "{classes:?}"
    );
    let Some(mobile) = load_domain("mobile") else {
        return;
    };
    let (total, classes, _) = counts(&mobile);
    assert_eq!(
        classes.get(&ObsClass::Portable),
        None,
        "phones keep no Sigma-readable log"
    );
    assert_eq!(classes.values().sum::<usize>(), total);
    let l = attacktrace::telemetry::listing::class_listing(
        &mobile,
        Telemetry::embedded(),
        &Default::default(),
    )
    .unwrap();
    assert!(
        l.note
            .as_deref()
            .is_some_and(|n| n.contains("mobile-attack")),
        "{:?}",
        l.note
    );
}

#[test]
fn v18_1_reference_kinds() {
    let Some(kb) = load("18.1") else { return };
    let tel = Telemetry::embedded();
    let mut kinds: BTreeMap<RefKind, usize> = BTreeMap::new();
    for a in &kb.analytics {
        for r in &a.log_sources {
            *kinds.entry(tel.parse_ref(r).kind).or_default() += 1;
        }
    }
    // Section 3.5: host_specific 1779, environment 1115, host_vague 1105, placeholder 127.
    let total: usize = kinds.values().sum();
    assert_eq!(total, 4126, "{kinds:?}");
    assert_eq!(kinds.get(&RefKind::HostSpecific), Some(&1779), "{kinds:?}");
    assert_eq!(kinds.get(&RefKind::Environment), Some(&1115), "{kinds:?}");
    assert_eq!(kinds.get(&RefKind::HostVague), Some(&1105), "{kinds:?}");
    assert_eq!(kinds.get(&RefKind::Placeholder), Some(&127), "{kinds:?}");
}

#[test]
fn v17_1_counts_and_examples() {
    let Some(kb) = load("17.1") else { return };
    let tel = Telemetry::embedded();
    // The data rule alone (telemetry-facts.md section 4.1, "at least half"): 436 / 152 / 91.
    let mut data: BTreeMap<ObsClass, usize> = BTreeMap::new();
    for t in kb.techniques.iter().filter(|t| t.is_active()) {
        *data.entry(tel.classify_data(&kb, t).class).or_default() += 1;
    }
    let expected: BTreeMap<ObsClass, usize> = [
        (ObsClass::Portable, 436),
        (ObsClass::EnvironmentSpecific, 152),
        (ObsClass::NoPortableRule, 91),
    ]
    .into_iter()
    .collect();
    assert_eq!(data, expected);
    // With the reviewed overrides (technique IDs are stable across releases).
    let (total, classes, _) = counts(&kb);
    assert_eq!(total, 679);
    let expected: BTreeMap<ObsClass, usize> = [
        (ObsClass::Portable, 355),
        (ObsClass::EnvironmentSpecific, 224),
        (ObsClass::NoPortableRule, 100),
    ]
    .into_iter()
    .collect();
    assert_eq!(classes, expected);
    assert_eq!(class_of(&kb, "T1595").class, ObsClass::NoPortableRule);
    assert_eq!(class_of(&kb, "T1059.001").class, ObsClass::Portable);
    let o = tel.classify_data(&kb, kb.technique("T1566").unwrap());
    assert_eq!(o.class, ObsClass::EnvironmentSpecific);
    assert!(o.reason.contains("1/4"), "{}", o.reason);
    assert_eq!(o.basis, attacktrace::telemetry::Basis::DataComponents);
}

#[test]
fn sigma_table_covers_the_rule_tuples() {
    let Some(shared) = shared() else { return };
    let csv = std::fs::read_to_string(shared.join("docs/telemetry-data/sigma_logsources.csv"))
        .expect("csv readable");
    let tel = Telemetry::embedded();
    let known: Vec<String> = tel.known_logsources().map(|l| l.key()).collect();
    let mut missing = Vec::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.splitn(4, ',').collect();
        let part = |s: &str| {
            if s.is_empty() {
                "*".to_string()
            } else {
                s.to_string()
            }
        };
        let key = format!("{}/{}/{}", part(f[0]), part(f[1]), part(f[2]));
        if !known.contains(&key) {
            missing.push(key);
        }
    }
    assert!(missing.is_empty(), "no entry for {missing:?}");
}

#[test]
fn technique_events_for_t1059_001() {
    let Some(kb) = load("18.1") else { return };
    let tel = Telemetry::embedded();
    let t = kb.technique("T1059.001").unwrap();
    let ev = tel.technique_events(&kb, t);
    let ps = ev
        .windows
        .iter()
        .find(|g| g.source == "Microsoft-Windows-PowerShell/Operational")
        .expect("PowerShell group");
    assert!(ps
        .rows
        .iter()
        .any(|r| r.event == "4104" && r.analytics.contains(&"AN1252".to_string())));
    assert!(ev
        .sysmon
        .iter()
        .any(|g| g.rows.iter().any(|r| r.event == "1")));
    let ls: Vec<String> = tel
        .technique_logsources(&kb, t)
        .iter()
        .map(|l| l.key())
        .collect();
    assert!(ls.contains(&"windows/ps_script/*".to_string()), "{ls:?}");
    assert!(
        ls.contains(&"windows/process_creation/*".to_string()),
        "{ls:?}"
    );
}
