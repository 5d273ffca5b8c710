//! Links rules to ATT&CK techniques by what they detect: features of the parsed rule
//! ([`features`]), sublinear TF-IDF ([`tfidf`]), one-vs-rest logistic regression trained at run
//! time on the loaded tagged rules ([`solver`], [`model`]), and explained suggestions (here).
//!
//! Plain data only: `suggest`, the technique card and `check` call it; renderers print it.

pub mod features;
pub mod model;
pub mod solver;
pub mod tfidf;

pub use features::{extract, Feature, Op, Origin, RuleFeatures};
pub use model::{Example, Model, ModelOptions};

use crate::rules::load::load_visiting;
use crate::rules::{LoadOptions, RuleKind, RuleRecord, RuleSet};
use serde::Serialize;
use std::path::PathBuf;

/// How many feature reasons a suggestion carries (the neighbour count comes on top).
pub const REASONS: usize = 3;

/// One technique suggested for a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub technique: String,
    /// In [0, 1]: a classifier's probability, or a scaled centroid cosine for rare techniques.
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// The rule already carries this tag.
    pub tagged: bool,
}

/// Why a technique was suggested.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A feature of the rule that weighs toward the technique.
    Feature {
        feature: Feature,
        #[serde(skip_serializing_if = "Option::is_none")]
        origin: Option<Origin>,
    },
    /// Of the rule's nearest tagged neighbours, `count` carry the technique.
    Neighbours { count: usize, technique: String },
}

/// Loads rules and extracts each one's features while its parsed source is at hand; the source
/// is then dropped unless `opts.keep_source` asked for it. Features are in rule order.
pub fn load_with_features(paths: &[PathBuf], opts: &LoadOptions) -> (RuleSet, Vec<RuleFeatures>) {
    let keep = opts.keep_source;
    let read = LoadOptions {
        keep_source: true,
        ..opts.clone()
    };
    let (set, per_file) = load_visiting(paths, &read, |rules| {
        rules
            .iter_mut()
            .map(|r| {
                let f = extract(r);
                if !keep {
                    r.source = None;
                }
                f
            })
            .collect::<Vec<_>>()
    });
    (set, per_file.into_iter().flatten().collect())
}

/// Whether a rule teaches the model: a detection rule (not a template) with a technique tag.
pub fn is_training_rule(rule: &RuleRecord) -> bool {
    rule.kind == RuleKind::Detection
        && !rule.is_template()
        && rule.technique_tags().next().is_some()
}

/// Trains on the tagged detection rules among `rules` (`features` in the same order).
pub fn train(rules: &[RuleRecord], features: &[RuleFeatures], opts: &ModelOptions) -> Model {
    let tags: Vec<Vec<String>> = rules
        .iter()
        .map(|r| r.technique_tags().map(str::to_string).collect())
        .collect();
    let examples: Vec<Example<'_>> = rules
        .iter()
        .zip(features)
        .zip(&tags)
        .filter(|((r, _), _)| is_training_rule(r))
        .map(|((_, f), t)| Example {
            features: &f.features,
            techniques: t,
        })
        .collect();
    Model::train(&examples, opts)
}

/// The `top` techniques for a rule, best first, each explained.
pub fn suggest(model: &Model, rule: &RuleRecord, f: &RuleFeatures, top: usize) -> Vec<Suggestion> {
    let x = model.vectorise(&f.features);
    let scores = model.scores(&x, false);
    let mut order: Vec<usize> = (0..scores.len()).filter(|&c| scores[c] > 0.0).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(top);
    let neighbours = model.neighbours(&x);
    order
        .into_iter()
        .map(|c| {
            let technique = model.classes()[c].clone();
            Suggestion {
                tagged: rule.technique_tags().any(|t| t == technique),
                score: scores[c],
                reasons: explain(model, &x, f, c, &neighbours),
                technique,
            }
        })
        .collect()
}

/// The features that weigh most toward `class`, then how many of the nearest tagged rules carry
/// it (when any do).
pub fn explain(
    model: &Model,
    x: &tfidf::SparseVec,
    f: &RuleFeatures,
    class: usize,
    neighbours: &[(usize, f64)],
) -> Vec<Reason> {
    let mut out: Vec<Reason> = model
        .contributions(x, class)
        .into_iter()
        .take(REASONS)
        .map(|(feature, _)| Reason::Feature {
            origin: f.origins.get(&feature).cloned(),
            feature,
        })
        .collect();
    let count = neighbours
        .iter()
        .filter(|(r, s)| *s > 0.0 && model.rule_has(*r, class))
        .count();
    if count > 0 {
        out.push(Reason::Neighbours {
            count,
            technique: model.classes()[class].clone(),
        });
    }
    out
}
