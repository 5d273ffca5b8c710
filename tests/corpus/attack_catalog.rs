//! The compiled catalog: the committed file matches a fresh compile, and a catalog round-trips.

#![allow(clippy::print_stderr)] // skip notices and measured figures go to the test log

use attacktrace::attack::catalog::{compile_catalog, embedded, strip_prose};
use attacktrace::attack::stix::load_catalog;
use attacktrace::attack::{load_path, LoadOptions};
use std::path::Path;

use crate::common;

const COMMITTED: &str = "mappings/attack/enterprise-attack-18.1.json";

#[test]
fn committed_catalog_matches_fresh_compile() {
    let root = common::root();
    let Some(shared) = common::shared() else {
        return;
    };
    let bundle = shared.join("attack/enterprise-attack-18.1.json");
    let kb = load_path(&bundle, &LoadOptions::default()).unwrap();
    let fresh = compile_catalog(&kb);
    let committed = std::fs::read_to_string(root.join(COMMITTED)).unwrap();
    assert!(
        fresh == committed,
        "{COMMITTED} is stale: regenerate with `cargo run -- attack compile ../shared/attack/enterprise-attack-18.1.json -o {COMMITTED}`"
    );
    // The comparison covers the facts read from free-text channels (tests/corpus/attack_facts.rs
    // checks their content); the prose they come from stays out.
    assert!(committed.contains("\"facts\": [") && committed.contains("\"kind\": \"syscall\""));
    assert!(!committed.contains("channel_text"));
}

#[test]
fn catalog_round_trip_on_fixture() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attack/mini-v18.json");
    let kb = load_path(&p, &LoadOptions::default()).unwrap();
    let text = compile_catalog(&kb);
    assert!(text.ends_with("}\n"));
    for prose in [
        "(Citation:",
        "Fixture text",
        "fixture prose",
        "\"description\"",
        "channel_text",
        "references",
    ] {
        assert!(!text.contains(prose), "catalog holds prose: {prose}");
    }
    let back = load_catalog(text.as_bytes(), "cat.json", &LoadOptions::default()).unwrap();
    let stripped = strip_prose(&kb);
    assert_eq!(back.source.origin, "cat.json");
    assert_eq!(back.source.version_from, "catalog");
    assert!(!back.source.has_prose);
    assert_eq!(back.tactics, stripped.tactics);
    assert_eq!(back.techniques, stripped.techniques);
    assert_eq!(back.detection_strategies, stripped.detection_strategies);
    assert_eq!(back.analytics, stripped.analytics);
    assert_eq!(back.data_components, stripped.data_components);
    assert_eq!(back.groups, stripped.groups);
    assert_eq!(back.software, stripped.software);
    assert_eq!(back.campaigns, stripped.campaigns);
    assert_eq!(back.mitigations, stripped.mitigations);
    assert_eq!(back.data_sources, stripped.data_sources);
    // Facts survive: machine channels stay, prose channels go.
    let mail = back.analytic("AN0188").unwrap();
    assert_eq!(
        mail.log_sources[0].channel.as_deref(),
        Some("MailItemsAccessed")
    );
    assert_eq!(mail.log_sources[0].channel_text, None);
    assert!(back.technique("T1059.001").is_some());
    // Compiling the catalog again gives the same bytes (the source block records the new origin).
    let mut again = back.clone();
    again.source = stripped.source.clone();
    assert_eq!(compile_catalog(&again), text);

    // load_path recognises a catalog file by its first key.
    let dir = common::scratch();
    let file = dir.path().join("catalog.json");
    std::fs::write(&file, &text).unwrap();
    let again = load_path(&file, &LoadOptions::default()).unwrap();
    assert_eq!(again.techniques, stripped.techniques);
}

#[test]
fn embedded_catalog_is_v18_1() {
    let kb = embedded();
    assert_eq!(kb.source.origin, "embedded");
    assert_eq!(kb.source.version, "18.1");
    assert_eq!(kb.source.version_from, "catalog");
    assert!(!kb.source.has_prose);
    assert_eq!(kb.tactics.len(), 14);
    assert!(kb.technique("T1059.001").is_some());
    assert_eq!(kb.resolve_revoked("T1086").unwrap().id, "T1059.001");
}
