//! Text and JUnit renderings of a `check` report (JSON is the report serialised; SARIF and GitHub
//! annotations have their own modules).

use super::junit::{Case, Failure, JUnitReport, Suite};
use super::one_line;
use crate::check::{CheckReport, Finding};
use crate::diag::Severity;
use crate::output::path_line;
use std::collections::BTreeMap;

fn location(f: &Finding) -> String {
    let d = &f.diagnostic;
    match (&d.path, d.line) {
        (Some(p), Some(l)) => format!("{}:{l}:{}", path_line(p), d.column.unwrap_or(1)),
        (Some(p), None) => path_line(p),
        (None, _) => "(run)".to_string(),
    }
}

/// rustc-style blocks, one per finding, then a summary by code and severity.
pub fn text(r: &CheckReport) -> String {
    let mut out = String::new();
    if let Some(skew) = &r.skew {
        out.push_str(&format!("warning: {}\n\n", one_line(&skew.summary())));
    }
    for f in &r.findings {
        let d = &f.diagnostic;
        out.push_str(&format!(
            "{}[{}]: {}\n  --> {}\n",
            d.severity.as_str(),
            d.code,
            one_line(&d.message),
            one_line(&location(f))
        ));
        if let (Some(src), Some(line)) = (&f.source_line, d.line) {
            let num = line.to_string();
            let pad = " ".repeat(num.len());
            let caret_at = d.column.unwrap_or(1).saturating_sub(1);
            let prefix: String = src
                .chars()
                .take(caret_at)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            out.push_str(&format!(
                "{pad} |\n{num} | {}\n{pad} | {prefix}^\n",
                one_line(src)
            ));
        }
        out.push('\n');
    }
    out.push_str(&summary_lines(r));
    out
}

/// The closing summary (also printed on stderr for machine formats).
/// `domain version`, with the file and its SHA-256 when the data is not the embedded catalog: a
/// modified bundle must not pass for the release it claims to be.
pub fn attack_line(r: &CheckReport) -> String {
    match &r.attack_sha256 {
        Some(sha) => format!(
            "{} ({}, sha256 {sha})",
            one_line(&r.attack),
            one_line(&r.attack_origin)
        ),
        None => one_line(&r.attack),
    }
}

/// The config file used, or `none`.
pub fn config_name(r: &CheckReport) -> String {
    r.config.as_ref().map_or_else(
        || "none".to_string(),
        |p| one_line(&p.display().to_string()),
    )
}

/// What the run used, as name/value pairs (JUnit and SARIF properties).
pub fn run_properties(r: &CheckReport) -> Vec<(String, String)> {
    let mut p = vec![
        ("attack".to_string(), r.attack.clone()),
        ("attack_origin".to_string(), r.attack_origin.clone()),
    ];
    if let Some(sha) = &r.attack_sha256 {
        p.push(("attack_sha256".to_string(), sha.clone()));
    }
    p.push(("config".to_string(), config_name(r)));
    if let Some(skew) = &r.skew {
        p.push(("attack_version_skew".to_string(), skew.summary()));
    }
    p
}

/// The closing summary, for stderr with machine formats: the version-skew warning first (the text
/// format has it on top already).
pub fn summary(r: &CheckReport) -> String {
    let mut out = String::new();
    if let Some(skew) = &r.skew {
        out.push_str(&format!("warning: {}\n", one_line(&skew.summary())));
    }
    out.push_str(&summary_lines(r));
    out
}

/// Findings by code, then the verdict line.
fn summary_lines(r: &CheckReport) -> String {
    let mut out = String::new();
    if !r.summary.is_empty() {
        out.push_str("findings by code:\n");
        for c in &r.summary {
            out.push_str(&format!(
                "  {:<8} {:<30} {:>6}\n",
                c.severity.as_str(),
                c.code,
                c.count
            ));
        }
    }
    let verdict = if r.failed() { "FAILED" } else { "passed" };
    out.push_str(&format!(
        "{} error(s), {} warning(s), {} info; {} suppressed. {} rules from {} files ({} loaded, {} not loaded). ATT&CK {}. Config: {}. Fail level {}: {verdict}.\n",
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
        r.suppressed,
        r.rules,
        r.files_seen,
        r.files_loaded,
        r.files_reported,
        attack_line(r),
        config_name(r),
        r.fail_level.as_str()
    ));
    out
}

/// One suite per code, one case per (file, code); findings below the fail level are `skipped`
/// cases (reported, not enforced).
pub fn junit(r: &CheckReport) -> String {
    let mut by_code: BTreeMap<&str, BTreeMap<String, Vec<&Finding>>> = BTreeMap::new();
    for f in &r.findings {
        let file = f
            .diagnostic
            .path
            .as_ref()
            .map_or_else(|| "(run)".to_string(), |p| path_line(p));
        by_code
            .entry(f.diagnostic.code.as_str())
            .or_default()
            .entry(file)
            .or_default()
            .push(f);
    }
    let mut report = JUnitReport {
        name: "attacktrace check".into(),
        suites: Vec::new(),
        properties: run_properties(r),
    };
    if by_code.is_empty() {
        report.suites.push(Suite {
            name: "attacktrace check".into(),
            cases: vec![Case {
                name: format!("{} rules", r.rules),
                classname: "attacktrace.check".into(),
                ..Case::default()
            }],
        });
    }
    for (code, files) in by_code {
        let mut suite = Suite {
            name: code.to_string(),
            cases: Vec::new(),
        };
        for (file, findings) in files {
            let first = findings[0];
            let severity = first.diagnostic.severity;
            let text: Vec<String> = findings
                .iter()
                .map(|f| format!("{}: {}", location(f), one_line(&f.diagnostic.message)))
                .collect();
            let message = one_line(&first.diagnostic.message);
            let mut case = Case {
                name: format!("{file} [{code}]"),
                classname: file.clone(),
                ..Case::default()
            };
            if severity <= r.fail_level {
                case.failure = Some(Failure {
                    message,
                    kind: severity.as_str().into(),
                    text: text.join("\n"),
                });
            } else {
                case.skipped = Some(format!("{}: {}", severity.as_str(), text.join("; ")));
            }
            suite.cases.push(case);
        }
        report.suites.push(suite);
    }
    super::junit::to_xml(&report)
}
