//! `attack diff` report: plain text for a terminal and Markdown for a pull-request comment. JSON is
//! the report's serde form.

use super::md_escape as e;
use crate::attack::diff::KbDiff;
use crate::attack::SourceInfo;
use crate::output::term_safe;
use std::fmt::Write as _;

fn side(s: &SourceInfo) -> String {
    format!("{} {} ({})", s.domain, s.version, s.origin)
}

fn rules_lines(out: &mut String, rules: &[String], indent: &str) {
    for r in rules {
        let _ = writeln!(out, "{indent}rule: {}", term_safe(r));
    }
}

/// Plain text for a terminal.
pub fn text(d: &KbDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ATT&CK diff: {} -> {}", side(&d.old), side(&d.new));
    for (label, n) in d.counts() {
        let _ = writeln!(out, "  {label:<34} {n}");
    }
    if let Some(n) = d.rules_checked {
        let _ = writeln!(
            out,
            "  {:<34} {} of {n}",
            "rules affected",
            d.affected_rules().len()
        );
    }
    let section = |out: &mut String, title: &str, n: usize| {
        if n > 0 {
            let _ = writeln!(out, "\n{title}:");
        }
    };
    section(&mut out, "Tactics added", d.tactics_added.len());
    for t in &d.tactics_added {
        let _ = writeln!(out, "  {:<10} {} ({})", t.id, t.name, t.shortname);
    }
    section(&mut out, "Tactics removed", d.tactics_removed.len());
    for t in &d.tactics_removed {
        let _ = writeln!(out, "  {:<10} {} ({})", t.id, t.name, t.shortname);
        rules_lines(&mut out, &t.rules, "    ");
    }
    section(&mut out, "Tactics renamed", d.tactics_renamed.len());
    for t in &d.tactics_renamed {
        let _ = writeln!(
            out,
            "  {:<10} {} ({}) -> {} ({})",
            t.tactic.id, t.old_name, t.old_shortname, t.tactic.name, t.tactic.shortname
        );
        rules_lines(&mut out, &t.tactic.rules, "    ");
    }
    section(&mut out, "Techniques added", d.techniques_added.len());
    for t in &d.techniques_added {
        let _ = writeln!(out, "  {:<10} {} [{}]", t.id, t.name, t.tactics.join(", "));
    }
    section(&mut out, "Techniques revoked", d.techniques_revoked.len());
    for r in &d.techniques_revoked {
        let repl = r
            .replacement
            .as_ref()
            .map_or("(no replacement)".to_string(), |t| {
                format!("{} {} [{}]", t.id, t.name, t.tactics.join(", "))
            });
        let _ = writeln!(
            out,
            "  {:<10} {} -> {repl}",
            r.technique.id, r.technique.name
        );
        rules_lines(&mut out, &r.technique.rules, "    ");
    }
    for (title, list) in [
        ("Techniques deprecated", &d.techniques_deprecated),
        ("Techniques removed", &d.techniques_removed),
    ] {
        section(&mut out, title, list.len());
        for t in list {
            let _ = writeln!(out, "  {:<10} {}", t.id, t.name);
            rules_lines(&mut out, &t.rules, "    ");
        }
    }
    section(&mut out, "Techniques renamed", d.techniques_renamed.len());
    for r in &d.techniques_renamed {
        let _ = writeln!(
            out,
            "  {:<10} {} -> {}",
            r.technique.id, r.old_name, r.technique.name
        );
        rules_lines(&mut out, &r.technique.rules, "    ");
    }
    section(
        &mut out,
        "Techniques moved between tactics",
        d.techniques_moved.len(),
    );
    for m in &d.techniques_moved {
        let _ = writeln!(
            out,
            "  {:<10} {}: [{}] -> [{}]",
            m.technique.id,
            m.technique.name,
            m.old_tactics.join(", "),
            m.technique.tactics.join(", ")
        );
        rules_lines(&mut out, &m.technique.rules, "    ");
    }
    for (title, list) in [
        ("Detection strategies added", &d.detection_strategies_added),
        (
            "Detection strategies removed",
            &d.detection_strategies_removed,
        ),
    ] {
        section(&mut out, title, list.len());
        for s in list {
            let _ = writeln!(
                out,
                "  {:<10} {} [{}]",
                s.id,
                s.name,
                s.techniques.join(", ")
            );
        }
    }
    term_safe(&out).into_owned()
}

/// Markdown for a pull-request comment or a release note.
pub fn markdown(d: &KbDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## ATT&CK changes: {} -> {}\n",
        e(&side(&d.old)),
        e(&side(&d.new))
    );
    let _ = writeln!(out, "| change | count |\n|---|---:|");
    for (label, n) in d.counts() {
        let _ = writeln!(out, "| {label} | {n} |");
    }
    if let Some(n) = d.rules_checked {
        let _ = writeln!(
            out,
            "| rules affected (of {n}) | {} |",
            d.affected_rules().len()
        );
    }
    let with_rules = d.rules_checked.is_some();
    tactic_tables(&mut out, d, with_rules);
    technique_tables(&mut out, d, with_rules);
    strategy_tables(&mut out, d, with_rules);
    out
}

const NONE: &[String] = &[];

fn rules_cell(rules: &[String]) -> String {
    rules
        .iter()
        .map(|r| format!("`{}`", e(r)))
        .collect::<Vec<_>>()
        .join("<br>")
}

/// One Markdown table under a `###` title, with a rules column when rules were attached; nothing
/// when there are no rows.
fn table(
    out: &mut String,
    with_rules: bool,
    title: &str,
    head: &str,
    rows: Vec<(String, &[String])>,
) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {title}\n");
    if with_rules {
        let _ = writeln!(out, "| {head} | rules |");
        let cols = head.matches('|').count() + 2;
        let _ = writeln!(out, "|{}", "---|".repeat(cols));
    } else {
        let _ = writeln!(out, "| {head} |");
        let _ = writeln!(out, "|{}", "---|".repeat(head.matches('|').count() + 1));
    }
    for (row, rules) in rows {
        if with_rules {
            let _ = writeln!(out, "| {row} | {} |", rules_cell(rules));
        } else {
            let _ = writeln!(out, "| {row} |");
        }
    }
}

fn tactic_tables(out: &mut String, d: &KbDiff, with_rules: bool) {
    table(
        out,
        with_rules,
        "Tactics added",
        "ID | name | shortname",
        d.tactics_added
            .iter()
            .map(|t| {
                (
                    format!("{} | {} | `{}`", t.id, e(&t.name), e(&t.shortname)),
                    NONE,
                )
            })
            .collect(),
    );
    table(
        out,
        with_rules,
        "Tactics removed",
        "ID | name | shortname",
        d.tactics_removed
            .iter()
            .map(|t| {
                (
                    format!("{} | {} | `{}`", t.id, e(&t.name), e(&t.shortname)),
                    t.rules.as_slice(),
                )
            })
            .collect(),
    );
    table(
        out,
        with_rules,
        "Tactics renamed",
        "ID | old | new",
        d.tactics_renamed
            .iter()
            .map(|t| {
                (
                    format!(
                        "{} | {} (`{}`) | {} (`{}`)",
                        t.tactic.id,
                        e(&t.old_name),
                        e(&t.old_shortname),
                        e(&t.tactic.name),
                        e(&t.tactic.shortname)
                    ),
                    t.tactic.rules.as_slice(),
                )
            })
            .collect(),
    );
}

fn technique_tables(out: &mut String, d: &KbDiff, with_rules: bool) {
    let tactics = |v: &[String]| e(&v.join(", "));
    table(
        out,
        with_rules,
        "Techniques added",
        "ID | name | tactics",
        d.techniques_added
            .iter()
            .map(|t| {
                (
                    format!("{} | {} | {}", t.id, e(&t.name), tactics(&t.tactics)),
                    NONE,
                )
            })
            .collect(),
    );
    table(
        out,
        with_rules,
        "Techniques revoked",
        "ID | name | replacement",
        d.techniques_revoked
            .iter()
            .map(|r| {
                let repl = r.replacement.as_ref().map_or("none".to_string(), |t| {
                    format!("{} {} ({})", t.id, e(&t.name), tactics(&t.tactics))
                });
                (
                    format!("{} | {} | {repl}", r.technique.id, e(&r.technique.name)),
                    r.technique.rules.as_slice(),
                )
            })
            .collect(),
    );
    for (title, list) in [
        ("Techniques deprecated", &d.techniques_deprecated),
        ("Techniques removed", &d.techniques_removed),
    ] {
        table(
            out,
            with_rules,
            title,
            "ID | name",
            list.iter()
                .map(|t| (format!("{} | {}", t.id, e(&t.name)), t.rules.as_slice()))
                .collect(),
        );
    }
    table(
        out,
        with_rules,
        "Techniques renamed",
        "ID | old name | new name",
        d.techniques_renamed
            .iter()
            .map(|r| {
                (
                    format!(
                        "{} | {} | {}",
                        r.technique.id,
                        e(&r.old_name),
                        e(&r.technique.name)
                    ),
                    r.technique.rules.as_slice(),
                )
            })
            .collect(),
    );
    table(
        out,
        with_rules,
        "Techniques moved between tactics",
        "ID | name | old tactics | new tactics",
        d.techniques_moved
            .iter()
            .map(|m| {
                (
                    format!(
                        "{} | {} | {} | {}",
                        m.technique.id,
                        e(&m.technique.name),
                        tactics(&m.old_tactics),
                        tactics(&m.technique.tactics)
                    ),
                    m.technique.rules.as_slice(),
                )
            })
            .collect(),
    );
}

fn strategy_tables(out: &mut String, d: &KbDiff, with_rules: bool) {
    for (title, list) in [
        ("Detection strategies added", &d.detection_strategies_added),
        (
            "Detection strategies removed",
            &d.detection_strategies_removed,
        ),
    ] {
        table(
            out,
            with_rules,
            title,
            "ID | name | techniques",
            list.iter()
                .map(|s| {
                    (
                        format!(
                            "{} | {} | {}",
                            s.id,
                            e(&s.name),
                            e(&s.techniques.join(", "))
                        ),
                        NONE,
                    )
                })
                .collect(),
        );
    }
}
