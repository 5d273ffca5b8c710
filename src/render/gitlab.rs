//! GitLab Code Quality report (`artifacts:reports:codequality`): a JSON array of issues with
//! `description`, `check_name`, `fingerprint`, `severity` and `location.path` + `lines.begin`, the
//! fields GitLab documents as required. Paths are relative to the repository root, as GitLab
//! matches them against the merge request's diff.

use super::paths::RepoPaths;
use super::sarif::fnv1a;
use crate::check::{CheckReport, Finding};
use crate::diag::Severity;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

#[derive(Serialize)]
struct Issue<'a> {
    description: &'a str,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// GitLab's scale is info, minor, major, critical, blocker: an error fails the gate, so it is
/// `major`; nothing this tool finds blocks a merge on its own.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

/// The report as Code Quality JSON. Findings about the run rather than a file (coverage minimums)
/// are placed on the config file, else on the repository root (`.`), as GitLab needs a path.
pub fn code_quality(r: &CheckReport, base: &Path, root: &Path) -> String {
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let paths = RepoPaths {
        base: base.to_path_buf(),
        root: Some(root.to_path_buf()),
    };
    let issues: Vec<Issue<'_>> = r
        .findings
        .iter()
        .map(|f| issue(f, r, &paths, &mut occurrences))
        .collect();
    let mut s = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string());
    s.push('\n');
    crate::output::json_safe(s)
}

fn issue<'a>(
    f: &'a Finding,
    r: &CheckReport,
    paths: &RepoPaths,
    occurrences: &mut HashMap<String, usize>,
) -> Issue<'a> {
    let d = &f.diagnostic;
    let path = match (&d.path, &r.config) {
        (Some(p), _) | (None, Some(p)) => paths.show(&p.to_string_lossy()),
        (None, None) => ".".to_string(),
    };
    // Stable across line moves (code, file, rule id, the offending text), as SARIF's; a counter
    // keeps identical findings in one file apart.
    let text = f
        .source_line
        .as_deref()
        .map(str::trim)
        .unwrap_or(&d.message);
    let key = fnv1a(&[
        d.code.as_str(),
        &path,
        f.rule_id.as_deref().unwrap_or(""),
        text,
    ]);
    let n = occurrences.entry(key.clone()).or_insert(0);
    *n += 1;
    Issue {
        description: &d.message,
        check_name: d.code.as_str(),
        fingerprint: fnv1a(&[&key, &n.to_string()]),
        severity: severity(d.severity),
        categories: ["Style"],
        location: Location {
            path,
            lines: Lines {
                begin: d.line.unwrap_or(1).max(1),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_repository_relative() {
        let paths = RepoPaths {
            base: "/repo/sub".into(),
            root: Some("/repo".into()),
        };
        let relative = |p: &str| paths.show(p);
        assert_eq!(relative("rules/a.yml"), "sub/rules/a.yml");
        assert_eq!(relative("../x/./b.yml"), "x/b.yml");
        assert_eq!(relative("/elsewhere/c.yml"), "/elsewhere/c.yml");
    }
}
