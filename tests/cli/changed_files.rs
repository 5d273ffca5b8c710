//! `check FILE... --repository DIR`: findings only on the files given, repository-wide checks
//! (duplicate ids, `related` links) resolved against every rule under DIR.

use crate::common::{run_in, scratch};
use std::path::Path;

/// A minimal valid rule; `related` is a `derived` link when given.
fn rule(title: &str, id: &str, related: Option<&str>) -> String {
    let related = related
        .map(|r| format!("related:\n    - id: {r}\n      type: derived\n"))
        .unwrap_or_default();
    format!(
        "title: {title}\nid: {id}\n{related}status: test\ndescription: Changed-files fixture.\n\
         author: AttackTrace tests\ndate: 2026-01-15\ntags:\n    - attack.execution\n    - attack.t1059.001\n\
         logsource:\n    product: windows\n    category: process_creation\ndetection:\n    selection:\n\
         \x20       CommandLine|contains: ' -enc {title}'\n    condition: selection\nlevel: medium\n"
    )
}

const A: &str = "0b3f6c1e-5a2d-4e8f-9c10-0000000000a1";
const B: &str = "0b3f6c1e-5a2d-4e8f-9c10-0000000000b2";
const NOWHERE: &str = "0b3f6c1e-5a2d-4e8f-9c10-000000000999";

/// `rules/a.yml` links to `rules/sub/b.yml`; `rules/sub/c.yml` reuses a's id; `rules/d.yml` has a
/// dangling link of its own.
fn repository(dir: &Path) {
    let write = |p: &str, text: String| {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write("rules/a.yml", rule("Rule A", A, Some(B)));
    write("rules/sub/b.yml", rule("Rule B", B, None));
    write("rules/sub/c.yml", rule("Rule C", A, None));
    write(
        "rules/d.yml",
        rule(
            "Rule D",
            "0b3f6c1e-5a2d-4e8f-9c10-0000000000d4",
            Some(NOWHERE),
        ),
    );
}

/// `(code, path)` of every finding of a JSON report.
fn findings(stdout: &str) -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(stdout).expect("JSON report");
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn one_file_alone_has_a_false_dangling_related() {
    let dir = scratch();
    repository(dir.path());
    let r = run_in(
        dir.path(),
        &["check", "--no-config", "rules/a.yml", "--format", "json"],
    );
    let codes = findings(&r.stdout);
    assert!(
        codes.iter().any(|(c, _)| c == "dangling_related"),
        "{codes:?}"
    );
}

#[test]
fn repository_resolves_links_and_duplicates_but_reports_only_the_given_files() {
    let dir = scratch();
    repository(dir.path());
    let args = [
        "check",
        "--no-config",
        "rules/a.yml",
        "--repository",
        "rules",
    ];
    let r = run_in(dir.path(), &[&args[..], &["--format", "json"]].concat());
    let found = findings(&r.stdout);
    assert!(
        !found.iter().any(|(c, _)| c == "dangling_related"),
        "{found:?}"
    );
    assert!(found.iter().all(|(_, p)| p == "rules/a.yml"), "{found:?}");
    assert!(
        found.iter().any(|(c, _)| c == "identifier_uniqueness"),
        "the id reused in rules/sub/c.yml: {found:?}"
    );
    let text = run_in(dir.path(), &args);
    assert!(text.stdout.contains("rules/sub/c.yml"), "{}", text.stdout);
    assert!(
        text.stdout.contains("1 rules from 1 files"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_checked_file_is_not_its_own_duplicate() {
    let dir = scratch();
    repository(dir.path());
    // b.yml is in the repository too, named by another spelling of its path.
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "./rules/sub/b.yml",
            "--repository",
            "rules",
            "--format",
            "json",
        ],
    );
    assert_eq!(findings(&r.stdout), Vec::new(), "{}", r.stderr);
    assert_eq!(r.code, 0);
}

#[test]
fn missing_repository_is_an_input_error() {
    let dir = scratch();
    repository(dir.path());
    let r = run_in(
        dir.path(),
        &[
            "check",
            "--no-config",
            "rules/a.yml",
            "--repository",
            "nowhere",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nowhere"), "{}", r.stderr);
}
