//! Evaluates the technique suggestion model (`attacktrace::suggest`) on a tagged rule corpus.
//!
//! `cargo run --release --example suggest_eval -- [--cutoff YYYY-MM-DD] [--c C] [--text W] [--prune P] [--min-rules N] [PATH]...`
//! (default path: `../shared/sigmahq/rules`, cut-off 2024-01-01). Prints, for 5-fold
//! cross-validation (folds by path order) and for a split by rule `date` (train on rules dated
//! before the cut-off, test on the rest): top-1/3/5 technique accuracy exact and rolled up to the
//! parent, tactic accuracy of the first suggestion, and the card direction: per technique, the
//! test rules ranked by score, precision@10 (macro over techniques) and recall@10 (share of
//! rule-technique pairs whose rule is in its technique's first 10).

use attacktrace::attack::{catalog, KnowledgeBase};
use attacktrace::rules::{LoadOptions, RuleRecord};
use attacktrace::suggest::{self, Model, ModelOptions, RuleFeatures};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Default)]
struct Tally {
    rules: usize,
    top: [usize; 3],
    top_parent: [usize; 3],
    tactic: usize,
    card_pairs: usize,
    card_hits: usize,
    card_precision: f64,
    card_techniques: usize,
}

const KS: [usize; 3] = [1, 3, 5];

fn main() {
    let mut paths = Vec::new();
    let mut cutoff = "2024-01-01".to_string();
    let mut opts = ModelOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--cutoff" => cutoff = args.next().unwrap_or(cutoff),
            "--c" => set(&mut opts.solver.c, args.next()),
            "--epochs" => set(&mut opts.solver.max_epochs, args.next()),
            "--knn" => set(&mut opts.neighbour_weight, args.next()),
            "--k" => set(&mut opts.neighbours, args.next()),
            "--text" => set(&mut opts.text_weight, args.next()),
            "--min-rules" => set(&mut opts.min_rules, args.next()),
            "--prune" => set(&mut opts.prune, args.next()),
            "--centroid" => set(&mut opts.centroid_scale, args.next()),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules"));
    }
    let kb = match std::env::var_os("SUGGEST_EVAL_BUNDLE") {
        Some(b) => {
            attacktrace::attack::stix::load_path(b.as_ref(), &Default::default()).expect("bundle")
        }
        None => catalog::embedded(),
    };
    let started = Instant::now();
    let load = LoadOptions {
        compile: false,
        ..LoadOptions::default()
    };
    let (set, features) = suggest::load_with_features(&paths, &load);
    let (rules, features): (Vec<&RuleRecord>, Vec<&RuleFeatures>) = set
        .rules
        .iter()
        .zip(&features)
        .filter(|(r, _)| suggest::is_training_rule(r))
        .unzip();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} tagged detection rules, loaded in {} ms",
        rules.len(),
        started.elapsed().as_millis()
    );

    let mut kfold = Tally::default();
    let started = Instant::now();
    for fold in 0..5 {
        let test: Vec<bool> = (0..rules.len()).map(|i| i % 5 == fold).collect();
        evaluate(&rules, &features, &test, &opts, &kb, &mut kfold);
    }
    report(&mut out, "5-fold", &kfold, started);

    let started = Instant::now();
    let test: Vec<bool> = rules.iter().map(|r| date(r) >= cutoff).collect();
    let mut split = Tally::default();
    let n_test = test.iter().filter(|&&t| t).count();
    evaluate(&rules, &features, &test, &opts, &kb, &mut split);
    report(
        &mut out,
        &format!(
            "dated >= {cutoff} ({n_test} test, {} train)",
            rules.len() - n_test
        ),
        &split,
        started,
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
}

/// Sets `slot` from a flag's value when it parses; keeps the default otherwise.
fn set<T: std::str::FromStr>(slot: &mut T, value: Option<String>) {
    if let Some(v) = value.and_then(|s| s.parse().ok()) {
        *slot = v;
    }
}

fn date(r: &RuleRecord) -> String {
    r.date.as_deref().unwrap_or("0000").replace('/', "-")
}

fn evaluate(
    rules: &[&RuleRecord],
    features: &[&RuleFeatures],
    test: &[bool],
    opts: &ModelOptions,
    kb: &KnowledgeBase,
    tally: &mut Tally,
) {
    let drop: Vec<String> = std::env::var("SUGGEST_EVAL_DROP")
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let keep = |f: &attacktrace::suggest::Feature| {
        let kind = format!("{f:?}");
        !drop
            .iter()
            .any(|d| !d.is_empty() && kind.starts_with(d.as_str()))
    };
    let owned: Vec<RuleFeatures> = features
        .iter()
        .map(|f| RuleFeatures {
            features: f.features.iter().filter(|x| keep(x)).cloned().collect(),
            origins: f.origins.clone(),
            spelled: f.spelled.clone(),
        })
        .collect();
    let features: Vec<&RuleFeatures> = owned.iter().collect();
    let train: Vec<(&RuleRecord, &RuleFeatures)> = rules
        .iter()
        .zip(&features)
        .zip(test)
        .filter(|(_, &t)| !t)
        .map(|((r, f), _)| (*r, *f))
        .collect();
    let t0 = Instant::now();
    let model = suggest::train(train, opts, kb);
    if std::env::var_os("SUGGEST_EVAL_VERBOSE").is_some() {
        let linear = (0..model.classes().len())
            .filter(|&c| model.is_linear(c))
            .count();
        note(format!(
            "trained {} classes ({linear} linear), {} features in {} ms",
            model.classes().len(),
            model.vocabulary().len(),
            t0.elapsed().as_millis()
        ));
    }
    let tests: Vec<usize> = (0..rules.len()).filter(|&i| test[i]).collect();
    if std::env::var_os("SUGGEST_EVAL_VERBOSE").is_some() {
        let known = tests
            .iter()
            .filter(|&&i| {
                rules[i]
                    .technique_tags()
                    .any(|t| model.class_index(t).is_some())
            })
            .count();
        note(format!(
            "{known} of {} test rules carry a technique seen in training",
            tests.len()
        ));
    }
    let vectors: Vec<_> = tests
        .iter()
        .map(|&i| model.vectorise(&features[i].features))
        .collect();
    let scores: Vec<Vec<f64>> = vectors.iter().map(|x| model.scores(x, true)).collect();
    for (k, &i) in tests.iter().enumerate() {
        rule_metrics(
            &model,
            rules[i],
            &model.scores(&vectors[k], false),
            kb,
            tally,
        );
    }
    card_metrics(&model, rules, &tests, &scores, tally);
}

fn parent(t: &str) -> &str {
    t.split('.').next().unwrap_or(t)
}

fn rule_metrics(
    model: &Model,
    rule: &RuleRecord,
    own: &[f64],
    kb: &KnowledgeBase,
    tally: &mut Tally,
) {
    let truth: BTreeSet<&str> = rule.technique_tags().collect();
    let truth_parent: BTreeSet<&str> = truth.iter().map(|t| parent(t)).collect();
    let ranked = rank(own);
    let classes = model.classes();
    if std::env::var_os("SUGGEST_EVAL_MISSES").is_some()
        && !ranked
            .first()
            .is_some_and(|&c| truth.contains(classes[c].as_str()))
    {
        let got: Vec<String> = ranked
            .iter()
            .take(3)
            .map(|&c| format!("{} {:.2}", classes[c], own[c]))
            .collect();
        note(format!("{} | {:?} | {:?}", rule.title, truth, got));
    }
    tally.rules += 1;
    for (j, &k) in KS.iter().enumerate() {
        if ranked
            .iter()
            .take(k)
            .any(|&c| truth.contains(classes[c].as_str()))
        {
            tally.top[j] += 1;
        }
        let mut parents: Vec<&str> = Vec::new();
        for &c in &ranked {
            let p = parent(&classes[c]);
            if !parents.contains(&p) {
                parents.push(p);
            }
            if parents.len() == k {
                break;
            }
        }
        if parents.iter().any(|p| truth_parent.contains(p)) {
            tally.top_parent[j] += 1;
        }
    }
    let mut want: BTreeSet<String> = rule.tactic_tags().map(str::to_string).collect();
    if want.is_empty() {
        for t in &truth {
            want.extend(
                kb.technique(t)
                    .map(|t| t.tactics.clone())
                    .unwrap_or_default(),
            );
        }
    }
    if let Some(&best) = ranked.first() {
        let got = kb
            .technique(&classes[best])
            .map(|t| t.tactics.clone())
            .unwrap_or_default();
        if got.iter().any(|t| want.contains(t)) {
            tally.tactic += 1;
        }
    }
}

fn rank(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// For each technique with a test rule: the test rules ranked by the technique's rolled-up score.
fn card_metrics(
    model: &Model,
    rules: &[&RuleRecord],
    tests: &[usize],
    scores: &[Vec<f64>],
    tally: &mut Tally,
) {
    for (c, technique) in model.classes().iter().enumerate() {
        let relevant: BTreeSet<usize> = tests
            .iter()
            .enumerate()
            .filter(|(_, &i)| {
                rules[i]
                    .technique_tags()
                    .any(|t| t == technique || parent(t) == technique)
            })
            .map(|(k, _)| k)
            .collect();
        if relevant.is_empty() {
            continue;
        }
        let col: Vec<f64> = scores.iter().map(|s| s[c]).collect();
        let top: Vec<usize> = rank(&col).into_iter().take(10).collect();
        let hits = top.iter().filter(|k| relevant.contains(k)).count();
        tally.card_pairs += relevant.len();
        tally.card_hits += hits;
        tally.card_precision += hits as f64 / 10.0;
        tally.card_techniques += 1;
    }
}

fn report(out: &mut String, label: &str, t: &Tally, started: Instant) {
    let n = t.rules.max(1) as f64;
    let f = |x: usize| x as f64 / n;
    let _ = writeln!(
        out,
        "{label}: {} rules, {} ms\n  technique top-1/3/5: {:.3} / {:.3} / {:.3}\n  rolled up to parent: {:.3} / {:.3} / {:.3}\n  tactic of first suggestion: {:.3}\n  card precision@10 {:.3} recall@10 {:.3} ({} techniques)",
        t.rules,
        started.elapsed().as_millis(),
        f(t.top[0]), f(t.top[1]), f(t.top[2]),
        f(t.top_parent[0]), f(t.top_parent[1]), f(t.top_parent[2]),
        f(t.tactic),
        t.card_precision / t.card_techniques.max(1) as f64,
        t.card_hits as f64 / t.card_pairs.max(1) as f64,
        t.card_techniques,
    );
}

/// Diagnostics of a verbose run, on stderr (the figures go to stdout).
fn note(line: String) {
    let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes());
}
