//! Repository-wide validators: duplicate ids, titles and file names, and `related` links that point
//! nowhere. One pass with hash maps; output order comes from the rule order (sorted by path).

use super::{Finding, RuleCtx};
use crate::diag::Code;
use crate::rules::RuleRecord;
use std::collections::{HashMap, HashSet};

pub fn check(rules: &[RuleRecord]) -> Vec<Finding> {
    let index = Index::new(rules);
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let mut ctx = RuleCtx::new(r);
        index.duplicates(&mut ctx, i);
        index.dangling_related(&mut ctx);
        out.extend(ctx.out);
    }
    out
}

/// Positions in the rule list by lower-case id, by title, and by file name (first document of
/// each file only, so a multi-document file does not clash with itself).
struct Index<'a> {
    rules: &'a [RuleRecord],
    by_id: HashMap<String, Vec<usize>>,
    by_title: HashMap<&'a str, Vec<usize>>,
    by_name: HashMap<&'a std::ffi::OsStr, Vec<usize>>,
}

impl<'a> Index<'a> {
    fn new(rules: &'a [RuleRecord]) -> Self {
        let mut index = Index {
            rules,
            by_id: HashMap::new(),
            by_title: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            if let Some(id) = &r.id {
                index
                    .by_id
                    .entry(id.to_ascii_lowercase())
                    .or_default()
                    .push(i);
            }
            if !r.title.is_empty() {
                index.by_title.entry(r.title.as_str()).or_default().push(i);
            }
            if r.document == 0 {
                if let Some(name) = r.path.file_name() {
                    index.by_name.entry(name).or_default().push(i);
                }
            }
        }
        index
    }

    /// Up to three other members of `group` as `path:line`, then a count of the rest.
    fn others(&self, group: &[usize], me: usize) -> String {
        let rules = self.rules;
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
    }

    /// `identifier_uniqueness`, `duplicate_title`, `duplicate_filename` for rule `i`.
    fn duplicates(&self, ctx: &mut RuleCtx<'_>, i: usize) {
        let r = ctx.rule;
        if let Some(group) =
            r.id.as_ref()
                .and_then(|id| self.by_id.get(&id.to_ascii_lowercase()))
        {
            if group.len() > 1 {
                let pos = ctx.key_pos(&["id"]);
                ctx.push(
                    Code::IdentifierUniqueness,
                    pos,
                    format!(
                        "id `{}` is also used by {}",
                        r.id.as_deref().unwrap_or_default(),
                        self.others(group, i)
                    ),
                );
            }
        }
        if let Some(group) = self.by_title.get(r.title.as_str()) {
            if group.len() > 1 {
                let pos = ctx.key_pos(&["title"]);
                ctx.push(
                    Code::DuplicateTitle,
                    pos,
                    format!("title is also used by {}", self.others(group, i)),
                );
            }
        }
        if r.document == 0 {
            if let Some(group) = r.path.file_name().and_then(|n| self.by_name.get(n)) {
                let distinct: HashSet<_> = group.iter().map(|&j| &self.rules[j].path).collect();
                if distinct.len() > 1 {
                    ctx.push(
                        Code::DuplicateFilename,
                        (r.line, 1),
                        format!("file name is also used by {}", self.others(group, i)),
                    );
                }
            }
        }
    }

    /// `dangling_related`: `derived`/`similar` links to ids outside the set.
    fn dangling_related(&self, ctx: &mut RuleCtx<'_>) {
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
            if !self.by_id.contains_key(&id.to_ascii_lowercase()) {
                let pos = ctx.value_pos(&["related"], id);
                ctx.push(
                    Code::DanglingRelated,
                    pos,
                    format!("related id `{id}` matches no rule in the checked set"),
                );
            }
        }
    }
}
