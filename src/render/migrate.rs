//! `migrate` report for people: what changed per rule, the questions for a person, and the files
//! that could not be edited. JSON is [`crate::migrate::Report`]'s serde form.

use crate::migrate::{FileEdit, Plan};
use crate::output::{one_line, path_line, term_safe};
use std::fmt::Write as _;

/// Human report: what changed per rule, then the questions for a person.
pub fn text(plan: &Plan, edits: &[FileEdit], dry_run: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "migrate: {} {} -> {} {}; {} rules checked, {} to change, {} questions",
        one_line(&plan.from.domain),
        one_line(&plan.from.version),
        one_line(&plan.to.domain),
        one_line(&plan.to.version),
        plan.rules_checked,
        plan.changed_rules(),
        plan.questions()
    );
    if !plan.unknown_to_source.is_empty() {
        let tags: Vec<String> = plan
            .unknown_to_source
            .iter()
            .map(|u| {
                format!(
                    "{} ({} rule{})",
                    u.tag,
                    u.rules,
                    if u.rules == 1 { "" } else { "s" }
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "warning: {} tag(s) unknown to the source data ({} {}), not migrated: {}; rules written for another release need that release as --from",
            tags.len(),
            one_line(&plan.from.domain),
            one_line(&plan.from.version),
            one_line(&tags.join(", "))
        );
    }
    for r in &plan.rules {
        let _ = writeln!(
            out,
            "\n{}:{} {}",
            path_line(&r.path),
            r.line,
            one_line(&r.title)
        );
        for c in &r.changes {
            let _ = writeln!(out, "  {} -> {}  ({})", c.from, c.to.join(", "), c.reason);
        }
        for q in &r.questions {
            let cands = if q.candidates.is_empty() {
                "no candidates in the data".to_string()
            } else {
                format!("candidates: {}", q.candidates.join(", "))
            };
            let _ = writeln!(out, "  NEEDS A PERSON: {}: {} ({cands})", q.tag, q.reason);
        }
    }
    let failed: Vec<&FileEdit> = edits.iter().filter(|e| e.error.is_some()).collect();
    for e in &failed {
        let _ = writeln!(
            out,
            "\nnot edited: {}: {}",
            path_line(&e.path),
            e.error.as_deref().unwrap_or_default()
        );
    }
    let ok = edits
        .iter()
        .filter(|e| e.error.is_none() && !e.diff.is_empty())
        .count();
    let _ = writeln!(
        out,
        "\n{} {ok} file(s){}",
        if dry_run { "would edit" } else { "edited" },
        if failed.is_empty() {
            String::new()
        } else {
            format!(", {} could not be edited", failed.len())
        }
    );
    term_safe(&out).into_owned()
}
