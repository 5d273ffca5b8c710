//! The bad-input corpus: hostile or broken inputs, each run through the binary with its exit code,
//! stdout and stderr snapshotted together. Nothing may crash, hang, vanish or leak escapes.
//!
//! Static inputs live in `tests/hostile/inputs/`; inputs that are large, binary, or need symlinks
//! and permissions are generated into a temporary directory by the case's `prepare`.
#![allow(clippy::print_stderr)] // notices for cases skipped when running as root

use std::fs;
use std::path::{Path, PathBuf};

const INPUTS: &str = "tests/hostile/inputs";

use crate::common::{root, run_in, scratch, yaml_quoted, Run as Out};
use tempfile::TempDir;

/// A fresh scratch directory (`tempfile`), removed when dropped.
struct Scratch(PathBuf, TempDir);

impl Scratch {
    fn new() -> Scratch {
        let t = scratch();
        Scratch(t.path().to_path_buf(), t)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Restore permissions so removal works after the unreadable-file case.
        #[cfg(unix)]
        if let Ok(entries) = fs::read_dir(self.1.path()) {
            use std::os::unix::fs::PermissionsExt;
            for e in entries.flatten() {
                let _ = fs::set_permissions(e.path(), fs::Permissions::from_mode(0o644));
            }
        }
    }
}

/// Exit code, then stdout, then stderr: one reviewable text per case. `tail` keeps only the last
/// lines of stdout for cases whose listing would be huge.
fn transcript(o: &Out, tail: Option<usize>) -> String {
    let stdout = match tail {
        Some(n) => {
            let lines: Vec<&str> = o.stdout.lines().collect();
            let start = lines.len().saturating_sub(n);
            format!("[... {start} lines ...]\n{}\n", lines[start..].join("\n"))
        }
        None => o.stdout.clone(),
    };
    // Bound what a snapshot may hold (the 1 MB title case).
    let clip = |s: String| {
        if s.len() > 4000 {
            let mut end = 4000;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}[... {} bytes clipped]\n", &s[..end], s.len() - end)
        } else {
            s
        }
    };
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.code,
        clip(stdout),
        clip(o.stderr.clone())
    )
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn static_case(name: &str, args: &[&str]) -> Out {
    let o = run_in(&root(), args);
    assert!(
        o.code == 0 || o.code == 1 || o.code == 2,
        "{name}: unexpected exit {}: {}",
        o.code,
        o.stderr
    );
    assert!(
        !o.stderr.contains("panicked") && !o.stderr.contains("overflow"),
        "{name}: {}",
        o.stderr
    );
    o
}

fn counts_add_up(o: &Out) {
    if let Some(line) = o.stdout.lines().find(|l| l.starts_with("files seen:")) {
        let nums: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        assert_eq!(
            nums[0],
            nums[1] + nums[2],
            "files seen = loaded + reported: {line}"
        );
    }
}

/// Every static rule input, through `rules`.
#[test]
fn static_rule_inputs() {
    let mut names: Vec<String> = fs::read_dir(root().join(INPUTS))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('r') && n.ends_with(".yml"))
        .collect();
    names.sort();
    assert!(names.len() >= 20, "corpus shrank: {}", names.len());
    for name in names {
        let path = format!("{INPUTS}/{name}");
        let o = static_case(&name, &["rules", &path]);
        counts_add_up(&o);
        insta::assert_snapshot!(
            name.trim_end_matches(".yml").to_string(),
            transcript(&o, None)
        );
    }
}

/// Every static ATT&CK input, through `--attack FILE attack info`.
#[test]
fn static_attack_inputs() {
    let mut names: Vec<String> = fs::read_dir(root().join(INPUTS))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('s') && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let path = format!("{INPUTS}/{name}");
        let o = static_case(&name, &["--attack", &path, "attack", "info"]);
        assert!(o.code == 0 || o.code == 2, "{name}: exit {}", o.code);
        insta::assert_snapshot!(
            name.trim_end_matches(".json").to_string(),
            transcript(&o, None)
        );
    }
}

/// Rule text built to break out of every output format: each format escapes it.
#[test]
fn escaping_in_every_format() {
    let rules = [
        "e01_html_script.yml",
        "e02_csv_formula.yml",
        "e03_markdown_breakout.yml",
        "e04_xml_json_breakout.yml",
        "e05_terminal_escapes.yml",
    ];
    let mut args = vec!["technique", "T1059.001"];
    let paths: Vec<String> = rules.iter().map(|r| format!("{INPUTS}/{r}")).collect();
    for p in &paths {
        args.push("--rules");
        args.push(p);
    }
    for format in ["text", "markdown", "json"] {
        let mut a = args.clone();
        a.extend(["--format", format]);
        let o = static_case(format, &a);
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert!(
            !o.stdout.contains('\u{1b}'),
            "{format}: raw ESC reached the output"
        );
        assert!(
            !o.stdout.contains('\u{7}'),
            "{format}: raw BEL reached the output"
        );
        if format == "json" {
            let v: serde_json::Value = serde_json::from_str(&o.stdout).expect("valid JSON");
            let titles: Vec<&str> = v["rules"]["tagged"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["title"].as_str())
                .collect();
            assert!(
                titles.contains(&"<script>alert(1)</script>"),
                "JSON keeps text as is"
            );
        }
        if format == "markdown" {
            assert!(!o.stdout.contains("<script>"), "markdown: raw HTML");
            // `[click](javascript:...)` must only appear with its brackets escaped.
            for (i, _) in o.stdout.match_indices("](javascript:") {
                assert_eq!(&o.stdout[i - 1..i], "\\", "markdown: live link");
            }
        }
        // Only the rule section differs between runs with and without these rules; snapshot it.
        let section: String = o
            .stdout
            .lines()
            .skip_while(|l| !l.contains("Sigma rules") && !l.contains("\"rules\""))
            .take(40)
            .collect::<Vec<_>>()
            .join("\n");
        insta::assert_snapshot!(format!("escaping_card_{format}"), section);
    }
}

/// Terminal and CI-log injection (issue #11 item 9): a file name that would start workflow
/// commands, rule text and ATT&CK names full of escapes, in the formats CI logs print.
fn injection_inputs(d: &Path) {
    const POISON: &str =
        "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{85}\u{9b}31m\u{202e}\r\n::warning::injected";
    fs::create_dir_all(d.join("rules")).unwrap();
    let q = yaml_quoted(POISON);
    let rule = format!(
        "title: {q}\nstatus: test\ndescription: {q}\ntags: [attack.t1059, attack.t1086]\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel:\n    Image: x\n  condition: sel\nlevel: high\n"
    );
    fs::write(d.join("rules/x\n::stop-commands::t\n\u{1b}[31m.yml"), rule).unwrap();
    // Its own tests, both failing: the JUnit failures carry the file names.
    let own = d.join("rules/x\n::stop-commands::t\n\u{1b}[31m.tests");
    fs::create_dir_all(&own).unwrap();
    fs::write(own.join("positive.jsonl"), "{\"Image\": \"y\"}\n").unwrap();
    fs::write(own.join("negative.jsonl"), "{\"Image\": \"x\"}\n").unwrap();
    fs::write(
        d.join("rules/b\r\n::error::broken\u{202e}.yml"),
        format!("title: [{q}\n  bad: {q}"),
    )
    .unwrap();
    fs::create_dir_all(d.join("events")).unwrap();
    fs::write(
        d.join("events/e\n::error::ev\u{85}.jsonl"),
        format!("{{\"Image\": \"x\"}}\n::error::{POISON}\n"),
    )
    .unwrap();
    let bundle = fs::read_to_string(root().join("tests/fixtures/attack/mini-v18.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&bundle).unwrap();
    for o in v["objects"].as_array_mut().unwrap() {
        if matches!(
            o["type"].as_str(),
            Some("x-mitre-tactic" | "attack-pattern")
        ) {
            o["name"] = format!("{}{POISON}", o["name"].as_str().unwrap()).into();
        }
    }
    // Sorted keys: the same bytes (and SHA-256 in the transcripts) whatever serde_json's map order.
    v.sort_all_objects();
    fs::write(d.join("bundle.json"), v.to_string()).unwrap();
}

/// The injection cases as transcripts: the github and JUnit outputs, the `--fix` diff headers and
/// ATT&CK strings from a bundle, each with no raw control and no line posing as a command.
#[test]
fn injection_transcripts() {
    let version = "18\u{1b}[31m\n::warning::v";
    let attack: &[&str] = &["--attack", "bundle.json", "--attack-version", version];
    let cases: &[(&str, &[&str])] = &[
        ("i_check_github", &["check", "rules", "--format", "github"]),
        ("i_check_junit", &["check", "rules", "--format", "junit"]),
        (
            "i_test_junit",
            &["test", "rules", "--events", "events", "--format", "junit"],
        ),
        ("i_fix_dry_run", &["check", "rules", "--fix", "--dry-run"]),
        ("i_attack_info", &["attack", "info"]),
    ];
    for (name, args) in cases {
        let dir = Scratch::new();
        injection_inputs(&dir.0);
        let args: Vec<&str> = attack.iter().chain(args.iter()).copied().collect();
        let o = run_in(&dir.0, &args);
        let text = transcript(&o, None);
        let raw = text.chars().find(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        });
        assert_eq!(raw, None, "{name}: raw control character");
        for line in o.stdout.lines().chain(o.stderr.lines()) {
            let ours = *name == "i_check_github" && line.contains(",title=");
            assert!(
                !line.trim_start().starts_with("::") || ours,
                "{name}: injected workflow command: {line}"
            );
        }
        insta::assert_snapshot!(*name, text);
    }
}

struct Generated {
    name: &'static str,
    prepare: fn(&Path),
    args: &'static [&'static str],
    tail: Option<usize>,
}

const RULE: &str = "title: generated\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image: x\n  condition: sel\n";

fn generated_cases() -> Vec<Generated> {
    vec![
        Generated {
            name: "g_latin1",
            prepare: |d| {
                fs::write(d.join("r.yml"), b"title: caf\xe9 au lait\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image: x\n  condition: sel\n").unwrap()
            },
            args: &["rules", "r.yml"],
            tail: None,
        },
        Generated {
            name: "g_utf16",
            prepare: |d| {
                let mut bytes = vec![0xFF, 0xFE];
                for u in RULE.encode_utf16() {
                    bytes.extend_from_slice(&u.to_le_bytes());
                }
                fs::write(d.join("r.yml"), bytes).unwrap()
            },
            args: &["rules", "r.yml"],
            tail: None,
        },
        Generated {
            name: "g_crlf",
            prepare: |d| fs::write(d.join("r.yml"), RULE.replace('\n', "\r\n")).unwrap(),
            args: &["rules", "r.yml"],
            tail: None,
        },
        Generated {
            name: "g_50mb",
            prepare: |d| {
                let mut s = String::from(RULE);
                let filler = "# filler comment line to make the file enormous ..........\n";
                while s.len() < 50 * 1024 * 1024 {
                    s.push_str(filler);
                }
                fs::write(d.join("big.yml"), s).unwrap()
            },
            args: &["rules", "big.yml"],
            tail: None,
        },
        Generated {
            name: "g_nesting_10k",
            prepare: |d| {
                let s = format!(
                    "title: deep\nx: {}{}\n",
                    "[".repeat(10_000),
                    "]".repeat(10_000)
                );
                fs::write(d.join("deep.yml"), s).unwrap()
            },
            args: &["rules", "deep.yml"],
            tail: None,
        },
        Generated {
            name: "g_nesting_block_2k",
            prepare: |d| {
                let mut s = String::from("title: deep block mapping\nx:\n");
                for i in 0..2_000 {
                    s.push_str(&" ".repeat(i + 1));
                    s.push_str("k:\n");
                }
                fs::write(d.join("deep.yml"), s).unwrap()
            },
            args: &["rules", "deep.yml"],
            tail: None,
        },
        Generated {
            name: "g_condition_100k_terms",
            prepare: |d| {
                let s = RULE.replace(
                    "condition: sel",
                    &format!("condition: {}", vec!["sel"; 100_000].join(" or ")),
                );
                fs::write(d.join("cond.yml"), s).unwrap()
            },
            args: &["rules", "cond.yml"],
            tail: None,
        },
        Generated {
            name: "g_condition_100k_parens",
            prepare: |d| {
                let s = RULE.replace(
                    "condition: sel",
                    &format!(
                        "condition: {}sel{}",
                        "(".repeat(100_000),
                        ")".repeat(100_000)
                    ),
                );
                fs::write(d.join("cond.yml"), s).unwrap()
            },
            args: &["rules", "cond.yml"],
            tail: None,
        },
        Generated {
            name: "g_nul_bytes",
            prepare: |d| {
                fs::write(
                    d.join("nul.yml"),
                    b"title: nul\x00byte\nlogsource: {product: windows}\n",
                )
                .unwrap()
            },
            args: &["rules", "nul.yml"],
            tail: None,
        },
        Generated {
            name: "g_long_line",
            prepare: |d| {
                let s = RULE.replace(
                    "title: generated",
                    &format!("title: {}", "A".repeat(1 << 20)),
                );
                fs::write(d.join("long.yml"), s).unwrap()
            },
            args: &["rules", "long.yml"],
            tail: None,
        },
        Generated {
            name: "g_10k_documents",
            prepare: |d| {
                let s = vec![RULE; 10_000].join("---\n");
                fs::write(d.join("many.yml"), s).unwrap()
            },
            args: &["rules", "many.yml"],
            tail: Some(2),
        },
        Generated {
            name: "g_symlink_loop",
            prepare: |d| {
                fs::create_dir(d.join("rules")).unwrap();
                fs::write(d.join("rules/ok.yml"), RULE).unwrap();
                #[cfg(unix)]
                std::os::unix::fs::symlink("..", d.join("rules/loop")).unwrap();
            },
            args: &["rules", "rules"],
            tail: None,
        },
        Generated {
            name: "g_dangling_symlink",
            prepare: |d| {
                fs::create_dir(d.join("rules")).unwrap();
                fs::write(d.join("rules/ok.yml"), RULE).unwrap();
                #[cfg(unix)]
                std::os::unix::fs::symlink("vanished.yml", d.join("rules/gone.yml")).unwrap();
            },
            args: &["rules", "rules"],
            tail: None,
        },
        Generated {
            name: "g_missing_path",
            prepare: |_| {},
            args: &["rules", "no/such/dir", "nothing-*.yml"],
            tail: None,
        },
        Generated {
            name: "g_symlink_outside_root",
            prepare: outside_links,
            args: &["rules", "rules"],
            tail: None,
        },
        Generated {
            name: "g_symlink_outside_root_followed",
            prepare: outside_links,
            args: &["rules", "rules", "--follow-symlinks"],
            tail: None,
        },
        Generated {
            name: "g_max_file_size_flag",
            prepare: |d| fs::write(d.join("r.yml"), RULE).unwrap(),
            args: &["rules", "r.yml", "--max-file-size", "64"],
            tail: None,
        },
        Generated {
            name: "g_event_1gb_line",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                // A sparse file: a JSON line that goes on for 1 GiB without a newline. The reader
                // must stop at its line limit without holding the line in memory.
                let f = fs::File::create(d.join("big.jsonl")).unwrap();
                use std::io::Write;
                (&f).write_all(b"{\"EventID\": 1, \"Image\": \"").unwrap();
                f.set_len(1 << 30).unwrap();
            },
            args: &["test", "r.yml", "--events", "big.jsonl", "--no-own-tests"],
            tail: None,
        },
        Generated {
            name: "g_events_over_limit",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                let line = "{\"EventID\": 1, \"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"Image\": \"x\"}\n";
                fs::write(d.join("ev.jsonl"), line.repeat(5)).unwrap();
            },
            args: &[
                "test",
                "r.yml",
                "--events",
                "ev.jsonl",
                "--no-own-tests",
                "--max-events",
                "2",
            ],
            tail: None,
        },
        Generated {
            name: "g_events_garbage",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::write(
                    d.join("ev.jsonl"),
                    "{\"EventID\": 1}\nnot json at all\n[1, 2\n",
                )
                .unwrap();
            },
            args: &["test", "r.yml", "--events", "ev.jsonl", "--no-own-tests"],
            tail: None,
        },
        Generated {
            name: "g_check_config_unknown_keys",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::write(
                    d.join("cfg.yml"),
                    "validators: [all]\nfrobnicate: true\nexclusions: {}\n",
                )
                .unwrap();
            },
            args: &["check", "r.yml", "--config", "cfg.yml"],
            tail: None,
        },
        Generated {
            name: "g_check_config_not_yaml",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::write(d.join("cfg.yml"), "validators: [all\n").unwrap();
            },
            args: &["check", "r.yml", "--config", "cfg.yml"],
            tail: None,
        },
        Generated {
            name: "g_profile_unknown_keys",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::write(
                    d.join("profile.yml"),
                    "logsources:\n  - product: windows\n    colour: blue\n",
                )
                .unwrap();
            },
            args: &["coverage", "r.yml", "--profile", "profile.yml"],
            tail: None,
        },
        Generated {
            name: "g_baseline_not_json",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::write(d.join("base.json"), "{ not json").unwrap();
            },
            args: &["coverage", "r.yml", "--baseline", "base.json"],
            tail: None,
        },
        Generated {
            name: "g_attack_deep_json",
            prepare: |d| {
                let s = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
                fs::write(d.join("deep.json"), s).unwrap()
            },
            args: &["--attack", "deep.json", "attack", "info"],
            tail: None,
        },
        Generated {
            name: "g_attack_missing_file",
            prepare: |_| {},
            args: &["--attack", "absent.json", "technique", "T1059"],
            tail: None,
        },
        Generated {
            name: "g_event_pretty_big",
            prepare: |d| {
                // One pretty-printed event of ~500 KB (20,000 lines), then a matching one: the
                // reader used to re-parse the whole event at every line (minutes for this file).
                fs::write(d.join("r.yml"), RULE).unwrap();
                let fields: Vec<String> = (0..20_000)
                    .map(|i| format!("  \"Field{i}\": \"value number {i}\""))
                    .collect();
                let text = format!(
                    "{{\n  \"Image\": \"y\",\n{}\n}}\n{{\"Image\": \"x\"}}\n",
                    fields.join(",\n")
                );
                fs::write(d.join("big.json"), text).unwrap();
            },
            args: &["test", "r.yml", "--events", "big.json", "--no-own-tests"],
            tail: None,
        },
        Generated {
            name: "g_windash_1000_values",
            prepare: |d| {
                // 1,000 values with two flags each would expand to 25,000 dash variants.
                let values: String = (0..1000)
                    .map(|i| format!("      - ' -opt{i} /x{i} '\n"))
                    .collect();
                let rule = format!(
                    "title: windash list\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    CommandLine|contains|windash:\n{values}  condition: sel\n"
                );
                fs::write(d.join("r.yml"), rule).unwrap();
            },
            args: &["check", "r.yml"],
            tail: None,
        },
        Generated {
            name: "g_event_number_out_of_range",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                let events = "{\"Image\": \"x\"}\n{\"Image\": \"x\", \"Size\": 1e400}\n{\"Image\": \"x\", \"Size\": -1e999}\n{\"Image\": \"x\"}\n";
                fs::write(d.join("ev.jsonl"), events).unwrap();
            },
            args: &["test", "r.yml", "--events", "ev.jsonl", "--no-own-tests"],
            tail: None,
        },
        Generated {
            name: "g_event_duplicate_key",
            prepare: |d| {
                // Which `Image` wins differs between JSON parsers; the reader says so.
                fs::write(d.join("r.yml"), RULE).unwrap();
                let events = "{\"Image\": \"y\"}\n{\"Image\": \"y\", \"Image\": \"x\"}\n";
                fs::write(d.join("ev.jsonl"), events).unwrap();
            },
            args: &["test", "r.yml", "--events", "ev.jsonl", "--no-own-tests"],
            tail: None,
        },
    ]
}

/// A rule directory with a file and a directory symlinked from outside it.
fn outside_links(d: &Path) {
    fs::create_dir_all(d.join("rules")).unwrap();
    fs::create_dir_all(d.join("elsewhere/dir")).unwrap();
    fs::write(d.join("rules/ok.yml"), RULE).unwrap();
    fs::write(d.join("elsewhere/secret.yml"), RULE).unwrap();
    fs::write(d.join("elsewhere/dir/also.yml"), RULE).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../elsewhere/secret.yml", d.join("rules/link.yml")).unwrap();
        std::os::unix::fs::symlink("../elsewhere/dir", d.join("rules/linked_dir")).unwrap();
    }
}

/// Issue #11 items 3 and 8 and the loader's minor items: test events linked out of the
/// repository, runs over nothing, rules that fail to load, FIFOs and links in rule folders.
fn evidence_cases() -> Vec<Generated> {
    vec![
        Generated {
            name: "g_own_test_symlink_outside",
            prepare: own_test_links,
            args: &["test", "repo/rules"],
            tail: None,
        },
        Generated {
            name: "g_own_test_symlink_outside_junit",
            prepare: own_test_links,
            args: &["test", "repo/rules", "--format", "junit"],
            tail: None,
        },
        Generated {
            name: "g_own_test_symlink_outside_followed",
            prepare: own_test_links,
            args: &["test", "repo/rules", "--follow-symlinks"],
            tail: None,
        },
        Generated {
            name: "g_events_symlink_outside",
            prepare: event_links,
            args: &[
                "test",
                "r.yml",
                "--no-own-tests",
                "--events",
                "ev",
                "--benign",
                "linked.jsonl",
            ],
            tail: None,
        },
        Generated {
            name: "g_events_symlink_outside_followed",
            prepare: event_links,
            args: &[
                "test",
                "r.yml",
                "--no-own-tests",
                "--events",
                "ev",
                "--benign",
                "linked.jsonl",
                "--follow-symlinks",
            ],
            tail: None,
        },
        Generated {
            name: "g_test_missing_rules",
            prepare: |_| {},
            args: &["test", "no/such/dir"],
            tail: None,
        },
        Generated {
            name: "g_coverage_missing_rules",
            prepare: |_| {},
            args: &["coverage", "no/such/dir"],
            tail: None,
        },
        Generated {
            name: "g_technique_missing_rules",
            prepare: |_| {},
            args: &["technique", "T1059", "--rules", "no/such/dir"],
            tail: None,
        },
        Generated {
            name: "g_migrate_missing_rules",
            prepare: |_| {},
            args: &["migrate", "--to", "embedded", "--dry-run", "no/such/dir"],
            tail: None,
        },
        Generated {
            name: "g_rules_empty_dir",
            prepare: |d| fs::create_dir(d.join("rules")).unwrap(),
            args: &["rules", "rules"],
            tail: None,
        },
        Generated {
            name: "g_test_missing_events",
            prepare: |d| {
                fs::write(d.join("r.yml"), RULE).unwrap();
                fs::create_dir(d.join("empty")).unwrap();
            },
            args: &["test", "r.yml", "--events", "no/such", "--benign", "empty"],
            tail: None,
        },
        Generated {
            name: "g_test_rule_fails_to_load",
            prepare: broken_rule_with_tests,
            args: &["test", "rules"],
            tail: None,
        },
        Generated {
            name: "g_test_rule_fails_to_load_json",
            prepare: broken_rule_with_tests,
            args: &["test", "rules", "--format", "json"],
            tail: None,
        },
        Generated {
            name: "g_test_rule_fails_to_load_junit",
            prepare: broken_rule_with_tests,
            args: &["test", "rules", "--format", "junit"],
            tail: None,
        },
        Generated {
            name: "g_rules_fifo_and_links",
            prepare: fifo_and_links,
            args: &["rules", "rules"],
            tail: None,
        },
        Generated {
            name: "g_own_test_and_events_fifo",
            prepare: |d| {
                fs::create_dir_all(d.join("rules/r.tests")).unwrap();
                fs::write(d.join("rules/r.yml"), RULE).unwrap();
                #[cfg(unix)]
                {
                    mkfifo(&d.join("rules/r.tests/positive.jsonl"));
                    mkfifo(&d.join("ev.jsonl"));
                }
            },
            args: &["test", "rules", "--events", "ev.jsonl"],
            tail: None,
        },
        Generated {
            name: "g_check_fifo_and_links",
            prepare: fifo_and_links,
            args: &["check", "rules"],
            tail: None,
        },
    ]
}

const EVENT: &str = "{\"Image\": \"x\"}\n";

/// `repo/rules/r.yml` whose `r.tests/positive.jsonl` links to a file outside the repository
/// (`repo/`): the outside event matches, so following the link would print PASS.
fn own_test_links(d: &Path) {
    fs::create_dir_all(d.join("repo/rules/r.tests")).unwrap();
    fs::write(d.join("repo/rules/r.yml"), RULE).unwrap();
    fs::write(
        d.join("repo/rules/r.tests/negative.jsonl"),
        "{\"Image\": \"y\"}\n",
    )
    .unwrap();
    fs::write(d.join("secret.jsonl"), EVENT).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        "../../../secret.jsonl",
        d.join("repo/rules/r.tests/positive.jsonl"),
    )
    .unwrap();
}

/// An events directory with a link out of it, a FIFO, and a linked file given directly.
fn event_links(d: &Path) {
    fs::write(d.join("r.yml"), RULE).unwrap();
    fs::create_dir_all(d.join("ev")).unwrap();
    fs::create_dir_all(d.join("outside")).unwrap();
    fs::write(d.join("ev/own.jsonl"), "{\"Image\": \"y\"}\n").unwrap();
    fs::write(d.join("outside/secret.jsonl"), EVENT).unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("../outside/secret.jsonl", d.join("ev/link.jsonl")).unwrap();
        std::os::unix::fs::symlink("../outside", d.join("ev/linked_dir")).unwrap();
        std::os::unix::fs::symlink("/dev/null", d.join("linked.jsonl")).unwrap();
        mkfifo(&d.join("ev/pipe.jsonl"));
    }
}

/// A rule with a failing positive test, and a second rule file that does not parse.
fn broken_rule_with_tests(d: &Path) {
    fs::create_dir_all(d.join("rules/broken.tests")).unwrap();
    fs::write(d.join("rules/ok.yml"), RULE).unwrap();
    fs::write(d.join("rules/broken.yml"), "title: [broken\n").unwrap();
    fs::write(d.join("rules/broken.tests/positive.jsonl"), EVENT).unwrap();
}

/// A rule folder with a FIFO, a dangling link, a link inside and a link outside, all named like
/// rules.
fn fifo_and_links(d: &Path) {
    fs::create_dir_all(d.join("rules/sub")).unwrap();
    fs::write(d.join("rules/sub/ok.yml"), RULE).unwrap();
    fs::write(d.join("secret.yml"), RULE).unwrap();
    #[cfg(unix)]
    {
        mkfifo(&d.join("rules/pipe.yml"));
        std::os::unix::fs::symlink("sub/ok.yml", d.join("rules/alias.yml")).unwrap();
        std::os::unix::fs::symlink("gone.yml", d.join("rules/dangling.yml")).unwrap();
        std::os::unix::fs::symlink("../secret.yml", d.join("rules/outside.yml")).unwrap();
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(status.success());
}

#[test]
fn generated_evidence_inputs() {
    for case in evidence_cases() {
        let dir = Scratch::new();
        (case.prepare)(&dir.0);
        let o = run_in(&dir.0, case.args);
        assert!(
            !o.stderr.contains("panicked"),
            "{}: {}",
            case.name,
            o.stderr
        );
        counts_add_up(&o);
        insta::assert_snapshot!(case.name, transcript(&o, case.tail));
    }
}

#[test]
fn generated_inputs() {
    for case in generated_cases() {
        let dir = Scratch::new();
        (case.prepare)(&dir.0);
        let o = run_in(&dir.0, case.args);
        assert!(
            o.code == 0 || o.code == 1 || o.code == 2,
            "{}: exit {} {}",
            case.name,
            o.code,
            o.stderr
        );
        assert!(
            !o.stderr.contains("panicked"),
            "{}: {}",
            case.name,
            o.stderr
        );
        counts_add_up(&o);
        insta::assert_snapshot!(case.name, transcript(&o, case.tail));
    }
}

#[test]
fn unreadable_file_is_reported() {
    if is_root() {
        eprintln!("skipping unreadable_file_is_reported: root reads any file");
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = Scratch::new();
        fs::write(dir.0.join("r.yml"), RULE).unwrap();
        fs::set_permissions(dir.0.join("r.yml"), fs::Permissions::from_mode(0o000)).unwrap();
        let o = run_in(&dir.0, &["rules", "r.yml"]);
        assert_eq!(o.code, 1);
        assert!(o.stdout.contains("io_error"), "{}", o.stdout);
        counts_add_up(&o);
    }
}
