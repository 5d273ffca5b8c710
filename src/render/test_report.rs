//! Renderers of `attacktrace test` results: text for people, JSON (the report model as is) and JUnit
//! XML through [`super::junit`] (one suite per rule file kind of test, one case per test file,
//! false positives as failed cases).

use super::junit::{Case, Failure, JUnitReport, Suite};
use super::{one_line, term_safe};
use crate::evidence::correlate::CorrelationMatch;
use crate::evidence::{CaseKind, EventRef, RuleStatus, TestReport};
use crate::output::path_line;
use std::fmt::Write;

/// Matches listed per rule in text; the rest are counted (JSON lists them all).
const TEXT_LIST_LIMIT: usize = 10;

fn kind_label(k: CaseKind) -> &'static str {
    match k {
        CaseKind::Positive => "positive",
        CaseKind::Negative => "negative",
        CaseKind::Regression => "regression",
    }
}

fn refs(list: &[EventRef]) -> String {
    let mut s = list
        .iter()
        .take(TEXT_LIST_LIMIT)
        .map(|e| format!("{}:{}", path_line(&e.file), e.line))
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > TEXT_LIST_LIMIT {
        let _ = write!(s, " and {} more", list.len() - TEXT_LIST_LIMIT);
    }
    s
}

fn lines(list: &[usize]) -> String {
    let mut s = list
        .iter()
        .take(TEXT_LIST_LIMIT)
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if list.len() > TEXT_LIST_LIMIT {
        let _ = write!(s, " and {} more", list.len() - TEXT_LIST_LIMIT);
    }
    s
}

/// One line per correlation result (up to [`TEXT_LIST_LIMIT`]): its group, value and events.
fn correlation_lines(o: &mut String, label: &str, list: &[CorrelationMatch]) {
    for m in list.iter().take(TEXT_LIST_LIMIT) {
        let group = if m.group.is_empty() {
            "all events".to_string()
        } else {
            m.group
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            o,
            "  {label} [{}] value {}: {} event(s): {}",
            term_safe(&one_line(&group)),
            m.value,
            m.events.len(),
            term_safe(&refs(&m.events))
        );
    }
    if list.len() > TEXT_LIST_LIMIT {
        let _ = writeln!(
            o,
            "  and {} more correlation result(s)",
            list.len() - TEXT_LIST_LIMIT
        );
    }
}

/// Text: one block per rule with something to report, findings, then a summary line.
pub fn text(r: &TestReport) -> String {
    let mut o = String::new();
    for rule in &r.rules {
        let status = match rule.status {
            RuleStatus::Passed => "PASS",
            RuleStatus::Failed => "FAIL",
            RuleStatus::Untested => "MATCH",
        };
        let _ = writeln!(
            o,
            "{status} {}  {}",
            path_line(&rule.path),
            term_safe(&one_line(&rule.title))
        );
        for c in &rule.cases {
            let mark = match (c.passed, &c.warning) {
                (false, _) => "FAIL",
                (true, Some(_)) => "WARN",
                (true, None) => "ok  ",
            };
            let unit = crate::evidence::evtx::unit(&c.file);
            let mut line = format!(
                "  {mark} {} {}{}: {}/{} matched",
                kind_label(c.kind),
                path_line(&c.file),
                c.expected
                    .map(|n| format!(" (expect {n})"))
                    .unwrap_or_default(),
                c.matched,
                c.events
            );
            if !c.failed_lines.is_empty() {
                let what = if c.kind == CaseKind::Negative {
                    "matched at"
                } else {
                    "did not match at"
                };
                let _ = write!(line, "; {what} {unit} {}", lines(&c.failed_lines));
            }
            if let Some(m) = &c.message {
                let _ = write!(line, "; {}", one_line(m));
            }
            if let Some(w) = &c.warning {
                let _ = write!(line, "; warning: {}", one_line(w));
            }
            if !c.matched_lines.is_empty() {
                let _ = write!(line, "; matched at {unit} {}", lines(&c.matched_lines));
            }
            let _ = writeln!(o, "{line}");
        }
        if !rule.false_positives.is_empty() {
            let _ = writeln!(
                o,
                "  FAIL benign: {} false positive(s): {}",
                rule.false_positives.len(),
                term_safe(&refs(&rule.false_positives))
            );
        }
        if !rule.matches.is_empty() {
            let _ = writeln!(
                o,
                "  matched {} event(s): {}",
                rule.matches.len(),
                term_safe(&refs(&rule.matches))
            );
        }
        correlation_lines(
            &mut o,
            "FAIL benign: correlation",
            &rule.correlation_false_positives,
        );
        correlation_lines(&mut o, "correlated", &rule.correlation_matches);
    }
    if !r.findings.is_empty() {
        let _ = writeln!(o, "findings:");
        for d in &r.findings {
            let at = match (&d.path, d.line) {
                (Some(p), Some(l)) => format!("{}:{l}: ", path_line(p)),
                (Some(p), None) => format!("{}: ", path_line(p)),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "  {}{} {}: {}",
                term_safe(&at),
                d.severity.as_str(),
                d.code,
                term_safe(&one_line(&d.message))
            );
        }
    }
    let s = &r.summary;
    let tested = r.rules.iter().filter(|x| !x.cases.is_empty()).count();
    let failed = r
        .rules
        .iter()
        .filter(|x| x.status == RuleStatus::Failed)
        .count();
    let _ = writeln!(
        o,
        "{} rule(s) loaded, {} evaluable; {tested} tested: {} validated, {failed} failed; {} case(s): {} passed, {} failed",
        s.rules_loaded, s.rules_evaluable, s.rules_validated, s.cases, s.cases_passed, s.cases_failed
    );
    if s.cases_warned > 0 {
        let _ = writeln!(
            o,
            "{} passed case(s) with a warning (more regression matches than match_count)",
            s.cases_warned
        );
    }
    if s.rule_files_not_loaded > 0 {
        let _ = writeln!(
            o,
            "{} rule file(s) could not be loaded: their tests did not run (see findings)",
            s.rule_files_not_loaded
        );
    }
    if s.event_files > 0 {
        let _ = writeln!(
            o,
            "{} event(s) in {} file(s) ({} without routing information): {} match(es), {} false positive(s); routing {} ({} rule evaluations)",
            s.events,
            s.event_files,
            s.events_unroutable,
            s.matches,
            s.false_positives,
            if r.routing { "on" } else { "off" },
            s.evaluations
        );
    }
    o
}

/// JUnit: suite per rule, a case per test file, plus one case for benign events when any matched;
/// paths as given.
pub fn junit(r: &TestReport) -> String {
    junit_with(r, &super::paths::RepoPaths::default())
}

/// [`junit`] with paths from the repository root (CI shows them against its checkout).
pub fn junit_with(r: &TestReport, paths: &super::paths::RepoPaths) -> String {
    let path_line =
        |p: &std::path::Path| path_line(std::path::Path::new(&paths.show(&p.to_string_lossy())));
    let mut report = JUnitReport {
        name: "attacktrace test".into(),
        suites: Vec::new(),
        properties: Vec::new(),
    };
    for rule in &r.rules {
        let classname = path_line(&rule.path);
        let mut suite = Suite {
            name: format!("{} ({})", one_line(&rule.title), classname),
            cases: Vec::new(),
        };
        for c in &rule.cases {
            let failure = (!c.passed).then(|| Failure {
                message: c.message.as_deref().map_or_else(
                    || format!("{} of {} events matched", c.matched, c.events),
                    one_line,
                ),
                kind: kind_label(c.kind).into(),
                text: match (c.failed_lines.is_empty(), c.matched_lines.is_empty()) {
                    (false, _) => format!("lines: {}", lines(&c.failed_lines)),
                    (true, false) => format!("matched lines: {}", lines(&c.matched_lines)),
                    (true, true) => String::new(),
                },
            });
            // Passed with more matches than `match_count`: said, not failed (as SigmaHQ's CI).
            let output = c.warning.as_ref().map(|w| {
                let mut text = format!("warning: {}", one_line(w));
                if !c.matched_lines.is_empty() {
                    let _ = write!(text, "\nmatched lines: {}", lines(&c.matched_lines));
                }
                text
            });
            suite.cases.push(Case {
                name: format!("{} {}", kind_label(c.kind), path_line(&c.file)),
                classname: classname.clone(),
                failure,
                skipped: None,
                output,
            });
        }
        if !rule.false_positives.is_empty() {
            suite.cases.push(Case {
                name: "benign events".into(),
                classname: classname.clone(),
                failure: Some(Failure {
                    message: format!("{} false positive(s)", rule.false_positives.len()),
                    kind: "false_positive".into(),
                    text: rule
                        .false_positives
                        .iter()
                        .map(|e| format!("{}:{}", path_line(&e.file), e.line))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }),
                skipped: None,
                output: None,
            });
        }
        if !rule.correlation_false_positives.is_empty() {
            let list = &rule.correlation_false_positives;
            suite.cases.push(Case {
                name: "benign events (correlation)".into(),
                classname: classname.clone(),
                failure: Some(Failure {
                    message: format!("{} correlation false positive(s)", list.len()),
                    kind: "false_positive".into(),
                    text: list
                        .iter()
                        .map(|m| refs(&m.events))
                        .collect::<Vec<_>>()
                        .join("\n"),
                }),
                skipped: None,
                output: None,
            });
        }
        if !suite.cases.is_empty() {
            report.suites.push(suite);
        }
    }
    if !r.findings.is_empty() {
        report.suites.push(Suite {
            name: "inputs".into(),
            cases: r
                .findings
                .iter()
                .map(|d| Case {
                    name: format!(
                        "{}{}",
                        d.path.as_ref().map(|p| path_line(p)).unwrap_or_default(),
                        d.line.map(|l| format!(":{l}")).unwrap_or_default()
                    ),
                    classname: d.code.as_str().into(),
                    failure: Some(Failure {
                        message: one_line(&d.message),
                        kind: d.code.as_str().into(),
                        text: String::new(),
                    }),
                    skipped: None,
                    output: None,
                })
                .collect(),
        });
    }
    super::junit::to_xml(&report)
}
