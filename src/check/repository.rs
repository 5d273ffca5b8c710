//! Repository-wide validators: duplicate ids, titles and file names, and `related` links that point
//! nowhere. One pass with hash maps; output order comes from the rule order (sorted by path).

use super::{Finding, RuleCtx};
use crate::diag::Code;
use crate::rules::RuleRecord;
use std::collections::{HashMap, HashSet};

pub fn check(rules: &[RuleRecord]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_title: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_name: HashMap<&std::ffi::OsStr, Vec<usize>> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        if let Some(id) = &r.id {
            by_id.entry(id.to_ascii_lowercase()).or_default().push(i);
        }
        if !r.title.is_empty() {
            by_title.entry(r.title.as_str()).or_default().push(i);
        }
        if r.document == 0 {
            if let Some(name) = r.path.file_name() {
                by_name.entry(name).or_default().push(i);
            }
        }
    }
    let others = |group: &[usize], me: usize| -> String {
        let list: Vec<String> = group
            .iter()
            .filter(|&&j| j != me)
            .take(3)
            .map(|&j| format!("{}:{}", rules[j].path.display(), rules[j].line))
            .collect();
        let more = group.len().saturating_sub(1 + list.len());
        if more > 0 {
            format!("{} and {more} more", list.join(", "))
        } else {
            list.join(", ")
        }
    };
    for (i, r) in rules.iter().enumerate() {
        let mut ctx = RuleCtx::new(r);
        if let Some(group) =
            r.id.as_ref()
                .and_then(|id| by_id.get(&id.to_ascii_lowercase()))
        {
            if group.len() > 1 {
                let pos = ctx.key_pos(&["id"]);
                ctx.push(
                    Code::IdentifierUniqueness,
                    pos,
                    format!(
                        "id `{}` is also used by {}",
                        r.id.as_deref().unwrap_or_default(),
                        others(group, i)
                    ),
                );
            }
        }
        if let Some(group) = by_title.get(r.title.as_str()) {
            if group.len() > 1 {
                let pos = ctx.key_pos(&["title"]);
                ctx.push(
                    Code::DuplicateTitle,
                    pos,
                    format!("title is also used by {}", others(group, i)),
                );
            }
        }
        if r.document == 0 {
            if let Some(group) = r.path.file_name().and_then(|n| by_name.get(n)) {
                let distinct: HashSet<_> = group.iter().map(|&j| &rules[j].path).collect();
                if distinct.len() > 1 {
                    ctx.push(
                        Code::DuplicateFilename,
                        (r.line, 1),
                        format!("file name is also used by {}", others(group, i)),
                    );
                }
            }
        }
        let related = ctx
            .raw
            .and_then(|raw| raw.map.get("related"))
            .and_then(|v| v.as_sequence());
        for item in related.into_iter().flatten() {
            let Some(id) = item.get("id").and_then(|v| v.as_str()) else {
                continue;
            };
            // `obsolete`, `renamed` and `merged` name rules that were replaced by this one: their
            // absence is expected. Only `derived` and `similar` should point at a live rule.
            let kind = item.get("type").and_then(|v| v.as_str()).unwrap_or("");
            if !matches!(kind, "derived" | "similar") {
                continue;
            }
            if !by_id.contains_key(&id.to_ascii_lowercase()) {
                let pos = ctx.value_pos(&["related"], id);
                ctx.push(
                    Code::DanglingRelated,
                    pos,
                    format!("related id `{id}` matches no rule in the checked set"),
                );
            }
        }
        out.extend(ctx.out);
    }
    out
}
