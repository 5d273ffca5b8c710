//! Tags the content model finds unlikely: a rule whose every technique tag scores far below the
//! model's first suggestion. Scores are cross-fitted (each rule scored by a model trained without
//! its fold), so a rule's own tags never vouch for themselves.

use super::{explain, is_training_rule, train, ModelOptions, Reason, RuleFeatures};
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

/// Scores every tagged detection rule of `rules` with a model trained on the other folds.
pub fn unlikely_tags(rules: &[RuleRecord], features: &[RuleFeatures]) -> Vec<Unlikely> {
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
        if held.is_empty() {
            continue;
        }
        let model = train(
            tagged
                .iter()
                .enumerate()
                .filter(|(k, _)| k % FOLDS != fold)
                .map(|(_, &i)| (&rules[i], &features[i])),
            &ModelOptions::default(),
        );
        for i in held {
            let x = model.vectorise(&features[i].features);
            let scores = model.scores(&x, true);
            let Some(best) =
                (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
            else {
                continue;
            };
            // A tag the model never saw elsewhere cannot be judged.
            let tags: Vec<(String, Option<usize>)> = rules[i]
                .technique_tags()
                .map(|t| (t.to_string(), model.class_index(t)))
                .collect();
            if tags.iter().any(|(_, c)| c.is_none()) || scores[best] < CONFIDENT {
                continue;
            }
            let (tag, tag_score) = tags
                .iter()
                .filter_map(|(t, c)| c.map(|c| (t.clone(), scores[c])))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or_default();
            if tag_score < FAR_BELOW * scores[best] {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_mis_tag_is_found() {
        let paths = [std::path::PathBuf::from("tests/fixtures/suggest")];
        let (set, features) = super::super::load_with_features(&paths, &Default::default());
        let found = unlikely_tags(&set.rules, &features);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(set.rules[found[0].rule]
            .path
            .ends_with("shadow_mistagged.yml"));
        assert_eq!(found[0].suggested, "T1490");
    }
}
