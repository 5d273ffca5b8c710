//! End-to-end runs of `attack diff` and `migrate` on the hand-made v18/v19 fixtures: exit code,
//! stdout and stderr pinned together, the diff and the migration dry run snapshot-tested.

use crate::common::{root, run, run_in, scratch};
use tempfile::TempDir;

const V18: &str = "tests/fixtures/versions/v18-mini.json";
const V19: &str = "tests/fixtures/versions/v19-mini.json";
const RULES: &str = "tests/fixtures/versions/rules";

#[test]
fn diff_v18_to_v19_text_markdown_json() {
    let r = run(&["attack", "diff", V18, V19, "--rules", RULES]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("diff_v18_v19_text", r.stdout);
    let r = run(&[
        "attack", "diff", V18, V19, "--rules", RULES, "--format", "markdown",
    ]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    insta::assert_snapshot!("diff_v18_v19_markdown", r.stdout);
    let r = run(&["attack", "diff", V18, V19, "--format", "json"]);
    assert_eq!(r.code, 0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["techniques_revoked"][1]["id"], "T1562.001");
    assert_eq!(v["techniques_revoked"][1]["replacement"]["id"], "T1685.001");
    assert_eq!(v["tactics_added"][0]["shortname"], "defense-impairment");
    assert_eq!(v["new"]["version"], "19.0");
}

#[test]
fn diff_errors_are_usage_errors() {
    let r = run(&["attack", "diff", V18, "no/such/file.json"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.starts_with("error: cannot read no/such/file.json"),
        "{}",
        r.stderr
    );
    let r = run(&["attack", "diff", "cache", V19]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no cached enterprise-attack bundle"),
        "{}",
        r.stderr
    );
    // `embedded` works as either side.
    let r = run(&["attack", "diff", "embedded", "embedded"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("techniques added                   0"));
}

#[test]
fn migrate_dry_run_prints_diff_and_asks_a_person() {
    let before = std::fs::read(root().join(RULES).join("tool_tamper.yml")).unwrap();
    let r = run(&["migrate", RULES, "--from", V18, "--to", V19, "--dry-run"]);
    assert_eq!(r.code, 1, "questions for a person make exit 1");
    insta::assert_snapshot!("migrate_v18_v19_dry_run_stdout", r.stdout);
    insta::assert_snapshot!("migrate_v18_v19_dry_run_stderr", r.stderr);
    assert_eq!(
        std::fs::read(root().join(RULES).join("tool_tamper.yml")).unwrap(),
        before
    );
}

fn copy_rules() -> TempDir {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    for e in std::fs::read_dir(root().join(RULES)).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.join("rules").join(e.file_name())).unwrap();
    }
    tmp
}

#[test]
fn migrate_writes_files_keeping_layout() {
    let tmp = copy_rules();
    let dir = tmp.path().to_path_buf();
    let v18 = root().join(V18);
    let v19 = root().join(V19);
    let args = [
        "migrate",
        "rules",
        "--from",
        v18.to_str().unwrap(),
        "--to",
        v19.to_str().unwrap(),
    ];
    let r = run_in(&dir, &args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.contains("edited 3 file(s)"), "{}", r.stdout);
    let tamper = std::fs::read_to_string(dir.join("rules/tool_tamper.yml")).unwrap();
    assert!(tamper.contains(
        "    # tactic first, then the technique\n    - attack.defense-impairment\n    - attack.t1685.001 # the tool-tampering sub-technique\n"
    ));
    let crlf = std::fs::read_to_string(dir.join("rules/logging_crlf.yml")).unwrap();
    assert!(crlf.contains("tags:\r\n  - attack.defense-impairment\r\n  - attack.t1686\r\n"));
    assert_eq!(crlf.matches('\n').count(), crlf.matches("\r\n").count());
    // Only the tags changed: every other line is identical.
    let orig = std::fs::read_to_string(root().join(RULES).join("tool_tamper.yml")).unwrap();
    let changed = orig
        .lines()
        .zip(tamper.lines())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!((changed, orig.lines().count()), (2, tamper.lines().count()));
    // No temporary files left behind, and a second run has nothing more to change.
    assert_eq!(std::fs::read_dir(dir.join("rules")).unwrap().count(), 7);
    let again = run_in(&dir, &args);
    assert!(again.stdout.contains("3 to change") || again.stdout.contains("0 to change"));
    assert!(again.stdout.contains("0 to change"), "{}", again.stdout);
    // The migrated rules tag only techniques and tactics that exist in v19.
    let r = run_in(
        &dir,
        &[
            "--attack",
            v19.to_str().unwrap(),
            "rules",
            "rules",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn migrate_json_report() {
    let r = run(&[
        "migrate",
        RULES,
        "--from",
        V18,
        "--to",
        V19,
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema"], "attacktrace.migrate/1");
    assert_eq!(v["plan"]["rules_checked"], 7);
    let questions: Vec<&str> = v["plan"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["questions"].as_array().unwrap())
        .map(|q| q["tag"].as_str().unwrap())
        .collect();
    assert_eq!(questions, ["attack.t1218", "attack.defense-evasion"]);
}
