//! The guidance families of `mappings/guidance.yaml` against the embedded ATT&CK catalog: every
//! technique ID the file names exists, and every family's text fills without a placeholder.

use attacktrace::attack::catalog;
use attacktrace::guidance::{family_for, guidance_file, Vars};

/// `T` + four digits, optionally `.` + three digits, as they appear in the file's text.
fn technique_ids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..b.len() {
        let starts = b[i] == b'T' && (i == 0 || !b[i - 1].is_ascii_alphanumeric());
        if !starts || i + 5 > b.len() || !b[i + 1..i + 5].iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut end = i + 5;
        if b.len() >= end + 4
            && b[end] == b'.'
            && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
        {
            end += 4;
        }
        out.push(text[i..end].to_string());
    }
    out
}

#[test]
fn every_technique_id_in_guidance_yaml_exists_in_the_catalog() {
    let kb = catalog::embedded();
    let text = include_str!("../../mappings/guidance.yaml");
    let ids = technique_ids(text);
    assert!(ids.len() > 60, "the scan finds the IDs ({})", ids.len());
    for id in ids {
        let t = kb.technique(&id);
        assert!(
            t.is_some_and(|t| t.is_active()),
            "{id} is not an active v18.1 technique"
        );
    }
}

#[test]
fn every_family_fills_without_placeholder_for_its_own_techniques() {
    let kb = catalog::embedded();
    for f in &guidance_file().families {
        let Some(id) = f.matches.first() else {
            continue;
        };
        let t = kb.technique(id).expect("checked above");
        let vars = Vars {
            id: t.id.clone(),
            name: t.name.clone(),
            tactics: t.tactics.join(", "),
            platforms: attacktrace::guidance::platforms_text(&t.platforms, "enterprise-attack"),
            data_components: "none named".into(),
            log_sources: "none named".into(),
        };
        for text in [&f.why, &f.build, &f.actionable]
            .into_iter()
            .chain(&f.checklist)
        {
            let filled = vars.fill(text);
            assert!(!filled.contains(['{', '}']), "{}: {filled}", f.key);
            assert!(!filled.contains("on None"), "{}: {filled}", f.key);
        }
        // The most specific match: every listed ID chooses this family.
        for m in &f.matches {
            assert_eq!(
                family_for(m, "enterprise-attack").map(|x| &x.key),
                Some(&f.key)
            );
        }
    }
}

#[test]
fn the_issue_families_are_written() {
    let want = [
        ("T1595.001", "scanning-ip-blocks"),
        ("T1595.002", "vulnerability-scanning"),
        ("T1595.003", "wordlist-scanning"),
        ("T1598.002", "phishing-for-information"),
        ("T1589.001", "gather-victim-information"),
        ("T1596.002", "search-open-closed-sources"),
        ("T1583.004", "acquire-infrastructure"),
        ("T1584.008", "compromise-infrastructure"),
        ("T1587.004", "develop-capabilities"),
        ("T1588.007", "obtain-capabilities"),
        ("T1608.006", "stage-capabilities"),
        ("T1586.003", "establish-compromise-accounts"),
        ("T1195.003", "hardware-supply-chain"),
        ("T1657", "financial-theft"),
        ("T1566.004", "voice-phishing"),
        ("T1498.002", "network-denial-of-service"),
        ("T1499.003", "endpoint-denial-of-service"),
        ("T1669", "wireless"),
        ("T1659", "content-injection"),
    ];
    for (id, key) in want {
        assert_eq!(
            family_for(id, "enterprise-attack").map(|f| f.key.as_str()),
            Some(key),
            "{id}"
        );
    }
    // Each family says something of its own.
    let whys: std::collections::BTreeSet<&str> = guidance_file()
        .families
        .iter()
        .map(|f| f.why.as_str())
        .collect();
    assert_eq!(whys.len(), guidance_file().families.len());
}
