//! Issue #11, "gate" items: a pull request's config, ATT&CK data and input files cannot leak a
//! secret, silence the gate, pick the data a pinned run uses, or stall the run. Each case runs the
//! binary in a scratch repository; transcripts (exit code, stdout, stderr) are snapshots.
#![cfg(unix)]

use crate::common::{root, run_in, scratch, Run};
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

const RULE: &str = "title: generated\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image: x\n  condition: sel\n";
const SECRET: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";

fn transcript(o: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    )
}

/// A scratch repository `repo/` (with `.git`) holding `r.yml`, next to a secret outside it.
fn repo(d: &Path) -> std::path::PathBuf {
    let repo = d.join("repo");
    fs::create_dir_all(repo.join(".git")).unwrap();
    fs::write(repo.join("r.yml"), RULE).unwrap();
    fs::write(d.join("id_ed25519"), SECRET).unwrap();
    repo
}

fn no_secret(o: &Run) {
    for text in [&o.stdout, &o.stderr] {
        assert!(
            !text.contains("b3BlbnNz") && !text.contains("PRIVATE KEY"),
            "{text}"
        );
    }
}

/// Item 2: a config symlinked out of the repository is refused, never read or quoted.
#[test]
fn config_symlink_to_secret_is_refused() {
    let d = scratch();
    let repo = repo(d.path());
    std::os::unix::fs::symlink("../id_ed25519", repo.join(".attacktrace.yml")).unwrap();
    let o = run_in(&repo, &["check", "r.yml"]);
    no_secret(&o);
    let stderr = o.stderr.replace(&*d.path().to_string_lossy(), "TMP");
    insta::assert_snapshot!(
        "gate_config_symlink_outside",
        transcript(&Run { stderr, ..o })
    );
}

/// Item 2: a config that is a secret's copy fails with a position and an expectation only.
#[test]
fn config_parse_errors_quote_nothing() {
    let d = scratch();
    let repo = repo(d.path());
    fs::write(repo.join(".attacktrace.yml"), SECRET).unwrap();
    let o = run_in(&repo, &["check", "r.yml"]);
    no_secret(&o);
    insta::assert_snapshot!("gate_config_secret_content", transcript(&o));
    fs::write(
        repo.join(".attacktrace.yml"),
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ: 1\n",
    )
    .unwrap();
    let o = run_in(&repo, &["check", "r.yml"]);
    no_secret(&o);
    insta::assert_snapshot!("gate_config_secret_key", transcript(&o));
}

/// Item 2: commands that do not need the config do not read it.
#[test]
fn config_not_read_when_not_needed() {
    let d = scratch();
    let repo = repo(d.path());
    fs::write(repo.join(".attacktrace.yml"), "validators: [all\n").unwrap();
    for args in [
        &["explain", "yaml_error"][..],
        &["--attack", "embedded", "technique", "T1059"],
        &["--attack", "embedded", "rules", "r.yml"],
        &["--no-config", "check", "r.yml"],
    ] {
        let o = run_in(&repo, args);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    }
    assert_eq!(run_in(&repo, &["check", "r.yml"]).code, 2);
}

/// Item 4a: no config setting hides a rule that does not load.
#[test]
fn config_cannot_silence_loading_errors() {
    let d = scratch();
    let repo = repo(d.path());
    fs::write(repo.join("broken.yml"), "title: [unclosed\n").unwrap();
    fs::write(
        repo.join(".attacktrace.yml"),
        "validators: []\nseverity: {yaml_error: info}\nexclusions: {x: yaml_error}\n",
    )
    .unwrap();
    let o = run_in(&repo, &["check", "r.yml", "broken.yml"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    insta::assert_snapshot!("gate_config_cannot_silence", transcript(&o));
}

/// Item 4b: `--config FILE` and `--no-config` pin everything, the repository's `attack:` included.
#[test]
fn pinned_config_ignores_the_repository_config() {
    let d = scratch();
    let repo = repo(d.path());
    fs::write(repo.join("evil.json"), "{ not json").unwrap();
    fs::write(
        repo.join(".attacktrace.yml"),
        "attack: evil.json\nvalidators: []\n",
    )
    .unwrap();
    fs::write(d.path().join("trusted.yml"), "fail-level: error\n").unwrap();
    assert_eq!(run_in(&repo, &["check", "r.yml"]).code, 2);
    let o = run_in(&repo, &["check", "r.yml", "--config", "../trusted.yml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    insta::assert_snapshot!("gate_pinned_config", transcript(&o));
    let o = run_in(&repo, &["--no-config", "coverage", "r.yml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
}

/// Item 4c: `--attack embedded` pins the embedded data; a file's SHA-256 is in every check format.
#[test]
fn attack_embedded_and_file_hash_in_reports() {
    let d = scratch();
    let repo = repo(d.path());
    let o = run_in(&repo, &["--attack", "embedded", "check", "r.yml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stdout
            .contains("ATT&CK enterprise-attack 18.1. Config: none."),
        "{}",
        o.stdout
    );
    let catalog = root().join("mappings/attack/enterprise-attack-18.1.json");
    fs::copy(&catalog, repo.join("modified.json")).unwrap();
    let bytes = fs::read(repo.join("modified.json")).unwrap();
    let sha = attacktrace::attack::update::sha256_hex(&bytes);
    for format in ["text", "json", "sarif", "junit"] {
        let o = run_in(
            &repo,
            &[
                "--attack",
                "modified.json",
                "check",
                "r.yml",
                "--format",
                format,
            ],
        );
        assert_eq!(o.code, 0, "{format}: {}", o.stderr);
        assert!(o.stdout.contains(&sha), "{format}: {}", o.stdout);
        assert!(o.stdout.contains("modified.json"), "{format}: {}", o.stdout);
    }
    let o = run_in(
        &repo,
        &[
            "--attack",
            "modified.json",
            "technique",
            "T1059",
            "--format",
            "json",
        ],
    );
    assert!(o.stdout.contains(&sha), "{}", o.stdout);
}

/// Item 4: discovery stops at the repository root; outside a repository only the start directory.
#[test]
fn discovery_stops_at_the_repository_root() {
    let d = scratch();
    fs::write(d.path().join(".attacktrace.yml"), "validators: [all\n").unwrap();
    fs::create_dir_all(d.path().join("sub")).unwrap();
    fs::write(d.path().join("sub/r.yml"), RULE).unwrap();
    // No `.git` anywhere above: only `sub/` itself is looked at.
    let o = run_in(&d.path().join("sub"), &["check", "r.yml"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // Inside a repository, a parent up to the root is used.
    fs::create_dir_all(d.path().join(".git")).unwrap();
    let o = run_in(&d.path().join("sub"), &["check", "r.yml"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
}

/// Item 7: every file option at `/dev/zero` and at a FIFO exits 2 at once, naming the problem.
#[test]
fn file_options_refuse_devices_and_fifos() {
    let d = scratch();
    let repo = repo(d.path());
    let c = std::ffi::CString::new(repo.join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut transcripts = String::new();
    for target in ["/dev/zero", "fifo"] {
        let cases: [Vec<&str>; 7] = [
            vec!["--attack", target, "technique", "T1059"],
            vec!["--config", target, "check", "r.yml"],
            vec!["coverage", "r.yml", "--profile", target],
            vec!["coverage", "r.yml", "--baseline", target],
            vec!["coverage", "r.yml", "--tests", target],
            vec!["check", "r.yml", "--coverage-baseline", target],
            vec!["attack", "diff", "embedded", target],
        ];
        for args in cases {
            let start = Instant::now();
            let o = run_in(&repo, &args);
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{args:?} took too long"
            );
            assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
            assert!(
                o.stderr.contains("not a regular file"),
                "{args:?}: {}",
                o.stderr
            );
            transcripts.push_str(&format!("$ {}\n{}", args.join(" "), transcript(&o)));
        }
    }
    insta::assert_snapshot!("gate_devices_and_fifos", transcripts);
}

/// Item 7: a FIFO as a regression test's `info.yml` is reported at once, not waited on.
#[test]
fn regression_info_fifo_is_reported() {
    let d = scratch();
    let repo = repo(d.path());
    fs::create_dir_all(repo.join("rules")).unwrap();
    fs::create_dir_all(repo.join("regression_data/x")).unwrap();
    let rule = RULE.replace(
        "logsource:",
        "regression_tests_path: regression_data/x/info.yml\nlogsource:",
    );
    fs::write(repo.join("rules/r.yml"), rule).unwrap();
    let fifo = repo.join("regression_data/x/info.yml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let start = Instant::now();
    let o = run_in(&repo, &["test", "rules/r.yml"]);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(
        o.stdout.contains("not a regular file (a FIFO)"),
        "{}",
        o.stdout
    );
    insta::assert_snapshot!("gate_regression_info_fifo", transcript(&o));
}
