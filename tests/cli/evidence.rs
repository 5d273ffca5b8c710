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
