//! The loader over the full SigmaHQ rule set in `../shared/sigmahq/rules` (skipped when absent):
//! every file is accounted for, and the technique tags found agree with an independent scan of the
//! raw text.

#![allow(clippy::print_stderr)] // the corpus figures are the point of this test

use attacktrace::rules::{load, DetectionState, LoadOptions};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

/// Technique IDs in the `tags:` block lists of a file, found without a YAML parser: a top-level
/// `tags:` line opens the list, indented `- item` lines belong to it, and the first other
/// non-blank, non-comment line closes it. Inline `tags: [a, b]` lists are split on commas.
fn scan_technique_tags(text: &str, re: &Regex, out: &mut BTreeSet<String>) {
    let mut in_tags = false;
    let mut items: Vec<&str> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("tags:") {
            in_tags = true;
            let rest = rest.trim();
            if let Some(inline) = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                items.extend(inline.split(','));
                in_tags = false;
            }
            continue;
        }
        if !in_tags {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.strip_prefix("- ") {
            Some(item) if line.starts_with([' ', '-']) => items.push(item),
            _ => in_tags = false,
        }
    }
    for item in items {
        let item = item.split(" #").next().unwrap_or(item);
        let item = item.trim().trim_matches(['\'', '"']);
        if re.is_match(item) {
            out.insert(item["attack.".len()..].to_ascii_uppercase());
        }
    }
}

#[test]
fn sigmahq_corpus_is_fully_accounted_for() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let root = shared.join("sigmahq/rules");

    let start = std::time::Instant::now();
    let set = load(std::slice::from_ref(&root), &LoadOptions::default());
    let elapsed = start.elapsed();

    assert_eq!(set.files_seen, 3132, "every .yml file is seen");
    assert_eq!(set.files_seen, set.files_loaded + set.files_reported);

    let mut states: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &set.rules {
        let state = match &r.detection {
            DetectionState::Compiled => "compiled",
            DetectionState::NotApplicable => "not_applicable",
            DetectionState::NotCompiled => "not_compiled",
            DetectionState::NotEvaluable { reason } => {
                *reasons.entry(reason.as_str()).or_default() += 1;
                "not_evaluable"
            }
        };
        *states.entry(state).or_default() += 1;
    }
    let loaded: BTreeSet<String> = set
        .rules
        .iter()
        .flat_map(|r| r.technique_tags().map(str::to_owned))
        .collect();

    // Independent count straight from the text of every file.
    let re = Regex::new(r"(?i)^attack\.t\d{4}(\.\d{3})?$").unwrap();
    let mut scanned = BTreeSet::new();
    for entry in walkdir::WalkDir::new(&root) {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            scan_technique_tags(&text, &re, &mut scanned);
        }
    }

    eprintln!(
        "sigmahq: {} files seen, {} loaded, {} reported, {} rules in {:.0} ms (debug build)",
        set.files_seen,
        set.files_loaded,
        set.files_reported,
        set.rules.len(),
        elapsed.as_secs_f64() * 1e3
    );
    eprintln!("detection states: {states:?}");
    for (reason, n) in &reasons {
        eprintln!("  not evaluable x{n}: {reason}");
    }
    for d in &set.reports {
        eprintln!(
            "  report {} {:?}:{:?} {}",
            d.code, d.path, d.line, d.message
        );
    }
    eprintln!(
        "distinct techniques tagged: {} (loader), {} (text scan)",
        loaded.len(),
        scanned.len()
    );

    assert_eq!(
        loaded.symmetric_difference(&scanned).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "loader and text scan disagree"
    );
    assert!(loaded.len() > 300, "SigmaHQ tags hundreds of techniques");
    assert!(
        states.get("compiled").copied().unwrap_or(0) > 3000,
        "nearly all SigmaHQ rules compile: {states:?}"
    );
}

#[test]
fn text_scan_reads_only_tag_lists() {
    let re = Regex::new(r"(?i)^attack\.t\d{4}(\.\d{3})?$").unwrap();
    let mut out = BTreeSet::new();
    let text = "title: x\nreferences:\n    - https://attack.mitre.org/techniques/T1000/\n    - attack.t1111\n\
                tags:\n    - attack.execution\n    - attack.t1059.001 # comment\n    - 'attack.T1003'\n\n\
                logsource:\n    product: windows\ndescription: see attack.t2222\n";
    scan_technique_tags(text, &re, &mut out);
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec!["T1003".to_string(), "T1059.001".to_string()]
    );
    let mut out = BTreeSet::new();
    scan_technique_tags(
        "tags: [attack.t1595, attack.reconnaissance]\n",
        &re,
        &mut out,
    );
    assert_eq!(
        out.into_iter().collect::<Vec<_>>(),
        vec!["T1595".to_string()]
    );
}
