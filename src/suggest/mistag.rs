//! Tags the content model finds unlikely: a rule whose every technique tag scores far below the
//! model's first suggestion. One model learns from every tagged rule, and each rule is scored
//! with its own share taken out, so a rule's own tags never vouch for themselves.

use super::{explain, is_training_rule, train, ModelOptions, Reason, RuleFeatures};
use crate::attack::KnowledgeBase;
use crate::rules::RuleRecord;

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

/// The tagged detection rules (their indices in `rules`, in order: the i-th is the model's
/// training rule i) and the one model trained on them all, each judged rule then scored with its
/// own share taken out ([`super::Model::scores_without`]). One model instead of cross-fitted
/// folds: a fifth of the time and memory, and each rule is judged by all the others.
fn shared_model(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
) -> (Vec<usize>, super::Model) {
    let tagged: Vec<usize> = (0..rules.len())
        .filter(|&i| is_training_rule(&rules[i]))
        .collect();
    let model = train(
        tagged.iter().map(|&i| (&rules[i], &features[i])),
        &judging_options(),
        kb,
    );
    (tagged, model)
}

/// Judges tagged rule `i` (training rule `t` of `model`): `None` when it has no suggestion or a
/// tag no other rule taught.
fn judge(
    model: &super::Model,
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    i: usize,
    t: usize,
) -> Option<Unlikely> {
    let x = model.vectorise(&features[i].features);
    let scores = model.scores_without(&x, Some(t), true);
    let best = best_class(&scores)?;
    let mut tag = (String::new(), f64::MIN);
    for technique in rules[i].technique_tags() {
        let c = model
            .class_index(technique)
            .filter(|&c| model.known_without(c, t))?;
        if scores[c] > tag.1 {
            tag = (technique.to_string(), scores[c]);
        }
    }
    far_below(tag.1, scores[best]).then(|| Unlikely {
        rule: i,
        tag: tag.0,
        tag_score: tag.1,
        suggested: model.classes()[best].clone(),
        score: scores[best],
        reasons: explain(
            model,
            &x,
            &features[i],
            best,
            &model.neighbours_without(&x, Some(t)),
        ),
    })
}

/// Scores every tagged detection rule of `rules` as if the model had not learnt from it.
pub fn unlikely_tags(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
) -> Vec<Unlikely> {
    use rayon::prelude::*;
    let (tagged, model) = shared_model(rules, features, kb);
    tagged
        .par_iter()
        .enumerate()
        .filter_map(|(t, &i)| judge(&model, rules, features, i, t))
        .collect()
}

/// Scores each `(rule, technique)` pair with the shared model, the rule's own share taken out.
/// Pairs of rules the model does not learn from (no technique tag, not a detection) come back
/// unscored. In the order given.
pub fn score_tags(
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
    wanted: &[(usize, String)],
) -> Vec<TagScore> {
    let (tagged, model) = shared_model(rules, features, kb);
    wanted
        .iter()
        .map(|(rule, technique)| {
            let mut s = TagScore {
                rule: *rule,
                technique: technique.clone(),
                score: None,
                suggested: None,
                unlikely: false,
            };
            let Ok(t) = tagged.binary_search(rule) else {
                return s;
            };
            let scores =
                model.scores_without(&model.vectorise(&features[*rule].features), Some(t), true);
            let Some(best) = best_class(&scores) else {
                return s;
            };
            s.suggested = Some((model.classes()[best].clone(), scores[best]));
            s.score = model
                .class_index(technique)
                .filter(|&c| model.known_without(c, t))
                .map(|c| scores[c]);
            s.unlikely = s.score.is_some_and(|v| far_below(v, scores[best]));
            s
        })
        .collect()
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
