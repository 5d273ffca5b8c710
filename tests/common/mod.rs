//! Shared harness of the four test binaries (cli, library, corpus, browser): run the binary from
//! the checkout, isolated from the developer's environment (no `ATTACKTRACE_ATTACK`, no `attack
//! update` cache), capture exit code, stdout and stderr together, hand out scratch directories that
//! clean themselves up, and find the real corpora in `../shared`.
#![allow(dead_code, clippy::print_stderr)] // each test binary uses a subset; skip notices print

use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// The checkout (tests run with it as the working directory, so paths in output are stable).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test, with the environment that could change its answers removed.
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_attacktrace"));
    cmd.current_dir(dir)
        .env_remove("ATTACKTRACE_ATTACK")
        .env_remove("ATTACKTRACE_INJECT_PANIC")
        // Never pick up a user's `attack update` cache: the embedded catalog is the baseline.
        // The directory is never created (no test writes a cache through this command).
        .env(
            "XDG_CACHE_HOME",
            std::env::temp_dir().join("attacktrace-tests-no-cache"),
        );
    cmd
}

pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = command(dir).args(args).output().expect("binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

pub fn run(args: &[&str]) -> Run {
    run_in(&root(), args)
}

/// A fresh, empty directory, unique per call and removed when the handle drops (also when the
/// test panics), so parallel tests and repeated runs never see each other's files.
pub fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("attacktrace-test-")
        .tempdir()
        .expect("scratch directory")
}

/// True when running in CI (`CI` set to anything but empty, `0` or `false`): missing corpora
/// are then a broken setup, not a reason to skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Where the real corpora are: `ATTACKTRACE_SHARED` when set (to check the CI failure without
/// touching the checkout), otherwise `../shared` next to the checkout.
pub fn shared_dir() -> PathBuf {
    std::env::var_os("ATTACKTRACE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
}

/// The real corpora (ATT&CK bundles and SigmaHQ) when present. Otherwise prints a skip notice and
/// returns `None`, except under CI, where it panics: a corpus test must never pass by skipping.
pub fn shared() -> Option<PathBuf> {
    let p = shared_dir();
    if p.join("attack").is_dir() && p.join("sigmahq/rules").is_dir() {
        return Some(p);
    }
    assert!(
        !in_ci(),
        "CI is set but the corpora are missing at {} (expected attack/ and sigmahq/rules/)",
        p.display()
    );
    eprintln!("skipping: ../shared not found ({})", p.display());
    None
}

/// `s` as a YAML double-quoted scalar with everything but printable ASCII as `\uXXXX`.
pub fn yaml_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    out.push('"');
    out
}
