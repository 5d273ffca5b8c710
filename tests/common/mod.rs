//! Shared helpers for the end-to-end tests: run the binary from the checkout, isolated from the
//! developer's environment (no `ATTACKTRACE_ATTACK`, no `attack update` cache), and capture exit
//! code, stdout and stderr together.
#![allow(dead_code, clippy::print_stderr)] // each test binary uses a subset; skip notices print

use std::path::{Path, PathBuf};
use std::process::Command;

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

/// A fresh, empty directory under the system temp dir, unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("attacktrace-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `../shared` (the real corpora) when present; otherwise prints a skip notice.
pub fn shared() -> Option<PathBuf> {
    let p = root().join("../shared");
    if p.join("attack").is_dir() && p.join("sigmahq/rules").is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}
