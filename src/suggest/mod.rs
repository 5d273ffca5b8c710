//! Links rules to ATT&CK techniques by what they detect: features of the parsed rule
//! ([`features`]), sublinear TF-IDF ([`tfidf`]), one-vs-rest logistic regression trained at run
//! time on the loaded tagged rules ([`solver`], [`model`]), and explained suggestions (here).
//!
//! Plain data only: `suggest`, the technique card and `check` call it; renderers print it.

pub mod features;
pub mod mistag;
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
    /// Words the rule shares with the technique's own ATT&CK text (name, strategies, facts).
    TechniqueText { terms: Vec<String> },
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
            Reason::TechniqueText { terms } => {
                let quoted: Vec<String> = terms.iter().map(|t| format!("`{t}`")).collect();
                write!(f, "technique text shares {}", quoted.join(", "))
            }
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
        Feature::ReferencedTechnique(t) => write!(f, "a reference names {t}"),
        Feature::ReferenceWord(w) => write!(f, "word `{w}` in a reference URL"),
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

/// The rules to learn from: the reference's, then the rules given that the reference does not
/// already hold (same file, or a copy with the same `id`), tagged detection rules only. With it,
/// per rule given, its index among them (its own or its reference copy's), so that it is scored
/// without its own tags' pull ([`suggest`]).
pub fn training_set<'a>(
    reference: &'a [RuleRecord],
    reference_features: &'a [RuleFeatures],
    given: &'a [RuleRecord],
    given_features: &'a [RuleFeatures],
) -> (Vec<(&'a RuleRecord, &'a RuleFeatures)>, Vec<Option<usize>>) {
    use std::collections::{HashMap, HashSet};
    let paths: HashSet<&PathBuf> = reference.iter().map(|r| &r.path).collect();
    let ids: HashSet<&str> = reference.iter().filter_map(|r| r.id.as_deref()).collect();
    let in_reference = |r: &RuleRecord| {
        paths.contains(&r.path) || r.id.as_deref().is_some_and(|id| ids.contains(id))
    };
    let training: Vec<(&RuleRecord, &RuleFeatures)> = reference
        .iter()
        .zip(reference_features)
        .chain(
            given
                .iter()
                .zip(given_features)
                .filter(|(r, _)| !in_reference(r)),
        )
        .filter(|(r, _)| is_training_rule(r))
        .collect();
    let mut by_place = HashMap::new();
    let mut by_id = HashMap::new();
    for (i, (r, _)) in training.iter().enumerate() {
        by_place.insert((&r.path, r.line), i);
        if let Some(id) = r.id.as_deref() {
            by_id.entry(id).or_insert(i);
        }
    }
    let held = given
        .iter()
        .map(|r| {
            by_place
                .get(&(&r.path, r.line))
                .or_else(|| r.id.as_deref().and_then(|id| by_id.get(id)))
                .copied()
        })
        .collect();
    (training, held)
}

/// Trains on the tagged detection rules among `rules`, each with its features; each technique's
/// text in `kb` is attached for the score to fuse ([`ModelOptions::text_weight`]).
pub fn train<'a>(
    rules: impl IntoIterator<Item = (&'a RuleRecord, &'a RuleFeatures)>,
    opts: &ModelOptions,
    kb: &crate::attack::KnowledgeBase,
) -> Model {
    train_for(rules, opts, kb, &|_| true)
}

/// [`train`] for only the techniques `wanted` accepts.
pub fn train_for<'a>(
    rules: impl IntoIterator<Item = (&'a RuleRecord, &'a RuleFeatures)>,
    opts: &ModelOptions,
    kb: &crate::attack::KnowledgeBase,
    wanted: &(dyn Fn(&str) -> bool + Sync),
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
    let mut model = Model::train_for(&examples, opts, wanted);
    model.attach_text(kb);
    model
}

/// The `top` techniques for a rule, best first, each explained. `held`: the rule's index among
/// the model's training rules when it is one; it is then scored with its own share taken out
/// ([`Model::scores_without`]), so its tags do not vouch for themselves.
pub fn suggest(
    model: &Model,
    rule: &RuleRecord,
    f: &RuleFeatures,
    top: usize,
    held: Option<usize>,
) -> Vec<Suggestion> {
    let x = model.vectorise(&f.features);
    let scores = model.scores_without(&x, held, false);
    let mut order: Vec<usize> = (0..scores.len()).filter(|&c| scores[c] > 0.0).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(top);
    let neighbours = model.neighbours_without(&x, held);
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
            feature: f.as_spelled(feature),
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
    held: &[Option<usize>],
) -> SuggestReport {
    use rayon::prelude::*;
    let rules: Vec<RuleSuggestions> = rules
        .par_iter()
        .zip(features)
        .zip(held)
        .filter(|((r, _), _)| r.kind == RuleKind::Detection)
        .map(|((r, f), &held)| RuleSuggestions {
            path: r.path.clone(),
            id: r.id.clone(),
            title: r.title.clone(),
            tags: r.technique_tags().map(str::to_string).collect(),
            suggestions: suggest(model, r, f, top, held)
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

/// The parent of a sub-technique ID (`T1053.006` -> `T1053`), or the ID itself.
pub fn parent_id(technique: &str) -> &str {
    technique.split_once('.').map_or(technique, |(p, _)| p)
}

/// Scores the loaded rules for one technique: a model trained on the technique's family only,
/// with the features of every rule (in rule order). When no loaded rule carries the technique
/// itself, the score is fused with a cosine match against the technique's own ATT&CK text, so a
/// technique nobody tagged yet still finds the rules that talk about it.
pub struct Ranker {
    model: Model,
    features: Vec<RuleFeatures>,
    technique: String,
    text: tfidf::SparseVec,
}

/// Share of the technique-text match in the score when the technique has no classifier of its own.
const TEXT_WEIGHT: f64 = 0.5;

/// A rule's place in a technique's ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// Index into the rule set.
    pub rule: usize,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

impl Ranker {
    /// Trains the technique, its parent and its sub-techniques on the tagged rules of `rules`.
    pub fn new(
        rules: &RuleSet,
        features: Vec<RuleFeatures>,
        kb: &crate::attack::KnowledgeBase,
        t: &crate::attack::Technique,
    ) -> Ranker {
        let technique = t.id.as_str();
        let family =
            |id: &str| id == technique || parent_id(id) == technique || id == parent_id(technique);
        let model = train_for(
            rules.rules.iter().zip(&features),
            &ModelOptions::default(),
            kb,
            &family,
        );
        let text = model.vectorise(&features::technique_features(kb, t));
        Ranker {
            model,
            features,
            technique: technique.to_string(),
            text,
        }
    }

    /// The class that speaks for the technique: its own, else its parent's (a sub-technique no
    /// loaded rule is tagged with).
    fn class(&self) -> Option<usize> {
        self.model
            .class_index(&self.technique)
            .or_else(|| self.model.class_index(parent_id(&self.technique)))
    }

    /// `candidates` (rule indices) best first, ties in the given order; the first `explain_first`
    /// get their reasons.
    pub fn rank(&self, candidates: &[usize], explain_first: usize) -> Vec<Ranked> {
        let mut out: Vec<Ranked> = candidates
            .iter()
            .map(|&rule| Ranked {
                rule,
                score: self.score(rule),
                reasons: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        for r in out.iter_mut().take(explain_first) {
            r.reasons = self.reasons(r.rule);
        }
        out
    }

    /// Whether the technique has a classifier of its own (else the text match weighs in).
    fn own_class(&self) -> bool {
        self.model
            .class_index(&self.technique)
            .is_some_and(|c| self.model.is_linear(c))
    }

    /// The score of one rule for the technique.
    pub fn score(&self, rule: usize) -> f64 {
        let x = self.model.vectorise(&self.features[rule].features);
        let learnt = self.class().map_or(0.0, |c| self.model.scores(&x, true)[c]);
        if self.own_class() {
            learnt
        } else {
            (1.0 - TEXT_WEIGHT) * learnt + TEXT_WEIGHT * x.dot(&self.text).max(0.0)
        }
    }

    fn reasons(&self, rule: usize) -> Vec<Reason> {
        let f = &self.features[rule];
        let x = self.model.vectorise(&f.features);
        let mut out = match self.class() {
            Some(c) => explain(&self.model, &x, f, c, &self.model.neighbours(&x)),
            None => Vec::new(),
        };
        if !self.own_class() {
            let mut shared: Vec<(f64, String)> = Vec::new();
            for (k, &j) in x.idx.iter().enumerate() {
                if let Ok(m) = self.text.idx.binary_search(&j) {
                    let w = f64::from(x.val[k]) * f64::from(self.text.val[m]);
                    let term = match f.as_spelled(self.model.vocabulary().feature(j).clone()) {
                        Feature::Word(t) | Feature::Value(t) => t,
                        _ => continue,
                    };
                    shared.push((w, term));
                }
            }
            shared.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let mut terms: Vec<String> = Vec::new();
            for (_, t) in shared {
                if !terms.contains(&t) && terms.len() < REASONS {
                    terms.push(t);
                }
            }
            if !terms.is_empty() {
                out.insert(0, Reason::TechniqueText { terms });
            }
        }
        out
    }
}
