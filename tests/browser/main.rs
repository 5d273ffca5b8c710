//! The HTML coverage page in a real browser (headless Chromium; skipped with a notice when it is not
//! installed): the matrix renders with one cell per (technique, tactic), the page's own script runs,
//! and no script from rule content does. A screenshot is saved as `target/coverage-html.png`.
//! `.ci/run` installs the browser with `apt-get install -y chromium`.

#![allow(clippy::print_stderr)] // skip notices and measured figures go to the test log

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/mod.rs"]
mod common;

use common::root;

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs headless Chromium with the flags that keep it offline and quiet; kills it after 90 s.
fn browser(bin: &Path, extra: &[&str], page: &Path) -> String {
    let tmp = common::scratch();
    let profile = tmp.path().join("profile");
    // Stdout goes to a file: a 1-2 MB DOM would fill a pipe nobody drains while we poll.
    let dump = tmp.path().join("page.dom");
    let dump_file = std::fs::File::create(&dump).unwrap();
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::from(dump_file))
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            panic!("chromium did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = std::fs::read(&dump).unwrap_or_default();
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn html_matrix_renders_and_rule_scripts_do_not_run() {
    let Some(bin) = chromium() else {
        eprintln!("skipping: chromium not found (apt-get install -y chromium)");
        return;
    };
    // The fixtures carry the hostile rule; SigmaHQ, when present, gives a full-size page.
    let mut inputs = vec![root().join("tests/fixtures/coverage/rules")];
    let sigmahq = common::shared_dir().join("sigmahq/rules");
    if sigmahq.is_dir() {
        inputs.push(sigmahq);
    }
    let target = root().join("target");
    std::fs::create_dir_all(&target).unwrap();
    let html = target.join("coverage-browser-test.html");
    let json = target.join("coverage-browser-test.json");
    let mut args: Vec<String> = vec!["-q".into(), "coverage".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.push("--output".into());
    args.push(format!("html:{}", html.display()));
    args.push("--output".into());
    args.push(format!("json:{}", json.display()));
    let st = common::command(&root()).args(&args).status().unwrap();
    assert_eq!(st.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let expected: usize = report["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tactics"].as_array().unwrap().len())
        .sum();

    let dom = browser(&bin, &["--dump-dom"], &html);
    assert!(dom.contains("<body"), "no DOM dumped");
    assert_eq!(
        dom.matches("data-cell=\"1\"").count(),
        expected,
        "matrix cells"
    );
    assert_eq!(
        dom.matches("<section class=\"col\"").count(),
        report["tactics"].as_array().unwrap().len()
    );
    // The hostile title is present as text, and neither its script nor its onerror handler ran.
    assert!(dom.contains("&lt;script&gt;document.title='PWNED'"));
    let body_tag = &dom[dom.find("<body").unwrap()..];
    let body_tag = &body_tag[..body_tag.find('>').unwrap()];
    assert!(
        !body_tag.contains("data-pwned"),
        "rule content executed: {body_tag}"
    );
    // The text itself is there exactly as often as the page renders it (panel store + lists).
    assert!(
        !dom.contains("<img src=\"x\""),
        "hostile markup became an element"
    );
    assert!(dom.contains("<title>ATT&amp;CK coverage: enterprise-attack v18.1</title>"));
    assert!(!dom.contains("PWNED</title>"));

    let shot = target.join("coverage-html.png");
    let _ = std::fs::remove_file(&shot);
    browser(
        &bin,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1600,1000",
            "--hide-scrollbars",
        ],
        &html,
    );
    let meta = std::fs::metadata(&shot).expect("screenshot written");
    assert!(meta.len() > 10_000, "screenshot suspiciously small");
    eprintln!("screenshot: {}", shot.display());
}
