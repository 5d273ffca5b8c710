//! The README stays true: every command line in its shell blocks runs against the fixtures, and
//! the figures it quotes from the embedded catalog, the rule pack and (when present) `../shared`
//! are the ones the tool computes now.
//!
//! Figures checked: `--version`; the rule pack's rule, platform and tactic counts and its 2 to 4
//! events per test file; the `coverage_minimum` example; the coverage denominators of the embedded
//! catalog (691 active, in scope, guidance) and, with `../shared`, SigmaHQ's rule count and
//! coverage totals. Corpus figures pinned by their own snapshots (check findings, regression
//! tests, suggest accuracy, timings) are left to those tests.

use crate::common::{self, Run};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// Lines that cannot run offline in a test, by prefix, with the reason.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo test", "the test suite itself"),
    (
        "cargo install",
        "installs into ~/.cargo (and `--git` needs the network)",
    ),
    (
        "attacktrace attack update",
        "downloads from MITRE (network)",
    ),
    (
        "attacktrace attack diff embedded cache",
        "needs the cache that `attack update` writes (network)",
    ),
];

/// README placeholders and the fixtures that stand in for them.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("samples/", "tests/fixtures/events/streams/mixed.jsonl"),
    ("baseline/", "tests/fixtures/events/streams/benign.jsonl"),
    ("BUNDLE.json", "tests/fixtures/versions/v18-mini.json"),
    ("OLD", "tests/fixtures/versions/v18-mini.json"),
    ("NEW", "tests/fixtures/versions/v19-mini.json"),
    ("v18.json", "tests/fixtures/versions/v18-mini.json"),
    ("v19.json", "tests/fixtures/versions/v19-mini.json"),
    ("telemetry.yml", "tests/fixtures/coverage/profile.yml"),
    (
        "rules/a.yml",
        "rules/windows/proc_creation_certutil_download.yml",
    ),
    (
        "rules/b.yml",
        "rules/linux/auditd_audit_system_disabled.yml",
    ),
];

fn readme() -> String {
    fs::read_to_string(common::root().join("README.md")).expect("README.md")
}

/// Every non-empty line of the README's `sh`/`bash`/`shell` fenced blocks, comments cut off.
fn shell_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<bool> = None; // Some(is_shell) inside a fence
    for line in text.lines() {
        let t = line.trim();
        if let Some(lang) = t.strip_prefix("```") {
            block = match block {
                None => Some(matches!(lang.trim(), "sh" | "bash" | "shell")),
                Some(_) => None,
            };
            continue;
        }
        if block == Some(true) {
            let cmd = strip_comment(t).trim().to_string();
            if !cmd.is_empty() {
                out.push(cmd);
            }
        }
    }
    out
}

/// `line` up to an unquoted ` #`.
fn strip_comment(line: &str) -> &str {
    let (mut quote, mut prev) = (None, ' ');
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Shell words of `line` (quotes removed), cut at a pipe; redirections and their targets
/// dropped (stdout is captured instead).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quote, mut has) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, has) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if has {
                    out.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            _ => (cur, has) = (cur + &c.to_string(), true),
        }
    }
    if has {
        out.push(cur);
    }
    let end = out.iter().position(|w| w == "|").unwrap_or(out.len());
    out.truncate(end);
    let mut kept = Vec::new();
    let mut it = out.into_iter();
    while let Some(w) = it.next() {
        if w == ">" || w == ">>" {
            it.next();
        } else {
            kept.push(w);
        }
    }
    kept
}

/// The arguments after the program, when the line runs attacktrace.
fn attacktrace_args(words: &[String]) -> Option<Vec<String>> {
    let first = words.first()?;
    if first == "attacktrace" || first.ends_with("/attacktrace") {
        return Some(words[1..].to_vec());
    }
    if first == "cargo" && words.get(1).map(String::as_str) == Some("run") {
        let dash = words.iter().position(|w| w == "--")?;
        return Some(words[dash + 1..].to_vec());
    }
    None
}

/// `arg` with README placeholders and `../shared` paths mapped; `None` when it names `../shared`
/// and that is absent (skipped, or a failure under CI).
fn map_arg(arg: &str) -> Option<String> {
    if let Some((fmt, path)) = arg.split_once(':').filter(|(f, _)| !f.contains('/')) {
        if path.contains('.') && !path.starts_with("//") {
            return map_arg(path).map(|p| format!("{fmt}:{p}"));
        }
    }
    if let Some(rest) = arg.strip_prefix("../shared/") {
        return common::shared().map(|s| s.join(rest).display().to_string());
    }
    if let Some((_, to)) = PLACEHOLDERS.iter().find(|(p, _)| *p == arg) {
        // The pack is copied into the working directory; other fixtures are read in place.
        if to.starts_with("rules/") {
            return Some(to.to_string());
        }
        return Some(common::root().join(to).display().to_string());
    }
    Some(arg.to_string())
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh working directory: a copy of the rule pack, the folder `attack compile` writes to,
/// and the coverage baselines the README names.
fn workdir() -> tempfile::TempDir {
    let dir = common::scratch();
    copy_dir(&common::root().join("rules"), &dir.path().join("rules"));
    fs::create_dir_all(dir.path().join("mappings/attack")).expect("mkdir");
    let base = common::run_in(dir.path(), &["coverage", "rules/", "--format", "json"]);
    assert_eq!(base.code, 0, "{}", base.stderr);
    for name in ["main-coverage.json", "main.json"] {
        fs::write(dir.path().join(name), &base.stdout).expect("baseline");
    }
    dir
}

#[test]
fn every_readme_command_line_runs() {
    let (mut ran, mut skipped) = (0, 0);
    for line in shell_lines(&readme()) {
        if NOT_RUN.iter().any(|(p, _)| line.starts_with(p)) {
            continue;
        }
        let Some(args) = attacktrace_args(&words(&line)) else {
            panic!("README line neither runs attacktrace nor is in NOT_RUN: {line}");
        };
        let Some(args) = args.iter().map(|a| map_arg(a)).collect::<Option<Vec<_>>>() else {
            skipped += 1;
            continue;
        };
        let dir = workdir();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = common::run_in(dir.path(), &args);
        assert!(
            matches!(run.code, 0 | 1) && !run.stderr.contains("internal error"),
            "README line `{line}` exited {}:\n{}",
            run.code,
            run.stderr
        );
        ran += 1;
    }
    // A guard against a parser that silently finds nothing (43 lines run today).
    assert!(ran + skipped >= 40, "only {ran} README lines ran");
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let run: Run = common::run_in(dir, args);
    assert!(matches!(run.code, 0 | 1), "{args:?}: {}", run.stderr);
    serde_json::from_str(&run.stdout).expect("json")
}

fn assert_quoted(text: &str, figure: &str) {
    assert!(text.contains(figure), "README does not say: {figure}");
}

#[test]
fn readme_figures_match_the_tool() {
    // Whitespace collapsed: figures may wrap across lines.
    let text = readme().split_whitespace().collect::<Vec<_>>().join(" ");
    let root = common::root();
    let version = common::run(&["--version"]);
    assert_quoted(&text, &format!("# {}", version.stdout.trim()));

    let cov = json(&root, &["coverage", "rules/", "--format", "json"]);
    let rules = cov["rules"].as_array().expect("rules");
    let under = |p: &str| {
        let n = rules
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|s| s.starts_with(p)));
        n.count()
    };
    let tactics = cov["tactics"].as_array().expect("tactics");
    let with_rules = tactics.iter().filter(|t| t["rules"].as_u64() > Some(0));
    assert_quoted(
        &text,
        &format!(
            "{} original rules ({} Windows, {} Linux, {} cloud audit logs) covering {} ATT&CK tactics",
            rules.len(),
            under("rules/windows/"),
            under("rules/linux/"),
            under("rules/cloud/"),
            with_rules.count()
        ),
    );
    assert_quoted(&text, &format!("all {} enterprise tactics", tactics.len()));
    pack_event_counts(&text, &root.join("rules"));
    coverage_minimum(&text, &root);
    sigmahq_coverage(&text, &cov["totals"]);
}

/// "(2 to 4 per rule)" for positives and negatives alike.
fn pack_event_counts(text: &str, rules: &Path) {
    let mut counts: Vec<usize> = Vec::new();
    let mut stack: Vec<PathBuf> = vec![rules.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry"))
        {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                let body = fs::read_to_string(&p).expect("events");
                counts.push(body.lines().filter(|l| !l.trim().is_empty()).count());
            }
        }
    }
    let (min, max) = (counts.iter().min(), counts.iter().max());
    let (min, max) = (min.expect("events"), max.expect("events"));
    assert_quoted(
        text,
        &format!("must match every one of them ({min} to {max} per rule)"),
    );
    assert_quoted(text, &format!("must not match ({min} to {max} per rule)"));
}

/// The `coverage_minimum` example is the rule pack's.
fn coverage_minimum(text: &str, root: &Path) {
    let run = common::run_in(root, &["check", "rules/", "--min-coverage", "overall=25"]);
    let msg = run
        .stdout
        .lines()
        .find_map(|l| l.split_once("]: ").map(|(_, m)| m));
    let msg = msg
        .filter(|m| m.starts_with("overall:"))
        .expect("coverage_minimum finding");
    assert_quoted(text, &format!("e.g. `{msg}`"));
}

/// The coverage paragraph: denominators from the embedded catalog, counts from SigmaHQ.
fn sigmahq_coverage(text: &str, pack: &Value) {
    let flat = text;
    let (active, guidance) = (&pack["active"], &pack["guidance"]);
    let (t, s) = (
        &pack["techniques"]["in_scope"],
        &pack["subtechniques"]["in_scope"],
    );
    let in_scope = t.as_u64().unwrap_or(0) + s.as_u64().unwrap_or(0);
    assert_quoted(flat, &format!("of {active}** active techniques"));
    assert_quoted(flat, &format!("of {in_scope}** (techniques"));
    assert_quoted(flat, &format!("plus {guidance} guidance techniques"));
    let Some(shared) = common::shared() else {
        return;
    };
    let sigma = shared.join("sigmahq/rules").display().to_string();
    let cov = json(&shared, &["coverage", &sigma, "--format", "json"]);
    let tot = &cov["totals"];
    let (tc, sc) = (
        &tot["techniques"]["covered"],
        &tot["subtechniques"]["covered"],
    );
    let covered = tc.as_u64().unwrap_or(0) + sc.as_u64().unwrap_or(0);
    let rules = tot["rules_in_scope"].as_u64().unwrap_or(0);
    let thousands = format!("{},{:03}", rules / 1000, rules % 1000);
    assert_quoted(flat, &format!("bundles, {thousands} SigmaHQ rules)"));
    assert_quoted(
        flat,
        &format!(
            "is **{} of {active}** active techniques (`totals.claimed` / `totals.active`, the \
             figure other tools give), of which {} are guidance techniques; the coverage \
             AttackTrace reports is **{covered} of {in_scope}** (techniques {tc}/{t}, \
             sub-techniques {sc}/{s}) plus {guidance} guidance techniques",
            tot["claimed"], tot["guidance_claimed"]
        ),
    );
}
