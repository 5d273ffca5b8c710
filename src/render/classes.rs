//! `attack classes` as text (one block per technique, for reading) and CSV (for a spreadsheet
//! review). JSON goes through [`super::json`].

use super::{class_code, class_label, csv::cell, one_line};
use crate::telemetry::listing::ClassListing;
use std::fmt::Write;

/// Header with the source and the counts, then one entry per technique.
pub fn text(l: &ClassListing) -> String {
    let mut o = String::new();
    let s = &l.source;
    let _ = writeln!(
        o,
        "ATT&CK {} v{} ({}): {} techniques",
        one_line(&s.domain),
        one_line(&s.version),
        one_line(&s.origin),
        l.techniques.len()
    );
    let counts: Vec<String> = l
        .counts
        .iter()
        .map(|(c, n)| format!("{} {n}", class_label(*c)))
        .collect();
    let bases: Vec<String> = l.bases.iter().map(|(b, n)| format!("{b} {n}")).collect();
    let _ = writeln!(o, "classes: {}", or_none(&counts));
    let _ = writeln!(o, "basis:   {}", or_none(&bases));
    let _ = writeln!(
        o,
        "channel check: {} analytic events set aside in {} techniques",
        l.rejected_events, l.rejected_techniques
    );
    if let Some(note) = &l.note {
        let _ = writeln!(o, "note:    {}", one_line(note));
    }
    for t in &l.techniques {
        let obs = &t.observability;
        let data = t
            .data_class
            .map(|c| format!("; the data alone says {}", class_label(c)))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "\n{} {}\n  {} ({} confidence, basis: {}{data})\n  tactics: {}\n  {}",
            one_line(&t.id),
            one_line(&t.name),
            class_label(obs.class),
            obs.confidence,
            obs.basis,
            one_line(&t.tactics.join(", ")),
            one_line(&obs.reason)
        );
    }
    o
}

fn or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Columns: id, name, tactics (`;`-separated), platforms (`;`), class, confidence, basis,
/// subkind, reason, analytics (`;`), rejected (`;`: events the channel check set aside),
/// data_class (what the data alone says, when an override or the parent decided).
pub fn csv(l: &ClassListing) -> String {
    let mut o = String::from(
        "id,name,tactics,platforms,class,confidence,basis,subkind,reason,analytics,rejected,data_class\n",
    );
    for t in &l.techniques {
        let obs = &t.observability;
        let row = [
            cell(&t.id),
            cell(&t.name),
            cell(&t.tactics.join(";")),
            cell(&t.platforms.join(";")),
            cell(class_code(obs.class)),
            cell(&obs.confidence.to_string()),
            cell(&obs.basis.to_string()),
            cell(obs.subkind.as_deref().unwrap_or("")),
            cell(&obs.reason),
            cell(&obs.analytics.join(";")),
            cell(&obs.rejected.join(";")),
            cell(t.data_class.map_or("", class_code)),
        ];
        let _ = writeln!(o, "{}", row.join(","));
    }
    o
}
