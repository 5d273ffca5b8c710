//! Determinism across runs and thread counts, and atomic report writing under a killed run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{command, root, scratch};

fn run(args: &[&str], threads: Option<&str>) -> (i32, Vec<u8>) {
    let mut cmd = command(&root());
    cmd.args(args);
    match threads {
        Some(n) => cmd.env("RAYON_NUM_THREADS", n),
        None => cmd.env_remove("RAYON_NUM_THREADS"),
    };
    let out = cmd.output().expect("binary runs");
    (out.status.code().unwrap_or(-1), out.stdout)
}

/// Every command's output is byte-identical across runs and across thread counts.
#[test]
fn output_is_identical_across_thread_counts() {
    let commands: &[&[&str]] = &[
        &["rules", "tests/fixtures/rules", "rules", "--format", "json"],
        &["rules", "tests/hostile/inputs"],
        &[
            "technique",
            "T1059",
            "--rules",
            "rules",
            "--rules",
            "tests/fixtures/rules",
            "--format",
            "json",
        ],
        &[
            "technique",
            "T1595",
            "--rules",
            "rules",
            "--format",
            "markdown",
        ],
        &[
            "coverage",
            "rules",
            "tests/fixtures/coverage/rules",
            "--format",
            "json",
        ],
        &["coverage", "rules", "--format", "csv"],
        &["coverage", "rules", "--format", "navigator"],
        &["coverage", "rules", "--format", "html"],
        &["attack", "info", "--format", "json"],
    ];
    for args in commands {
        let (code1, one) = run(args, Some("1"));
        let (code4, four) = run(args, Some("4"));
        let (coded, default) = run(args, None);
        assert!(!one.is_empty(), "{args:?} printed nothing");
        assert_eq!(code1, code4, "{args:?}");
        assert_eq!(code1, coded, "{args:?}");
        assert!(one == four, "{args:?}: 1 thread and 4 threads differ");
        assert!(
            one == default,
            "{args:?}: 1 thread and default threads differ"
        );
    }
}

/// A run killed while writing leaves the previous report intact: reports are written to a
/// temporary file and renamed, so the target is always either the old or the complete new file.
#[test]
fn killed_run_leaves_previous_report_intact() {
    let tmp = scratch();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    // Enough rules that loading takes a while, so kills land at different points of the run.
    let rule = std::fs::read_to_string(
        root().join("tests/fixtures/rules/valid/win_proc_creation_encoded_powershell.yml"),
    )
    .unwrap();
    for i in 0..1500 {
        std::fs::write(dir.join("rules").join(format!("r{i:04}.yml")), &rule).unwrap();
    }
    let report = dir.join("coverage.json");
    let previous = b"{\"previous\": \"report\"}\n";
    let arg = format!("json:{}", report.display());
    let rules = dir.join("rules");
    let mut outcomes = (0, 0);
    for delay_ms in [0u64, 5, 10, 20, 40, 80, 160, 320] {
        std::fs::write(&report, previous).unwrap();
        let mut child = command(&root())
            .args(["coverage", rules.to_str().unwrap(), "--output", &arg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(delay_ms) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let _ = child.wait();
        let now = std::fs::read(&report).unwrap();
        if now == previous {
            outcomes.0 += 1;
        } else {
            let v: serde_json::Value =
                serde_json::from_slice(&now).expect("a replaced report is complete JSON");
            assert!(v.is_object());
            outcomes.1 += 1;
        }
    }
    // A kill at 0 ms lands before any write: the old report must have been seen at least once,
    // or the test never exercised an interrupted run.
    assert!(outcomes.0 >= 1, "no kill interrupted a run: {outcomes:?}");
    // The same run left alone replaces the report with a complete one, so "previous report
    // intact" above means "not yet written", not "this command never writes the file".
    std::fs::write(&report, previous).unwrap();
    let st = command(&root())
        .args(["coverage", rules.to_str().unwrap(), "--output", &arg])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let now = std::fs::read(&report).unwrap();
    assert_ne!(now, previous, "a completed run replaces the report");
    let v: serde_json::Value = serde_json::from_slice(&now).expect("complete JSON");
    assert!(v.is_object());
}
