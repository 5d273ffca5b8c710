//! Syntax and schema validators: identifiers, status, level, dates, description, attributes, tags
//! and references of one rule. (YAML errors, wrong types and missing required fields come from the
//! loader as reports.)

use super::config::Settings;
use super::RuleCtx;
use crate::diag::Code;
use crate::rules::{tag_rank, RuleKind};
use std::collections::HashSet;

/// Top-level attributes of the Sigma specification (rules, correlations, filters).
const SPEC_ATTRIBUTES: &[&str] = &[
    "title",
    "id",
    "related",
    "name",
    "taxonomy",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "scope",
    "correlation",
    "generate",
    "filter",
];
const STATUSES: &[&str] = &[
    "stable",
    "test",
    "experimental",
    "deprecated",
    "unsupported",
];
const LEVELS: &[&str] = &["informational", "low", "medium", "high", "critical"];

/// Runs the schema validators on one rule. The steps keep this order: positions are looked up
/// within a per-rule budget, so the order decides which findings get exact lines.
pub fn check(ctx: &mut RuleCtx<'_>, settings: &Settings) {
    identifier(ctx);
    let is_detection = ctx.rule.kind == RuleKind::Detection;
    if is_detection {
        status_level_description(ctx);
    }
    dates(ctx, is_detection);
    attributes(ctx, settings);
    tags(ctx);
    references(ctx);
}

/// `identifier_existence`, `identifier_format`.
fn identifier(ctx: &mut RuleCtx<'_>) {
    let rule = ctx.rule;
    match rule.id.as_deref() {
        None => ctx.push(
            Code::IdentifierExistence,
            (rule.line, 1),
            "rule has no `id`; add a random UUID",
        ),
        Some(id) if !is_uuid(id) => {
            let pos = ctx.key_pos(&["id"]);
            ctx.push(
                Code::IdentifierFormat,
                pos,
                format!("`id` `{id}` is not a UUID"),
            );
        }
        Some(_) => {}
    }
}

/// Detection rules only: `status_*`, `level_*`, `description_existence`.
fn status_level_description(ctx: &mut RuleCtx<'_>) {
    let rule = ctx.rule;
    match rule.status.as_deref() {
        None => ctx.push(
            Code::StatusExistence,
            (rule.line, 1),
            "rule has no `status`",
        ),
        Some(s) if !STATUSES.contains(&s) => {
            let pos = ctx.key_pos(&["status"]);
            ctx.push(
                Code::StatusUnknown,
                pos,
                format!("`status: {s}` is not one of {}", STATUSES.join(", ")),
            );
        }
        Some(_) => {}
    }
    match rule.level.as_deref() {
        None => ctx.push(Code::LevelExistence, (rule.line, 1), "rule has no `level`"),
        Some(l) if !LEVELS.contains(&l) => {
            let pos = ctx.key_pos(&["level"]);
            ctx.push(
                Code::LevelUnknown,
                pos,
                format!("`level: {l}` is not one of {}", LEVELS.join(", ")),
            );
        }
        Some(_) => {}
    }
    if rule
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        ctx.push(
            Code::DescriptionExistence,
            (rule.line, 1),
            "rule has no `description`",
        );
    }
}

/// `date_existence` (detection rules), `date_format` for `date` and `modified`, and their order.
fn dates(ctx: &mut RuleCtx<'_>, is_detection: bool) {
    let rule = ctx.rule;
    let date = rule.date.as_deref();
    if date.is_none() && is_detection {
        ctx.push(Code::DateExistence, (rule.line, 1), "rule has no `date`");
    }
    let mut parsed = [None, None];
    for (i, (key, value)) in [("date", date), ("modified", rule.modified.as_deref())]
        .into_iter()
        .enumerate()
    {
        let Some(v) = value else { continue };
        parsed[i] = parse_date(v);
        if parsed[i].is_none() {
            let pos = ctx.key_pos(&[key]);
            ctx.push(
                Code::DateFormat,
                pos,
                format!("`{key}: {v}` is not a valid YYYY-MM-DD date"),
            );
        }
    }
    if let [Some(d), Some(m)] = parsed {
        if m < d {
            let pos = ctx.key_pos(&["modified"]);
            ctx.push(
                Code::DateFormat,
                pos,
                "`modified` is earlier than `date`".to_string(),
            );
        }
    }
}

/// `custom_attributes`: top-level keys outside the specification and the configured allowance.
fn attributes(ctx: &mut RuleCtx<'_>, settings: &Settings) {
    let Some(raw) = ctx.raw else { return };
    let mut unknown = Vec::new();
    for key in raw.map.keys() {
        let Some(k) = key.as_str() else { continue };
        if !SPEC_ATTRIBUTES.contains(&k) && !settings.allowed_attributes.contains(k) {
            unknown.push(k.to_string());
        }
    }
    for k in unknown {
        let hint = SPEC_ATTRIBUTES
            .iter()
            .map(|a| (strsim::damerau_levenshtein(a, &k.to_ascii_lowercase()), a))
            .filter(|(d, a)| *d <= 2 && *d < a.len() / 2 + 1)
            .min()
            .map(|(_, a)| format!("; did you mean `{a}`?"))
            .unwrap_or_else(|| {
                "; allow it with `config: {custom_attributes: {allowed: [..]}}`".into()
            });
        let pos = ctx.key_pos(&[&k]);
        ctx.push(
            Code::CustomAttributes,
            pos,
            format!("`{k}` is not a Sigma attribute{hint}"),
        );
    }
}

/// `tag_format`, `duplicate_tag`, `tag_order`.
fn tags(ctx: &mut RuleCtx<'_>) {
    let rule = ctx.rule;
    let mut seen = HashSet::new();
    for tag in &rule.tags {
        if !is_tag_format(tag) {
            let pos = ctx.value_pos(&["tags"], tag);
            let hint = if is_tag_format(&tag.to_ascii_lowercase()) {
                format!("; write `{}`", tag.to_ascii_lowercase())
            } else {
                String::new()
            };
            ctx.push(
                Code::TagFormat,
                pos,
                format!("tag `{tag}` is not `namespace.name` in lower case{hint}"),
            );
        }
        if !seen.insert(tag.to_ascii_lowercase()) {
            let pos = ctx.value_pos(&["tags"], tag);
            ctx.push(
                Code::DuplicateTag,
                pos,
                format!("tag `{tag}` appears twice"),
            );
        }
    }
    if let Some(w) = rule
        .tags
        .windows(2)
        .find(|w| tag_rank(&w[0]) > tag_rank(&w[1]))
    {
        let pos = ctx.value_pos(&["tags"], &w[1]);
        ctx.push(
            Code::TagOrder,
            pos,
            format!(
                "tag `{}` comes after `{}`; order tags as tactics, techniques, other tags",
                w[1], w[0]
            ),
        );
    }
}

/// `duplicate_references`.
fn references(ctx: &mut RuleCtx<'_>) {
    let rule = ctx.rule;
    let mut seen = HashSet::new();
    for r in &rule.references {
        if !seen.insert(r.trim()) {
            let pos = ctx.value_pos(&["references"], r);
            ctx.push(
                Code::DuplicateReferences,
                pos,
                format!("reference `{r}` appears twice"),
            );
        }
    }
}

/// 8-4-4-4-12 hexadecimal digits.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `[a-z0-9_-]+ . [a-z0-9._-]+`, as the specification's tag pattern.
pub fn is_tag_format(tag: &str) -> bool {
    let Some((ns, name)) = tag.split_once('.') else {
        return false;
    };
    !ns.is_empty()
        && !name.is_empty()
        && ns
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

/// `YYYY-MM-DD` naming a real day, as (year, month, day).
pub fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y >= 1970 && (1..=days).contains(&d)).then_some((y, m, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_tag_and_date_shapes() {
        assert!(is_uuid("5f1e4f8a-0a1b-4c2d-8e3f-00112233aabb"));
        assert!(!is_uuid("5f1e4f8a-0a1b-4c2d-8e3f-00112233aab"));
        assert!(!is_uuid("rule-1"));
        assert!(is_tag_format("attack.t1059.001"));
        assert!(is_tag_format("cve.2021-44228"));
        assert!(!is_tag_format("attack.T1059"));
        assert!(!is_tag_format("attack"));
        assert!(!is_tag_format("attack t1059.x"));
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2023/02/01"), None);
        assert_eq!(parse_date("2023-13-01"), None);
    }
}
