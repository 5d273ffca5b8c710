//! End-to-end `technique` and `attack info` runs on the real bundles and SigmaHQ in `../shared`
//! (moved from the CLI tests so every test that reads `../shared` is in this binary).

use crate::common::{run, scratch, shared, Run};

const FIXTURE_RULES: &str = "tests/fixtures/rules/valid";

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

#[test]
fn full_bundle_adds_prose_with_numbered_citations() {
    let Some(shared) = shared() else { return };
    let bundle = shared.join("attack/enterprise-attack-18.1.json");
    let b = bundle.to_str().unwrap();
    let r = run(&["--attack", b, "technique", "T1595"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Description"));
    assert!(!r.stdout.contains("(Citation:"));
    assert!(r.stdout.contains("[1] "), "numbered references");
    let j = run(&["--attack", b, "technique", "T1595", "--format", "json"]);
    let v = json(&j);
    assert!(v["detection"]["strategies"][0]["analytics"][0]["description"].is_string());
    assert_eq!(v["observability"]["class"], "no-portable-rule");
}

#[test]
fn t1059_001_with_sigmahq() {
    let Some(shared) = shared() else { return };
    let rules = shared.join("sigmahq/rules");
    let r = run(&[
        "technique",
        "T1059.001",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    let tagged = v["rules"]["tagged"].as_array().unwrap().len();
    assert!(
        tagged >= 150,
        "SigmaHQ tags T1059.001 on ~179 rules, got {tagged}"
    );
    assert_eq!(v["rules"]["covered"], true);
    // Paths differ per checkout, so the snapshot keeps counts and the first rules only.
    let summary = format!(
        "tagged: {}\ncandidates_total: {}\ncandidate_logsources: {}\nfirst: {}\n",
        tagged,
        v["rules"]["candidates_total"],
        v["rules"]["candidate_logsources"],
        v["rules"]["tagged"][0]["title"]
    );
    insta::assert_snapshot!("t1059_001_sigmahq_summary", summary);
}

#[test]
fn v17_bundle_card() {
    let Some(shared) = shared() else { return };
    let bundle = shared.join("attack/enterprise-attack-17.1.json");
    let b = bundle.to_str().unwrap();
    // Full bundle: the v17 model with MITRE's prose (asserted, never snapshotted: the repository
    // must not hold MITRE prose).
    let full = run(&["--attack", b, "technique", "T1595", "--format", "json"]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let v = json(&full);
    assert_eq!(v["attack"]["version"], "17.1");
    assert_eq!(v["detection"]["model"], "v17");
    assert!(v["detection"]["v17_text"]["text"].is_string());
    assert!(!full.stdout.contains("(Citation:"));
    assert_eq!(v["observability"]["class"], "no-portable-rule");
    assert_eq!(v["observability"]["basis"], "data-components");

    // The same card from a prose-free v17 catalog compiled by the tool itself: snapshotted.
    let dir = scratch();
    let catalog = dir.path().join("enterprise-attack-17.1.json");
    let c = run(&[
        "attack",
        "compile",
        b,
        "-o",
        catalog.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(c.code, 0, "{}", c.stderr);
    let cat = catalog.to_str().unwrap();
    let j = run(&["--attack", cat, "technique", "T1595", "--format", "json"]);
    assert_eq!(j.code, 0, "{}", j.stderr);
    insta::assert_snapshot!(
        "t1595_v17_json",
        j.stdout.replace(cat, "enterprise-attack-17.1.json")
    );
    let t = run(&[
        "--attack",
        cat,
        "technique",
        "T1059.001",
        "--rules",
        FIXTURE_RULES,
    ]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    insta::assert_snapshot!(
        "t1059_001_v17_text",
        t.stdout.replace(cat, "enterprise-attack-17.1.json")
    );
}

#[test]
fn other_domains_load() {
    let Some(shared) = shared() else { return };
    for (file, technique) in [
        ("mobile-attack-18.1.json", "T1404"),
        ("ics-attack-18.1.json", "T0800"),
    ] {
        let b = shared.join("attack").join(file);
        let r = run(&["--attack", b.to_str().unwrap(), "technique", technique]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        let i = run(&[
            "--attack",
            b.to_str().unwrap(),
            "attack",
            "info",
            "--format",
            "json",
        ]);
        assert_eq!(i.code, 0, "{file}: {}", i.stderr);
        assert_eq!(json(&i)["source"]["version"], "18.1", "{file}");
    }
}

/// The header and the guidance part of a card (MITRE's prose in between is not ours to pin).
fn header_and_guidance(card: &str) -> String {
    let header = card.split("\n\n").next().unwrap_or_default();
    let class = card
        .split("\n\n")
        .find(|b| b.starts_with("Observability:"))
        .unwrap_or("(no observability)");
    let guidance = card
        .find("\nNo portable rule for ")
        .or_else(|| card.find("\nBuilding detection for "))
        .map(|i| &card[i..])
        .unwrap_or("\n(no guidance)\n");
    format!("{header}\n...\n{class}\n...{guidance}")
}

/// The JSON card without MITRE's prose (descriptions, detection text, footnotes): the parts that
/// are ours or facts.
fn json_without_prose(mut v: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for k in [
                    "description",
                    "v17_text",
                    "channel_text",
                    "footnotes",
                    "statements",
                ] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    let keep = ["technique", "observability", "guidance", "checklist"];
    let mut out = serde_json::Value::Object(
        keep.iter()
            .map(|k| (k.to_string(), v[*k].clone()))
            .collect(),
    );
    // Sorted keys whatever serde_json's map order is (the evtx crate turns on `preserve_order`).
    out.sort_all_objects();
    out
}

/// ICS and mobile techniques: the domain's guidance family, and never "None" as platforms (ICS
/// v18.1 lists the placeholder platform "None").
#[test]
fn ics_and_mobile_cards_name_their_domain() {
    let Some(shared) = shared() else { return };
    for (bundle, id, family, name) in [
        ("ics-attack-18.1.json", "T0836", "ics", "ics_t0836"),
        ("mobile-attack-18.1.json", "T1407", "mobile", "mobile_t1407"),
    ] {
        let b = shared.join("attack").join(bundle);
        let b = b.to_str().unwrap();
        let r = run(&["--attack", b, "technique", id]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!r.stdout.contains("Platforms:      None"), "{id}");
        assert!(!r.stdout.contains("on None"), "{id}");
        assert!(
            !r.stdout.contains("[None]"),
            "{id}: analytics list no None platform"
        );
        let card = r.stdout.replace(b, bundle);
        insta::assert_snapshot!(format!("{name}_guidance"), header_and_guidance(&card));
        let j = json(&run(&["--attack", b, "technique", id, "--format", "json"]));
        assert_eq!(j["guidance"]["family"], family, "{id}");
        insta::assert_json_snapshot!(format!("{name}_json"), json_without_prose(j.clone()));
        let platforms = j["technique"]["platforms"].as_array().unwrap();
        assert!(!platforms.iter().any(|p| p == "None"), "{id}");
    }
}

/// ICS T0807 runs on the plant's Windows and Linux hosts: portable through process creation, so
/// its card gives no "no portable rule" guidance.
#[test]
fn ics_command_line_interface_is_portable() {
    let Some(shared) = shared() else { return };
    let b = shared.join("attack/ics-attack-18.1.json");
    let j = json(&run(&[
        "--attack",
        b.to_str().unwrap(),
        "technique",
        "T0807",
        "--format",
        "json",
    ]));
    assert_eq!(j["observability"]["class"], "portable");
    assert_eq!(j["observability"]["basis"], "data-components");
    assert!(j["guidance"].is_null());
}

/// Every ICS technique's card fills its platforms from the domain, never "None".
#[test]
fn no_ics_card_says_none_platforms() {
    let Some(shared) = shared() else { return };
    let b = shared.join("attack/ics-attack-18.1.json");
    let b = b.to_str().unwrap();
    for id in ["T0800", "T0814", "T0860", "T0887"] {
        let j = json(&run(&["--attack", b, "technique", id, "--format", "json"]));
        assert!(!j.to_string().contains("on None"), "{id}");
        let platforms = j["technique"]["platforms"].as_array().unwrap();
        assert!(!platforms.iter().any(|p| p == "None"), "{id}");
        assert!(
            j["technique"]["assets"].is_string(),
            "{id}: assets named instead"
        );
    }
}

#[test]
fn t1053_006_candidates_ranked_by_content() {
    // No SigmaHQ rule is tagged T1053.006; in path order "Binary Padding - Linux" headed the
    // candidates and the systemd rule was never shown. Ranked by content, it comes first.
    let Some(shared) = shared() else { return };
    let rules = shared.join("sigmahq/rules");
    let r = run(&[
        "technique",
        "T1053.006",
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    let candidates = v["rules"]["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 10);
    assert!(candidates[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("lnx_auditd_systemd_service_creation.yml"));
    let scores: Vec<f64> = candidates
        .iter()
        .map(|c| c["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    assert!(!candidates[0]["reasons"].as_array().unwrap().is_empty());
}
