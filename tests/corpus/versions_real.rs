//! Version tools on MITRE's real bundles in `../shared/attack` (skipped with a notice without them):
//! the v17.1 -> v18.1 diff checked against an independent count made here from the raw JSON, a
//! migration of a small v17-tagged fixture repository, and mobile / ICS end to end.
#![allow(clippy::print_stderr)]

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// `../shared/attack` (see `common::shared` for the skip and the CI failure).
fn attack_dir() -> Option<PathBuf> {
    Some(crate::common::shared()?.join("attack"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let r = crate::common::run(args);
    (r.code, r.stdout, r.stderr)
}

/// Technique facts straight from the bundle: ID -> (name, revoked, deprecated, phases).
#[allow(clippy::type_complexity)]
fn raw(
    path: &Path,
) -> (
    BTreeMap<String, (String, bool, bool, BTreeSet<String>)>,
    BTreeSet<String>,
    BTreeSet<String>,
) {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let ext_id = |o: &Value| -> Option<String> {
        o["external_references"]
            .as_array()?
            .iter()
            .find(|r| r["source_name"] == "mitre-attack")?["external_id"]
            .as_str()
            .map(String::from)
    };
    let (mut techs, mut tactics, mut strategies) =
        (BTreeMap::new(), BTreeSet::new(), BTreeSet::new());
    for o in v["objects"].as_array().unwrap() {
        let Some(id) = ext_id(o) else { continue };
        match o["type"].as_str().unwrap_or("") {
            "attack-pattern" => {
                let phases = o["kill_chain_phases"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p["phase_name"].as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                techs.insert(
                    id,
                    (
                        o["name"].as_str().unwrap_or("").to_string(),
                        o["revoked"].as_bool().unwrap_or(false),
                        o["x_mitre_deprecated"].as_bool().unwrap_or(false),
                        phases,
                    ),
                );
            }
            "x-mitre-tactic" => {
                tactics.insert(format!("{id} {}", o["name"].as_str().unwrap_or("")));
            }
            "x-mitre-detection-strategy" => {
                strategies.insert(id);
            }
            _ => {}
        }
    }
    (techs, tactics, strategies)
}

#[test]
fn enterprise_17_to_18_diff_matches_an_independent_count() {
    let Some(dir) = attack_dir() else { return };
    let (old_p, new_p) = (
        dir.join("enterprise-attack-17.1.json"),
        dir.join("enterprise-attack-18.1.json"),
    );
    let (old, old_tac, old_det) = raw(&old_p);
    let (new, new_tac, new_det) = raw(&new_p);
    let active = |t: &(String, bool, bool, BTreeSet<String>)| !t.1 && !t.2;
    let added = new
        .iter()
        .filter(|(id, t)| active(t) && !old.contains_key(*id))
        .count();
    let revoked = old
        .iter()
        .filter(|(id, t)| !t.1 && new.get(*id).is_some_and(|n| n.1))
        .count();
    let deprecated = old
        .iter()
        .filter(|(id, t)| active(t) && new.get(*id).is_some_and(|n| n.2 && !n.1))
        .count();
    let both: Vec<_> = old
        .iter()
        .filter_map(|(id, o)| {
            new.get(id)
                .filter(|n| active(o) && active(n))
                .map(|n| (o, n))
        })
        .collect();
    let renamed = both.iter().filter(|(o, n)| o.0 != n.0).count();
    let moved = both.iter().filter(|(o, n)| o.3 != n.3).count();
    let det_added = new_det.difference(&old_det).count();
    let tactics_changed = old_tac.symmetric_difference(&new_tac).count();

    let (code, out, err) = run(&[
        "attack",
        "diff",
        old_p.to_str().unwrap(),
        new_p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let d: Value = serde_json::from_str(&out).unwrap();
    let n = |k: &str| d[k].as_array().unwrap().len();
    eprintln!(
        "v17.1 -> v18.1: added {added}, revoked {revoked}, deprecated {deprecated}, renamed {renamed}, moved {moved}, strategies added {det_added}"
    );
    assert_eq!(n("techniques_added"), added);
    assert_eq!(n("techniques_revoked"), revoked);
    assert_eq!(n("techniques_deprecated"), deprecated);
    assert_eq!(n("techniques_renamed"), renamed);
    assert_eq!(n("techniques_moved"), moved);
    assert_eq!(n("detection_strategies_added"), det_added);
    assert_eq!(
        n("tactics_added") + n("tactics_removed") + n("tactics_renamed"),
        tactics_changed
    );
    // Facts pinned from this release pair (IDs and counts only).
    assert_eq!((added, revoked, renamed, det_added), (12, 0, 2, 691));
    // And the reverse direction mirrors it.
    let (_, back, _) = run(&[
        "attack",
        "diff",
        new_p.to_str().unwrap(),
        old_p.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let back: Value = serde_json::from_str(&back).unwrap();
    assert_eq!(back["techniques_removed"].as_array().unwrap().len(), added);
    assert_eq!(
        back["detection_strategies_removed"]
            .as_array()
            .unwrap()
            .len(),
        det_added
    );
}

#[test]
fn migrate_fixture_repository_from_17_to_18() {
    let Some(dir) = attack_dir() else { return };
    let (old_p, new_p) = (
        dir.join("enterprise-attack-17.1.json"),
        dir.join("enterprise-attack-18.1.json"),
    );
    let (code, out, err) = run(&[
        "migrate",
        "tests/fixtures/versions/rules-v17",
        "--from",
        old_p.to_str().unwrap(),
        "--to",
        new_p.to_str().unwrap(),
        "--dry-run",
    ]);
    // T1064 is deprecated without a replacement: a person decides, so exit 1.
    assert_eq!(code, 1, "{err}");
    insta::assert_snapshot!("migrate_v17_v18_dry_run", out);
    assert!(err.contains("attack.t1086 -> attack.t1059.001"), "{err}");
    assert!(err.contains("NEEDS A PERSON: attack.t1064"), "{err}");
    assert!(
        err.contains("3 rules checked, 1 to change, 1 questions"),
        "{err}"
    );
}

#[test]
fn mobile_and_ics_end_to_end() {
    let Some(dir) = attack_dir() else { return };
    for (bundle, rule, technique, domain) in [
        (
            "mobile-attack-18.1.json",
            "mobile_obfuscated_app.yml",
            "T1406.002",
            "mobile-attack",
        ),
        (
            "ics-attack-18.1.json",
            "ics_cli_on_hmi.yml",
            "T0807",
            "ics-attack",
        ),
    ] {
        let attack = dir.join(bundle);
        let attack = attack.to_str().unwrap();
        let rule = format!("tests/fixtures/versions/mobile-ics/{rule}");
        let (code, out, err) = run(&[
            "--attack",
            attack,
            "-q",
            "technique",
            technique,
            "--rules",
            &rule,
        ]);
        assert_eq!(code, 0, "{domain}: {err}");
        assert!(out.contains(&format!("ATT&CK {domain} v18.1")), "{out}");
        assert!(
            out.contains(&rule),
            "{domain}: the card lists the tagged rule\n{out}"
        );
        let (code, out, err) = run(&[
            "--attack", attack, "-q", "coverage", &rule, "--format", "json",
        ]);
        assert_eq!(code, 0, "{domain}: {err}");
        let cov: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(cov["attack"]["domain"], domain);
        assert!(
            cov["totals"]["claimed"].as_u64().unwrap() >= 1,
            "{domain}: {}",
            cov["totals"]
        );
        let (code, out, err) = run(&["--attack", attack, "-q", "check", &rule, "--format", "json"]);
        assert_eq!(code, 0, "{domain}: {err}\n{out}");
        assert!(
            !out.contains("unknown_tactic") && !out.contains("attack_tag_unknown"),
            "{domain}: {out}"
        );
    }
}
