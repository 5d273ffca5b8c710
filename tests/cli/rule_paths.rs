//! Issue #15: a rule path that does not exist, a glob that matches nothing or a directory without
//! a rule file is an input error (exit 2) in every command that reads rules, never a silent 0.

use crate::common::{run, scratch};

/// Every command that takes rule paths, with `{}` where the path goes.
const COMMANDS: &[&[&str]] = &[
    &["rules", "{}"],
    &["coverage", "{}"],
    &["coverage", "{}", "--format", "json"],
    &["technique", "T1059", "--rules", "{}"],
    &["test", "{}"],
    &["check", "{}"],
    &["check", "{}", "--format", "sarif"],
    &["check", "{}", "--fix", "--dry-run"],
    &["migrate", "--to", "embedded", "--dry-run", "{}"],
    &["attack", "diff", "embedded", "embedded", "--rules", "{}"],
];

fn assert_nothing_to_read(path: &str, why: &str) {
    for cmd in COMMANDS {
        let args: Vec<&str> = cmd
            .iter()
            .map(|a| if *a == "{}" { path } else { a })
            .collect();
        let r = run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(
            r.stderr.starts_with("error: nothing to read: ") && r.stderr.contains(why),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn a_missing_path_is_exit_2_everywhere() {
    assert_nothing_to_read("no/such/rules", "no such file or directory");
}

#[test]
fn a_glob_matching_nothing_is_exit_2_everywhere() {
    assert_nothing_to_read("tests/fixtures/nothing-*/*.yml", "matched no rule file");
}

#[test]
fn a_directory_without_rules_is_exit_2_everywhere() {
    let tmp = scratch();
    std::fs::write(tmp.path().join("notes.txt"), "not a rule").unwrap();
    assert_nothing_to_read(tmp.path().to_str().unwrap(), "no .yml or .yaml file");
}

#[test]
fn one_missing_path_among_good_ones_is_still_exit_2() {
    let r = run(&["coverage", "tests/fixtures/coverage/rules", "no/such/rules"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no/such/rules"), "{}", r.stderr);
}
