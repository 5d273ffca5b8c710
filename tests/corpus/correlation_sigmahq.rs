//! Every correlation rule and Sigma filter in the SigmaHQ corpus (`../shared/sigmahq/rules`,
//! skipped with a notice when absent) loads, parses and resolves its references with no problem;
//! the same for the project's own correlation templates and fixtures. The corpus release in
//! `../shared` may hold none: the count is printed so a run shows what it covered.
#![allow(clippy::print_stderr)]

use attacktrace::rules::references::{resolve, MetaRules};
use attacktrace::rules::{load, LoadOptions, RuleKind, RuleSet};
use std::path::PathBuf;

fn load_kept(paths: &[PathBuf]) -> RuleSet {
    let opts = LoadOptions {
        keep_source: true,
        ..LoadOptions::default()
    };
    load(paths, &opts)
}

fn meta_count(set: &RuleSet) -> usize {
    set.rules
        .iter()
        .filter(|r| r.kind != RuleKind::Detection)
        .count()
}

fn assert_clean(set: &RuleSet, meta: &MetaRules) {
    let problems: Vec<String> = meta
        .problems
        .iter()
        .map(|p| {
            format!(
                "{}: {} {}",
                set.rules[p.rule].path.display(),
                p.code,
                p.message
            )
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn sigmahq_correlations_and_filters_validate() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let set = load_kept(&[shared.join("sigmahq/rules")]);
    let meta = resolve(&set.rules);
    let n = meta_count(&set);
    eprintln!("SigmaHQ corpus: {n} correlation/filter document(s)");
    assert_eq!(
        n,
        meta.correlations.len() + meta.filters.len() + meta.problems.len().min(n)
    );
    assert_clean(&set, &meta);
}

#[test]
fn project_templates_and_fixtures_validate() {
    let root = crate::common::root();
    let set = load_kept(&[
        root.join("mappings/templates"),
        root.join("tests/fixtures/events/correlation"),
    ]);
    let meta = resolve(&set.rules);
    assert_clean(&set, &meta);
    assert_eq!(
        meta_count(&set),
        meta.correlations.len() + meta.filters.len()
    );
    assert!(meta.correlations.len() >= 5 && meta.filters.len() == 1);
}
