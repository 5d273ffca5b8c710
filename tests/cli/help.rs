//! `--help` of every command and subcommand, snapshotted: a changed flag, default or wording shows
//! up in review. Help is wrapped at a fixed width (`COLUMNS`, stdout is a pipe) so it is
//! deterministic whatever the developer's terminal.

use crate::common::{command, root};

fn help(args: &[&str]) -> String {
    let out = command(&root())
        .args(args)
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(0), "{args:?} --help");
    assert!(out.stderr.is_empty(), "{args:?} --help wrote to stderr");
    String::from_utf8(out.stdout).expect("utf-8 help")
}

#[test]
fn help_of_every_command() {
    let commands: &[(&str, &[&str])] = &[
        ("help_attacktrace", &[]),
        ("help_technique", &["technique"]),
        ("help_rules", &["rules"]),
        ("help_coverage", &["coverage"]),
        ("help_check", &["check"]),
        ("help_test", &["test"]),
        ("help_migrate", &["migrate"]),
        ("help_attack", &["attack"]),
        ("help_attack_info", &["attack", "info"]),
        ("help_attack_update", &["attack", "update"]),
        ("help_attack_diff", &["attack", "diff"]),
        ("help_attack_compile", &["attack", "compile"]),
        ("help_explain", &["explain"]),
        ("help_suggest", &["suggest"]),
    ];
    for (name, args) in commands {
        insta::assert_snapshot!(*name, help(args));
    }
}
