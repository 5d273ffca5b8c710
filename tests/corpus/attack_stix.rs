//! Loading STIX bundles: the hand-written fixtures (always) and the real bundles in `../shared`.

#![allow(clippy::print_stderr)] // skip notices and measured figures go to the test log

use attacktrace::attack::channel::{channel_form, ChannelForm};
use attacktrace::attack::stats::stats;
use attacktrace::attack::{load_bundle, load_path, AttackError, KnowledgeBase, LoadOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> KnowledgeBase {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/attack")
        .join(name);
    load_path(&p, &LoadOptions::default()).expect("fixture loads")
}

/// A bundle in `../shared/attack` (see `common::shared` for the skip and the CI failure).
fn shared(name: &str) -> Option<PathBuf> {
    Some(crate::common::shared()?.join("attack").join(name))
}

#[test]
fn v18_fixture_structure() {
    let kb = fixture("mini-v18.json");
    assert!(kb.warnings.is_empty(), "{:?}", kb.warnings);
    assert_eq!(kb.source.domain, "enterprise-attack");
    assert_eq!(kb.source.stix_version, "2.0");
    assert!(kb.source.has_prose);
    let order: Vec<&str> = kb.tactics.iter().map(|t| t.shortname.as_str()).collect();
    assert_eq!(
        order,
        [
            "reconnaissance",
            "initial-access",
            "execution",
            "defense-evasion"
        ]
    );
    let ids: Vec<&str> = kb.techniques.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "T1059",
            "T1059.001",
            "T1064",
            "T1086",
            "T1566",
            "T1595",
            "T1595.001"
        ]
    );

    let t1059 = kb.technique("t1059").unwrap();
    assert_eq!(t1059.subtechniques, ["T1059.001"]);
    assert_eq!(t1059.detection_strategies, ["DET0516"]);
    let ps = kb.technique("T1059.001").unwrap();
    assert_eq!(ps.parent.as_deref(), Some("T1059"));
    assert!(ps.is_subtechnique);
    assert_eq!(
        ps.url.as_deref(),
        Some("https://attack.mitre.org/techniques/T1059/001")
    );
    assert_eq!(ps.references.len(), 2);
    assert!(ps.description.as_deref().unwrap().contains("(Citation:"));
    assert_eq!(
        ps.detection_text, None,
        "empty v18 detection text is dropped"
    );
    // Tactics follow matrix order, not the order in the object.
    assert_eq!(
        kb.technique("T1064").unwrap().tactics,
        ["execution", "defense-evasion"]
    );
    assert!(kb.technique("T1064").unwrap().deprecated);
    let old = kb.technique("T1086").unwrap();
    assert!(old.revoked);
    assert_eq!(old.revoked_by.as_deref(), Some("T1059.001"));
    assert_eq!(kb.resolve_revoked("T1086").unwrap().id, "T1059.001");
    // The revoked sub-technique-less T1086 is not listed anywhere as a sub-technique.
    assert_eq!(kb.technique("T1595").unwrap().subtechniques, ["T1595.001"]);

    let det = kb.strategy("DET0516").unwrap();
    assert_eq!(det.analytics, ["AN1428", "AN1429", "AN1430"]);
    assert_eq!(det.techniques, ["T1059"]);
    let pairs = kb.analytics_of(t1059);
    assert_eq!(pairs.len(), 3);

    let win = kb.analytic("AN1428").unwrap();
    assert_eq!(win.platforms, ["Windows"]);
    assert_eq!(win.log_sources[0].data_component, "DC0032");
    assert_eq!(win.log_sources[0].name, "WinEventLog:Sysmon");
    assert_eq!(win.log_sources[0].channel.as_deref(), Some("EventCode=1"));
    assert_eq!(win.log_sources[0].channel_text, None);
    assert_eq!(
        win.log_sources[1].channel.as_deref(),
        Some("EventCode=4688")
    );
    assert_eq!(win.mutable_elements[0].field, "ParentImage");
    assert!(win.mutable_elements[0].description.is_some());
    assert!(win.description.is_some());
    let mac = kb.analytic("AN1430").unwrap();
    assert_eq!(mac.log_sources[0].channel, None);
    assert!(mac.log_sources[0].channel_text.is_some());
    let mail = kb.analytic("AN0188").unwrap();
    assert_eq!(
        mail.log_sources[0].channel.as_deref(),
        Some("MailItemsAccessed")
    );
    assert!(mail.log_sources[0].channel_text.is_some());
    let pre = kb.analytic("AN1962").unwrap();
    assert!(pre
        .log_sources
        .iter()
        .all(|l| l.channel.as_deref() == Some("None") && l.channel_text.is_none()));

    let dc = kb.data_component("DC0032").unwrap();
    assert_eq!(dc.name, "Process Creation");
    assert_eq!(dc.data_source, None);
    assert_eq!(dc.log_sources.len(), 3);
    assert!(dc.log_sources.iter().all(|l| l.data_component == "DC0032"));

    let g = kb.group("g0016").unwrap();
    assert_eq!(g.techniques, ["T1059.001", "T1566"]);
    assert_eq!(g.aliases, ["APT29", "Fixture Bear"]);
    assert_eq!(kb.software[0].techniques, ["T1059.001"]);
    assert_eq!(kb.mitigations[0].techniques, ["T1566"]);
    assert_eq!(kb.campaigns[0].id, "C0024");

    let s = stats(&kb);
    assert_eq!((s.techniques, s.sub_techniques), (3, 2));
    assert_eq!((s.revoked, s.deprecated), (1, 1));
    assert_eq!((s.detection_strategies, s.analytics), (5, 7));
}

#[test]
fn v17_fixture_structure() {
    let kb = fixture("mini-v17-21.json");
    assert!(kb.warnings.is_empty(), "{:?}", kb.warnings);
    assert_eq!(kb.source.version, "17.1");
    assert_eq!(kb.source.version_from, "collection");
    assert_eq!(kb.source.stix_version, "2.1");
    assert!(!kb.has_detection_strategies());
    let t = kb.technique("T1059").unwrap();
    // The deprecated DC0039 -> T1059 link in the fixture is ignored.
    assert_eq!(t.data_components, ["DC0032", "DC0064"]);
    assert_eq!(
        t.data_sources,
        ["Command: Command Execution", "Process: Process Creation"]
    );
    assert!(t.detection_text.is_some());
    assert_eq!(
        kb.technique("T1566").unwrap().data_components,
        ["DC0038", "DC0039", "DC0078"]
    );
    assert_eq!(
        kb.data_component("DC0032").unwrap().data_source.as_deref(),
        Some("Process")
    );
    let ds: BTreeMap<&str, &Vec<String>> = kb
        .data_sources
        .iter()
        .map(|d| (d.id.as_str(), &d.techniques))
        .collect();
    assert_eq!(ds["DS0009"], &vec!["T1059".to_string(), "T1059.001".into()]);
    assert_eq!(ds["DS0029"].len(), 3);
}

#[test]
fn user_version_when_data_has_none() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attack/mini-v18.json");
    let bytes = std::fs::read(p).unwrap();
    let opts = LoadOptions {
        attack_version: Some("18.1".into()),
    };
    let kb = load_bundle(&bytes, "stdin", &opts).unwrap();
    assert_eq!(
        (kb.source.version.as_str(), kb.source.version_from.as_str()),
        ("18.1", "user")
    );
    let kb = load_bundle(&bytes, "stdin", &LoadOptions::default()).unwrap();
    assert_eq!(kb.source.version, "unknown");
}

#[test]
fn truncated_file_reports_path_and_position() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/attack/mini-v18.json");
    let bytes = std::fs::read(p).unwrap();
    let cut = &bytes[..bytes.len() / 2];
    let err = load_bundle(cut, "cut.json", &LoadOptions::default()).unwrap_err();
    match &err {
        AttackError::Json { line, .. } => assert!(*line > 1),
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().starts_with("cut.json:"), "{err}");
    let missing = load_path(Path::new("/nonexistent/x.json"), &LoadOptions::default());
    assert!(matches!(missing, Err(AttackError::Io { .. })));
}

#[test]
fn enterprise_18_1_counts() {
    let Some(p) = shared("enterprise-attack-18.1.json") else {
        return;
    };
    let kb = load_path(&p, &LoadOptions::default()).unwrap();
    assert!(kb.warnings.is_empty(), "{:?}", kb.warnings);
    assert_eq!(
        (kb.source.version.as_str(), kb.source.version_from.as_str()),
        ("18.1", "file-name")
    );
    let s = stats(&kb);
    assert_eq!(s.tactics, 14);
    assert_eq!((s.techniques, s.sub_techniques), (216, 475));
    assert_eq!((s.detection_strategies, s.analytics), (691, 1739));
    assert_eq!(s.data_components, 109);
    // Every active technique has exactly one strategy in v18.1.
    assert!(kb
        .techniques
        .iter()
        .filter(|t| t.is_active())
        .all(|t| t.detection_strategies.len() == 1));
    assert_eq!(kb.resolve_revoked("T1086").unwrap().id, "T1059.001");

    // Channel forms of the analytic references (telemetry-facts.md section 3.3).
    let mut forms: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &kb.analytics {
        for l in &a.log_sources {
            let raw = l
                .channel_text
                .as_deref()
                .or(l.channel.as_deref())
                .unwrap_or("");
            *forms.entry(channel_form(raw).as_str()).or_default() += 1;
            assert!(!l.data_component.is_empty(), "{} has a dangling ref", a.id);
        }
    }
    eprintln!("channel forms: {forms:?}");
    assert_eq!(forms[ChannelForm::EventCode.as_str()], 1290);
    assert_eq!(forms[ChannelForm::Identifier.as_str()], 685);
    assert_eq!(forms[ChannelForm::IdentifierText.as_str()], 212);
    assert_eq!(forms[ChannelForm::Prose.as_str()], 1812);
    assert_eq!(forms[ChannelForm::None.as_str()], 127);
}

#[test]
fn enterprise_17_1_uses_data_components() {
    let Some(p) = shared("enterprise-attack-17.1.json") else {
        return;
    };
    let kb = load_path(&p, &LoadOptions::default()).unwrap();
    assert!(!kb.has_detection_strategies());
    let t = kb.technique("T1059.001").unwrap();
    assert!(t.data_components.contains(&"DC0032".to_string()));
    assert!(t
        .data_sources
        .iter()
        .any(|d| d == "Process: Process Creation"));
    assert!(t.detection_text.is_some());
}

#[test]
fn mobile_and_ics_domains() {
    let Some(mobile) = shared("mobile-attack-18.1.json") else {
        return;
    };
    let kb = load_path(&mobile, &LoadOptions::default()).unwrap();
    assert_eq!(kb.source.domain, "mobile-attack");
    // The revoked "Network-Based Effects" matrix does not contribute tactics.
    assert_eq!(kb.tactics.len(), 12);
    assert!(kb.techniques.iter().all(|t| t.tactics.len() <= 3));
    let Some(ics) = shared("ics-attack-18.1.json") else {
        return;
    };
    let kb = load_path(&ics, &LoadOptions::default()).unwrap();
    assert_eq!(kb.source.domain, "ics-attack");
    assert_eq!(
        (kb.source.version.as_str(), kb.source.version_from.as_str()),
        ("18.1", "collection")
    );
    assert_eq!(kb.source.stix_version, "2.1");
    assert_eq!(kb.tactics.len(), 12);
    assert!(kb.technique("T0803").is_some());
    assert!(kb
        .techniques
        .iter()
        .filter(|t| t.is_active())
        .all(|t| !t.tactics.is_empty()));
}
