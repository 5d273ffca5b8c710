//! `--color`: colour only when asked for or on a terminal; pipes (every test) and files stay plain.

use crate::common::{command, root, run};

const BAD: &str = "tests/fixtures/check/rules/attacktag.yml";

#[test]
fn pipes_are_plain_unless_always() {
    let plain = run(&["check", BAD]);
    assert!(!plain.stdout.contains('\x1b'));
    assert_eq!(
        run(&["check", BAD, "--color", "never"]).stdout,
        plain.stdout
    );
    let coloured = run(&["check", BAD, "--color", "always"]);
    assert!(coloured
        .stdout
        .contains("\x1b[1;31merror\x1b[0m[attacktag]"));
    assert_eq!(
        coloured
            .stdout
            .replace("\x1b[1;31m", "")
            .replace("\x1b[1;36m", "")
            .replace("\x1b[0m", ""),
        plain.stdout
    );
    let card = run(&["technique", "T1595", "--color", "always"]);
    assert!(
        card.stdout
            .contains("Observability: \x1b[35mno portable rule\x1b[0m"),
        "{}",
        card.stdout
    );
    let json = run(&[
        "technique",
        "T1595",
        "--format",
        "json",
        "--color",
        "always",
    ]);
    assert!(!json.stdout.contains('\x1b'));
}

#[test]
fn no_color_keeps_auto_plain_and_always_wins() {
    let out = command(&root())
        .args(["check", BAD, "--color", "always"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains('\x1b'));
    let out = command(&root())
        .args(["check", BAD])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!String::from_utf8(out.stdout).unwrap().contains('\x1b'));
}
