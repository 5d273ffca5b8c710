//! Detection validators: condition against selections, modifiers, regular expressions, each at the
//! real line of the offending key.

use super::RuleCtx;
use crate::diag::Code;
use crate::rules::condition::NameIndex;
use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;

/// Field modifiers of the Sigma specification (v2), including regex flags and time parts.
const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "windash",
    "re",
    "i",
    "m",
    "s",
    "cidr",
    "exists",
    "expand",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "cased",
    "neq",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// Compiled-size ceiling for `|re` values: far above any real rule, low enough to stay fast.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Calls `f(selection, key, value)` for every field key of every selection (keys of mappings, also
/// inside lists of mappings). Keyword selections (plain values) have no key.
pub fn for_each_key<'a>(detection: &'a Mapping, mut f: impl FnMut(&'a str, &'a str, &'a Value)) {
    for (name, value) in detection {
        let Some(name) = name.as_str() else { continue };
        if name == "condition" || name == "timeframe" {
            continue;
        }
        let mut visit = |m: &'a Mapping| {
            for (k, v) in m {
                if let Some(k) = k.as_str() {
                    f(name, k, v);
                }
            }
        };
        match value {
            Value::Mapping(m) => visit(m),
            Value::Sequence(items) => {
                for item in items {
                    if let Value::Mapping(m) = item {
                        visit(m);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The detection mapping of a rule, when kept.
pub fn detection_of<'a>(ctx: &RuleCtx<'a>) -> Option<&'a Mapping> {
    ctx.raw?.map.get("detection")?.as_mapping()
}

pub fn check(ctx: &mut RuleCtx<'_>) {
    let Some(det) = detection_of(ctx) else { return };
    check_condition(ctx, det);
    check_condition_grammar(ctx, det);
    let mut problems: Vec<(&str, &str, Code, String)> = Vec::new();
    for_each_key(det, |sel, key, value| {
        let mut parts = key.split('|');
        let _field = parts.next();
        let mods: Vec<&str> = parts.collect();
        let mut seen = BTreeSet::new();
        for m in &mods {
            if !MODIFIERS.contains(m) {
                let hint = MODIFIERS
                    .iter()
                    .map(|k| (strsim::levenshtein(k, m), *k))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, k)| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                problems.push((
                    sel,
                    key,
                    Code::UnknownModifier,
                    format!("unknown modifier `{m}` in `{key}`{hint}"),
                ));
            } else if !seen.insert(*m) {
                problems.push((
                    sel,
                    key,
                    Code::InvalidModifierCombinations,
                    format!("modifier `{m}` appears twice in `{key}`"),
                ));
            }
        }
        if let Some(msg) = value_problem(&mods, value) {
            problems.push((sel, key, Code::DetectionInvalid, format!("`{key}`: {msg}")));
        }
        if let Some(msg) = combination_problem(&mods, value) {
            problems.push((
                sel,
                key,
                Code::InvalidModifierCombinations,
                format!("`{key}`: {msg}"),
            ));
        }
        if mods.contains(&"re") {
            let values: Vec<&Value> = match value {
                Value::Sequence(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in values {
                let Some(pattern) = v.as_str() else { continue };
                if let Some(msg) = regex_problem(pattern) {
                    problems.push((sel, key, Code::InvalidRegex, format!("`{key}`: {msg}")));
                }
            }
        }
    });
    for (sel, key, code, msg) in problems {
        let pos = ctx.key_pos(&["detection", sel, key]);
        ctx.push(code, pos, msg);
    }
    check_compiles(ctx, det);
}

/// Codes that already say why a detection is broken; `detection_invalid` is not added beside them.
const SPECIFIC: [Code; 6] = [
    Code::ConditionMissing,
    Code::ConditionUndefined,
    Code::UnknownModifier,
    Code::InvalidModifierCombinations,
    Code::InvalidRegex,
    Code::DetectionInvalid,
];

/// A detection the evaluator refuses for any other reason than a construct it does not support
/// (legacy aggregation, `near`, `expand`: `detection_not_evaluable`) is invalid: an error.
fn check_compiles(ctx: &mut RuleCtx<'_>, det: &Mapping) {
    let crate::rules::DetectionState::NotEvaluable { reason } = &ctx.rule.detection else {
        return;
    };
    if crate::rules::compile::unsupported_reason(det).is_some()
        || ctx
            .out
            .iter()
            .any(|f| SPECIFIC.contains(&f.diagnostic.code))
    {
        return;
    }
    let pos = ctx.key_pos(&["detection"]);
    ctx.push(
        Code::DetectionInvalid,
        pos,
        format!("the detection cannot be compiled: {reason}"),
    );
}

/// The grammar of each condition (legacy aggregations and `near` are left to the compile step).
fn check_condition_grammar(ctx: &mut RuleCtx<'_>, det: &Mapping) {
    use crate::rules::condition::{parse, ConditionError};
    let conditions: Vec<&str> = match det.get("condition") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return,
    };
    let names: Vec<&str> = det
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| *k != "condition" && *k != "timeframe")
        .collect();
    for c in conditions {
        if crate::rules::compile::condition_reason(c).is_some() {
            continue;
        }
        // Undefined names and empty patterns are `condition_undefined`'s.
        if let Err(ConditionError::Syntax(msg)) = parse(c, &names) {
            let pos = ctx.key_pos(&["detection", "condition"]);
            ctx.push(Code::DetectionInvalid, pos, msg);
        }
    }
}

/// Values a modifier cannot take, and `null` inside a list of values (the specification: `null`
/// is its own type and goes in a selection of its own).
fn value_problem(mods: &[&str], value: &Value) -> Option<String> {
    let values: Vec<&Value> = match value {
        Value::Sequence(items) => {
            if items.len() > 1 && items.iter().any(Value::is_null) {
                return Some(
                    "`null` cannot be part of a list of values; put `Field: null` in a \
                     selection of its own"
                        .into(),
                );
            }
            items.iter().collect()
        }
        v => vec![v],
    };
    let has = |m: &str| mods.contains(&m);
    let numeric = [
        "gt", "gte", "lt", "lte", "minute", "hour", "day", "week", "month", "year",
    ];
    if let Some(m) = numeric.into_iter().find(|m| has(m)) {
        let is_number = |v: &&Value| match v {
            Value::Number(_) => true,
            Value::String(s) => s.trim().parse::<f64>().is_ok(),
            _ => false,
        };
        if let Some(bad) = values.iter().find(|v| !is_number(v)) {
            return Some(format!(
                "`{m}` compares numbers, found {}",
                crate::rules::compile::value_kind(bad)
            ));
        }
    }
    if has("exists") && !matches!(value, Value::Bool(_)) {
        return Some("`exists` takes `true` or `false`".into());
    }
    None
}

fn combination_problem(mods: &[&str], value: &Value) -> Option<String> {
    let has = |m: &str| mods.contains(&m);
    let string_ops: Vec<&str> = ["contains", "startswith", "endswith"]
        .into_iter()
        .filter(|m| has(m))
        .collect();
    // `startswith|endswith` adds `*` on both sides (pySigma); `contains` with either is redundant.
    if string_ops.len() > 1 && string_ops != ["startswith", "endswith"] {
        return Some(format!(
            "`{}` cannot be combined",
            string_ops.join("` and `")
        ));
    }
    let encodings = [
        "base64",
        "base64offset",
        "wide",
        "utf16le",
        "utf16be",
        "utf16",
    ];
    if has("re") {
        if let Some(m) = mods.iter().find(|m| {
            string_ops.contains(m) || encodings.contains(m) || **m == "cidr" || **m == "windash"
        }) {
            return Some(format!("`re` cannot be combined with `{m}`"));
        }
    } else if let Some(flag) = ["i", "m", "s"].into_iter().find(|f| has(f)) {
        return Some(format!("regex flag `{flag}` without `re`"));
    }
    if let Some(w) = ["wide", "utf16le", "utf16be", "utf16"]
        .into_iter()
        .find(|m| has(m))
    {
        if !has("base64") && !has("base64offset") {
            return Some(format!("`{w}` needs `base64` or `base64offset`"));
        }
    }
    if has("base64") && has("base64offset") {
        return Some("`base64` and `base64offset` cannot be combined".into());
    }
    if has("base64offset") && !has("contains") {
        return Some("`base64offset` needs `contains`".into());
    }
    if has("exists") && mods.len() > 1 {
        return Some("`exists` cannot be combined with other modifiers".into());
    }
    if has("cidr") && mods.iter().any(|m| !matches!(*m, "cidr" | "all")) {
        return Some("`cidr` cannot be combined with string modifiers".into());
    }
    if has("all") && !matches!(value, Value::Sequence(items) if items.len() > 1) {
        return Some("`all` with a single value has no effect".into());
    }
    None
}

fn regex_problem(pattern: &str) -> Option<String> {
    // PCRE (what Sigma backends use) has ASCII `\w`, `\d`, `\s` by default; byte regexes without
    // Unicode mirror that, and keep `\w{1,64}` from compiling to megabytes of Unicode classes.
    match regex::bytes::RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(_) => None,
        Err(regex::Error::CompiledTooBig(limit)) => Some(format!(
            "regular expression compiles to more than {limit} bytes"
        )),
        Err(regex::Error::Syntax(msg)) => {
            // Features of PCRE that the checker's engine lacks are not errors in the rule.
            let unsupported = msg.contains("look-around") || msg.contains("backreferences");
            (!unsupported).then(|| {
                let last = msg.lines().rev().find(|l| l.starts_with("error:"));
                format!(
                    "invalid regular expression ({})",
                    last.unwrap_or("syntax error").trim_start_matches("error: ")
                )
            })
        }
        Err(e) => Some(format!("invalid regular expression ({e})")),
    }
}

/// Identifiers and `x of pattern` patterns used by a condition.
#[derive(Debug, Default, PartialEq, Eq)]
struct ConditionRefs<'a> {
    names: Vec<&'a str>,
    patterns: Vec<&'a str>,
    them: bool,
}

fn condition_refs(cond: &str) -> ConditionRefs<'_> {
    let mut refs = ConditionRefs::default();
    // An aggregation (`| count() by x > 3`) follows the first pipe.
    let expr = cond.split('|').next().unwrap_or(cond);
    let mut after_of = false;
    for tok in expr
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
    {
        let lower = tok.to_ascii_lowercase();
        if after_of {
            after_of = false;
            if lower == "them" {
                refs.them = true;
            } else {
                refs.patterns.push(tok);
            }
            continue;
        }
        match lower.as_str() {
            "and" | "or" | "not" | "all" | "any" => {}
            "of" => after_of = true,
            _ if lower.bytes().all(|b| b.is_ascii_digit()) => {}
            _ => refs.names.push(tok),
        }
    }
    refs
}

fn check_condition(ctx: &mut RuleCtx<'_>, det: &Mapping) {
    let conditions: Vec<&str> = match det.get("condition") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Sequence(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(_) => return, // not a string: the compile step reports it
        None => {
            let pos = ctx.key_pos(&["detection"]);
            ctx.push(
                Code::ConditionMissing,
                pos,
                "`detection` has no `condition`",
            );
            return;
        }
    };
    let selections: Vec<&str> = det
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| *k != "condition" && *k != "timeframe")
        .collect();
    let mut used = vec![false; selections.len()];
    let index = NameIndex::new(selections.iter().copied());
    let mut undefined = Vec::new();
    for cond in &conditions {
        let refs = condition_refs(cond);
        if refs.them {
            used.iter_mut().for_each(|u| *u = true);
        }
        for name in &refs.names {
            match index.position(name) {
                Some(i) => used[i] = true,
                None => undefined.push(format!(
                    "the condition uses `{name}`, which `detection` does not define"
                )),
            }
        }
        for pat in &refs.patterns {
            // Past the comparison budget the rule does not compile, which is reported there.
            let Ok(matched) = index.matching(pat) else {
                return;
            };
            matched.iter().for_each(|&i| used[i] = true);
            if matched.is_empty() {
                undefined.push(format!(
                    "the condition pattern `{pat}` matches no selection"
                ));
            }
        }
    }
    if !undefined.is_empty() {
        let pos = ctx.key_pos(&["detection", "condition"]);
        for msg in undefined {
            ctx.push(Code::ConditionUndefined, pos, msg);
        }
    }
    for (i, sel) in selections.iter().enumerate() {
        if !used[i] {
            let pos = ctx.key_pos(&["detection", sel]);
            ctx.push(
                Code::DanglingDetection,
                pos,
                format!("selection `{sel}` is never used by the condition"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_tokens() {
        let r = condition_refs("(sel1 or 1 of sel_*) and not all of filter_* | count() by x > 2");
        assert_eq!(r.names, vec!["sel1"]);
        assert_eq!(r.patterns, vec!["sel_*", "filter_*"]);
        assert!(!r.them);
        assert!(condition_refs("1 of them").them);
        assert_eq!(condition_refs("NOT Selection").names, vec!["Selection"]);
    }

    #[test]
    fn combinations_and_regex() {
        let one = Value::String("x".into());
        let two = Value::Sequence(vec![one.clone(), one.clone()]);
        assert!(combination_problem(&["contains", "all"], &two).is_none());
        assert!(combination_problem(&["contains", "endswith"], &one).is_some());
        assert!(combination_problem(&["startswith", "endswith"], &one).is_none());
        assert!(combination_problem(&["endswith", "startswith"], &one).is_none());
        assert!(combination_problem(&["re", "contains"], &one).is_some());
        assert!(combination_problem(&["i"], &one).is_some());
        assert!(combination_problem(&["re", "i"], &one).is_none());
        assert!(combination_problem(&["wide", "base64offset", "contains"], &one).is_none());
        assert!(combination_problem(&["wide", "contains"], &one).is_some());
        assert!(combination_problem(&["contains", "all"], &one).is_some());
        assert!(regex_problem("a(b").is_some());
        assert!(regex_problem("(?<=a)b").is_none());
        assert!(regex_problem("a{1000}{1000}")
            .unwrap()
            .contains("more than"));
    }
}
