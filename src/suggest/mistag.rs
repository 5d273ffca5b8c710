//! Tags the content model finds unlikely: a rule whose every technique tag scores far below the
//! model's first suggestion. Scores are cross-fitted (each rule scored by a model trained without
//! its fold), so a rule's own tags never vouch for themselves.

use super::{explain, is_training_rule, train, ModelOptions, Reason, RuleFeatures};
use crate::attack::KnowledgeBase;
use crate::rules::RuleRecord;

/// Folds of the cross-fitting.
const FOLDS: usize = 5;
/// The first suggestion must score at least this much to accuse a tag.
const CONFIDENT: f64 = 0.8;
/// A tag is unlikely when its score is below this share of the first suggestion's.
const FAR_BELOW: f64 = 0.3;

/// One rule whose tags the model finds unlikely.
#[derive(Debug, Clone, PartialEq)]
pub struct Unlikely {
    /// Index into the rules given.
    pub rule: usize,
    /// The rule's best-scoring tag and its score.
    pub tag: String,
    pub tag_score: f64,
    /// The model's first suggestion, its score and why.
    pub suggested: String,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

/// One technique tag of one rule, scored by a model that never saw the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct TagScore {
    /// Index into the rules given.
    pub rule: usize,
    pub technique: String,
    /// The technique's score; `None` when no other rule taught the model the technique.
    pub score: Option<f64>,
    /// The model's first suggestion and its score.
    pub suggested: Option<(String, f64)>,
    /// The score is far below a confident first suggestion (the `attack_tag_unlikely` threshold).
    pub unlikely: bool,
}

/// The model of the judgements: the classifiers alone, whose probabilities the thresholds are
/// set on; the technique-text match helps ranking suggestions but vouches for no tag.
fn judging_options() -> ModelOptions {
    ModelOptions {
        text_weight: 0.0,
        ..ModelOptions::default()
    }
}

/// Whether a tag scoring `tag` is far below a first suggestion scoring `best`.
fn far_below(tag: f64, best: f64) -> bool {
    best >= CONFIDENT && tag < FAR_BELOW * best
}

/// The first suggestion's class (ties to the lower class).
fn best_class(scores: &[f64]) -> Option<usize> {
    (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
}

/// The tagged detection rules in fold order, and the cross-fitted model for each fold that holds
/// one of `wanted` (every fold when `wanted` is `None`). Folds and models are those of
/// [`unlikely_tags`], so coverage and `check` judge a rule alike.
fn fold_models(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
    wanted: Option<&std::collections::BTreeSet<usize>>,
) -> Vec<(Vec<usize>, super::Model)> {
    let tagged: Vec<usize> = (0..rules.len())
        .filter(|&i| is_training_rule(&rules[i]))
        .collect();
    let mut out = Vec::new();
    for fold in 0..FOLDS {
        let held: Vec<usize> = tagged
            .iter()
            .enumerate()
            .filter(|(k, _)| k % FOLDS == fold)
            .map(|(_, &i)| i)
            .collect();
        if held.is_empty() || wanted.is_some_and(|w| !held.iter().any(|i| w.contains(i))) {
            continue;
        }
        let model = train(
            tagged
                .iter()
                .enumerate()
                .filter(|(k, _)| k % FOLDS != fold)
                .map(|(_, &i)| (&rules[i], &features[i])),
            &judging_options(),
            kb,
        );
        out.push((held, model));
    }
    out
}

/// Scores every tagged detection rule of `rules` with a model trained on the other folds.
pub fn unlikely_tags(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
) -> Vec<Unlikely> {
    let mut out = Vec::new();
    for (held, model) in fold_models(rules, features, kb, None) {
        for i in held {
            let x = model.vectorise(&features[i].features);
            let scores = model.scores(&x, true);
            let Some(best) = best_class(&scores) else {
                continue;
            };
            // A tag the model never saw elsewhere cannot be judged.
            let tags: Vec<(String, Option<usize>)> = rules[i]
                .technique_tags()
                .map(|t| (t.to_string(), model.class_index(t)))
                .collect();
            if tags.iter().any(|(_, c)| c.is_none()) {
                continue;
            }
            let (tag, tag_score) = tags
                .iter()
                .filter_map(|(t, c)| c.map(|c| (t.clone(), scores[c])))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_default();
            if far_below(tag_score, scores[best]) {
                out.push(Unlikely {
                    rule: i,
                    tag,
                    tag_score,
                    suggested: model.classes()[best].clone(),
                    score: scores[best],
                    reasons: explain(&model, &x, &features[i], best, &model.neighbours(&x)),
                });
            }
        }
    }
    out.sort_by_key(|u| u.rule);
    out
}

/// Scores each `(rule, technique)` pair with the cross-fitted model of the rule's fold; only the
/// folds holding a wanted rule are trained. Pairs of rules the model does not learn from (no
/// technique tag, not a detection) come back unscored. In the order given.
pub fn score_tags(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
    wanted: &[(usize, String)],
) -> Vec<TagScore> {
    let rule_set: std::collections::BTreeSet<usize> = wanted.iter().map(|w| w.0).collect();
    let mut out: Vec<TagScore> = wanted
        .iter()
        .map(|(rule, technique)| TagScore {
            rule: *rule,
            technique: technique.clone(),
            score: None,
            suggested: None,
            unlikely: false,
        })
        .collect();
    for (held, model) in fold_models(rules, features, kb, Some(&rule_set)) {
        for s in out.iter_mut().filter(|s| held.contains(&s.rule)) {
            let scores = model.scores(&model.vectorise(&features[s.rule].features), true);
            let Some(best) = best_class(&scores) else {
                continue;
            };
            s.suggested = Some((model.classes()[best].clone(), scores[best]));
            s.score = model.class_index(&s.technique).map(|c| scores[c]);
            s.unlikely = s.score.is_some_and(|v| far_below(v, scores[best]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> KnowledgeBase {
        crate::attack::catalog::embedded()
    }

    #[test]
    fn fixture_mis_tag_is_found() {
        let paths = [std::path::PathBuf::from("tests/fixtures/suggest")];
        let (set, features) = super::super::load_with_features(&paths, &Default::default());
        let found = unlikely_tags(&set.rules, &features, &kb());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(set.rules[found[0].rule]
            .path
            .ends_with("shadow_mistagged.yml"));
        assert_eq!(found[0].suggested, "T1490");
    }

    #[test]
    fn scored_tags_agree_with_unlikely_tags() {
        let paths = [std::path::PathBuf::from("tests/fixtures/suggest")];
        let (set, features) = super::super::load_with_features(&paths, &Default::default());
        let wanted: Vec<(usize, String)> = (0..set.rules.len())
            .flat_map(|i| {
                set.rules[i]
                    .technique_tags()
                    .map(move |t| (i, t.to_string()))
            })
            .collect();
        let scored = score_tags(&set.rules, &features, &kb(), &wanted);
        assert_eq!(scored.len(), wanted.len());
        let unlikely: Vec<usize> = scored
            .iter()
            .filter(|s| s.unlikely)
            .map(|s| s.rule)
            .collect();
        let found: Vec<usize> = unlikely_tags(&set.rules, &features, &kb())
            .iter()
            .map(|u| u.rule)
            .collect();
        assert_eq!(unlikely, found);
    }
}
