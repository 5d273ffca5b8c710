//! End-to-end runs of `attacktrace check`: exit codes, every output format, configuration
//! (native and pySigma), inline suppression, the coverage gate and `--fix`. Each test pins exit code,
//! stdout and stderr together.

use crate::common::{root, run, run_in, scratch};

const F: &str = "tests/fixtures/check/rules";
const C: &str = "tests/fixtures/check/config";

fn fx(name: &str) -> String {
    format!("{F}/{name}")
}

#[test]
fn clean_rule_exits_0() {
    let r = run(&["check", &fx("clean.yml")]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    assert_eq!(
        r.stdout,
        "0 error(s), 0 warning(s), 0 info; 0 suppressed. 1 rules from 1 files (1 loaded, 0 not loaded). ATT&CK enterprise-attack 18.1. Config: none. Fail level error: passed.\n"
    );
}

#[test]
fn text_output_is_rustc_style_with_summary() {
    let r = run(&[
        "check",
        &fx("attacktag.yml"),
        &fx("field_unknown.yml"),
        &fx("yaml_error.yml"),
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (1, ""));
    insta::assert_snapshot!("text_three_fixtures", r.stdout);
}

#[test]
fn fail_level_decides_the_exit_code() {
    let warn_only = fx("field_unknown.yml");
    assert_eq!(run(&["check", &warn_only]).code, 0);
    let r = run(&["check", &warn_only, "--fail-level", "warning"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("Fail level warning: FAILED."));
    assert_eq!(run(&["check", &fx("status_existence.yml")]).code, 0);
    assert_eq!(
        run(&["check", &fx("status_existence.yml"), "--fail-level", "info"]).code,
        1
    );
}

#[test]
fn json_junit_github_formats() {
    let args = |format: &str| {
        run(&[
            "check",
            &fx("identifier_uniqueness"),
            &fx("date_format.yml"),
            "--format",
            format,
        ])
    };
    let j = args("json");
    assert_eq!(j.code, 1);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["schema"], "attacktrace.check/1");
    assert_eq!(v["summary"][0]["code"], "identifier_uniqueness");
    assert!(
        j.stderr.ends_with("Fail level error: FAILED.\n"),
        "{}",
        j.stderr
    );
    let x = args("junit");
    assert_eq!(x.code, 1);
    insta::assert_snapshot!("junit", x.stdout);
    let g = args("github");
    assert_eq!(g.code, 1);
    insta::assert_snapshot!("github", g.stdout);
    let q = run(&["check", &fx("clean.yml"), "--format", "json", "--quiet"]);
    assert_eq!((q.code, q.stderr.as_str()), (0, ""));
}

#[test]
fn pysigma_config_loads_with_one_notice() {
    let r = run(&[
        "check",
        &fx("custom_attributes.yml"),
        &fx("field_unknown.yml"),
        &fx("duplicate_tag.yml"),
        "--config",
        &format!("{C}/sigma_cli_conf.yml"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        r.stderr,
        "note: tests/fixtures/check/config/sigma_cli_conf.yml: ignored 9 name(s) with no attacktrace counterpart: config.sigmahq_title_length, escaped_wildcard, number_as_string, sigmahq_fieldname_cast, sigmahq_filename_prefix, sigmahq_logsource_coherent, sigmahq_logsource_known, tlptag, tlpv1_tag\n"
    );
    // custom_attributes and field_unknown excluded for their rules; duplicate_tag still reported.
    assert!(r.stdout.contains("warning[duplicate_tag]"));
    assert!(!r.stdout.contains("[custom_attributes]") && !r.stdout.contains("[field_unknown]"));
    assert!(r.stdout.contains("; 3 suppressed."), "{}", r.stdout);
}

#[test]
fn native_config_show_config_and_errors() {
    let strict = format!("{C}/strict.yml");
    let s = run(&["check", "--show-config", "--config", &strict]);
    assert_eq!((s.code, s.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("show_config_strict", s.stdout);
    // fail-level warning from the file; simulation allowed; duplicate_title raised to error.
    let r = run(&["check", &fx("duplicate_title"), "--config", &strict]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("error[duplicate_title]"));
    let r = run(&["check", &fx("custom_attributes.yml"), "--config", &strict]);
    assert!(r.stdout.contains("`falsepositive`") && !r.stdout.contains("`simulation`"));
    let bad = run(&[
        "check",
        &fx("clean.yml"),
        "--config",
        &format!("{C}/bad.yml"),
    ]);
    assert_eq!(bad.code, 2);
    assert_eq!(bad.stdout, "");
    assert!(
        bad.stderr.starts_with(
            "error: tests/fixtures/check/config/bad.yml: line 2 column 1: unknown key `fail-levle`"
        ),
        "{}",
        bad.stderr
    );
    let missing = run(&["check", &fx("clean.yml"), "--config", "nope.yml"]);
    assert_eq!(missing.code, 2);
    let attack = run(&["--attack", "nope.json", "check", &fx("clean.yml")]);
    assert_eq!(attack.code, 2);
}

#[test]
fn init_writes_a_template_once_and_it_is_discovered() {
    let tmp = scratch();
    let dir = tmp.path().to_path_buf();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    let r = run_in(&dir, &["check", "--init"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written = std::fs::read_to_string(dir.join(".attacktrace.yml")).unwrap();
    assert_eq!(written, attacktrace::check::config::TEMPLATE);
    assert_eq!(run_in(&dir, &["check", "--init"]).code, 2);
    let sub = dir.join("rules");
    std::fs::create_dir_all(&sub).unwrap();
    let s = run_in(&sub, &["check", "--show-config"]);
    assert!(s.stdout.contains(".attacktrace.yml"), "{}", s.stdout);
}

#[test]
fn missing_path_is_an_input_error() {
    // Issue #11 item 8: a gate over nothing must not pass, nor look like an ordinary finding.
    let r = run(&["check", "no/such/dir"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: nothing to read: no/such/dir: no such file or directory\n"
    );
}

#[test]
fn inline_suppression_needs_a_reason() {
    let ok = run(&["check", &fx("suppressed.yml"), "--fail-level", "info"]);
    assert_eq!(ok.code, 0);
    assert!(ok.stdout.contains("; 1 suppressed."));
    let bad = run(&["check", &fx("suppression_invalid.yml")]);
    assert_eq!(bad.code, 1);
    assert!(bad.stdout.contains("error[suppression_invalid]"));
}

#[test]
fn coverage_gate_minimums_and_baseline() {
    let r = run(&[
        "check",
        &fx("clean.yml"),
        "--min-coverage",
        "execution=100,overall=0",
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("error[coverage_minimum]: execution: "),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("overall:"));
    let bad = run(&["check", &fx("clean.yml"), "--min-coverage", "nope=10"]);
    assert_eq!(bad.code, 2);
    assert!(bad
        .stderr
        .starts_with("error: --min-coverage: unknown tactic `nope`"));
    assert_eq!(
        run(&["check", &fx("clean.yml"), "--min-coverage", "execution"]).code,
        2
    );

    let tmp = scratch();
    let dir = tmp.path().to_path_buf();
    let base = dir.join("coverage.json");
    let cov = run(&["coverage", &fx("clean.yml"), "--format", "json"]);
    assert_eq!(cov.code, 0, "{}", cov.stderr);
    std::fs::write(&base, &cov.stdout).unwrap();
    let base_arg = base.to_string_lossy().into_owned();
    let same = run(&["check", &fx("clean.yml"), "--coverage-baseline", &base_arg]);
    assert_eq!(same.code, 0, "{}", same.stdout);
    let lost = run(&[
        "check",
        &fx("attack_deprecated.yml"),
        "--coverage-baseline",
        &base_arg,
        "--format",
        "json",
    ]);
    assert_eq!(lost.code, 1);
    let v: serde_json::Value = serde_json::from_str(&lost.stdout).unwrap();
    let losses: Vec<&serde_json::Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "coverage_loss")
        .collect();
    assert!(!losses.is_empty());
    assert!(losses[0]["message"].as_str().unwrap().starts_with("T1059"));
}

#[test]
fn fix_dry_run_then_fix() {
    let tmp = scratch();
    let dir = tmp.path().to_path_buf();
    for name in [
        "attack_revoked.yml",
        "attack_missing_tactic.yml",
        "tag_format.yml",
        "duplicate_tag.yml",
        "clean.yml",
    ] {
        std::fs::copy(root().join(F).join(name), dir.join(name)).unwrap();
    }
    let before: Vec<String> = ["attack_revoked.yml", "clean.yml"]
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap())
        .collect();
    let dry = run_in(&dir, &["check", ".", "--fix", "--dry-run"]);
    assert_eq!(dry.code, 1);
    assert_eq!(dry.stderr, "note: --dry-run: 4 file(s) would change\n");
    insta::assert_snapshot!("fix_dry_run_diff", dry.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.join("attack_revoked.yml")).unwrap(),
        before[0],
        "dry run writes nothing"
    );
    let fix = run_in(&dir, &["check", ".", "--fix"]);
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    insta::assert_snapshot!("fix_stderr", fix.stderr);
    assert_eq!(
        fix.stdout,
        "0 error(s), 0 warning(s), 0 info; 0 suppressed. 5 rules from 5 files (5 loaded, 0 not loaded). ATT&CK enterprise-attack 18.1. Config: none. Fail level error: passed.\n"
    );
    let fixed = std::fs::read_to_string(dir.join("attack_revoked.yml")).unwrap();
    assert!(fixed.contains("    - attack.t1059.001\n") && !fixed.contains("t1086"));
    assert_eq!(
        std::fs::read_to_string(dir.join("clean.yml")).unwrap(),
        before[1]
    );
    let again = run_in(&dir, &["check", ".", "--fix", "--dry-run"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""));
}

/// Ordering tags is house style: `--fix` leaves the order alone unless the config names
/// `tag_order`, and then moves the tactic before the technique.
#[test]
fn fix_orders_tags_only_when_tag_order_is_on() {
    let tmp = scratch();
    let dir = tmp.path().to_path_buf();
    std::fs::copy(root().join(F).join("tag_order.yml"), dir.join("r.yml")).unwrap();
    let off = run_in(&dir, &["check", "r.yml", "--fix", "--dry-run"]);
    assert_eq!((off.code, off.stdout.as_str()), (0, ""), "{}", off.stderr);
    std::fs::write(dir.join("c.yml"), "validators: [all, tag_order]\n").unwrap();
    let on = run_in(
        &dir,
        &["--config", "c.yml", "check", "r.yml", "--fix", "--dry-run"],
    );
    assert_eq!(on.code, 1, "{}", on.stderr);
    assert!(
        on.stdout.contains(
            " tags:\n+    - attack.execution\n     - attack.t1059.001\n-    - attack.execution\n"
        ),
        "{}",
        on.stdout
    );
    let fix = run_in(&dir, &["--config", "c.yml", "check", "r.yml", "--fix"]);
    assert_eq!(fix.code, 0, "{}\n{}", fix.stdout, fix.stderr);
    assert!(fix
        .stderr
        .contains("tags reordered: tactics, then techniques, then other tags"));
}

/// The `(percent, covered, in_scope)` the gate prints for `label` (`overall` or a tactic).
fn gate_figure(check_json: &str, label: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(check_json).unwrap();
    let msg = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "coverage_minimum")
        .map(|f| f["message"].as_str().unwrap())
        .find(|m| m.starts_with(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no gate finding for {label}: {check_json}"))
        .to_string();
    let pct = msg[label.len() + 2..]
        .split('%')
        .next()
        .unwrap()
        .to_string();
    let counts = msg.split('(').nth(1).unwrap().split(',').next().unwrap();
    (pct, counts.to_string())
}

/// Issue #15: a threshold copied from the coverage report means the same thing in the gate. For
/// each metric, the gate's overall and per-tactic figures equal the text report's.
fn gate_agrees_with_report(paths: &[&str]) {
    let mut cov = vec!["--no-config", "coverage"];
    cov.extend_from_slice(paths);
    let report = run(&cov);
    assert!(report.code <= 1, "{}", report.stderr);
    let header = report
        .stdout
        .lines()
        .find(|l| l.starts_with("Covered: "))
        .unwrap()
        .to_string();
    // `Covered: 28 of 589 techniques and sub-techniques (4.8%); techniques 16/192 (8.3%), ...`
    let num = |s: &str| s.trim_end_matches(['%', ')', ';', ',']).to_string();
    let words: Vec<&str> = header.split_whitespace().collect();
    let all = (num(&words[7][1..]), format!("{}/{}", words[1], words[3]));
    let techniques = (num(&words[10][1..]), words[9].to_string());
    let subtechniques = (num(&words[13][1..]), words[12].to_string());
    let execution = report
        .stdout
        .lines()
        .find(|l| l.starts_with("Execution "))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect::<Vec<_>>();
    for (metric, expected) in [
        ("all", all),
        ("techniques", techniques),
        ("subtechniques", subtechniques),
    ] {
        let mut args = vec!["--no-config", "check"];
        args.extend_from_slice(paths);
        args.extend_from_slice(&[
            "--format",
            "json",
            "--min-coverage",
            "overall=100,execution=100",
            "--coverage-metric",
            metric,
        ]);
        let gate = run(&args);
        assert!(gate.stdout.contains(&format!("metric {metric})")));
        assert_eq!(gate_figure(&gate.stdout, "overall"), expected, "{metric}");
        if metric == "techniques" {
            // The per-tactic table's `%` column is the techniques metric.
            let (pct, counts) = gate_figure(&gate.stdout, "execution");
            assert_eq!(
                (format!("{pct}%"), counts),
                (execution[2].clone(), execution[1].clone())
            );
        }
    }
}

#[test]
fn coverage_gate_measures_what_the_report_prints() {
    gate_agrees_with_report(&["tests/fixtures/coverage/rules"]);
    let gate = run(&[
        "check",
        "tests/fixtures/coverage/rules",
        "--min-coverage",
        "overall=100",
    ]);
    assert!(
        gate.stdout
            .contains("overall: 1.5% of techniques and sub-techniques covered (9/589, metric all)"),
        "{}",
        gate.stdout
    );
    // The metric without a threshold is a usage error.
    assert_eq!(
        run(&["check", &fx("clean.yml"), "--coverage-metric", "all"]).code,
        2
    );
}

#[test]
fn coverage_gate_measures_what_the_report_prints_on_sigmahq() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let rules = shared.join("sigmahq/rules");
    gate_agrees_with_report(&[rules.to_str().unwrap()]);
}

/// Issue #15: every CI format names files from the repository root, wherever the command runs,
/// and `--root` moves that root; SARIF claims no made-up project location.
#[test]
fn ci_formats_name_files_from_the_repository_root() {
    let sub = root().join("tests/fixtures");
    let file = "check/rules/attacktag.yml";
    let gh = run_in(&sub, &["--no-config", "check", file, "--format", "github"]);
    assert!(
        gh.stdout
            .contains("file=tests/fixtures/check/rules/attacktag.yml,"),
        "{}",
        gh.stdout
    );
    let junit = run_in(&sub, &["--no-config", "check", file, "--format", "junit"]);
    assert!(
        junit
            .stdout
            .contains("tests/fixtures/check/rules/attacktag.yml"),
        "{}",
        junit.stdout
    );
    let sarif = run_in(&sub, &["--no-config", "check", file, "--format", "sarif"]);
    assert!(sarif
        .stdout
        .contains("\"uri\": \"tests/fixtures/check/rules/attacktag.yml\""));
    assert!(!sarif.stdout.contains("informationUri"));
    // `--root` overrides the repository root, relative to the working directory.
    for (format, needle) in [
        ("github", "file=rules/attacktag.yml,"),
        ("sarif", "\"uri\": \"rules/attacktag.yml\""),
        ("junit", "\"rules/attacktag.yml\""),
    ] {
        let r = run_in(
            &sub,
            &[
                "--no-config",
                "check",
                file,
                "--format",
                format,
                "--root",
                "check",
            ],
        );
        assert!(r.stdout.contains(needle), "{format}: {}", r.stdout);
    }
    // `test --format junit` too (its `--root` is the same repository root).
    let events = root().join("tests/fixtures/events");
    let rule = "pack/rules/proc_whoami.yml";
    let t = run_in(&events, &["test", rule, "--format", "junit"]);
    assert!(
        t.stdout
            .contains("classname=\"tests/fixtures/events/pack/rules/proc_whoami.yml\""),
        "{}",
        t.stdout
    );
    let t = run_in(
        &events,
        &["test", rule, "--format", "junit", "--root", "pack"],
    );
    assert!(
        t.stdout.contains("classname=\"rules/proc_whoami.yml\""),
        "{}",
        t.stdout
    );
    // Text and JSON keep paths as given (a terminal resolves them from the working directory).
    let text = run_in(&sub, &["--no-config", "check", file]);
    assert!(
        text.stdout.contains("--> check/rules/attacktag.yml:"),
        "{}",
        text.stdout
    );
}
