//! CSV renderer for spreadsheets: one row per (tactic, technique) of the coverage report.
//!
//! RFC 4180 quoting, plus a guard against spreadsheet formula injection: a cell that starts with
//! `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'`, because rule IDs and paths come
//! from files anyone can send in a pull request.

use crate::coverage::CoverageReport;
use std::fmt::Write;

/// Escapes one cell: one terminal-safe line (every column is a one-line field), quoted, guarded.
pub fn cell(s: &str) -> String {
    let line = crate::output::one_line(s);
    let s = line.as_str();
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Columns: tactic_id, tactic, technique_id, technique, is_sub, parent, class, tier, rule_count,
/// via_sub_only, rule_ids (`;`-separated rule IDs, the path when a rule has no ID), class_reason.
pub fn coverage(r: &CoverageReport) -> String {
    let mut o = String::new();
    o.push_str("tactic_id,tactic,technique_id,technique,is_sub,parent,class,tier,rule_count,via_sub_only,rule_ids,class_reason\n");
    for tac in &r.tactics {
        for t in r
            .techniques
            .iter()
            .filter(|t| t.tactics.contains(&tac.shortname))
        {
            let ids: Vec<&str> = t
                .rules
                .iter()
                .filter_map(|l| r.rules.get(l.rule).map(|x| x.key()))
                .collect();
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                cell(&tac.id),
                cell(&tac.name),
                cell(&t.id),
                cell(&t.name),
                t.is_sub,
                cell(t.parent.as_deref().unwrap_or("")),
                super::class_code(t.class),
                t.tier.as_str(),
                t.rules.len(),
                t.covered_via_sub,
                cell(&ids.join(";")),
                cell(&t.class_reason)
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_guarded() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("=cmd()"), "'=cmd()");
        assert_eq!(cell("-1,2"), "\"'-1,2\"");
        assert_eq!(cell("@x\n::warning::y\u{1b}"), "'@x ::warning::y\\u{1b}");
    }
}
