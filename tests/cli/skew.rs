//! Issue #15: rules tagged for another ATT&CK release than the data. Every report says so on top,
//! a baseline comparison keeps version-caused drops apart from real losses, and `migrate` lists
//! the tags its source data does not know.

use crate::common::{run, scratch};

/// v19 tags (`attack.stealth`, `attack.defense-impairment`, `T1685.001`) for the v18.1 catalog.
const V19_RULES: &str = "tests/fixtures/coverage/skew";
const V18_RULES: &str = "tests/fixtures/versions/rules";
const V18_DATA: &str = "tests/fixtures/versions/v18-mini.json";
const V19_DATA: &str = "tests/fixtures/versions/v19-mini.json";

const SKEW: &str = "ATT&CK version skew: 2 rule(s) are tagged for another release than the data (enterprise-attack v18.1): tactics of another release: defense-impairment (enterprise 19, 1 rule), stealth (enterprise 19, 1 rule); techniques newer than the data: T1685.001 (1 rule)";

#[test]
fn every_coverage_format_says_so_on_top() {
    let text = run(&["coverage", V19_RULES]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let second = text.stdout.lines().nth(1).unwrap();
    assert!(second.starts_with(&format!("Warning: {SKEW}")), "{second}");
    let md = run(&["coverage", V19_RULES, "--format", "markdown"]);
    assert!(
        md.stdout
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("> **Warning:** ATT&amp;CK version skew")
            || md
                .stdout
                .lines()
                .nth(2)
                .unwrap()
                .starts_with("> **Warning:** ATT&CK version skew"),
        "{}",
        md.stdout
    );
    let html = run(&["coverage", V19_RULES, "--format", "html"]);
    let banner = html.stdout.find("class=\"skew\"").expect("skew banner");
    assert!(banner < html.stdout.find("class=\"legend\"").unwrap());
    let json = run(&["coverage", V19_RULES, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["skew"]["rules"], 2);
    let tags: Vec<&str> = v["skew"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["defense-impairment", "stealth", "T1685.001"]);
    let nav = run(&["coverage", V19_RULES, "--format", "navigator"]);
    let v: serde_json::Value = serde_json::from_str(&nav.stdout).unwrap();
    assert!(v["description"]
        .as_str()
        .unwrap()
        .starts_with("Warning: ATT&CK version skew"));
    // Matching data: no warning anywhere.
    let clean = run(&[
        "coverage",
        "tests/fixtures/coverage/rules",
        "--format",
        "json",
    ]);
    assert!(!clean.stdout.contains("\"skew\""));
    assert!(!run(&["coverage", "tests/fixtures/coverage/rules"])
        .stdout
        .contains("version skew"));
}

#[test]
fn check_says_so_on_top_and_in_the_summary() {
    let text = run(&["check", V19_RULES]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout.starts_with(&format!("warning: {SKEW}")),
        "{}",
        text.stdout
    );
    assert_eq!(text.stdout.matches("version skew").count(), 1);
    let json = run(&["check", V19_RULES, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["skew"]["rules"], 2);
    assert!(
        json.stderr.starts_with(&format!("warning: {SKEW}")),
        "{}",
        json.stderr
    );
    let gh = run(&["check", V19_RULES, "--format", "github"]);
    assert!(
        gh.stdout
            .starts_with("::warning title=attack_version_skew::ATT&CK version skew"),
        "{}",
        gh.stdout
    );
    let sarif = run(&["check", V19_RULES, "--format", "sarif"]);
    assert!(sarif.stdout.contains("attack_version_skew"));
}

#[test]
fn a_baseline_keeps_release_changes_apart_from_losses() {
    let tmp = scratch();
    let base = tmp.path().join("v18.json");
    let b = run(&[
        "--attack",
        V18_DATA,
        "coverage",
        V18_RULES,
        "--format",
        "json",
        "-o",
        &format!("json:{}", base.display()),
    ]);
    assert_eq!(b.code, 0, "{}", b.stderr);
    let base = base.to_str().unwrap();
    // Same rules, v19 data: T1562.* revoked, T1218 deprecated. Nothing is a loss.
    let r = run(&[
        "--attack",
        V19_DATA,
        "coverage",
        V18_RULES,
        "--baseline",
        base,
        "--fail-on-loss",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let d = &v["baseline"];
    assert_eq!(d["lost"].as_array().unwrap().len(), 0);
    let version: Vec<(String, String)> = d["version"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        version.contains(&("T1562.001".into(), "revoked".into())),
        "{version:?}"
    );
    assert!(
        version.contains(&("T1218".into(), "deprecated".into())),
        "{version:?}"
    );
    let revoked = d["version"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "T1562.001")
        .unwrap();
    assert_eq!(revoked["replacement"], "T1685.001");
    // Rule lists are titles.
    assert_eq!(
        revoked["rules"][0],
        "Security Tool Service Stopped (fixture)"
    );
    let text = run(&[
        "--attack",
        V19_DATA,
        "coverage",
        V18_RULES,
        "--baseline",
        base,
    ]);
    assert!(
        text.stdout
            .contains("Changed by the ATT&CK release, not by the rules"),
        "{}",
        text.stdout
    );
    // A rule removed on the same data is a real loss, named by its title.
    let cov = "tests/fixtures/coverage/rules";
    let base = tmp.path().join("full.json");
    let full = run(&["coverage", cov, "-o", &format!("json:{}", base.display())]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let fewer = tmp.path().join("fewer");
    std::fs::create_dir(&fewer).unwrap();
    for f in std::fs::read_dir(cov).unwrap() {
        let f = f.unwrap();
        if f.file_name() != "powershell_encoded.yml" {
            std::fs::copy(f.path(), fewer.join(f.file_name())).unwrap();
        }
    }
    let lost = run(&[
        "coverage",
        fewer.to_str().unwrap(),
        "--baseline",
        base.to_str().unwrap(),
        "--fail-on-loss",
        "--format",
        "json",
    ]);
    assert_eq!(lost.code, 1, "{}", lost.stderr);
    let v: serde_json::Value = serde_json::from_str(&lost.stdout).unwrap();
    let l = &v["baseline"]["lost"][0];
    assert_eq!(l["id"], "T1059.001");
    assert_eq!(l["rules_removed"][0], "Encoded PowerShell Command Line");
    assert!(v["baseline"].get("version").is_none());
}

#[test]
fn migrate_lists_tags_unknown_to_its_source() {
    let r = run(&["migrate", "--to", "embedded", "--dry-run", V19_RULES]);
    assert!(
        r.stderr.contains("warning: 3 tag(s) unknown to the source data (enterprise-attack 18.1), not migrated: attack.defense-impairment (1 rule), attack.stealth (1 rule), attack.t1685.001 (1 rule)"),
        "{}",
        r.stderr
    );
    let json = run(&[
        "migrate",
        "--to",
        "embedded",
        "--dry-run",
        "--format",
        "json",
        V19_RULES,
    ]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["plan"]["unknown_to_source"].as_array().unwrap().len(), 3);
}
