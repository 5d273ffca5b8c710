//! Facts read from the free-text channels of the real v18.1 bundle: how many channels yield facts, that
//! the facts are names and not sentences, and that the bundle and the embedded catalog agree.

#![allow(clippy::print_stderr)] // measured figures go to the test log

use attacktrace::attack::catalog::embedded;
use attacktrace::attack::facts::{Fact, FactKind, MAX_VALUE};
use attacktrace::attack::{load_path, KnowledgeBase, LoadOptions, LogSourceRef};
use std::collections::{BTreeMap, BTreeSet};

fn bundle() -> Option<KnowledgeBase> {
    let path = crate::common::shared()?.join("attack/enterprise-attack-18.1.json");
    Some(load_path(&path, &LoadOptions::default()).unwrap())
}

/// Every log-source reference: analytics first, then data components, in catalog order.
fn refs(kb: &KnowledgeBase) -> Vec<(&str, &LogSourceRef)> {
    let an = kb
        .analytics
        .iter()
        .flat_map(|a| a.log_sources.iter().map(move |l| (a.id.as_str(), l)));
    let dc = kb
        .data_components
        .iter()
        .flat_map(|d| d.log_sources.iter().map(move |l| (d.id.as_str(), l)));
    an.chain(dc).collect()
}

#[test]
fn v18_1_free_text_channels_yield_facts() {
    let Some(kb) = bundle() else { return };
    let mut free_text = 0;
    let mut with_facts = 0;
    let mut per_kind: BTreeMap<FactKind, usize> = BTreeMap::new();
    let mut distinct: BTreeSet<&Fact> = BTreeSet::new();
    for (owner, l) in refs(&kb) {
        if l.channel_text.is_none() {
            assert!(
                l.facts.is_empty(),
                "{owner}: facts without a free-text channel"
            );
            continue;
        }
        free_text += 1;
        with_facts += usize::from(!l.facts.is_empty());
        for f in &l.facts {
            *per_kind.entry(f.kind).or_default() += 1;
            distinct.insert(f);
            assert_is_a_name(owner, f);
        }
    }
    eprintln!(
        "v18.1 free-text channels: {free_text}, with >=1 fact: {with_facts}; facts per kind: {per_kind:?}; distinct facts: {}",
        distinct.len()
    );
    // Floors a little under today's figures, so a regression in the extractor shows.
    assert!(free_text > 4000, "{free_text}");
    assert!(with_facts > 900, "{with_facts}");
    for (kind, floor) in [
        (FactKind::Syscall, 500),
        (FactKind::Path, 600),
        (FactKind::Event, 150),
        (FactKind::Api, 60),
        (FactKind::Cmdlet, 40),
        (FactKind::Process, 60),
    ] {
        let n = per_kind.get(&kind).copied().unwrap_or(0);
        assert!(n >= floor, "{kind:?}: {n} < {floor}");
    }
}

/// A fact is a name or a path: short, and never a run of words. Registry keys and macOS folders may
/// hold a single space (`Windows NT`, `Application Support`).
fn assert_is_a_name(owner: &str, f: &Fact) {
    let v = &f.value;
    assert!(!v.is_empty() && v.len() <= MAX_VALUE, "{owner}: {f:?}");
    assert_eq!(v.trim(), v, "{owner}: {f:?}");
    let blanks = v.matches(char::is_whitespace).count();
    match f.kind {
        FactKind::RegistryKey | FactKind::Path => assert!(blanks <= 2, "{owner}: {f:?}"),
        _ => assert_eq!(blanks, 0, "{owner}: {f:?}"),
    }
}

#[test]
fn t1053_006_systemd_timer_facts() {
    let Some(kb) = bundle() else { return };
    for kb in [&kb, &embedded()] {
        let t = kb.technique("T1053.006").unwrap();
        let facts: Vec<(FactKind, &str)> = kb
            .analytics_of(t)
            .into_iter()
            .flat_map(|(_, a)| &a.log_sources)
            .flat_map(|l| &l.facts)
            .map(|f| (f.kind, f.value.as_str()))
            .collect();
        use FactKind::*;
        for want in [
            (Syscall, "creat"),
            (Syscall, "open"),
            (Syscall, "write"),
            (Path, "/etc/systemd/system"),
            (Syscall, "execve"),
            (Path, "/usr/bin/systemctl"),
            (Process, "systemctl"),
        ] {
            assert!(
                facts.contains(&want),
                "{}: {want:?} in {facts:?}",
                kb.source.origin
            );
        }
    }
}

/// The catalog carries the facts the bundle yields, reference by reference.
#[test]
fn embedded_catalog_has_the_bundle_facts() {
    let Some(kb) = bundle() else { return };
    let cat = embedded();
    let from_bundle: Vec<_> = refs(&kb).into_iter().map(|(o, l)| (o, &l.facts)).collect();
    let from_catalog: Vec<_> = refs(&cat).into_iter().map(|(o, l)| (o, &l.facts)).collect();
    assert!(
        from_bundle == from_catalog,
        "embedded catalog facts differ from the bundle's"
    );
    assert!(refs(&cat).iter().all(|(_, l)| l.channel_text.is_none()));
}
