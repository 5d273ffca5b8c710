//! End-to-end runs of `attacktrace test` on the fixtures under `tests/fixtures/events/`: the
//! project's `name.tests/` convention, the SigmaHQ regression convention, `--events`, `--benign`,
//! routing, the three formats and the exit codes.

use crate::common;
use crate::common::Run;

/// `attacktrace test ARGS...` from the checkout.
fn run(args: &[&str]) -> Run {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    common::run(&all)
}

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).expect("valid JSON on stdout")
}

const PACK: &str = "tests/fixtures/events/pack/rules";
const WHOAMI: &str = "tests/fixtures/events/pack/rules/proc_whoami.yml";
const STREAMS: &str = "tests/fixtures/events/streams";

#[test]
fn passing_rule_is_validated_and_exits_zero() {
    let r = run(&[WHOAMI]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("evidence_whoami_text", r.stdout);
}

#[test]
fn failing_negative_exits_one_with_the_line() {
    let r = run(&[PACK, "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["schema"], "attacktrace.test/1");
    let rules = v["rules"].as_array().expect("rules");
    let ps = rules
        .iter()
        .find(|r| {
            r["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("ps_encoded.yml"))
        })
        .expect("ps rule");
    assert_eq!(ps["status"], "failed");
    assert_eq!(ps["validated"], false);
    let neg = &ps["cases"][1];
    assert_eq!(neg["kind"], "negative");
    assert_eq!(neg["failed_lines"], serde_json::json!([2]));
    // The positive uses `/enc`: it only matches through the windash modifier.
    assert_eq!(ps["cases"][0]["passed"], true);
    assert_eq!(v["summary"]["rules_validated"], 1);
}

#[test]
fn events_matches_with_and_without_routing() {
    let events = format!("{STREAMS}/mixed.jsonl");
    let evtx = format!("{STREAMS}/evtx_pretty.json");
    let args = [
        PACK,
        "--no-own-tests",
        "--events",
        &evtx,
        "--events",
        &events,
    ];
    let routed = run(&[&args[..], &["--format", "json"]].concat());
    assert_eq!(routed.code, 0, "{}", routed.stderr);
    let v = json(&routed);
    let hits = |v: &serde_json::Value| -> Vec<String> {
        let mut out = Vec::new();
        for r in v["rules"].as_array().into_iter().flatten() {
            for m in r["matches"].as_array().into_iter().flatten() {
                out.push(format!(
                    "{} {}:{}",
                    r["path"]
                        .as_str()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or(""),
                    m["file"]
                        .as_str()
                        .unwrap_or("")
                        .rsplit('/')
                        .next()
                        .unwrap_or(""),
                    m["line"]
                ));
            }
        }
        out
    };
    // Routing: the Sysmon 3 event (line 17) and the Security 4624 event (line 3) carry a whoami
    // image but are not process creations; the linux-product event is not Windows.
    assert_eq!(
        hits(&v),
        vec![
            "linux_cron.yml mixed.jsonl:2",
            "linux_cron.yml mixed.jsonl:4",
            "proc_whoami.yml evtx_pretty.json:1",
            "proc_whoami.yml mixed.jsonl:1",
            "proc_whoami.yml mixed.jsonl:4",
        ]
    );
    assert_eq!(v["summary"]["events"], 7);
    assert_eq!(v["summary"]["events_unroutable"], 2);
    let unrouted = json(&run(
        &[&args[..], &["--format", "json", "--no-routing"]].concat()
    ));
    let all = hits(&unrouted);
    assert!(all.contains(&"proc_whoami.yml evtx_pretty.json:17".to_string()));
    assert!(all.contains(&"proc_whoami.yml mixed.jsonl:3".to_string()));
    assert!(unrouted["summary"]["evaluations"].as_u64() > v["summary"]["evaluations"].as_u64());
}

#[test]
fn benign_without_hits_stays_at_zero_and_hits_fail() {
    let benign = format!("{STREAMS}/benign.jsonl");
    let r = run(&[WHOAMI, "--benign", &benign, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["summary"]["false_positives"], 0);
    assert_eq!(v["rules"][0]["validated"], true);

    let hit = format!("{STREAMS}/benign_hit.jsonl");
    let r = run(&[WHOAMI, "--benign", &hit]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(
            "FAIL benign: 1 false positive(s): tests/fixtures/events/streams/benign_hit.jsonl:2"
        ),
        "{}",
        r.stdout
    );
    let x = run(&[WHOAMI, "--benign", &hit, "--format", "junit"]);
    assert!(x.stdout.contains("type=\"false_positive\""), "{}", x.stdout);
    assert!(x.stdout.starts_with("<?xml"));
}

#[test]
fn regression_convention_windash_and_refused_escape() {
    let r = run(&["tests/fixtures/events/regrepo/rules", "--format", "json"]);
    assert_eq!(r.code, 1, "the refused path is a finding");
    let v = json(&r);
    let case = &v["rules"][0]["cases"][0];
    assert_eq!(case["kind"], "regression");
    assert_eq!(
        (case["matched"].as_u64(), case["expected"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(case["passed"], true);
    let f = &v["findings"][0];
    assert_eq!(f["code"], "regression_path_refused");
    assert!(f["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("escape.yml")));
}

#[test]
fn broken_event_files_are_findings_not_crashes() {
    let broken = format!("{STREAMS}/broken.jsonl");
    // A missing event path is an input error (exit 2) before anything is read: see
    // `missing_event_paths_are_input_errors`.
    let r = run(&[WHOAMI, "--no-own-tests", "--events", &broken]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("evidence_broken_text", r.stdout);
    let r = run(&[
        WHOAMI,
        "--events",
        &broken,
        "--max-events",
        "1",
        "--format",
        "json",
    ]);
    let codes: Vec<_> = json(&r)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(codes, vec!["event_limit"]);
}

#[test]
fn saved_result_fills_validated_coverage_tier() {
    let tmp = common::scratch();
    let dir = tmp.path().to_path_buf();
    let saved = dir.join("result.json");
    let saved_s = saved.to_string_lossy().to_string();
    let r = run(&[PACK, "--save", &saved_s, "--format", "json"]);
    assert_eq!(r.code, 1);
    let out = common::run(&["coverage", PACK, "--tests", &saved_s, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let text = v.to_string();
    assert!(text.contains("\"validated\""), "validated tier present");
}

#[test]
fn missing_event_paths_are_input_errors() {
    // Issue #11 item 8: `--events`/`--benign` paths that do not exist or hold no event file are
    // input errors (exit 2), named on stderr, before any rule runs.
    let r = run(&[WHOAMI, "--events", "nope.jsonl"]);
    assert_eq!((r.code, r.stdout.as_str()), (2, ""));
    assert_eq!(
        r.stderr,
        "error: nothing to read: nope.jsonl: no such file or directory\n"
    );
    let empty = common::scratch();
    let e = empty.path().to_string_lossy().to_string();
    let r = run(&[WHOAMI, "--benign", &e]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no .json, .jsonl or .ndjson file found"));
    let r = run(&["no/such/dir"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn own_test_links_out_of_the_repository_are_not_an_oracle() {
    // Issue #11 item 3: whatever the outside file holds (matching or not), the output is the same:
    // the link is reported, never read, and the run fails.
    let mut outputs = Vec::new();
    for outside in ["{\"Image\": \"x\"}\n", "{\"Image\": \"z\"}\n"] {
        let tmp = common::scratch();
        let d = tmp.path();
        std::fs::create_dir_all(d.join("repo/rules/r.tests")).unwrap();
        std::fs::write(
            d.join("repo/rules/r.yml"),
            "title: t\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  condition: sel\n",
        )
        .unwrap();
        std::fs::write(d.join("secret.jsonl"), outside).unwrap();
        std::os::unix::fs::symlink(
            "../../../secret.jsonl",
            d.join("repo/rules/r.tests/positive.jsonl"),
        )
        .unwrap();
        let r = common::run_in(d, &["test", "repo/rules", "--format", "json"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        let v = json(&r);
        let case = &v["rules"][0]["cases"][0];
        assert_eq!(
            (case["kind"].as_str(), case["passed"].as_bool()),
            (Some("positive"), Some(false))
        );
        assert_eq!(case["events"], 0, "the outside file was read: {}", r.stdout);
        assert_eq!(v["findings"][0]["code"], "symlink_outside_root");
        outputs.push(r.stdout);
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// A SigmaHQ-layout repository in a scratch directory: the fixture rule under `dir/`, its
/// regression data (JSON export only) under `regression_data/dir/`, with `match_count`.
fn layout_repo(dir: &str, match_count: u32) -> tempfile::TempDir {
    let fixture = common::root().join("tests/fixtures/events/regrepo");
    let scratch = common::scratch();
    let repo = scratch.path();
    let data = format!("regression_data/{dir}/windows/proc_dir_recursive");
    std::fs::create_dir_all(repo.join(dir).join("windows")).unwrap();
    std::fs::create_dir_all(repo.join(&data)).unwrap();
    let rule = std::fs::read_to_string(fixture.join("rules/windows/proc_dir_recursive.yml"))
        .unwrap()
        .replace("regression_data/rules/", &format!("regression_data/{dir}/"));
    std::fs::write(repo.join(dir).join("windows/r.yml"), rule).unwrap();
    let info = std::fs::read_to_string(
        fixture.join("regression_data/rules/windows/proc_dir_recursive/info.yml"),
    )
    .unwrap()
    .replace("regression_data/rules/", &format!("regression_data/{dir}/"))
    .replace("match_count: 2", &format!("match_count: {match_count}"));
    std::fs::write(repo.join(&data).join("info.yml"), info).unwrap();
    std::fs::copy(
        fixture.join("regression_data/rules/windows/proc_dir_recursive/0b8a4d2e.json"),
        repo.join(&data).join("0b8a4d2e.json"),
    )
    .unwrap();
    scratch
}

#[test]
fn regression_tests_run_from_every_sigmahq_rule_directory() {
    for dir in [
        "rules-emerging-threats",
        "rules-threat-hunting",
        "deprecated",
    ] {
        let repo = layout_repo(dir, 2);
        let rules = repo.path().join(dir).to_string_lossy().to_string();
        let r = run(&[&rules, "--format", "json"]);
        assert_eq!(r.code, 0, "{dir}: {}{}", r.stdout, r.stderr);
        let case = &json(&r)["rules"][0]["cases"][0];
        assert_eq!(
            (case["matched"].as_u64(), case["passed"].as_bool()),
            (Some(2), Some(true))
        );
    }
    // `--root` names the root when the rules are elsewhere (here: a copy outside the layout).
    let repo = layout_repo("rules", 2);
    let elsewhere = common::scratch();
    let rule = elsewhere.path().join("r.yml");
    std::fs::copy(repo.path().join("rules/windows/r.yml"), &rule).unwrap();
    let rule = rule.to_string_lossy().to_string();
    let r = run(&[&rule]);
    assert_eq!(r.code, 1, "no root: a finding");
    assert!(r.stdout.contains("pass --root"), "{}", r.stdout);
    let root = repo.path().to_string_lossy().to_string();
    let r = run(&[&rule, "--root", &root]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn regression_verdicts_are_sigmahqs_fewer_fails_more_warns() {
    // 2 events match: match_count 1 warns (and passes), 3 fails; both list the matched lines.
    let repo = layout_repo("rules", 1);
    let rules = repo.path().join("rules").to_string_lossy().to_string();
    let r = run(&[&rules]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("  WARN regression "), "{}", r.stdout);
    assert!(r.stdout.contains("more than match_count 1"), "{}", r.stdout);
    assert!(r.stdout.contains("matched at line "), "{}", r.stdout);
    assert!(
        r.stdout.contains("1 passed case(s) with a warning"),
        "{}",
        r.stdout
    );
    let v = json(&run(&[&rules, "--format", "json"]));
    assert_eq!(v["summary"]["cases_warned"], 1);
    // JUnit has no "passed with a warning": the case passes and says it in <system-out>.
    let x = run(&[&rules, "--format", "junit"]);
    assert_eq!(x.code, 0, "{}", x.stdout);
    assert!(!x.stdout.contains("<failure"), "{}", x.stdout);
    let out = x
        .stdout
        .split("<system-out>")
        .nth(1)
        .and_then(|t| t.split("</system-out>").next())
        .unwrap_or_else(|| panic!("no system-out: {}", x.stdout));
    assert!(
        out.starts_with("warning: ") && out.contains("more than match_count 1"),
        "{out}"
    );
    assert!(out.contains("matched lines: "), "{out}");
    assert_eq!(
        v["rules"][0]["cases"][0]["matched_lines"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let repo = layout_repo("rules", 3);
    let rules = repo.path().join("rules").to_string_lossy().to_string();
    let r = run(&[&rules]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("expected at least 3; matched at line "),
        "{}",
        r.stdout
    );
}

/// An info.yml whose tests are commented out is SigmaHQ's "nothing to run": an info note, exit 0;
/// a `regression_tests_info` that is not a list is malformed data and fails.
#[test]
fn regression_info_without_tests_is_a_note() {
    let repo = layout_repo("rules", 2);
    let info = repo
        .path()
        .join("regression_data/rules/windows/proc_dir_recursive/info.yml");
    let info = if info.exists() {
        info
    } else {
        walk_for(repo.path(), "info.yml")
    };
    std::fs::write(
        &info,
        "id: x\n# regression_tests_info:\n#   - path: a.evtx\n",
    )
    .unwrap();
    let rules = repo.path().join("rules").to_string_lossy().to_string();
    let r = run(&[&rules]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("info regression_tests_none"),
        "{}",
        r.stdout
    );
    std::fs::write(&info, "regression_tests_info: a.evtx\n").unwrap();
    let r = run(&[&rules]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("is not a list"), "{}", r.stdout);
}

fn walk_for(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            let found = walk_for(&p, name);
            if found.file_name().is_some() {
                return found;
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return p;
        }
    }
    std::path::PathBuf::new()
}

#[test]
fn corrupt_evtx_files_are_findings_not_crashes() {
    let scratch = common::scratch();
    let mut header = vec![0u8; 4096];
    header[..8].copy_from_slice(b"ElfFile\0");
    header[32] = 128; // header size
    header[38] = 3; // major version
    header[41] = 0x10; // block size 4096
    header[42] = 1; // one chunk announced, none there: truncated
    for (name, bytes) in [
        ("empty.evtx", Vec::new()),
        ("text.evtx", b"{\"EventID\": 1}".to_vec()),
        ("header_only.evtx", header),
    ] {
        let path = scratch.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_string_lossy().to_string();
        let r = run(&[WHOAMI, "--no-own-tests", "--events", &p]);
        assert!(
            r.code == 1 || r.code == 2,
            "{name}: {}{}",
            r.stdout,
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{name}: {}", r.stderr);
        assert!(r.stdout.contains("event_syntax"), "{name}: {}", r.stdout);
    }
}
