//! Compiling a rule's `detection` with sigma-rust, from the value the loader already parsed.
//!
//! The text is never parsed a second time: the detection value is moved into a tiny rule value and
//! deserialised into [`sigma_rust::Rule`]. Constructs sigma-rust 0.7 cannot evaluate are named first,
//! so the reason a rule is not evaluable says what to change rather than echoing a parser error.

use serde_norway::{Mapping, Value};
use std::sync::Arc;

/// Compiles `detection` (the value of the rule's `detection` attribute) or says in one line why not.
pub fn compile_detection(title: &str, detection: Value) -> Result<Arc<sigma_rust::Rule>, String> {
    compile_detection_noted(title, detection, &mut Vec::new())
}

/// [`compile_detection`], with what the rule loses at compile time (`windash` values over
/// [`MAX_WINDASH_VARIANTS`]) added to `capped`, one line per key.
pub fn compile_detection_noted(
    title: &str,
    mut detection: Value,
    capped: &mut Vec<String>,
) -> Result<Arc<sigma_rust::Rule>, String> {
    if let Value::Mapping(m) = &mut detection {
        if let Some(reason) = unsupported_reason(m) {
            return Err(reason);
        }
        capped.extend(expand_windash(m));
    }
    // Only what sigma-rust requires; the metadata lives in `RuleRecord` already. (Building
    // `sigma_rust::Rule` field by field to skip its flattened `custom_fields` buffering was measured:
    // no gain on the SigmaHQ corpus, so the plain form stays.)
    let mut rule = Mapping::with_capacity(3);
    rule.insert("title".into(), Value::String(title.to_owned()));
    rule.insert("logsource".into(), Value::Mapping(Mapping::new()));
    rule.insert("detection".into(), detection);
    serde_norway::from_value::<sigma_rust::Rule>(Value::Mapping(rule))
        .map(Arc::new)
        .map_err(|e| one_line(&e.to_string()))
}

/// Names constructs that are valid Sigma (or legacy Sigma) but that sigma-rust 0.7 does not support.
pub fn unsupported_reason(detection: &Mapping) -> Option<String> {
    match detection.get("condition") {
        None => return Some("the detection has no `condition`".into()),
        Some(Value::String(c)) => {
            if let Some(reason) = condition_reason(c) {
                return Some(reason);
            }
        }
        Some(Value::Sequence(list)) => {
            let legacy = list
                .iter()
                .filter_map(Value::as_str)
                .find_map(condition_reason);
            return Some(legacy.unwrap_or_else(|| {
                "a list of conditions (legacy form) is not supported; join them with `or`".into()
            }));
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

/// `expand` and the regex flag modifiers (`|re|i`, `|re|m`, `|re|s`) are valid Sigma that
/// sigma-rust 0.7 rejects with a bare "unknown modifier".
fn modifier_reason(selection: &str, key: &str) -> Option<String> {
    let mut modifiers = key.split('|').skip(1);
    let mut after_re = false;
    modifiers.find_map(|m| {
        if m.eq_ignore_ascii_case("expand") {
            return Some(format!(
                "the `expand` modifier (placeholder expansion) in selection `{selection}` \
                 (`{key}`) is not supported"
            ));
        }
        if after_re && ["i", "m", "s"].iter().any(|f| m.eq_ignore_ascii_case(f)) {
            return Some(format!(
                "the regex flag modifier `|{m}` in selection `{selection}` (`{key}`) is not \
                 supported; use an inline flag such as `(?{})` in the pattern",
                m.to_ascii_lowercase()
            ));
        }
        after_re |= m.eq_ignore_ascii_case("re");
        None
    })
}

/// Most condition terms sigma-rust is handed. Its condition parser and evaluator recurse once per
/// term and per nesting level, so a hostile condition (100,000 `or` terms, 100,000 parentheses)
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

fn condition_reason(condition: &str) -> Option<String> {
    // sigma-rust's condition lexer slices the text at byte offsets and panics inside a multi-byte
    // character (found by fuzzing: fuzz/seeds/condition/crash-non-ascii). Sigma identifiers and
    // keywords are ASCII, so such a condition cannot be valid anyway.
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
const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// `windash` variants one rule may expand to in all. A value has up to 625 (four flags); SigmaHQ's
/// largest rule needs a few hundred, while a hostile list of thousands of values would make loading
/// and matching crawl.
pub const MAX_WINDASH_VARIANTS: usize = 10_000;

/// Rewrites `field|windash` values into the explicit list of their dash variants and drops the
/// modifier, because sigma-rust 0.7 only varies dashes at the start of a space-separated word, so a
/// value such as `dir*-s` never matches `dir /s`.
///
/// The variants follow the Sigma specification (pySigma): a `-` or `/` that does not follow a word
/// character and is followed by one is a command-line flag and can be written with any of the five
/// dashes. With the `all` modifier every value must match, which a flat list of variants cannot
/// express, so such keys are left to sigma-rust. So are keys whose expansion would pass
/// [`MAX_WINDASH_VARIANTS`] for the rule; each is named in the returned notes.
pub fn expand_windash(detection: &mut Mapping) -> Vec<String> {
    let mut budget = MAX_WINDASH_VARIANTS;
    let mut notes = Vec::new();
    for (_, selection) in detection.iter_mut() {
        match selection {
            Value::Mapping(m) => expand_windash_in(m, &mut budget, &mut notes),
            Value::Sequence(items) => items
                .iter_mut()
                .filter_map(Value::as_mapping_mut)
                .for_each(|m| expand_windash_in(m, &mut budget, &mut notes)),
            _ => {}
        }
    }
    notes
}

fn expand_windash_in(selection: &mut Mapping, budget: &mut usize, notes: &mut Vec<String>) {
    let keys: Vec<String> = selection
        .keys()
        .filter_map(Value::as_str)
        .filter(|k| {
            let mods: Vec<&str> = k.split('|').skip(1).collect();
            mods.iter().any(|m| m.eq_ignore_ascii_case("windash"))
                && !mods.iter().any(|m| m.eq_ignore_ascii_case("all"))
        })
        .map(str::to_owned)
        .collect();
    for key in keys {
        // No equivalent key free: keep sigma-rust's own windash handling for this one.
        let Some(new_key) = free_key(selection, &key) else {
            continue;
        };
        let Some(value) = selection.get(key.as_str()) else {
            continue;
        };
        // Counted before anything is built, so a capped key costs no expansion.
        let needed = match value {
            Value::Sequence(items) => items.iter().map(variant_count).sum(),
            other => variant_count(other),
        };
        if needed > *budget {
            notes.push(format!(
                "the `windash` values of `{}` would expand to {needed} dash variants, over \
                 the {MAX_WINDASH_VARIANTS} a rule may have; sigma-rust's own, narrower dash \
                 handling is used for them",
                key.chars().take(100).collect::<String>().escape_debug()
            ));
            continue;
        }
        *budget -= needed;
        let Some(value) = selection.shift_remove(key.as_str()) else {
            continue;
        };
        selection.insert(
            Value::String(new_key),
            Value::Sequence(expand_values(value)),
        );
    }
}

/// The variants of every string value, in order, each once; other values are kept as they are.
fn expand_values(value: Value) -> Vec<Value> {
    let values = match value {
        Value::Sequence(items) => items,
        other => vec![other],
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::String(s) => {
                for variant in windash_variants(&s) {
                    if seen.insert(variant.clone()) {
                        out.push(Value::String(variant));
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// How many variants [`windash_variants`] makes of a value, without making them.
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

/// The key without `windash`, unused in the selection. Another key of the same field may already
/// use those modifiers (`CommandLine|contains` next to `CommandLine|contains|windash`); sigma-rust
/// reads modifiers case-insensitively, so a differently cased spelling is the same condition under
/// a distinct YAML key.
fn free_key(selection: &Mapping, key: &str) -> Option<String> {
    let parts: Vec<&str> = key
        .split('|')
        .enumerate()
        .filter(|(i, m)| *i == 0 || !m.eq_ignore_ascii_case("windash"))
        .map(|(_, m)| m)
        .collect();
    let spellings: [fn(&str) -> String; 3] = [
        |m| m.to_ascii_lowercase(),
        |m| m.to_ascii_uppercase(),
        |m| {
            let mut c = m.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        },
    ];
    spellings.iter().find_map(|spell| {
        let mut k = parts[0].to_string();
        for m in &parts[1..] {
            k.push('|');
            k.push_str(&spell(m));
        }
        (!selection.contains_key(k.as_str())).then_some(k)
    })
}

/// Every spelling of `s` with its flag dashes replaced by each of the [`WINDASH`] characters.
pub fn windash_variants(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let flags = flag_positions(s);
    if flags.is_empty() || flags.len() > MAX_FLAGS {
        return vec![s.to_string()];
    }
    let mut out = vec![chars];
    for &i in &flags {
        out = out
            .into_iter()
            .flat_map(|v| {
                WINDASH.iter().map(move |&d| {
                    let mut v = v.clone();
                    v[i] = d;
                    v
                })
            })
            .collect();
    }
    out.into_iter().map(|v| v.into_iter().collect()).collect()
}

/// Five spellings per flag; four flags (625 variants) is far beyond any real rule value, so a value
/// with more is left as it is.
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
    fn hostile_conditions_are_refused_before_sigma_rust() {
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

    #[test]
    fn compiles_and_matches() {
        let rule = compile_detection(
            "t",
            det("sel:\n  Image|endswith: '\\\\cmd.exe'\ncondition: sel\n"),
        )
        .expect("compiles");
        let event = sigma_rust::Event::from([("Image", "C:\\Windows\\System32\\cmd.exe")]);
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
        let flag = compile_detection("t", det("sel:\n  a|re|i: 'x'\ncondition: sel\n"));
        assert!(flag.unwrap_err().contains("`|i`"));
        let tf = compile_detection("t", det("sel:\n  a: 1\ntimeframe: 5m\ncondition: sel\n"));
        assert!(tf.unwrap_err().contains("timeframe"));
        let list = compile_detection("t", det("sel:\n  a: 1\ncondition:\n  - sel\n  - sel\n"));
        assert!(list.unwrap_err().contains("list of conditions"));
    }

    #[test]
    fn windash_with_wildcard_matches_every_dash() {
        // Regression: sigma-rust 0.7 alone does not match `dir /s` with `dir*-s`.
        let rule = compile_detection(
            "t",
            det("sel:\n  CommandLine|contains|windash: 'dir*-s'\ncondition: sel\n"),
        )
        .expect("compiles");
        for cmd in ["cmd /c dir /s", "dir -s", "dir  \u{2013}s x"] {
            let event = sigma_rust::Event::from([("CommandLine", cmd)]);
            assert!(rule.is_match(&event), "{cmd}");
        }
        let event = sigma_rust::Event::from([("CommandLine", "dir s")]);
        assert!(!rule.is_match(&event));
        let plain = compile_detection(
            "t",
            det("sel:\n  CommandLine|windash|contains:\n    - ' -enc '\n    - x\ncondition: sel\n"),
        )
        .expect("compiles");
        let event = sigma_rust::Event::from([("CommandLine", "powershell /enc AAA")]);
        assert!(plain.is_match(&event));
        // Next to a key with the same modifiers, both conditions must still hold.
        let both = compile_detection(
            "t",
            det("sel:\n  CommandLine|contains|windash: ' -create '\n  CommandLine|contains: ' svchost'\ncondition: sel\n"),
        )
        .expect("compiles");
        let only_one = sigma_rust::Event::from([("CommandLine", "schtasks /create /tn x")]);
        assert!(!both.is_match(&only_one));
        let event = sigma_rust::Event::from([("CommandLine", "schtasks /create /tr svchost")]);
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
                let event = sigma_rust::Event::from([("CommandLine", cmd.as_str())]);
                assert!(rule.is_match(&event), "{cmd}");
            }
        }
        let event = sigma_rust::Event::from([("CommandLine", "x +a1 /b1 y")]);
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
        // sigma-rust keeps its own windash handling for the capped key; the value as written matches.
        let event = sigma_rust::Event::from([("CommandLine", "x -a999 /b999 y")]);
        assert!(rule.is_match(&event));
        let mut m = windash_list(1000).as_mapping().cloned().expect("mapping");
        let before = m.clone();
        assert_eq!(expand_windash(&mut m).len(), 1);
        assert_eq!(m, before, "a capped key is left as it was");
    }

    #[test]
    fn windash_variants_follow_flag_positions() {
        assert_eq!(windash_variants("a-b"), vec!["a-b"]);
        assert_eq!(windash_variants("x /s").len(), 5);
        assert_eq!(windash_variants("-a -b").len(), 25);
        assert!(windash_variants("dir*-s").contains(&"dir*/s".to_string()));
        assert_eq!(windash_variants("- x"), vec!["- x"]);
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
