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
fn v18_1_counts_and_examples() {
    let Some(kb) = load("18.1") else { return };
    let (total, classes, subkinds) = counts(&kb);
    assert_eq!(total, 691);
    assert_eq!(classes.get(&ObsClass::Portable), Some(&471), "{classes:?}");
    assert_eq!(
        classes.get(&ObsClass::EnvironmentSpecific),
        Some(&128),
        "{classes:?}"
    );
    assert_eq!(
        classes.get(&ObsClass::NoPortableRule),
        Some(&92),
        "{classes:?}"
    );
    let expected: BTreeMap<String, usize> = [
        ("other", 66),
        ("cloud/saas", 40),
        ("host-assisted", 16),
        ("network", 6),
        // Every no-portable-rule technique of v18.1 is a PRE-platform one (facts, section 4.4).
        ("pre-platform", 92),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(subkinds, expected);

    let o = class_of(&kb, "T1595");
    assert_eq!(
        (o.class, o.reason.as_str()),
        (ObsClass::NoPortableRule, "PRE platform")
    );
    let o = class_of(&kb, "T1059");
    assert_eq!(o.class, ObsClass::Portable);
    assert_eq!(o.analytics, vec!["AN1428", "AN1429"]);
    let o = class_of(&kb, "T1059.001");
    assert_eq!(o.class, ObsClass::Portable);
    assert_eq!(o.analytics, vec!["AN1252"]);
    let o = class_of(&kb, "T1566");
    assert_eq!(o.class, ObsClass::EnvironmentSpecific);
    assert_eq!(o.subkind.as_deref(), Some("host-assisted"));
    assert_eq!(class_of(&kb, "T1566.003").class, ObsClass::Portable);
    assert_eq!(class_of(&kb, "T1602").subkind.as_deref(), Some("network"));
    assert_eq!(
        class_of(&kb, "T1078.004").subkind.as_deref(),
        Some("cloud/saas")
    );
    assert!(class_of(&kb, "T1003.006").reason.contains("set aside"));
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
    let (total, classes, _) = counts(&kb);
    assert_eq!(total, 679);
    assert_eq!(classes.get(&ObsClass::Portable), Some(&436), "{classes:?}");
    assert_eq!(
        classes.get(&ObsClass::EnvironmentSpecific),
        Some(&152),
        "{classes:?}"
    );
    assert_eq!(
        classes.get(&ObsClass::NoPortableRule),
        Some(&91),
        "{classes:?}"
    );
    assert_eq!(class_of(&kb, "T1595").class, ObsClass::NoPortableRule);
    assert_eq!(class_of(&kb, "T1059").class, ObsClass::Portable);
    assert_eq!(class_of(&kb, "T1059.001").class, ObsClass::Portable);
    let o = class_of(&kb, "T1566");
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
