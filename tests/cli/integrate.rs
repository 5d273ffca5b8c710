//! The CI integrations: GitLab Code Quality output against GitLab's documented fields, the GitHub
//! Action's shell steps (`scripts/action-check.sh`) run against the fixtures, and every example
//! (`examples/ci/`, `.pre-commit-hooks.yaml`, `action.yml`, `Dockerfile`) parsed, with each
//! `attacktrace ...` command line in it accepted by the real argument parser.

use crate::common::{root, run, run_in, scratch};
use serde_json::Value;
use std::collections::HashSet;
use std::path::Path;

const F: &str = "tests/fixtures/check/rules";

#[test]
fn gitlab_code_quality_has_the_documented_fields() {
    let files = [
        "attacktag.yml",
        "field_unknown.yml",
        "dangling_related.yml",
        "yaml_error.yml",
    ];
    let paths: Vec<String> = files.iter().map(|f| format!("{F}/{f}")).collect();
    let mut args = vec!["check", "--no-config", "--format", "gitlab"];
    args.extend(paths.iter().map(String::as_str));
    let r = run(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let issues: Vec<Value> = serde_json::from_str(&r.stdout).expect("a JSON array");
    assert!(issues.len() >= files.len(), "{}", r.stdout);
    let mut fingerprints = HashSet::new();
    for i in &issues {
        let keys: HashSet<&str> = i.as_object().unwrap().keys().map(String::as_str).collect();
        let documented = [
            "description",
            "check_name",
            "fingerprint",
            "severity",
            "location",
        ];
        assert!(documented.iter().all(|k| keys.contains(k)), "{i}");
        assert!(
            keys.iter()
                .all(|k| documented.contains(k) || *k == "categories"),
            "{i}"
        );
        assert!(i["description"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(i["check_name"].as_str().is_some_and(|s| !s.is_empty()));
        let severity = i["severity"].as_str().unwrap();
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&severity));
        assert!(fingerprints.insert(i["fingerprint"].as_str().unwrap().to_string()));
        let path = i["location"]["path"].as_str().unwrap();
        assert!(path.starts_with(F) && root().join(path).is_file(), "{path}");
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    // Deterministic, and paths stay relative to the repository root from a subdirectory.
    assert_eq!(run(&args).stdout, r.stdout);
    let mut sub = vec!["check", "--no-config", "--format", "gitlab"];
    let inner: Vec<String> = paths.iter().map(|p| p.replacen("tests/", "", 1)).collect();
    sub.extend(inner.iter().map(String::as_str));
    assert_eq!(run_in(&root().join("tests"), &sub).stdout, r.stdout);
}

/// Runs the Action's script on `rules` with the runner's files in `dir`; returns what it wrote to
/// `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`.
fn action(dir: &Path, rules: &str) -> (String, String) {
    let (out, summary) = (dir.join("output"), dir.join("summary"));
    let status = std::process::Command::new("bash")
        .arg(root().join("scripts/action-check.sh"))
        .current_dir(root())
        .env_remove("ATTACKTRACE_ATTACK")
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("ATTACKTRACE", env!("CARGO_BIN_EXE_attacktrace"))
        .env("RULES", rules)
        .env("SARIF", dir.join("check.sarif"))
        .env("ARGS", "--no-config")
        .env("GITHUB_OUTPUT", &out)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect("bash runs");
    assert!(status.status.success(), "the step itself never fails");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    (read(&out), read(&summary))
}

#[test]
fn action_steps_write_sarif_summary_and_the_gate_code() {
    let dir = scratch();
    let sarif = dir.path().join("check.sarif");
    let (out, summary) = action(dir.path(), &format!("{F}/clean.yml"));
    assert_eq!(out, format!("exit-code=0\nsarif={}\n", sarif.display()));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert!(summary.starts_with("## ATT&CK coverage\n"), "{summary}");
    assert!(summary.contains('|'), "a Markdown table: {summary}");

    let dir = scratch();
    let (out, _) = action(dir.path(), &format!("{F}/yaml_error.yml {F}/clean.yml"));
    assert!(out.starts_with("exit-code=1\nsarif="), "{out}");

    let dir = scratch();
    let (out, _) = action(dir.path(), "no/such/rules");
    assert_eq!(out, "exit-code=2\nsarif=\n");
}

#[test]
fn action_cache_key_hashes_the_sources() {
    let key = |dir: &Path| {
        let out = std::process::Command::new("bash")
            .arg(root().join("scripts/action-cache-key.sh"))
            .arg(dir)
            .env_remove("GITHUB_OUTPUT")
            .env("RUNNER_OS", "Linux")
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let k = key(&root());
    assert!(
        k.starts_with("key=attacktrace-Linux-") && k.len() == 39,
        "{k}"
    );
    assert_eq!(key(&root()), k, "deterministic");
}

fn yaml(path: &str) -> serde_norway::Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every string in a YAML document.
fn strings(v: &serde_norway::Value, out: &mut Vec<String>) {
    match v {
        serde_norway::Value::String(s) => out.push(s.clone()),
        serde_norway::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        serde_norway::Value::Mapping(m) => m.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// The `attacktrace ...` command lines in a shell script text, words split on blanks, quotes
/// removed, shell variables replaced by a rule path, cut at the first shell operator.
fn commands(script: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let starts = ["-", "||", "&&", ";", "then", "do"];
        let Some(at) = (0..words.len())
            .find(|&i| words[i] == "attacktrace" && (i == 0 || starts.contains(&words[i - 1])))
        else {
            continue;
        };
        let args = words[at..]
            .iter()
            .take_while(|w| !["||", "&&", "|", ";", ">", ">>"].contains(w))
            .map(|w| match w.contains('$') {
                true => "rules/a.yml".to_string(),
                false => w.trim_matches(['"', '\'']).to_string(),
            })
            .collect();
        found.push(args);
    }
    found
}

fn assert_parses(args: &[String], origin: &str) {
    if let Err(e) = attacktrace::cli::parses(args) {
        panic!("{origin}: `{}` does not parse: {e}", args.join(" "));
    }
}

#[test]
fn ci_examples_parse_and_name_real_commands() {
    for (path, at_least) in [("examples/ci/github.yml", 1), ("examples/ci/gitlab.yml", 3)] {
        let mut texts = Vec::new();
        strings(&yaml(path), &mut texts);
        let found: Vec<Vec<String>> = texts.iter().flat_map(|t| commands(t)).collect();
        assert!(found.len() >= at_least, "{path}: {found:?}");
        for args in &found {
            assert_parses(args, path);
        }
    }
    let gitlab = yaml("examples/ci/gitlab.yml");
    let report = &gitlab["sigma"]["artifacts"]["reports"]["codequality"];
    assert_eq!(report.as_str(), Some("gl-code-quality.json"));
}

#[test]
fn pre_commit_hooks_run_check_on_the_changed_files() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_sequence().expect("a list of hooks");
    assert!(!hooks.is_empty());
    for h in hooks {
        assert_eq!(h["language"].as_str(), Some("rust"));
        assert_eq!(h["pass_filenames"].as_bool(), Some(true));
        let mut args: Vec<String> = h["entry"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(args[..2], ["attacktrace", "check"]);
        let extra = h["args"]
            .as_sequence()
            .map(Vec::as_slice)
            .unwrap_or_default();
        args.extend(extra.iter().map(|a| a.as_str().unwrap().to_string()));
        args.extend(["rules/a.yml".to_string(), "rules/b.yml".to_string()]);
        assert_parses(&args, ".pre-commit-hooks.yaml");
    }
}

#[test]
fn action_and_dockerfile_are_well_formed() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let steps = action["runs"]["steps"].as_sequence().unwrap();
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(
        uses.iter().any(|u| u.starts_with("actions/cache@")),
        "{uses:?}"
    );
    assert!(uses
        .iter()
        .any(|u| u.starts_with("github/codeql-action/upload-sarif@")));
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter().any(|r| r.contains("scripts/action-check.sh")),
        "{runs:?}"
    );
    assert!(
        runs.iter().any(|r| r.contains("cargo install --locked")),
        "{runs:?}"
    );
    // Every input the steps read is declared.
    let inputs = action["inputs"].as_mapping().unwrap();
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    for used in text.split("inputs.").skip(1) {
        let name: String = used
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        assert!(
            inputs.contains_key(name.as_str()),
            "undeclared input `{name}`"
        );
    }

    let docker = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let stages: Vec<&str> = docker.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: {stages:?}");
    assert!(stages[1].contains("slim") || stages[1].contains("distroless"));
    assert!(docker.contains("cargo install --locked --path ."));
    assert!(docker.contains(r#"ENTRYPOINT ["attacktrace"]"#));
}
