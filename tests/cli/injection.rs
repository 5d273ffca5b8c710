//! Terminal and CI-log injection (issue #11 item 9): rule text, file names and ATT&CK strings
//! full of ESC, BEL, C1, bidi controls, CR/LF and `::warning::` go through every command and
//! format; no raw control or bidi character and no line posing as a workflow command may come out.

use crate::common::{command, root, scratch, yaml_quoted};
use std::fs;
use std::path::Path;

/// Everything a hostile pull request can put into a string.
const POISON: &str =
    "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{85}\u{9b}31m\u{202e}\u{2066}\u{7f}\r\n::warning::injected\n";

/// A rule file name that would start workflow commands if printed raw.
const RULE_NAME: &str = "x\n::stop-commands::t\n\u{1b}[31m\u{202e}.yml";
const BROKEN_NAME: &str = "b\r\n::error::broken\u{85}.yml";
const EVENTS_NAME: &str = "e\n::warning::ev\u{2067}.jsonl";

/// A poisoned copy of the mini bundle: tactic, technique and matrix names and descriptions, and
/// the version of a collection object.
fn poisoned_bundle(dir: &Path) -> String {
    let text = fs::read_to_string(root().join("tests/fixtures/attack/mini-v18.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for o in v["objects"].as_array_mut().unwrap() {
        let kind = o["type"].as_str().unwrap_or_default().to_string();
        if ["x-mitre-tactic", "attack-pattern", "x-mitre-matrix"].contains(&kind.as_str()) {
            let name = format!("{}{POISON}", o["name"].as_str().unwrap_or_default());
            o["name"] = name.into();
            let desc = format!("{}{POISON}", o["description"].as_str().unwrap_or_default());
            o["description"] = desc.into();
        }
    }
    let path = dir.join("bundle.json");
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn rule(title: &str) -> String {
    let title = yaml_quoted(title);
    format!(
        "title: {title}\nid: 9b6c1f3e-0000-4000-8000-0000000000f1\nstatus: test\n\
         description: {title}\nreferences: [{title}]\nauthor: {title}\n\
         tags: [attack.t1059, attack.t1086, {tag}]\n\
         logsource: {{product: windows, category: process_creation}}\n\
         detection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n\
         falsepositives: [{title}]\nlevel: high\n",
        tag = yaml_quoted(&format!("attack.{}", POISON.trim()))
    )
}

/// Whether `c` must never reach a terminal or CI log raw.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Our own annotations are the only lines that may be workflow commands.
fn our_annotation(line: &str) -> bool {
    ["::error ", "::warning ", "::notice "]
        .iter()
        .any(|k| line.starts_with(k))
        && line.contains(",title=")
}

fn assert_clean(what: &str, stream: &str, bytes: &[u8], annotations: bool) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(c) = text.chars().find(|&c| unsafe_char(c)) {
        panic!(
            "{what}: raw U+{:04X} on {stream}:\n{}",
            c as u32,
            text.escape_debug()
        );
    }
    for line in text.lines() {
        let command = line.trim_start().starts_with("::");
        assert!(
            !command || (annotations && our_annotation(line)),
            "{what}: injected workflow command on {stream}: {line}"
        );
    }
}

#[test]
fn no_command_and_format_passes_raw_controls_or_workflow_commands() {
    let tmp = scratch();
    let dir = tmp.path();
    let bundle = poisoned_bundle(dir);
    let rules = dir.join("rules");
    fs::create_dir(&rules).unwrap();
    fs::write(rules.join(RULE_NAME), rule(POISON)).unwrap();
    fs::write(
        rules.join(BROKEN_NAME),
        format!("title: [{q}\n  bad: {q}", q = yaml_quoted(POISON)),
    )
    .unwrap();
    let events = dir.join("events");
    fs::create_dir(&events).unwrap();
    fs::write(
        events.join(EVENTS_NAME),
        format!(
            "{{\"Image\": \"C:\\\\x.exe\", \"CommandLine\": {}}}\n{POISON}\n",
            serde_json::to_string(POISON).unwrap()
        ),
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let e = events.to_str().unwrap();
    let version = format!("18{POISON}");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("technique", vec!["technique", "T1059", "--rules", r]),
        ("rules", vec!["rules", r]),
        (
            "coverage",
            vec!["coverage", r, "--link-base", "https://x.invalid/r"],
        ),
        ("check", vec!["check", r]),
        (
            "check --fix --dry-run",
            vec!["check", r, "--fix", "--dry-run"],
        ),
        ("test", vec!["test", r, "--events", e]),
        (
            "migrate",
            vec!["migrate", r, "--to", "embedded", "--dry-run"],
        ),
        ("attack info", vec!["attack", "info"]),
        ("attack diff", vec!["attack", "diff", "embedded", &bundle]),
    ];
    let formats: &[(&str, &[&str])] = &[
        ("technique", &["text", "markdown", "json"]),
        ("rules", &["text", "json"]),
        (
            "coverage",
            &["text", "markdown", "json", "csv", "navigator", "html"],
        ),
        ("check", &["text", "json", "sarif", "junit", "github"]),
        ("check --fix --dry-run", &["text"]),
        ("test", &["text", "json", "junit"]),
        ("migrate", &["text", "json"]),
        ("attack info", &["text", "json"]),
        ("attack diff", &["text", "markdown", "json"]),
    ];
    let mut runs = 0;
    for (name, args) in &cases {
        let (_, fmts) = formats.iter().find(|(n, _)| n == name).unwrap();
        for format in fmts.iter() {
            let mut cmd = command(dir);
            cmd.args(["--attack", &bundle, "--attack-version", &version])
                .args(args)
                .args(["--format", format]);
            let out = cmd.output().expect("binary runs");
            let what = format!("{name} --format {format}");
            let code = out.status.code();
            assert!(matches!(code, Some(0..=2)), "{what}: exit {code:?}");
            // Make sure the poison got in: the command did real work.
            assert!(!out.stdout.is_empty() || !out.stderr.is_empty(), "{what}");
            let annotations = *format == "github";
            assert_clean(&what, "stdout", &out.stdout, annotations);
            assert_clean(&what, "stderr", &out.stderr, false);
            runs += 1;
        }
    }
    assert_eq!(runs, 27);
    // The dry runs changed nothing.
    assert_eq!(
        fs::read_to_string(rules.join(RULE_NAME)).unwrap(),
        rule(POISON)
    );
}

/// `-o` twice onto the same file (after normalisation) is a usage error, before anything is written.
#[test]
fn coverage_output_to_the_same_path_twice_is_a_usage_error() {
    let tmp = scratch();
    let dir = tmp.path();
    fs::create_dir(dir.join("sub")).unwrap();
    let rules = root().join("tests/hostile/inputs/e01_html_script.yml");
    let rules = rules.to_str().unwrap();
    for (a, b) in [
        ("json:out.json", "html:out.json"),
        ("json:out.json", "csv:./out.json"),
        ("json:out.json", "navigator:sub/../out.json"),
    ] {
        let out = command(dir)
            .args(["coverage", rules, "-o", a, "-o", b])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{a} {b}: {stderr}");
        assert!(stderr.contains("the same path"), "{stderr}");
        assert!(!dir.join("out.json").exists(), "nothing written");
    }
    let out = command(dir)
        .args([
            "coverage",
            rules,
            "-o",
            "json:a.json",
            "-o",
            "csv:sub/a.json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.join("a.json").is_file() && dir.join("sub/a.json").is_file());
}

/// `--link-base`: http(s) or a relative path only; generated links percent-encode `< > " '`.
#[test]
fn link_base_refuses_other_schemes_and_links_are_encoded() {
    let rules = "tests/hostile/inputs/e01_html_script.yml";
    for bad in [
        "javascript:alert(1)//",
        "JavaScript:alert(1)",
        "data:text/html,<script>",
        "file:///etc",
        "//evil.invalid/",
        " javascript:x",
    ] {
        let out = command(&root())
            .args([
                "coverage",
                rules,
                "--format",
                "navigator",
                "--link-base",
                bad,
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {stderr}");
        assert!(stderr.contains("--link-base"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let tmp = scratch();
    let name = "a <b> \"c\" 'd'.yml";
    fs::copy(root().join(rules), tmp.path().join(name)).unwrap();
    for base in ["https://x.invalid/r", "rules/base"] {
        let out = command(tmp.path())
            .args([
                "coverage",
                name,
                "--format",
                "navigator",
                "--link-base",
                base,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{base}");
        let layer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let urls: Vec<String> = layer["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["links"].as_array().cloned().unwrap_or_default())
            .filter_map(|l| l["url"].as_str().map(String::from))
            .collect();
        assert!(!urls.is_empty(), "{base}: no links");
        for u in urls {
            assert_eq!(u, format!("{base}/a%20%3Cb%3E%20%22c%22%20%27d%27.yml"));
        }
    }
}
