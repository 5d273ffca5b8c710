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

/// Cosine from which a tagged rule counts as a neighbour in explanations.
const NEAR: f64 = 0.2;

/// One technique suggested for a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub technique: String,
    /// The technique's name in the loaded ATT&CK data (filled by [`report`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// In [0, 1]: a classifier's probability, or a scaled centroid cosine for rare techniques.
    pub score: f64,
    pub reasons: Vec<Reason>,
    /// The rule already carries this tag.
    pub tagged: bool,
}

/// Why a technique was suggested.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// A feature of the rule that weighs toward the technique.
    Feature {
        feature: Feature,
        origin: Option<Origin>,
    },
    /// Of the rule's `of` nearest tagged neighbours, `count` carry the technique.
    Neighbours {
        count: usize,
        of: usize,
        technique: String,
    },
}

/// The sentence reports show: `CommandLine contains `systemctl``, `logsource linux/auditd`.
impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Feature { feature, origin } => feature_text(f, feature, origin.as_ref()),
            Reason::Neighbours {
                count,
                of,
                technique,
            } => write!(
                f,
                "tagged neighbours: {count} of the {of} nearest rules tagged {technique}"
            ),
        }
    }
}

/// Reasons serialise as their sentence: the JSON reader gets the same words as the terminal.
impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn feature_text(
    f: &mut std::fmt::Formatter<'_>,
    feature: &Feature,
    origin: Option<&Origin>,
) -> std::fmt::Result {
    match feature {
        Feature::Product(p) => write!(f, "logsource product {p}"),
        Feature::Category(c) => write!(f, "logsource category {c}"),
        Feature::Service(s) => write!(f, "logsource service {s}"),
        Feature::LogSource(key) => {
            let parts: Vec<&str> = key.split('/').filter(|p| *p != "*").collect();
            write!(f, "logsource {}", parts.join("/"))
        }
        Feature::Word(w) => write!(f, "word `{w}` in title or description"),
        Feature::Field(name) => write!(f, "field {name}"),
        Feature::FieldValue(field, value) => write!(f, "{field} = `{value}`"),
        Feature::Value(v) => match origin {
            Some(Origin {
                field: Some(field),
                op,
            }) => write!(f, "{field} {} `{v}`", op_text(*op)),
            Some(Origin { field: None, .. }) => write!(f, "keyword `{v}`"),
            None => write!(f, "value `{v}`"),
        },
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Equals => "is",
        Op::Contains => "contains",
        Op::StartsWith => "starts with",
        Op::EndsWith => "ends with",
        Op::Regex => "matches a pattern with",
        Op::Keyword => "keyword",
    }
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

/// Trains on the tagged detection rules among `rules`, each with its features.
pub fn train<'a>(
    rules: impl IntoIterator<Item = (&'a RuleRecord, &'a RuleFeatures)>,
    opts: &ModelOptions,
) -> Model {
    let picked: Vec<(&RuleRecord, &RuleFeatures)> = rules
        .into_iter()
        .filter(|(r, _)| is_training_rule(r))
        .collect();
    let tags: Vec<Vec<String>> = picked
        .iter()
        .map(|(r, _)| r.technique_tags().map(str::to_string).collect())
        .collect();
    let examples: Vec<Example<'_>> = picked
        .iter()
        .zip(&tags)
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
                name: None,
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
        .filter(|(r, s)| *s >= NEAR && model.rule_has(*r, class))
        .count();
    if count > 0 {
        out.push(Reason::Neighbours {
            count,
            of: neighbours.len(),
            technique: model.classes()[class].clone(),
        });
    }
    out
}

/// Schema of the `suggest` JSON report.
pub const SUGGEST_SCHEMA: &str = "attacktrace.suggest/1";

/// The `suggest` report: per rule, the techniques its detection points at.
#[derive(Debug, Clone, Serialize)]
pub struct SuggestReport {
    pub schema: &'static str,
    pub rules: Vec<RuleSuggestions>,
    /// Tagged rules the model learnt from, and the techniques it knows.
    #[serde(skip)]
    pub training_rules: usize,
    #[serde(skip)]
    pub techniques: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleSuggestions {
    pub path: PathBuf,
    pub id: Option<String>,
    pub title: String,
    /// Technique IDs the rule is tagged with.
    pub tags: Vec<String>,
    pub suggestions: Vec<Suggestion>,
}

/// Suggestions for every detection rule of `rules` (in their order), technique names from `kb`.
pub fn report(
    model: &Model,
    kb: &crate::attack::KnowledgeBase,
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    top: usize,
    training_rules: usize,
) -> SuggestReport {
    use rayon::prelude::*;
    let rules: Vec<RuleSuggestions> = rules
        .par_iter()
        .zip(features)
        .filter(|(r, _)| r.kind == RuleKind::Detection)
        .map(|(r, f)| RuleSuggestions {
            path: r.path.clone(),
            id: r.id.clone(),
            title: r.title.clone(),
            tags: r.technique_tags().map(str::to_string).collect(),
            suggestions: suggest(model, r, f, top)
                .into_iter()
                .map(|mut s| {
                    // Four decimals: enough to rank by eye, stable across platforms' last bits.
                    s.score = (s.score * 1e4).round() / 1e4;
                    s.name = kb.technique(&s.technique).map(|t| t.name.clone());
                    s
                })
                .collect(),
        })
        .collect();
    SuggestReport {
        schema: SUGGEST_SCHEMA,
        rules,
        training_rules,
        techniques: model.classes().len(),
    }
}
