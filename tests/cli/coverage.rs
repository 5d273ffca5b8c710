//! End-to-end runs of `attacktrace coverage`: exit codes, stdout and stderr together, `--output`
//! files (atomic, byte-identical across runs), the baseline gate and usage errors.

use crate::common::{run, scratch};

const RULES: &str = "tests/fixtures/coverage/rules";

#[test]
fn text_to_stdout_with_load_notice() {
    let r = run(&["coverage", RULES, "--include", "T1059"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r
        .stdout
        .starts_with("ATT&CK coverage: enterprise-attack v18.1"));
    assert!(
        r.stdout.contains("Gaps: 11 techniques without a rule"),
        "{}",
        r.stdout
    );
    assert_eq!(
        r.stderr,
        "note: 1 of 8 rule files could not be loaded; `attacktrace rules PATH` lists them\n"
    );
    let q = run(&["--quiet", "coverage", RULES, "--format", "markdown"]);
    assert_eq!(q.code, 0);
    assert_eq!(q.stderr, "");
    assert!(q.stdout.starts_with("## ATT&CK coverage"));
}

#[test]
fn outputs_are_written_and_identical_across_runs() {
    let tmp = scratch();
    let d = tmp.path().to_path_buf();
    let formats = ["text", "markdown", "json", "csv", "navigator", "html"];
    let mut paths = Vec::new();
    for round in 0..2 {
        let mut args: Vec<String> = vec!["-q".into(), "coverage".into(), RULES.into()];
        for f in formats {
            let p = d.join(format!("{round}.{f}"));
            args.push("--output".into());
            args.push(format!("{f}:{}", p.display()));
            paths.push(p);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(r.stdout, "", "no stdout when only --output is given");
    }
    for f in formats {
        let a = std::fs::read(d.join(format!("0.{f}"))).unwrap();
        let b = std::fs::read(d.join(format!("1.{f}"))).unwrap();
        assert!(!a.is_empty(), "{f} empty");
        assert!(a == b, "{f} differs between runs");
    }
    // No temporary files left behind.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 12);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("0.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "attacktrace.coverage/1");
}

#[test]
fn baseline_gate_fails_on_loss() {
    let tmp = scratch();
    let d = tmp.path().to_path_buf();
    let base = d.join("base.json");
    let r = run(&[
        "-q",
        "coverage",
        RULES,
        "--output",
        &format!("json:{}", base.display()),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Same rules: clean.
    let same = run(&[
        "-q",
        "coverage",
        RULES,
        "--baseline",
        base.to_str().unwrap(),
        "--fail-on-loss",
    ]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert!(same
        .stdout
        .contains("Baseline: 0 gained, 0 lost, 0 changed, 0 left scope"));
    // Drop every rule but one: losses, exit 1, the losses named on stderr when stdout is unused.
    let d2 = d.join("out.json");
    let lost = run(&[
        "-q",
        "coverage",
        "tests/fixtures/coverage/rules/powershell_encoded.yml",
        "--baseline",
        base.to_str().unwrap(),
        "--fail-on-loss",
        "--output",
        &format!("json:{}", d2.display()),
    ]);
    assert_eq!(lost.code, 1);
    assert!(
        lost.stderr
            .contains("lost: T1003.001 LSASS Memory (tagged -> none)"),
        "{}",
        lost.stderr
    );
    assert!(lost
        .stderr
        .ends_with("error: 7 technique(s) lost coverage or tier against the baseline\n"));
    // Without --fail-on-loss the same diff is a report, not a failure.
    let report = run(&[
        "-q",
        "coverage",
        "tests/fixtures/coverage/rules/powershell_encoded.yml",
        "--baseline",
        base.to_str().unwrap(),
    ]);
    assert_eq!(report.code, 0);
    assert!(report
        .stdout
        .contains("  lost    T1003.001  tagged -> none"));
}

#[test]
fn usage_errors_exit_2() {
    for (args, msg) in [
        (
            vec!["coverage", RULES, "--output", "pdf:x.pdf"],
            "unknown format `pdf`",
        ),
        (
            vec!["coverage", RULES, "--output", "report.html"],
            "expected FORMAT:PATH",
        ),
        (
            vec!["coverage", RULES, "--tactic", "execusion"],
            "--tactic `execusion`",
        ),
        (
            vec!["coverage", RULES, "--group", "NoSuchGroup"],
            "unknown group",
        ),
        (vec!["coverage", RULES, "--include", "T9"], "--include `T9`"),
        (
            vec![
                "coverage",
                RULES,
                "--baseline",
                "tests/fixtures/coverage/profile.yml",
            ],
            "not an attacktrace coverage JSON file",
        ),
        (
            vec![
                "coverage",
                RULES,
                "--profile",
                "tests/fixtures/coverage/rules/broken.yml",
            ],
            "profile",
        ),
        (vec!["coverage", RULES, "--fail-on-loss"], "--baseline"),
    ] {
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(msg), "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn group_scope_from_cli() {
    let r = run(&[
        "-q", "coverage", RULES, "--group", "APT29", "--format", "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["scope"]["group"]["id"], "G0016");
    assert!(v["scope"]["description"]
        .as_str()
        .unwrap()
        .starts_with("techniques used by G0016"));
}

/// Issue #15: the HTML report shows rule paths from the repository root (`--root`), links them
/// with `--link-base`, and has a gaps table and per-tactic bars; PRE tactics start folded.
#[test]
fn html_paths_from_the_root_with_links_gaps_and_bars() {
    let r = run(&[
        "coverage",
        RULES,
        "--format",
        "html",
        "--root",
        "tests/fixtures/coverage",
        "--link-base",
        "https://git.example/repo/blob/main",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "<a href=\"https://git.example/repo/blob/main/rules/powershell_encoded.yml\">rules/powershell_encoded.yml:"
        ),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("tests/fixtures/coverage/rules/"));
    assert!(r.stdout.contains("<h2 id=\"gaps\">Gaps ("));
    assert!(r.stdout.contains("<table class=\"bars\">"));
    assert!(r
        .stdout
        .contains("<section class=\"col folded\" data-tactic=\"reconnaissance\">"));
    // Without --root: from the repository of the working directory, i.e. as given here.
    let plain = run(&["coverage", RULES, "--format", "html"]);
    assert!(plain
        .stdout
        .contains("tests/fixtures/coverage/rules/powershell_encoded.yml:"));
    assert!(!plain.stdout.contains("<a href=\"http"));
}

/// Issue #15: counts and spellings agree across commands and formats: `not_evaluable` in `rules`
/// and `coverage`, each technique's class in CSV and JSON.
#[test]
fn counts_and_classes_agree_across_formats() {
    let f = "tests/fixtures/check/rules/detection_not_evaluable.yml";
    let rules = run(&["-q", "rules", f, "--format", "json"]);
    let cov = run(&["-q", "coverage", f, "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&rules.stdout).unwrap();
    let c: serde_json::Value = serde_json::from_str(&cov.stdout).unwrap();
    assert_eq!(r["summary"]["not_evaluable"], 1);
    assert_eq!(c["load"]["not_evaluable"], r["summary"]["not_evaluable"]);

    let json = run(&["-q", "coverage", RULES, "--format", "json"]);
    let csv = run(&["-q", "coverage", RULES, "--format", "csv"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let class: std::collections::BTreeMap<&str, &str> = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["class"].as_str().unwrap()))
        .collect();
    for line in csv.stdout.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(class[cols[2]], cols[6], "{line}");
    }
}

/// Rules claiming a guidance technique are scored by the content model: the one whose detection
/// points at another technique is a likely mis-tag, the ones whose content fits are only claimed.
#[test]
fn guidance_claims_are_judged_by_content() {
    let dirs = [
        "tests/fixtures/suggest/reference",
        "tests/fixtures/coverage/guidance",
    ];
    let r = run(&[
        "--quiet",
        "coverage",
        dirs[0],
        dirs[1],
        "--score-claims",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let row = v["guidance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "T1595")
        .expect("T1595 is a guidance row");
    let rules = v["rules"].as_array().unwrap();
    let mut mistags = Vec::new();
    for c in row["rules"].as_array().unwrap() {
        let path = rules[c["rule"].as_u64().unwrap() as usize]["path"]
            .as_str()
            .unwrap();
        assert!(c["score"].is_number(), "{c}");
        if c["likely_mistag"] == true {
            assert_eq!(c["suggested"]["technique"], "T1490", "{c}");
            mistags.push(path.to_string());
        } else {
            assert!(path.contains("/scan_"), "{path}: {c}");
        }
    }
    assert_eq!(
        mistags,
        ["tests/fixtures/coverage/guidance/shadow_claimed.yml"]
    );
    // Without `--score-claims` no claim is called a mis-tag: they are listed as not judged.
    let plain = run(&["--quiet", "coverage", dirs[0], dirs[1]]).stdout;
    assert!(!plain.contains("Likely mis-tags"), "{plain}");
    assert!(plain.contains("not judged by content"), "{plain}");
    let text = run(&["--quiet", "coverage", dirs[0], dirs[1], "--score-claims"]).stdout;
    let mis = text.find("Likely mis-tags").expect("mis-tag section");
    let claimed = text
        .find("Claimed guidance techniques")
        .expect("claims section");
    assert!(text[mis..claimed].contains("shadow_claimed.yml"));
    assert!(text[mis..claimed].contains("detection points at T1490"));
    assert!(!text[mis..claimed].contains("scan_0.yml"));
    assert!(text[claimed..].contains("scan_0.yml"));
}
