//! Markdown renderer: PR comments, wikis and `GITHUB_STEP_SUMMARY`. Every untrusted string goes
//! through `md_escape` so rule text cannot inject HTML, links or table breaks.

use super::{class_label, md_escape as e};
use crate::card::{Card, CheckState, ProseBlock, RuleRef};
use crate::link::Via;
use std::fmt::Write;

fn prose(o: &mut String, p: &ProseBlock) {
    for para in p.text.split("\n\n") {
        let para = para.trim();
        if !para.is_empty() {
            let _ = writeln!(o, "{}\n", e(para));
        }
    }
    for f in &p.footnotes {
        let _ = writeln!(
            o,
            "{}. {}{}",
            f.number,
            e(&f.source_name),
            f.url
                .as_deref()
                .map(|u| format!(" <{}>", u.replace(['<', '>', ' '], "")))
                .unwrap_or_default()
        );
    }
    if !p.footnotes.is_empty() {
        o.push('\n');
    }
}

fn rule_table(o: &mut String, rules: &[RuleRef]) {
    let _ = writeln!(o, "| Rule | Level | Status | Log source | Via | Path |");
    let _ = writeln!(o, "|---|---|---|---|---|---|");
    for r in rules {
        let _ = writeln!(
            o,
            "| {}{} | {} | {} | {} | {} | {}:{} |",
            e(&r.title),
            if r.evaluable { "" } else { " (not evaluable)" },
            e(r.level.as_deref().unwrap_or("-")),
            e(r.status.as_deref().unwrap_or("-")),
            e(&r.logsource),
            e(r.via.as_ref().map_or("-", Via::as_str)),
            e(&r.path),
            r.line
        );
    }
    o.push('\n');
}

/// Scored candidates: score and reasons instead of the tag path.
fn candidate_table(o: &mut String, rules: &[RuleRef]) {
    let _ = writeln!(o, "| Rule | Score | Why | Log source | Path |");
    let _ = writeln!(o, "|---|---|---|---|---|");
    for r in rules {
        let why: Vec<String> = r.reasons.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            o,
            "| {}{} | {:.2} | {} | {} | {}:{} |",
            e(&r.title),
            if r.evaluable { "" } else { " (not evaluable)" },
            r.score.unwrap_or(0.0),
            e(&why.join("; ")),
            e(&r.logsource),
            e(&r.path),
            r.line
        );
    }
    o.push('\n');
}

pub fn card(c: &Card) -> String {
    let mut o = String::new();
    card_header(&mut o, c);
    card_detection(&mut o, c);
    card_events(&mut o, c);
    card_rules(&mut o, c);
    card_guidance(&mut o, c);
    o
}

/// Title, source, notices, the fact table and the description.
fn card_header(o: &mut String, c: &Card) {
    let t = &c.technique;
    let _ = writeln!(o, "# {} {}\n", t.id, e(&t.name));
    let _ = writeln!(
        o,
        "ATT&CK {} v{} ({})\n",
        e(&c.attack.domain),
        e(&c.attack.version),
        e(&c.attack.label())
    );
    for n in &c.notices {
        let _ = writeln!(o, "> **Notice:** {}\n", e(n));
    }
    let tactics: Vec<String> = t
        .tactics
        .iter()
        .map(|x| format!("{} ({})", e(&x.name), x.id))
        .collect();
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Tactics | {} |", tactics.join(", "));
    match &t.assets {
        Some(a) if t.platforms.is_empty() => {
            let _ = writeln!(o, "| Platforms | none listed; assets: {} |", e(a));
        }
        _ => {
            let _ = writeln!(o, "| Platforms | {} |", e(&t.platforms.join(", ")));
        }
    }
    if let Some(p) = &t.parent {
        let _ = writeln!(o, "| Parent | {} {} |", p.id, e(&p.name));
    }
    if !t.subtechniques.is_empty() {
        let subs: Vec<String> = t
            .subtechniques
            .iter()
            .map(|s| format!("{} {}", s.id, e(&s.name)))
            .collect();
        let _ = writeln!(o, "| Sub-techniques | {} |", subs.join(", "));
    }
    let status = match &t.revoked_by {
        Some(r) => format!("revoked, replaced by {} {}", r.id, e(&r.name)),
        None => t.status.to_string(),
    };
    let _ = writeln!(o, "| Status | {status} |");
    let _ = writeln!(
        o,
        "| Observability | **{}**: {} (basis: {}, confidence: {}) |\n",
        class_label(c.observability.class),
        e(&c.observability.reason),
        c.observability.basis,
        c.observability.confidence
    );

    if let Some(d) = &c.description {
        let _ = writeln!(o, "## Description\n");
        prose(o, d);
    }
}

/// What ATT&CK says about detecting the technique.
fn card_detection(o: &mut String, c: &Card) {
    let _ = writeln!(o, "## ATT&CK detection guidance\n");
    let det = &c.detection;
    for s in &det.strategies {
        let _ = writeln!(o, "### {} {}\n", s.id, e(&s.name));
        for a in &s.analytics {
            let _ = writeln!(o, "**{}** ({})\n", a.id, e(&a.platforms.join(", ")));
            if let Some(d) = &a.description {
                let _ = writeln!(o, "{}\n", e(d));
            }
            if a.log_sources.is_empty() {
                let _ = writeln!(o, "No log source named.\n");
            } else {
                let _ = writeln!(
                    o,
                    "| Data component | Log source | Channel |\n|---|---|---|"
                );
                for l in &a.log_sources {
                    let ch = super::channel_label(
                        l.channel.as_deref(),
                        l.channel_text.as_deref(),
                        &l.facts,
                    );
                    let _ = writeln!(
                        o,
                        "| {} ({}) | {} | {} |",
                        e(&l.data_component),
                        e(&l.data_component_id),
                        e(&l.name),
                        e(&ch)
                    );
                }
                o.push('\n');
            }
            if !a.mutable_elements.is_empty() {
                let fields: Vec<String> = a
                    .mutable_elements
                    .iter()
                    .map(|m| match &m.description {
                        Some(d) => format!("`{}`: {}", m.field.replace('`', ""), e(d)),
                        None => format!("`{}`", m.field.replace('`', "")),
                    })
                    .collect();
                let _ = writeln!(o, "Tune per environment: {}\n", fields.join("; "));
            }
        }
    }
    if let Some(p) = &det.v17_text {
        let _ = writeln!(o, "### Detection (ATT&CK v17 model)\n");
        prose(o, p);
    }
    if !det.data_sources.is_empty() {
        let _ = writeln!(o, "Data sources: {}\n", e(&det.data_sources.join(", ")));
    }
    for s in &det.statements {
        let _ = writeln!(o, "{}\n", e(s));
    }
}

/// The events that show the technique.
fn card_events(o: &mut String, c: &Card) {
    let _ = writeln!(o, "## Events\n");
    let ev = &c.events;
    if let Some(s) = &ev.statement {
        let _ = writeln!(o, "{}\n", e(s));
    }
    for (label, groups) in [
        ("Windows event log", &ev.events.windows),
        ("Sysmon", &ev.events.sysmon),
        ("Other sources", &ev.events.other),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(o, "### {label}\n");
        let _ = writeln!(
            o,
            "| Source | Event | Name | Why it matters | Analytics |\n|---|---|---|---|---|"
        );
        for g in groups {
            for r in &g.rows {
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} |",
                    e(&g.source),
                    e(&r.event),
                    e(r.title.as_deref().unwrap_or("")),
                    e(r.why.as_deref().unwrap_or("")),
                    e(&r.analytics.join(", "))
                );
            }
        }
        o.push('\n');
    }
    if !ev.events.vague.is_empty() {
        let _ = writeln!(
            o,
            "Named without a concrete event: {}\n",
            e(&ev.events.vague.join(", "))
        );
    }
}

/// Rules that claim the technique, and candidates by log source.
fn card_rules(o: &mut String, c: &Card) {
    let t = &c.technique;
    let _ = writeln!(o, "## Sigma rules\n");
    let rs = &c.rules;
    if rs.loaded {
        let _ = writeln!(
            o,
            "{} rules loaded from {} files ({} files reported).\n",
            rs.rules_loaded, rs.files_seen, rs.files_reported
        );
        if rs.tagged.is_empty() {
            let _ = writeln!(o, "No loaded rule is tagged with {}.\n", t.id);
        } else {
            if rs.indicators_only {
                let _ = writeln!(o, "Tagged rules (environment-specific indicators only):\n");
            } else {
                let _ = writeln!(o, "Tagged rules:\n");
            }
            rule_table(o, &rs.tagged);
        }
        if rs.candidates_total > 0 {
            let scored = rs.candidates.iter().any(|r| r.score.is_some());
            let _ = writeln!(
                o,
                "{} ({} of {}, reading {}):\n",
                if scored {
                    "Candidates ranked by content"
                } else {
                    "Candidates by log source"
                },
                rs.candidates.len(),
                rs.candidates_total,
                e(&rs.candidate_logsources.join(", "))
            );
            if scored {
                candidate_table(o, &rs.candidates);
            } else {
                rule_table(o, &rs.candidates);
            }
        }
    }
    for n in &rs.notes {
        let _ = writeln!(o, "{}\n", e(n));
    }
}

/// Guidance for techniques without a portable rule, the checklist and the footer.
fn card_guidance(o: &mut String, c: &Card) {
    if let Some(g) = &c.guidance {
        let _ = writeln!(o, "## {}\n", e(&g.title));
        let _ = writeln!(o, "{}\n", e(&g.why));
        let _ = writeln!(o, "{}\n", e(&g.build));
        if let Some(a) = &g.actionable {
            let _ = writeln!(o, "**What makes a finding actionable:** {}\n", e(a));
        }
        for w in &g.where_to_look {
            let _ = writeln!(o, "- {}", e(w));
        }
        if !g.where_to_look.is_empty() {
            o.push('\n');
        }
        if let Some(t) = &g.template {
            let _ = writeln!(o, "**Template (not portable):** {}\n", e(t));
        }
    }

    let _ = writeln!(o, "## Validation checklist\n");
    for item in &c.checklist {
        let mark = match item.state {
            CheckState::Done => "[x]",
            CheckState::NotDone | CheckState::Person => "[ ]",
        };
        let who = match item.state {
            CheckState::Person => " *(for a person)*",
            _ => "",
        };
        let _ = writeln!(
            o,
            "- {mark} {}{who}{}",
            e(&item.text),
            item.evidence
                .as_deref()
                .map(|x| format!(" ({})", e(x)))
                .unwrap_or_default()
        );
    }
}

// ---- coverage ---------------------------------------------------------------------------------

/// How many gaps the Markdown summary lists (the total is always given).
pub const COVERAGE_TOP_GAPS: usize = 25;

fn md_pct(covered: usize, total: usize) -> String {
    if total == 0 {
        "-".to_string()
    } else {
        format!("{:.0}%", covered as f64 * 100.0 / total as f64)
    }
}

/// `attacktrace coverage` for a PR comment or `GITHUB_STEP_SUMMARY`: short by design.
pub fn coverage(r: &crate::coverage::CoverageReport) -> String {
    let mut o = String::new();
    let t = &r.totals;
    let measurable = t.techniques.in_scope + t.subtechniques.in_scope;
    let covered = t.techniques.covered + t.subtechniques.covered;
    let _ = writeln!(o, "## ATT&CK coverage\n");
    if let Some(skew) = &r.skew {
        let _ = writeln!(o, "> **Warning:** {}\n", e(&skew.summary()));
    }
    let _ = writeln!(
        o,
        "ATT&CK {} v{} · scope: {} · {} rules loaded ({} in scope, {} files not loaded)\n",
        e(&r.attack.domain),
        e(&r.attack.version),
        e(&r.scope.description),
        r.load.rules_loaded,
        t.rules_in_scope,
        r.load.files_reported
    );
    let _ = writeln!(
        o,
        "**{covered} of {measurable}** techniques and sub-techniques covered ({}): techniques {}/{}, sub-techniques {}/{}. \
         Guidance (no portable rule): {} ({} claimed by rules).\n",
        md_pct(covered, measurable),
        t.techniques.covered,
        t.techniques.in_scope,
        t.subtechniques.covered,
        t.subtechniques.in_scope,
        t.guidance,
        t.guidance_claimed
    );
    let opt = |n: Option<usize>| n.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
    let _ = writeln!(
        o,
        "Tiers: tagged {}, runnable {}, validated {}\n",
        r.tiers.tagged,
        opt(r.tiers.runnable),
        opt(r.tiers.validated)
    );
    if let Some(b) = &r.baseline {
        let _ = writeln!(
            o,
            "Since baseline: **{} lost**, {} gained, {} changed\n",
            b.lost.len(),
            b.gained.len(),
            b.changed.len()
        );
        for c in &b.lost {
            let _ = writeln!(
                o,
                "- lost {} {}: {} → {}",
                c.id,
                e(&c.name),
                c.before.as_str(),
                c.after.as_str()
            );
        }
        for v in &b.version {
            let _ = writeln!(
                o,
                "- changed by the ATT&CK release (not lost) {} {}: {}{}",
                v.id,
                e(&v.name),
                v.reason.phrase(),
                v.replacement
                    .as_ref()
                    .map(|r| format!(" (now {})", e(r)))
                    .unwrap_or_default()
            );
        }
        if !b.lost.is_empty() || !b.version.is_empty() {
            o.push('\n');
        }
    }
    let _ = writeln!(
        o,
        "| Tactic | Techniques | % | Sub-techniques | Guidance | Rules |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|");
    for row in &r.tactics {
        let _ = writeln!(
            o,
            "| {} | {}/{} | {} | {}/{} | {} | {} |",
            e(&row.name),
            row.techniques.covered,
            row.techniques.in_scope,
            md_pct(row.techniques.covered, row.techniques.in_scope),
            row.subtechniques.covered,
            row.subtechniques.in_scope,
            row.guidance,
            row.rules
        );
    }
    o.push('\n');
    let _ = writeln!(
        o,
        "**Gaps**: {} techniques without a rule{}\n",
        r.gaps.len(),
        if r.gaps.len() > COVERAGE_TOP_GAPS {
            format!(" (first {COVERAGE_TOP_GAPS} in matrix order)")
        } else {
            String::new()
        }
    );
    for g in r.gaps.iter().take(COVERAGE_TOP_GAPS) {
        let _ = writeln!(
            o,
            "- {} {} ({}; {}: {})",
            g.id,
            e(&g.name),
            e(&g.tactic),
            class_label(g.class),
            e(&g.class_reason)
        );
    }
    if !r.tag_problems.counts.is_empty() {
        let counts: Vec<String> = r
            .tag_problems
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(o, "\nTag problems: {}", counts.join(", "));
    }
    o
}
