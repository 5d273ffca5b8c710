//! Observability classes on the embedded v18.1 catalog: the class counts are pinned, and the
//! classifier (data rule plus reviewed overrides) agrees with our own review in
//! `tests/fixtures/observability_review.yaml` on every enterprise technique listed there.

use attacktrace::attack::catalog;
use attacktrace::telemetry::listing::{class_listing, ClassFilter};
use attacktrace::telemetry::{Basis, ObsClass, Telemetry};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Review {
    techniques: Vec<Reviewed>,
}

#[derive(Deserialize)]
struct Reviewed {
    technique: String,
    class: ObsClass,
    note: String,
}

fn review() -> Vec<Reviewed> {
    let text = std::fs::read_to_string(
        crate::common::root().join("tests/fixtures/observability_review.yaml"),
    )
    .expect("review fixture readable");
    serde_norway::from_str::<Review>(&text)
        .expect("review fixture parses")
        .techniques
}

/// Enterprise v18.1 after review. Before the review (ATT&CK analytics read mechanically):
/// 471 / 128 / 92.
const PORTABLE: usize = 397;
const ENVIRONMENT_SPECIFIC: usize = 192;
const NO_PORTABLE_RULE: usize = 102;

#[test]
fn v18_1_class_counts_are_pinned() {
    let kb = catalog::embedded();
    let l = class_listing(&kb, Telemetry::embedded(), &ClassFilter::default()).unwrap();
    assert_eq!(l.techniques.len(), 691);
    let counts: BTreeMap<ObsClass, usize> = l.counts.clone();
    let expected: BTreeMap<ObsClass, usize> = [
        (ObsClass::Portable, PORTABLE),
        (ObsClass::EnvironmentSpecific, ENVIRONMENT_SPECIFIC),
        (ObsClass::NoPortableRule, NO_PORTABLE_RULE),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
    assert_eq!(
        l.counts.values().sum::<usize>(),
        l.techniques.len(),
        "counts add up"
    );
    assert!(l.note.is_none());
    // Every technique has a reason; a portable one names at least one event or source.
    for t in &l.techniques {
        assert!(
            !t.observability.reason.trim().is_empty(),
            "{} has no reason",
            t.id
        );
    }
}

#[test]
fn the_classifier_agrees_with_our_review() {
    let kb = catalog::embedded();
    let tel = Telemetry::embedded();
    let reviewed = review();
    let enterprise: Vec<&Reviewed> = reviewed
        .iter()
        .filter(|r| kb.technique(&r.technique).is_some())
        .collect();
    assert!(
        enterprise.len() >= 60,
        "review covers {} techniques",
        enterprise.len()
    );
    let mut wrong = Vec::new();
    for r in &enterprise {
        assert!(!r.note.trim().is_empty(), "{} has no note", r.technique);
        let o = tel.classify(&kb, kb.technique(&r.technique).unwrap());
        if o.class != r.class {
            wrong.push(format!(
                "{}: {:?} (basis {}), review says {:?}",
                r.technique, o.class, o.basis, r.class
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn overrides_are_needed_and_reasoned() {
    // An override that repeats what the data already says is noise: it hides the data's reason.
    let kb = catalog::embedded();
    let tel = Telemetry::embedded();
    let l = class_listing(&kb, tel, &ClassFilter::default()).unwrap();
    let overridden: Vec<_> = l
        .techniques
        .iter()
        .filter(|t| t.observability.basis == Basis::Override)
        .collect();
    assert!(!overridden.is_empty());
    for t in overridden {
        let r = &t.observability.reason;
        assert!(
            r.len() <= 200 && !r.contains('\n'),
            "{}: one line, short",
            t.id
        );
        assert_ne!(
            t.data_class,
            Some(t.observability.class),
            "{}: the override repeats the data",
            t.id
        );
    }
}
