//! Compiling a rule's `detection` into the project's evaluator ([`super::eval::Detection`]), from
//! the value the loader already parsed.
//!
//! The text is never parsed a second time. Constructs that cannot be evaluated (legacy
//! aggregations, `near`, `expand` placeholders, hostile conditions) are named first, so the reason a
//! rule is not evaluable says what to change rather than echoing a parser error.

use super::condition::{self, Cond};
use super::eval::{Detection, Selection};
use serde_norway::{Mapping, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// Compiles `detection` (the value of the rule's `detection` attribute) or says in one line why not.
pub fn compile_detection(title: &str, detection: Value) -> Result<Arc<Detection>, String> {
    compile_detection_noted(title, detection, &mut Vec::new())
}

/// [`compile_detection`], with what the rule loses at compile time (`windash` values over
/// [`MAX_WINDASH_VARIANTS`]) added to `capped`, one line per key.
pub fn compile_detection_noted(
    _title: &str,
    detection: Value,
    capped: &mut Vec<String>,
) -> Result<Arc<Detection>, String> {
    let Value::Mapping(m) = &detection else {
        return Err(format!(
            "the detection must be a mapping, found {}",
            value_kind(&detection)
        ));
    };
    if let Some(reason) = unsupported_reason(m) {
        return Err(reason);
    }
    let (notes, narrow) = windash_caps(m);
    let mut selections: Vec<Selection> = Vec::new();
    for (name, value) in m {
        let name = name
            .as_str()
            .ok_or_else(|| "a search identifier must be a string".to_string())?;
        if name == "condition" {
            continue;
        }
        let is_narrow = |key: &str| narrow.contains(&(name.to_string(), key.to_string()));
        selections
            .push(super::build::selection(name, value, &is_narrow).map_err(|e| one_line(&e))?);
    }
    let names: Vec<&str> = selections.iter().map(|s| s.name.as_str()).collect();
    let condition = match m.get("condition") {
        Some(Value::Sequence(list)) => {
            // A list of conditions is their `or` (specification, "Condition").
            let parsed = list
                .iter()
                .map(|c| match c {
                    Value::String(c) => condition::parse(c, &names).map_err(|e| e.to_string()),
                    other => Err(format!(
                        "each condition of the list must be a string, found {}",
                        value_kind(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if parsed.is_empty() {
                return Err("the list of conditions is empty".into());
            }
            Cond::Or(parsed)
        }
        Some(Value::String(c)) => condition::parse(c, &names).map_err(|e| e.to_string())?,
        _ => return Err("the detection has no `condition`".into()),
    };
    capped.extend(notes);
    Ok(Arc::new(Detection {
        selections,
        condition,
    }))
}

/// Names constructs that are valid Sigma (or legacy Sigma) but that the evaluator does not support.
pub fn unsupported_reason(detection: &Mapping) -> Option<String> {
    match detection.get("condition") {
        None => return Some("the detection has no `condition`".into()),
        Some(Value::String(c)) => {
            if let Some(reason) = condition_reason(c) {
                return Some(reason);
            }
        }
        Some(Value::Sequence(list)) => {
            if let Some(reason) = list
                .iter()
                .filter_map(Value::as_str)
                .find_map(condition_reason)
            {
                return Some(reason);
            }
        }
        Some(other) => {
            return Some(format!(
                "`condition` must be a string, found {}",
                value_kind(other)
            ))
        }
    }
    if detection.contains_key("timeframe") {
        return Some(
            "`timeframe` inside the detection (legacy aggregation window) is not supported; \
             use a correlation rule"
                .into(),
        );
    }
    for (name, selection) in detection {
        let name = name.as_str().unwrap_or("?");
        let keys: Box<dyn Iterator<Item = &Value>> = match selection {
            Value::Mapping(m) => Box::new(m.keys()),
            Value::Sequence(items) => Box::new(
                items
                    .iter()
                    .filter_map(Value::as_mapping)
                    .flat_map(Mapping::keys),
            ),
            _ => continue,
        };
        for key in keys.filter_map(Value::as_str) {
            if let Some(reason) = modifier_reason(name, key) {
                return Some(reason);
            }
        }
    }
    None
}

/// `expand` (placeholders) needs a processing pipeline the evaluator does not have.
fn modifier_reason(selection: &str, key: &str) -> Option<String> {
    key.split('|').skip(1).find_map(|m| {
        m.eq_ignore_ascii_case("expand").then(|| {
            format!(
                "the `expand` modifier (placeholder expansion) in selection `{selection}` \
                 (`{key}`) is not supported"
            )
        })
    })
}

/// Most condition terms accepted. The condition parser and evaluator recurse once per nesting
/// level, so a hostile condition (100,000 `or` terms, 100,000 parentheses)
/// would overflow the stack and abort the whole process; real rules stay far below these.
pub const MAX_CONDITION_TERMS: usize = 1_000;
/// Deepest nesting of parentheses and `not` accepted in a condition (see [`MAX_CONDITION_TERMS`]).
pub const MAX_CONDITION_DEPTH: usize = 64;

/// Terms and deepest nesting of a condition, counted without parsing it.
fn condition_shape(condition: &str) -> (usize, usize) {
    let (mut terms, mut depth, mut max_depth, mut nots) = (0usize, 0usize, 0usize, 0usize);
    for token in condition
        .replace('(', " ( ")
        .replace(')', " ) ")
        .split_whitespace()
    {
        match token {
            "(" => {
                depth += 1;
                max_depth = max_depth.max(depth + nots);
            }
            ")" => depth = depth.saturating_sub(1),
            t if t.eq_ignore_ascii_case("not") => {
                nots += 1;
                terms += 1;
                max_depth = max_depth.max(depth + nots);
            }
            _ => {
                nots = 0;
                terms += 1;
            }
        }
    }
    (terms, max_depth)
}

/// Why a condition (one of a list) uses what the evaluator does not support, or is too hostile.
pub(crate) fn condition_reason(condition: &str) -> Option<String> {
    // Sigma identifiers and keywords are ASCII, so such a condition cannot be valid (and the
    // sigma-rust lexer used before panicked on it: fuzz/seeds/condition/crash-non-ascii).
    if let Some(c) = condition.chars().find(|c| !c.is_ascii()) {
        return Some(format!(
            "the condition contains the non-ASCII character {c:?}; Sigma conditions are written \
             with ASCII identifiers and keywords"
        ));
    }
    let (terms, depth) = condition_shape(condition);
    if terms > MAX_CONDITION_TERMS || depth > MAX_CONDITION_DEPTH {
        return Some(format!(
            "the condition is too complex to evaluate safely ({terms} terms, nesting depth {depth}; \
             limits {MAX_CONDITION_TERMS} and {MAX_CONDITION_DEPTH})"
        ));
    }
    if let Some((_, aggregation)) = condition.split_once('|') {
        return Some(format!(
            "legacy aggregation in the condition (`| {}`) is not supported; use a correlation rule",
            one_line(aggregation)
        ));
    }
    if condition
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .any(|w| w.eq_ignore_ascii_case("near"))
    {
        return Some(
            "`near` in the condition (legacy temporal proximity) is not supported; \
             use a temporal correlation rule"
                .into(),
        );
    }
    None
}

/// The dash characters the Sigma `windash` modifier stands for, the ASCII ones first.
const WINDASH: [char; 5] = super::eval::DASHES;

/// `windash` variants one rule may stand for in all. A value has up to 625 (four flags); SigmaHQ's
/// largest rule needs a few hundred. The evaluator matches a flag position against all five dashes
/// without spelling the variants out, but a rule over this budget keeps the narrower reading
/// (flags at the start of a space-separated word only) that earlier releases gave it, so its
/// verdicts do not change silently.
pub const MAX_WINDASH_VARIANTS: usize = 10_000;

/// Notes for `windash` keys (outside `all`) whose variants pass [`MAX_WINDASH_VARIANTS`] for the
/// rule, and those keys as (search identifier, key).
fn windash_caps(detection: &Mapping) -> (Vec<String>, HashSet<(String, String)>) {
    let mut budget = MAX_WINDASH_VARIANTS;
    let mut notes = Vec::new();
    let mut capped = HashSet::new();
    for (name, selection) in detection {
        let maps: Vec<&Mapping> = match selection {
            Value::Mapping(m) => vec![m],
            Value::Sequence(items) => items.iter().filter_map(Value::as_mapping).collect(),
            _ => continue,
        };
        for (key, value) in maps.into_iter().flatten() {
            let Some(key) = key.as_str() else { continue };
            let mods: Vec<&str> = key.split('|').skip(1).collect();
            if !mods.iter().any(|m| m.eq_ignore_ascii_case("windash"))
                || mods.iter().any(|m| m.eq_ignore_ascii_case("all"))
            {
                continue;
            }
            let needed = match value {
                Value::Sequence(items) => items.iter().map(variant_count).sum(),
                other => variant_count(other),
            };
            if needed <= budget {
                budget -= needed;
                continue;
            }
            notes.push(format!(
                "the `windash` values of `{}` would expand to {needed} dash variants, over \
                 the {MAX_WINDASH_VARIANTS} a rule may have; for them only flags at the start of \
                 a word take every dash",
                key.chars().take(100).collect::<String>().escape_debug()
            ));
            capped.insert((
                name.as_str().unwrap_or_default().to_string(),
                key.to_string(),
            ));
        }
    }
    (notes, capped)
}

/// How many spellings `windash` gives a value: five per flag dash.
fn variant_count(value: &Value) -> usize {
    match value {
        Value::String(s) => match flag_positions(s).len() {
            0 => 1,
            n if n > MAX_FLAGS => 1,
            n => WINDASH.len().pow(n as u32),
        },
        _ => 1,
    }
}

/// Five spellings per flag; four flags (625 variants) is far beyond any real rule value, so a value
/// with more counts once.
const MAX_FLAGS: usize = 4;

/// Char positions of the flag dashes in `s`.
fn flag_positions(s: &str) -> Vec<usize> {
    let chars: Vec<char> = s.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word(c))
        })
        .collect()
}

/// Collapses whitespace so multi-line errors (regex syntax errors draw a caret diagram) fit one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "a string", "a list", ... for messages.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_condition_is_refused_not_a_panic() {
        // The fuzzer's crash input: a multi-byte character in the condition.
        let input = "\u{1}\0\0\0\0\0\0\u{4}1 f@\u{4}\u{21f} fsi";
        assert!(condition_reason(input).unwrap().contains("non-ASCII"));
        let det =
            serde_norway::from_str::<Value>("sel:\n  Image: x\ncondition: 'sel and ä'\n").unwrap();
        assert!(compile_detection("t", det)
            .unwrap_err()
            .contains("non-ASCII"));
    }

    #[test]
    fn hostile_conditions_are_refused_before_parsing() {
        let many = vec!["sel"; 100_000].join(" or ");
        assert!(condition_reason(&many).unwrap().contains("too complex"));
        let parens = format!("{}sel{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(condition_reason(&parens).unwrap().contains("too complex"));
        let nots = format!("{}sel", "not ".repeat(1_000));
        assert!(condition_reason(&nots).unwrap().contains("too complex"));
        assert_eq!(condition_shape("1 of sel* and not (a or b)"), (8, 2));
        assert!(condition_reason("sel and not filter").is_none());
    }

    fn det(yaml: &str) -> Value {
        serde_norway::from_str(yaml).expect("test yaml")
    }

    fn ev<const N: usize>(fields: [(&str, &str); N]) -> super::super::eval::Event {
        super::super::eval::Event::new(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))),
        )
    }

    #[test]
    fn compiles_and_matches() {
        let rule = compile_detection(
            "t",
            det("sel:\n  Image|endswith: '\\\\cmd.exe'\ncondition: sel\n"),
        )
        .expect("compiles");
        let event = ev([("Image", "C:\\Windows\\System32\\cmd.exe")]);
        assert!(rule.is_match(&event));
    }

    #[test]
    fn names_legacy_aggregation() {
        let err = compile_detection(
            "t",
            det("sel:\n  a: 1\ncondition: sel | count() by b > 5\n"),
        )
        .unwrap_err();
        assert!(err.starts_with("legacy aggregation"), "{err}");
        assert!(err.contains("count() by b > 5"), "{err}");
    }

    #[test]
    fn names_near_expand_timeframe_and_lists() {
        let near = compile_detection("t", det("a:\n  x: 1\nb:\n  y: 2\ncondition: a near b\n"));
        assert!(near.unwrap_err().contains("`near`"));
        let expand = compile_detection("t", det("sel:\n  Path|expand: '%dir%'\ncondition: sel\n"));
        assert!(expand.unwrap_err().contains("`expand`"));
        let expand_in_list =
            compile_detection("t", det("sel:\n  - Path|expand: '%dir%'\ncondition: sel\n"));
        assert!(expand_in_list.unwrap_err().contains("`expand`"));
        let tf = compile_detection("t", det("sel:\n  a: 1\ntimeframe: 5m\ncondition: sel\n"));
        assert!(tf.unwrap_err().contains("timeframe"));
        let list = compile_detection(
            "t",
            det("a:\n  x: 1\nb:\n  y: 2\ncondition:\n  - a | count() > 2\n  - b\n"),
        );
        assert!(list.unwrap_err().contains("legacy aggregation"));
    }

    #[test]
    fn windash_with_wildcard_matches_every_dash() {
        // Regression: sigma-rust 0.7 did not match `dir /s` with `dir*-s`.
        let rule = compile_detection(
            "t",
            det("sel:\n  CommandLine|contains|windash: 'dir*-s'\ncondition: sel\n"),
        )
        .expect("compiles");
        for cmd in ["cmd /c dir /s", "dir -s", "dir  \u{2013}s x"] {
            let event = ev([("CommandLine", cmd)]);
            assert!(rule.is_match(&event), "{cmd}");
        }
        let event = ev([("CommandLine", "dir s")]);
        assert!(!rule.is_match(&event));
        let plain = compile_detection(
            "t",
            det("sel:\n  CommandLine|windash|contains:\n    - ' -enc '\n    - x\ncondition: sel\n"),
        )
        .expect("compiles");
        let event = ev([("CommandLine", "powershell /enc AAA")]);
        assert!(plain.is_match(&event));
        // Next to a key with the same modifiers, both conditions must still hold.
        let both = compile_detection(
            "t",
            det("sel:\n  CommandLine|contains|windash: ' -create '\n  CommandLine|contains: ' svchost'\ncondition: sel\n"),
        )
        .expect("compiles");
        let only_one = ev([("CommandLine", "schtasks /create /tn x")]);
        assert!(!both.is_match(&only_one));
        let event = ev([("CommandLine", "schtasks /create /tr svchost")]);
        assert!(both.is_match(&event));
    }

    /// A `CommandLine|contains|windash` list of `n` values with two flags each (25 variants).
    fn windash_list(n: usize) -> Value {
        let values: String = (0..n).map(|i| format!("    - ' -a{i} /b{i} '\n")).collect();
        det(&format!(
            "sel:\n  CommandLine|contains|windash:\n{values}condition: sel\n"
        ))
    }

    #[test]
    fn windash_under_the_cap_matches_every_variant() {
        let mut notes = Vec::new();
        let rule = compile_detection_noted("t", windash_list(40), &mut notes).expect("compiles");
        assert!(notes.is_empty(), "{notes:?}");
        for (i, a) in WINDASH.iter().enumerate() {
            for b in WINDASH {
                let cmd = format!("x {a}a{i} {b}b{i} y");
                let event = ev([("CommandLine", cmd.as_str())]);
                assert!(rule.is_match(&event), "{cmd}");
            }
        }
        let event = ev([("CommandLine", "x +a1 /b1 y")]);
        assert!(!rule.is_match(&event));
    }

    #[test]
    fn windash_over_the_cap_is_noted_and_still_compiles() {
        // 1,000 values with two flags each: 25,000 variants, over the cap. Counting them first
        // keeps this fast; the old expansion deduplicated with a linear search.
        let mut notes = Vec::new();
        let rule = compile_detection_noted("t", windash_list(1000), &mut notes).expect("compiles");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("25000 dash variants"), "{}", notes[0]);
        // The capped key keeps the narrower dash handling; the value as written matches.
        let event = ev([("CommandLine", "x -a999 /b999 y")]);
        assert!(rule.is_match(&event));
        // Narrower reading for the capped key: only flags at the start of a word vary.
        assert!(rule.is_match(&ev([("CommandLine", "x /a999 /b999 y")])));
    }

    #[test]
    fn windash_flag_positions() {
        assert_eq!(flag_positions("a-b"), Vec::<usize>::new());
        assert_eq!(flag_positions("x /s"), vec![2]);
        assert_eq!(flag_positions("-a -b").len(), 2);
        assert_eq!(flag_positions("dir*-s"), vec![4]);
        assert!(flag_positions("- x").is_empty());
    }

    #[test]
    fn engine_errors_are_one_line() {
        let missing = compile_detection("t", det("sel:\n  a: 1\n")).unwrap_err();
        assert!(missing.contains("no `condition`"));
        let undefined =
            compile_detection("t", det("sel:\n  a: 1\ncondition: other\n")).unwrap_err();
        assert!(undefined.contains("undefined identifiers"), "{undefined}");
        let regex =
            compile_detection("t", det("sel:\n  a|re: '(['\ncondition: sel\n")).unwrap_err();
        assert!(!regex.contains('\n') && !regex.is_empty(), "{regex}");
    }
}
