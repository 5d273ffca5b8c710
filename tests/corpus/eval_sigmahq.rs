//! The evaluator over the SigmaHQ rule set: the rules whose meaning changed with spec-exact
//! evaluation (keywords, `'|all'` keywords, `null`, regex flags) are counted, and every one compiles.

#![allow(clippy::print_stderr)] // the corpus figures are the point of this test

use attacktrace::rules::{load, DetectionState, LoadOptions};
use serde_norway::Value;
use std::collections::BTreeMap;

/// Which of the constructs a detection uses.
fn constructs(detection: &serde_norway::Mapping) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, sel) in detection {
        if name.as_str() == Some("condition") {
            if sel.is_sequence() {
                out.push("condition_list");
            }
            continue;
        }
        let maps: Vec<&serde_norway::Mapping> = match sel {
            Value::Mapping(m) => vec![m],
            Value::Sequence(items) if items.iter().all(Value::is_mapping) => {
                items.iter().filter_map(Value::as_mapping).collect()
            }
            _ => {
                out.push("keywords");
                continue;
            }
        };
        for (key, value) in maps.into_iter().flatten() {
            let key = key.as_str().unwrap_or_default();
            let mods: Vec<&str> = key.split('|').skip(1).collect();
            if key.starts_with('|') {
                out.push("keywords_all");
            }
            let null = value.is_null()
                || matches!(value, Value::Sequence(items) if items.iter().any(Value::is_null));
            if null {
                out.push("null");
            }
            if mods.contains(&"re") && mods.iter().any(|m| ["i", "m", "s"].contains(m)) {
                out.push("regex_flags");
            }
        }
    }
    if out.iter().any(|c| c.starts_with("keywords")) {
        out.push("keywords_any");
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn sigmahq_rules_with_changed_semantics_all_compile() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let opts = LoadOptions {
        keep_source: true,
        ..LoadOptions::default()
    };
    let set = load(&[shared.join("sigmahq/rules")], &opts);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut refused = Vec::new();
    for rule in &set.rules {
        if let DetectionState::NotEvaluable { reason } = &rule.detection {
            refused.push(format!("{}: {reason}", rule.path.display()));
        }
        let Some(det) = rule
            .source
            .as_ref()
            .and_then(|s| s.map.get("detection"))
            .and_then(Value::as_mapping)
        else {
            continue;
        };
        for c in constructs(det) {
            *counts.entry(c).or_default() += 1;
        }
    }
    eprintln!("SigmaHQ rules by construct: {counts:?}");
    assert!(refused.is_empty(), "{}", refused.join("\n"));
    assert!(set.rules.len() > 3000, "{}", set.rules.len());
    // Measured on the pinned corpus (README, "Evaluation semantics").
    assert_eq!(counts.get("keywords"), Some(&78));
    assert_eq!(counts.get("keywords_all"), Some(&12));
    assert_eq!(counts.get("keywords_any"), Some(&86));
    assert_eq!(counts.get("null"), Some(&78));
    assert_eq!(counts.get("regex_flags"), Some(&1));
}
