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

/// `"4688"` -> 4688 for sigma-rust, which only equals integers to integers (the old normaliser's
/// coercion, kept here so the comparison is about the engines).
fn coerce(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => {
            let canonical = !s.is_empty()
                && s.len() <= 18
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0'));
            if let Some(n) = canonical.then(|| s.parse::<i64>().ok()).flatten() {
                *v = serde_json::Value::from(n);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(coerce),
        serde_json::Value::Object(o) => o.values_mut().for_each(coerce),
        _ => {}
    }
}

/// sigma-rust as an oracle for what it does right: on every SigmaHQ regression event, the
/// evaluator agrees with it on every rule that uses none of the constructs whose meaning changed
/// (keywords, `null`, regex flags, lists of conditions).
#[test]
fn evaluator_agrees_with_sigma_rust_where_it_is_right() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let opts = LoadOptions {
        keep_source: true,
        ..LoadOptions::default()
    };
    let set = load(&[shared.join("sigmahq/rules")], &opts);
    let mut pairs = Vec::new();
    for rule in &set.rules {
        let (Some(ours), Some(det)) = (
            rule.compiled.as_ref(),
            rule.source
                .as_ref()
                .and_then(|s| s.map.get("detection"))
                .and_then(Value::as_mapping),
        ) else {
            continue;
        };
        if !constructs(det).is_empty() {
            continue;
        }
        let mut doc = serde_norway::Mapping::new();
        doc.insert("title".into(), Value::String(rule.title.clone()));
        doc.insert("logsource".into(), Value::Mapping(Default::default()));
        doc.insert("detection".into(), Value::Mapping(det.clone()));
        if let Ok(theirs) = serde_norway::from_value::<sigma_rust::Rule>(Value::Mapping(doc)) {
            pairs.push((rule, ours, theirs));
        }
    }
    let fields = attacktrace::evidence::FieldMap::embedded();
    let mut events = Vec::new();
    for entry in walkdir::WalkDir::new(shared.join("sigmahq/regression_data")) {
        let entry = entry.expect("walk");
        if entry.path().extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(entry.path()).expect("read");
            for v in serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>() {
                let flat = fields.flatten(v.expect("json")).expect("object");
                let mut coerced = serde_json::Value::Object(
                    flat.clone()
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), v))
                        .collect(),
                );
                coerce(&mut coerced);
                let theirs = sigma_rust::Event::try_from(coerced).expect("event");
                events.push((attacktrace::rules::eval::Event::from_fields(flat), theirs));
            }
        }
    }
    let (mut agree, mut differ, mut windash) = (0usize, Vec::new(), 0usize);
    for (rule, ours, theirs) in &pairs {
        // sigma-rust varies only dashes at the start of a word (`dir*-s` misses `dir /s`).
        let narrow_windash = rule
            .source
            .as_ref()
            .is_some_and(|s| s.text.contains("|windash"));
        for (i, (a, b)) in events.iter().enumerate() {
            let (x, y) = (ours.is_match(a), theirs.is_match(b));
            if x == y {
                agree += 1;
            } else if narrow_windash && x {
                windash += 1;
            } else {
                differ.push(format!(
                    "{} on event {i}: ours {x}, sigma-rust {y}",
                    rule.path.display()
                ));
            }
        }
    }
    eprintln!(
        "{} rules x {} events: {agree} verdicts agree, {windash} windash matches sigma-rust \
         misses, {} differ",
        pairs.len(),
        events.len(),
        differ.len()
    );
    assert!(
        pairs.len() > 2900 && events.len() > 150,
        "{} {}",
        pairs.len(),
        events.len()
    );
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
