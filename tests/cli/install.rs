//! Install and integrate: `--version`, shell completions and the man page.

use crate::common::run;

#[test]
fn version_prints_crate_and_attack_versions() {
    let r = run(&["--version"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!(
            "attacktrace {} (embedded ATT&CK: enterprise 18.1)\n",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn completions_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("attacktrace"), "{shell}");
        // Subcommands and their flags are in the script.
        assert!(
            r.stdout.contains("check") && r.stdout.contains("min-coverage"),
            "{shell}"
        );
    }
    let r = run(&["completions", "tcsh"]);
    assert_eq!(r.code, 2, "an unknown shell is a usage error");
}

#[test]
fn man_page_is_roff_with_every_subcommand() {
    let r = run(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with(".ie") || r.stdout.contains(".TH attacktrace"));
    assert!(
        r.stdout.contains(".TH attacktrace 1"),
        "{}",
        &r.stdout[..200]
    );
    for sub in ["technique", "coverage", "check", "completions"] {
        assert!(r.stdout.contains(sub), "{sub}");
    }
    assert!(r.stdout.contains("0.1.0"));
}
