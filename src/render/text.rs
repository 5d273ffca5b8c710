//! Plain-text renderer for people at a terminal.

use super::{one_line, term_safe, wrap};
use crate::card::{Card, CheckState, ProseBlock, RuleRef};
use crate::coverage::{Count, CoverageReport, GuidanceRow, GuidanceRule};
use crate::link::Via;
use crate::listing::RuleListing;
use crate::rules::LoadSummary;
use std::fmt::Write;

/// The wrap of text reports written to a pipe or file (and so of every snapshot).
pub const WIDTH: usize = 96;
/// The narrowest wrap [`card_at`] accepts.
pub const MIN_WIDTH: usize = 40;

/// An optional one-line field, or `-` when absent.
fn or_dash(value: Option<&str>) -> String {
    value.map(one_line).unwrap_or_else(|| "-".into())
}

fn footnotes(out: &mut String, p: &ProseBlock, indent: &str) {
    for f in &p.footnotes {
        let _ = writeln!(
            out,
            "{indent}[{}] {}{}",
            f.number,
            one_line(&f.source_name),
            f.url
                .as_deref()
                .map(|u| format!(" <{}>", one_line(u)))
                .unwrap_or_default()
        );
    }
}

fn rule_line(out: &mut String, r: &RuleRef) {
    let via = match &r.via {
        Some(Via::Direct) | None => String::new(),
        Some(Via::SubTechnique(s)) => format!(" (via {s})"),
    };
    let _ = writeln!(
        out,
        "  - {} [{}/{}] {}{}{}",
        one_line(&r.title),
        or_dash(r.level.as_deref()),
        or_dash(r.status.as_deref()),
        one_line(&r.logsource),
        via,
        if r.evaluable { "" } else { " (not evaluable)" }
    );
    let _ = writeln!(out, "      {}:{}", one_line(&r.path), r.line);
}

/// Rule lists on a card longer than this are summarised by log source unless every rule is asked
/// for (`technique --all`): a technique with 180 SigmaHQ rules would otherwise bury the rest.
pub const CARD_RULES_LISTED: usize = 12;

pub fn card(c: &Card) -> String {
    card_with(c, false)
}

/// [`card`], with `all_rules` listing every rule however long the lists are.
pub fn card_with(c: &Card, all_rules: bool) -> String {
    card_at(c, all_rules, WIDTH)
}

/// [`card_with`], its prose wrapped at `width` columns (a terminal's) instead of [`WIDTH`];
/// narrower than [`MIN_WIDTH`] is read as [`MIN_WIDTH`], so indented paragraphs keep room.
pub fn card_at(c: &Card, all_rules: bool, width: usize) -> String {
    let w = width.max(MIN_WIDTH);
    let mut o = String::new();
    card_header(&mut o, c, w);
    card_detection(&mut o, c, w);
    card_events(&mut o, c, w);
    card_rules(&mut o, c, all_rules, w);
    card_guidance(&mut o, c, w);
    o
}

/// Title, source, notices, tactics, relations, link and description.
fn card_header(o: &mut String, c: &Card, w: usize) {
    let t = &c.technique;
    let _ = writeln!(o, "{} {}", t.id, one_line(&t.name));
    let _ = writeln!(
        o,
        "ATT&CK {} v{} ({})",
        one_line(&c.attack.domain),
        one_line(&c.attack.version),
        one_line(&c.attack.label())
    );
    for n in &c.notices {
        let _ = writeln!(o, "Notice: {}", one_line(n));
    }
    let tactics: Vec<String> = t
        .tactics
        .iter()
        .map(|x| {
            if x.id.is_empty() {
                one_line(&x.name)
            } else {
                one_line(&format!("{} ({})", x.name, x.id))
            }
        })
        .collect();
    let _ = writeln!(o, "Tactics:        {}", tactics.join(", "));
    match &t.assets {
        Some(a) if t.platforms.is_empty() => {
            let _ = writeln!(o, "Platforms:      none listed; assets: {}", one_line(a));
        }
        _ => {
            let _ = writeln!(o, "Platforms:      {}", t.platforms.join(", "));
        }
    }
    if let Some(p) = &t.parent {
        let _ = writeln!(o, "Parent:         {} {}", p.id, one_line(&p.name));
    }
    if !t.subtechniques.is_empty() {
        let subs: Vec<String> = t
            .subtechniques
            .iter()
            .map(|s| format!("{} {}", s.id, one_line(&s.name)))
            .collect();
        let _ = writeln!(o, "Sub-techniques: {}", subs.join(", "));
    }
    match &t.revoked_by {
        Some(r) => {
            let _ = writeln!(
                o,
                "Status:         revoked, replaced by {} {}",
                r.id,
                one_line(&r.name)
            );
        }
        None => {
            let _ = writeln!(o, "Status:         {}", t.status);
        }
    }
    if let Some(u) = &t.url {
        let _ = writeln!(o, "URL:            {}", one_line(u));
    }

    if let Some(d) = &c.description {
        let _ = writeln!(o, "\nDescription");
        o.push_str(&wrap(&term_safe(&d.text), w, "  "));
        footnotes(o, d, "  ");
    }
}

/// Observability and what ATT&CK says about detecting the technique.
fn card_detection(o: &mut String, c: &Card, w: usize) {
    let obs = &c.observability;
    let _ = writeln!(o, "\nObservability: {}", super::class_label(obs.class));
    let _ = writeln!(
        o,
        "  {} (basis: {}, confidence: {})",
        one_line(&obs.reason),
        obs.basis,
        obs.confidence
    );

    let _ = writeln!(o, "\nATT&CK detection guidance");
    let det = &c.detection;
    for s in &det.strategies {
        let _ = writeln!(o, "  {} {}", s.id, one_line(&s.name));
        for a in &s.analytics {
            let _ = writeln!(
                o,
                "    {} [{}]",
                a.id,
                if a.platforms.is_empty() {
                    "-".to_string()
                } else {
                    a.platforms.join(", ")
                }
            );
            if let Some(d) = &a.description {
                o.push_str(&wrap(&term_safe(d), w - 6, "      "));
            }
            if a.log_sources.is_empty() {
                let _ = writeln!(o, "      log sources: none named");
            }
            for l in &a.log_sources {
                let channel = one_line(&super::channel_label(
                    l.channel.as_deref(),
                    l.channel_text.as_deref(),
                    &l.facts,
                ));
                let dc = if l.data_component.is_empty() {
                    l.data_component_id.clone()
                } else {
                    format!("{} ({})", l.data_component, l.data_component_id)
                };
                let _ = writeln!(o, "      - {dc}: {} | {}", one_line(&l.name), channel);
            }
            if !a.mutable_elements.is_empty() {
                let _ = writeln!(o, "      tune per environment:");
                for m in &a.mutable_elements {
                    match &m.description {
                        Some(d) => {
                            let _ = writeln!(o, "        {}: {}", one_line(&m.field), one_line(d));
                        }
                        None => {
                            let _ = writeln!(o, "        {}", one_line(&m.field));
                        }
                    }
                }
            }
        }
    }
    if let Some(p) = &det.v17_text {
        let _ = writeln!(o, "  Detection (ATT&CK v17 model):");
        o.push_str(&wrap(&term_safe(&p.text), w - 4, "    "));
        footnotes(o, p, "    ");
    }
    if !det.data_sources.is_empty() {
        let _ = writeln!(o, "  Data sources: {}", det.data_sources.join(", "));
    }
    for s in &det.statements {
        o.push_str(&wrap(s, w - 2, "  "));
    }
}

/// The events that show the technique.
fn card_events(o: &mut String, c: &Card, w: usize) {
    let _ = writeln!(o, "\nEvents");
    let ev = &c.events;
    if let Some(s) = &ev.statement {
        o.push_str(&wrap(s, w - 2, "  "));
    }
    for (label, groups) in [
        ("Windows event log", &ev.events.windows),
        ("Sysmon", &ev.events.sysmon),
        ("Other sources", &ev.events.other),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(o, "  {label}");
        for g in groups {
            let _ = writeln!(o, "    {} ({})", one_line(&g.source), g.platform_family);
            for r in &g.rows {
                let mut line = format!("      {:<8}", one_line(&r.event));
                if let Some(title) = &r.title {
                    line.push(' ');
                    line.push_str(&one_line(title));
                }
                if let Some(why) = &r.why {
                    line.push_str(" - ");
                    line.push_str(&one_line(why));
                }
                if !r.analytics.is_empty() {
                    line.push_str(&format!(" [{}]", r.analytics.join(", ")));
                }
                let _ = writeln!(o, "{line}");
            }
        }
    }
    if !ev.events.vague.is_empty() {
        let _ = writeln!(
            o,
            "  Named without a concrete event: {}",
            ev.events
                .vague
                .iter()
                .map(|v| one_line(v))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}

/// Rules that claim the technique, and candidates by log source.
/// Every rule of `rules`, or, past [`CARD_RULES_LISTED`] without `all`, a count per log source
/// (most rules first).
fn rule_list(o: &mut String, rules: &[RuleRef], all: bool) {
    if all || rules.len() <= CARD_RULES_LISTED {
        rules.iter().for_each(|r| rule_line(o, r));
        return;
    }
    let mut by_source: std::collections::BTreeMap<&str, usize> = Default::default();
    for r in rules {
        *by_source.entry(r.logsource.as_str()).or_default() += 1;
    }
    let mut by_source: Vec<(&str, usize)> = by_source.into_iter().collect();
    by_source.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (source, n) in by_source {
        let _ = writeln!(o, "  {n:>5}  {}", one_line(source));
    }
    let _ = writeln!(
        o,
        "         ({} rules by log source; `--all` lists every rule)",
        rules.len()
    );
}

fn card_rules(o: &mut String, c: &Card, all: bool, w: usize) {
    let t = &c.technique;
    let rs = &c.rules;
    let _ = writeln!(o, "\nSigma rules");
    if rs.loaded {
        let _ = writeln!(
            o,
            "  {} rules loaded from {} files ({} files reported)",
            rs.rules_loaded, rs.files_seen, rs.files_reported
        );
        if rs.tagged.is_empty() {
            let _ = writeln!(o, "  No loaded rule is tagged with {}.", t.id);
        } else if rs.indicators_only {
            let _ = writeln!(
                o,
                "  Tagged with {} ({}), environment-specific indicators only:",
                t.id,
                rs.tagged.len()
            );
        } else {
            let _ = writeln!(o, "  Tagged with {} ({}):", t.id, rs.tagged.len());
        }
        rule_list(o, &rs.tagged, all);
        if rs.candidates_total > 0 {
            let _ = writeln!(
                o,
                "  {} ({} of {}; not tagged with {}, but reading {}):",
                candidates_label(rs),
                rs.candidates.len(),
                rs.candidates_total,
                t.id,
                rs.candidate_logsources.join(", ")
            );
            for r in &rs.candidates {
                rule_line(o, r);
                candidate_score(o, r);
            }
        }
    }
    for n in &rs.notes {
        o.push_str(&wrap(n, w - 2, "  "));
    }
}

/// "Candidates by log source", or "ranked by content" when the rules were scored.
fn candidates_label(rs: &crate::card::RuleSection) -> &'static str {
    if rs.candidates.iter().any(|r| r.score.is_some()) {
        "Candidates ranked by content"
    } else {
        "Candidates by log source"
    }
}

/// A scored candidate's score and reasons, under its rule line.
fn candidate_score(o: &mut String, r: &RuleRef) {
    if let Some(score) = r.score {
        let reasons: Vec<String> = r.reasons.iter().map(|x| one_line(&x.to_string())).collect();
        let _ = writeln!(
            o,
            "      score {score:.2}: {}",
            or_dash(
                Some(&reasons.join("; "))
                    .filter(|s| !s.is_empty())
                    .map(String::as_str)
            )
        );
    }
}

/// Guidance for techniques without a portable rule, the checklist and the footer.
fn card_guidance(o: &mut String, c: &Card, w: usize) {
    if let Some(g) = &c.guidance {
        let _ = writeln!(o, "\n{}", one_line(&g.title));
        o.push_str(&wrap(&g.why, w - 2, "  "));
        let _ = writeln!(o);
        o.push_str(&wrap(&g.build, w - 2, "  "));
        if let Some(a) = &g.actionable {
            let _ = writeln!(o, "\n  What makes a finding actionable:");
            o.push_str(&wrap(a, w - 4, "    "));
        }
        if !g.where_to_look.is_empty() {
            let _ = writeln!(o, "  Where to look:");
        }
        for place in &g.where_to_look {
            let wrapped = wrap(place, w - 6, "      ");
            let _ = write!(o, "    - {}", wrapped.trim_start());
        }
        if let Some(t) = &g.template {
            let _ = writeln!(o, "\n  Template (not portable):");
            o.push_str(&wrap(t, w - 4, "    "));
        }
    }

    let _ = writeln!(o, "\nValidation checklist");
    for item in &c.checklist {
        let mark = match item.state {
            CheckState::Done => "[x]",
            CheckState::NotDone => "[ ]",
            CheckState::Person => "[?]",
        };
        let wrapped = wrap(&item.text, w - 8, "      ");
        let _ = write!(o, "  {mark} {}", wrapped.trim_start());
        if let Some(e) = &item.evidence {
            let _ = writeln!(o, "      ({})", one_line(e));
        }
    }
    let _ = writeln!(
        o,
        "  [x] decided from the loaded rules  [ ] not met  [?] for a person to check"
    );
}

fn summary(o: &mut String, s: &LoadSummary) {
    for d in &s.reports {
        let loc = match (&d.path, d.line) {
            (Some(p), Some(l)) => format!("{}:{}", crate::output::path_line(p), l),
            (Some(p), None) => crate::output::path_line(p),
            _ => "-".to_string(),
        };
        let _ = writeln!(
            o,
            "{}: {} [{}] {}",
            one_line(&loc),
            d.severity.as_str(),
            d.code,
            one_line(&d.message)
        );
    }
    let _ = writeln!(
        o,
        "files seen: {}, loaded: {}, reported: {}; rules loaded: {} ({} not evaluable)",
        s.files_seen, s.files_loaded, s.files_reported, s.rules_loaded, s.not_evaluable
    );
    if !s.reported_by_reason.is_empty() {
        let parts: Vec<String> = s
            .reported_by_reason
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = writeln!(o, "reported by reason: {}", parts.join(", "));
    }
}

pub fn listing(l: &RuleListing) -> String {
    let mut o = String::new();
    for r in &l.rules {
        let _ = writeln!(o, "{}  {}", or_dash(r.id.as_deref()), one_line(&r.title));
        let _ = writeln!(
            o,
            "    level: {}  status: {}  logsource: {}  techniques: {}",
            or_dash(r.level.as_deref()),
            or_dash(r.status.as_deref()),
            one_line(&r.logsource),
            if r.techniques.is_empty() {
                "-".to_string()
            } else {
                r.techniques.join(", ")
            }
        );
        let _ = writeln!(o, "    {}:{}", one_line(&r.path), r.line);
        if let crate::rules::DetectionState::NotEvaluable { reason } = &r.detection {
            let _ = writeln!(o, "    not evaluable: {}", one_line(reason));
        }
    }
    let _ = writeln!(o, "{} rules shown", l.shown);
    summary(&mut o, &l.summary);
    o
}

pub fn attack_info(info: &crate::listing::AttackInfo) -> String {
    let mut o = String::new();
    let s = &info.source;
    let _ = writeln!(o, "source:               {}", one_line(&s.origin));
    if let Some(sha) = &s.sha256 {
        let _ = writeln!(o, "sha256:               {}", one_line(sha));
    }
    let _ = writeln!(o, "domain:               {}", one_line(&s.domain));
    let _ = writeln!(
        o,
        "version:              {} (from {})",
        one_line(&s.version),
        s.version_from
    );
    let _ = writeln!(o, "STIX version:         {}", one_line(&s.stix_version));
    let _ = writeln!(
        o,
        "prose:                {}",
        if s.has_prose { "yes" } else { "no (catalog)" }
    );
    let st = &info.stats;
    for (label, n) in [
        ("tactics", st.tactics),
        ("techniques", st.techniques),
        ("sub-techniques", st.sub_techniques),
        ("revoked", st.revoked),
        ("deprecated", st.deprecated),
        ("detection strategies", st.detection_strategies),
        ("analytics", st.analytics),
        ("data components", st.data_components),
        ("groups", st.groups),
        ("software", st.software),
        ("campaigns", st.campaigns),
        ("mitigations", st.mitigations),
    ] {
        let _ = writeln!(o, "{:<22}{n}", format!("{label}:"));
    }
    let _ = writeln!(
        o,
        "(techniques and sub-techniques count active ones: not revoked, not deprecated)"
    );
    o
}

// ---- coverage ---------------------------------------------------------------------------------

fn pct(covered: usize, total: usize) -> String {
    if total == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", covered as f64 * 100.0 / total as f64)
    }
}

fn count_cell(c: Count) -> String {
    format!("{}/{}", c.covered, c.in_scope)
}

fn opt_count(n: Option<usize>, why: &str) -> String {
    n.map(|n| n.to_string())
        .unwrap_or_else(|| format!("- ({why})"))
}

/// `attacktrace coverage` for a terminal: totals, per-tactic table, gaps, guidance mis-tags, tag
/// problems and the baseline diff.
pub fn coverage(r: &CoverageReport) -> String {
    let mut o = String::new();
    coverage_header(&mut o, r);
    coverage_tactics(&mut o, r);
    coverage_gaps(&mut o, r);
    coverage_mistags(&mut o, r);
    coverage_tag_problems(&mut o, r);
    coverage_baseline(&mut o, r);
    o
}

/// Source, scope, rule counts, totals and tiers.
fn coverage_header(o: &mut String, r: &CoverageReport) {
    let _ = writeln!(
        o,
        "ATT&CK coverage: {} v{} ({})",
        one_line(&r.attack.domain),
        one_line(&r.attack.version),
        one_line(&r.attack.label())
    );
    if let Some(skew) = &r.skew {
        let _ = writeln!(o, "Warning: {}", one_line(&skew.summary()));
    }
    let _ = writeln!(o, "Scope: {}", one_line(&r.scope.description));
    let l = &r.load;
    let _ = writeln!(
        o,
        "Rules: {} loaded from {} files ({} files not loaded), {} in scope, {} cover a technique",
        l.rules_loaded,
        l.files_seen,
        l.files_reported,
        r.totals.rules_in_scope,
        r.totals.rules_covering
    );
    let t = &r.totals;
    // The figure `check --min-coverage` gates on by default (`Metric::All`).
    let all = t.count(crate::coverage::Metric::All);
    let (covered, measurable) = (all.covered, all.in_scope);
    let _ = writeln!(
        o,
        "Covered: {covered} of {measurable} techniques and sub-techniques ({}); techniques {} ({}), sub-techniques {} ({})",
        pct(covered, measurable),
        count_cell(t.techniques),
        pct(t.techniques.covered, t.techniques.in_scope),
        count_cell(t.subtechniques),
        pct(t.subtechniques.covered, t.subtechniques.in_scope),
    );
    let _ = writeln!(
        o,
        "Classes: portable {}, environment-specific {}, no portable rule {}",
        t.portable,
        measurable - t.portable,
        t.guidance
    );
    if t.portable == 0 && measurable > 0 {
        let _ = writeln!(
            o,
            "Note: no {} technique in scope is portable: no standard log a Sigma rule reads sees them everywhere; the coverage above counts environment-specific techniques only",
            one_line(&r.attack.domain)
        );
    }
    let _ = writeln!(
        o,
        "Guidance (no portable rule): {} techniques, {} claimed by rules; any rule at all: {} of {} active",
        t.guidance, t.guidance_claimed, t.claimed, t.active
    );
    let _ = writeln!(
        o,
        "Tiers: tagged {}, runnable {}, validated {}",
        r.tiers.tagged,
        opt_count(r.tiers.runnable, "no --profile"),
        opt_count(r.tiers.validated, "no rule tests yet"),
    );
    o.push('\n');
}

/// One row per tactic.
fn coverage_tactics(o: &mut String, r: &CoverageReport) {
    let w = r
        .tactics
        .iter()
        .map(|t| t.name.chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        o,
        "{:<w$}  {:>11}  {:>7}  {:>15}  {:>8}  {:>6}",
        "Tactic", "Techniques", "%", "Sub-techniques", "Guidance", "Rules"
    );
    for row in &r.tactics {
        let _ = writeln!(
            o,
            "{:<w$}  {:>11}  {:>7}  {:>15}  {:>8}  {:>6}",
            one_line(&row.name),
            count_cell(row.techniques),
            pct(row.techniques.covered, row.techniques.in_scope),
            count_cell(row.subtechniques),
            row.guidance,
            row.rules
        );
    }
    o.push('\n');
}

/// Techniques without a rule, grouped by first tactic.
fn coverage_gaps(o: &mut String, r: &CoverageReport) {
    let tactic_name = |s: &str| {
        r.tactics
            .iter()
            .find(|t| t.shortname == s)
            .map(|t| one_line(&t.name))
            .unwrap_or_else(|| one_line(s))
    };
    let _ = writeln!(o, "Gaps: {} techniques without a rule", r.gaps.len());
    let mut last = "";
    for g in &r.gaps {
        if g.tactic != last {
            let _ = writeln!(o, "  {}", tactic_name(&g.tactic));
            last = &g.tactic;
        }
        let _ = writeln!(
            o,
            "    {:<10} {} [{}]\n               {}",
            g.id,
            one_line(&g.name),
            super::class_label(g.class),
            one_line(&g.class_reason)
        );
    }
}

/// Guidance techniques that rules claim anyway: likely mis-tags (the content model points
/// elsewhere) apart from the other claims.
fn coverage_mistags(o: &mut String, r: &CoverageReport) {
    guidance_claims(
        o,
        r,
        true,
        "Likely mis-tags: rules claiming techniques that happen outside the defender's logs, whose detection points elsewhere",
    );
    let scored = r
        .guidance
        .iter()
        .flat_map(|g| &g.rules)
        .any(|x| x.score.is_some());
    guidance_claims(
        o,
        r,
        false,
        if scored {
            "Claimed guidance techniques: rules whose content does not contradict the tag"
        } else {
            "Claimed guidance techniques (not judged by content; `--score-claims` scores them)"
        },
    );
}

/// One section of guidance claims: the rules whose `likely_mistag` is `mistag`, by technique.
fn guidance_claims(o: &mut String, r: &CoverageReport, mistag: bool, heading: &str) {
    let rows: Vec<(&GuidanceRow, Vec<&GuidanceRule>)> = r
        .guidance
        .iter()
        .map(|g| {
            let rules = g
                .rules
                .iter()
                .filter(|x| x.likely_mistag == mistag)
                .collect();
            (g, rules)
        })
        .filter(|(_, rules): &(_, Vec<_>)| !rules.is_empty())
        .collect();
    if rows.is_empty() {
        return;
    }
    o.push('\n');
    let _ = writeln!(o, "{heading}");
    for (g, rules) in rows {
        let _ = writeln!(o, "  {} {}", g.id, one_line(&g.name));
        for x in rules {
            if let Some(rule) = r.rules.get(x.link.rule) {
                let _ = writeln!(
                    o,
                    "    - {} ({}:{}){}",
                    one_line(&rule.title),
                    one_line(&rule.path),
                    rule.line,
                    claim_score(x)
                );
            }
        }
    }
}

/// `: score 0.04, detection points at T1070.004 (0.93)`, or nothing when unscored.
fn claim_score(x: &GuidanceRule) -> String {
    let Some(score) = x.score else {
        return String::new();
    };
    match &x.suggested {
        Some(s) if x.likely_mistag => format!(
            ": score {score:.2}, detection points at {} ({:.2})",
            s.technique, s.score
        ),
        _ => format!(": score {score:.2}"),
    }
}

/// Tags naming unknown, revoked or deprecated techniques.
fn coverage_tag_problems(o: &mut String, r: &CoverageReport) {
    if !r.tag_problems.items.is_empty() {
        o.push('\n');
        let counts: Vec<String> = r
            .tag_problems
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        let _ = writeln!(o, "Tag problems: {}", counts.join(", "));
        for p in &r.tag_problems.items {
            let rule = r.rules.get(p.rule);
            let _ = writeln!(
                o,
                "  {} {}{} in {}",
                p.problem,
                one_line(&p.technique),
                p.replacement
                    .as_deref()
                    .map(|x| format!(" (use {x})"))
                    .unwrap_or_default(),
                rule.map(|x| format!("{}:{}", one_line(&x.path), x.line))
                    .unwrap_or_default()
            );
        }
    }
}

/// What changed since the baseline.
fn coverage_baseline(o: &mut String, r: &CoverageReport) {
    if let Some(b) = &r.baseline {
        o.push('\n');
        let _ = writeln!(
            o,
            "Baseline: {} gained, {} lost, {} changed, {} left scope",
            b.gained.len(),
            b.lost.len(),
            b.changed.len(),
            b.left_scope.len()
        );
        for (label, list) in [
            ("lost", &b.lost),
            ("gained", &b.gained),
            ("changed", &b.changed),
        ] {
            for c in list.iter() {
                let _ = writeln!(
                    o,
                    "  {label:<7} {:<10} {} -> {}  {}{}{}",
                    c.id,
                    c.before.as_str(),
                    c.after.as_str(),
                    one_line(&c.name),
                    if c.rules_added.is_empty() {
                        String::new()
                    } else {
                        format!("  +{}", one_line(&c.rules_added.join(", +")))
                    },
                    if c.rules_removed.is_empty() {
                        String::new()
                    } else {
                        format!("  -{}", one_line(&c.rules_removed.join(", -")))
                    },
                );
            }
        }
        for id in &b.left_scope {
            let _ = writeln!(o, "  left    {id}");
        }
        if !b.version.is_empty() {
            let _ = writeln!(
                o,
                "Changed by the ATT&CK release, not by the rules ({}; not counted as lost; `attacktrace migrate` retags):",
                b.version.len()
            );
        }
        for v in &b.version {
            let _ = writeln!(
                o,
                "  release {:<10} {}{}: {}{}{}",
                v.id,
                if v.before == v.after {
                    String::new()
                } else {
                    format!("{} -> {}  ", v.before.as_str(), v.after.as_str())
                },
                one_line(&v.name),
                v.reason.phrase(),
                v.replacement
                    .as_ref()
                    .map(|r| format!(" (now {r})"))
                    .unwrap_or_default(),
                if v.rules.is_empty() {
                    String::new()
                } else {
                    format!("  rules: {}", one_line(&v.rules.join("; ")))
                }
            );
        }
    }
}

/// `suggest`: per rule, the suggested techniques with their scores and reasons.
pub fn suggestions(r: &crate::suggest::SuggestReport) -> String {
    let mut o = String::new();
    for rule in &r.rules {
        let tags = if rule.tags.is_empty() {
            "untagged".to_string()
        } else {
            format!("tagged {}", one_line(&rule.tags.join(", ")))
        };
        let _ = writeln!(
            o,
            "{}: {} ({tags})",
            one_line(&rule.path.display().to_string()),
            one_line(&rule.title)
        );
        if rule.suggestions.is_empty() {
            let _ = writeln!(o, "  (no suggestion)");
        }
        for s in &rule.suggestions {
            let _ = writeln!(
                o,
                "  {:.2}  {}{}{}",
                s.score,
                one_line(&s.technique),
                s.name
                    .as_deref()
                    .map(|n| format!(" {}", one_line(n)))
                    .unwrap_or_default(),
                if s.tagged { "  [tagged]" } else { "" }
            );
            for reason in &s.reasons {
                let _ = writeln!(o, "        - {}", one_line(&reason.to_string()));
            }
        }
    }
    let _ = writeln!(
        o,
        "{} rules; model trained on {} tagged rules, {} techniques",
        r.rules.len(),
        r.training_rules,
        r.techniques
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A terminal's width re-wraps the prose only: the fixed width gives the pipe output exactly,
    /// and a narrow one keeps a wrapped paragraph (the rules note) within it.
    #[test]
    fn card_wraps_at_the_width_given() {
        let kb = crate::attack::catalog::embedded();
        let t = kb.technique("T1059.001").expect("embedded technique");
        let c = crate::card::build(
            &kb,
            crate::telemetry::Telemetry::embedded(),
            t,
            vec![],
            None,
        );
        assert_eq!(card_at(&c, false, WIDTH), card_with(&c, false));
        let narrow = card_at(&c, false, 60);
        let note = |card: &str| -> Vec<String> {
            let mut lines = card
                .lines()
                .skip_while(|l| !l.contains("No rule paths given"));
            let first = lines.next().unwrap_or_default().to_string();
            std::iter::once(first)
                .chain(
                    lines
                        .take_while(|l| l.starts_with("  "))
                        .map(str::to_string),
                )
                .collect()
        };
        let (wide, slim) = (note(&card_with(&c, false)), note(&narrow));
        assert!(wide[0].chars().count() > 60 && slim.len() >= 2, "{narrow}");
        assert!(narrow.lines().count() > card_with(&c, false).lines().count());
        assert!(slim.iter().all(|l| l.chars().count() <= 60), "{narrow}");
        assert_ne!(narrow, card_with(&c, false));
        assert_eq!(card_at(&c, false, 1), card_at(&c, false, MIN_WIDTH));
    }
}
