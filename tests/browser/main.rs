//! The HTML coverage page in a real browser (headless Chromium; skipped with a notice when it is not
//! installed): the matrix renders with one cell per (technique, tactic), the page's own script runs,
//! and no script from rule content does; at 1400 and 1920 px every tactic column is in view and
//! the details drawer opens over the matrix. Screenshots are saved as
//! `target/coverage-html-1400.png` and `target/coverage-html-1920.png`.
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
        dom.matches("<section class=\"col").count(),
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

    for width in [1400, 1920] {
        layout_fits(
            &bin,
            &html,
            width,
            report["tactics"].as_array().unwrap().len(),
        );
        let shot = target.join(format!("coverage-html-{width}.png"));
        let _ = std::fs::remove_file(&shot);
        browser(
            &bin,
            &[
                &format!("--screenshot={}", shot.display()),
                &format!("--window-size={width},1000"),
                "--hide-scrollbars",
            ],
            &html,
        );
        let meta = std::fs::metadata(&shot).expect("screenshot written");
        assert!(meta.len() > 10_000, "screenshot suspiciously small");
        eprintln!("screenshot: {}", shot.display());
    }
}

/// Measures the page at `width` px in the browser: a copy of the page gets a probe script that
/// writes every tactic column's box, the folded PRE columns and the drawer's state after a click
/// into the DOM, which `--dump-dom` returns.
fn layout_fits(bin: &Path, html: &Path, width: u32, tactics: usize) {
    const PROBE: &str = r#"<script>
(function(){
  var out=[];
  var cols=document.querySelectorAll('#matrix .col');
  for(var i=0;i<cols.length;i++){
    var b=cols[i].getBoundingClientRect();
    out.push(cols[i].getAttribute('data-tactic')+':'+Math.floor(b.left)+':'+Math.ceil(b.right)+':'+(cols[i].classList.contains('folded')?'f':'o'));
  }
  var p=document.getElementById('panel');
  p.style.transition='none';
  var cell=document.querySelector('#matrix .cell:not(.g)');
  cell.click();
  var pb=p.getBoundingClientRect();
  document.body.setAttribute('data-probe',out.join(' ')+'|'+window.innerWidth+'|'+p.classList.contains('open')+'|'+(document.getElementById('panel-body').textContent.length>0)+'|'+Math.round(pb.right));
})();
</script></body>"#;
    let page = html.with_file_name(format!("coverage-browser-probe-{width}.html"));
    let text = std::fs::read_to_string(html).unwrap();
    std::fs::write(&page, text.replace("</body>", PROBE)).unwrap();
    let dom = browser(
        bin,
        &["--dump-dom", &format!("--window-size={width},1000")],
        &page,
    );
    let at = dom.find("data-probe=\"").expect("probe ran") + 12;
    let probe = &dom[at..at + dom[at..].find('"').unwrap()];
    let parts: Vec<&str> = probe.split('|').collect();
    let viewport: i64 = parts[1].parse().unwrap();
    assert_eq!(viewport, width as i64, "viewport width");
    let cols: Vec<&str> = parts[0].split(' ').collect();
    assert_eq!(cols.len(), tactics);
    for c in &cols {
        let f: Vec<&str> = c.split(':').collect();
        let (left, right): (i64, i64) = (f[1].parse().unwrap(), f[2].parse().unwrap());
        assert!(
            left >= 0 && right <= viewport && right > left,
            "{width} px: tactic column {} at {left}..{right} is not in view",
            f[0]
        );
        let pre = f[0] == "reconnaissance" || f[0] == "resource-development";
        assert_eq!(
            f[3] == "f",
            pre,
            "{width} px: {c}: PRE tactics fold by default, no other"
        );
    }
    assert_eq!(parts[2], "true", "the drawer opens on a click");
    assert_eq!(parts[3], "true", "the drawer shows the technique's details");
    assert!(
        parts[4].parse::<i64>().unwrap() <= viewport,
        "drawer in view"
    );
    eprintln!(
        "{width} px: {} tactic columns in view: {}",
        cols.len(),
        parts[0]
    );
}
