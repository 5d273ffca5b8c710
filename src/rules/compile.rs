//! Compiling a rule's `detection` with sigma-rust, from the value the loader already parsed.
//!
//! The text is never parsed a second time: the detection value is moved into a tiny rule value and
//! deserialised into [`sigma_rust::Rule`]. Constructs sigma-rust 0.7 cannot evaluate are named first,
//! so the reason a rule is not evaluable says what to change rather than echoing a parser error.

use serde_norway::{Mapping, Value};
use std::sync::Arc;

/// Compiles `detection` (the value of the rule's `detection` attribute) or says in one line why not.
pub fn compile_detection(title: &str, detection: Value) -> Result<Arc<sigma_rust::Rule>, String> {
    if let Value::Mapping(m) = &detection {
        if let Some(reason) = unsupported_reason(m) {
            return Err(reason);
        }
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

fn condition_reason(condition: &str) -> Option<String> {
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
