//! The trained model: one-vs-rest logistic regression per technique with enough tagged rules, a
//! nearest-centroid score for the rest, roll-up of sub-technique scores to the parent, and the
//! nearest tagged neighbours of a rule for explanations.

use super::features::Feature;
use super::solver::{self, SolverOptions};
use super::tfidf::{SparseVec, Vocabulary};
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Model settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelOptions {
    pub solver: SolverOptions,
    /// Techniques with fewer tagged rules get a nearest-centroid score instead of a classifier.
    pub min_rules: usize,
    /// Centroid cosines are multiplied by this to sit on the classifiers' probability scale.
    pub centroid_scale: f64,
    /// Classifier weights smaller than this are dropped after training (memory, speed).
    pub prune: f64,
    /// How many nearest tagged rules an explanation counts and the neighbour vote reads.
    pub neighbours: usize,
    /// Share of the neighbour vote (similarity-weighted share of the nearest rules tagged with a
    /// technique) in the score; the classifier has the rest.
    pub neighbour_weight: f64,
    /// Share of the cosine to a technique's own ATT&CK text in its score, for every class with a
    /// text ([`Model::attach_text`]); it reaches techniques whose newer rules share little with
    /// the tagged ones but say what the technique is called.
    pub text_weight: f64,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            solver: SolverOptions::default(),
            min_rules: 3,
            centroid_scale: 0.9,
            prune: 1e-3,
            neighbours: 10,
            neighbour_weight: 0.0,
            text_weight: 0.3,
        }
    }
}

/// One training rule: its features and the technique IDs it is tagged with.
#[derive(Debug, Clone, Copy)]
pub struct Example<'a> {
    pub features: &'a [Feature],
    pub techniques: &'a [String],
}

#[derive(Debug, Clone, PartialEq)]
enum Scorer {
    /// Logistic regression; the weights live in [`Model::weights`].
    Linear { bias: f64 },
    /// Cosine to the L2-normalised mean of the tagged rules.
    Centroid(SparseVec),
    /// A parent technique no rule is tagged with directly: scored only through roll-up.
    RollUpOnly,
    /// Left out of training by the caller ([`Model::train_for`]): scores 0.
    Skipped,
}

/// A trained model. Class order is technique ID order.
#[derive(Debug, Clone)]
pub struct Model {
    vocab: Vocabulary,
    classes: Vec<String>,
    scorers: Vec<Scorer>,
    /// Per class: its parent's class index (sub-techniques only).
    parent: Vec<Option<usize>>,
    /// Per feature: `(class, weight)` of the linear classifiers, class ascending.
    weights: Vec<Vec<(u32, f32)>>,
    /// Per feature: `(training rule, value)`, for nearest neighbours.
    postings: Vec<Vec<(u32, f32)>>,
    /// Per training rule: its classes.
    labels: Vec<Vec<u32>>,
    /// Per class: its technique's ATT&CK text in the model's vocabulary (empty until attached).
    text: Vec<SparseVec>,
    opts: ModelOptions,
}

impl Model {
    /// Fits the vocabulary and trains every class, in parallel over classes; the result does not
    /// depend on the number of threads.
    pub fn train(examples: &[Example<'_>], opts: &ModelOptions) -> Model {
        Model::train_for(examples, opts, &|_| true)
    }

    /// [`Model::train`] for only the techniques `wanted` accepts (a card needs one technique and
    /// its family, not all of them); the others score 0.
    pub fn train_for(
        examples: &[Example<'_>],
        opts: &ModelOptions,
        wanted: &(dyn Fn(&str) -> bool + Sync),
    ) -> Model {
        let vocab = Vocabulary::fit(examples.iter().map(|e| e.features));
        let xs: Vec<SparseVec> = examples
            .iter()
            .map(|e| vocab.transform(e.features))
            .collect();
        let (classes, parent) = class_list(examples);
        let class_of: BTreeMap<&str, u32> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), i as u32))
            .collect();
        let labels: Vec<Vec<u32>> = examples
            .iter()
            .map(|e| {
                let mut l: Vec<u32> = e.techniques.iter().map(|t| class_of[t.as_str()]).collect();
                l.sort_unstable();
                l.dedup();
                l
            })
            .collect();
        let dim = vocab.len();
        let trained: Vec<(Scorer, Vec<(u32, f32)>)> = (0..classes.len())
            .into_par_iter()
            .map(|c| match wanted(&classes[c]) {
                true => train_class(c as u32, &xs, &labels, dim, opts),
                false => (Scorer::Skipped, Vec::new()),
            })
            .collect();
        let mut weights = vec![Vec::new(); dim];
        let mut scorers = Vec::with_capacity(trained.len());
        for (c, (scorer, w)) in trained.into_iter().enumerate() {
            for (j, v) in w {
                weights[j as usize].push((c as u32, v));
            }
            scorers.push(scorer);
        }
        let mut postings = vec![Vec::new(); dim];
        for (r, x) in xs.iter().enumerate() {
            for (&j, &v) in x.idx.iter().zip(&x.val) {
                postings[j as usize].push((r as u32, v));
            }
        }
        Model {
            vocab,
            classes,
            scorers,
            parent,
            weights,
            postings,
            labels,
            text: Vec::new(),
            opts: *opts,
        }
    }

    /// Technique IDs, one per class, sorted.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    pub fn class_index(&self, technique: &str) -> Option<usize> {
        self.classes
            .binary_search_by(|c| c.as_str().cmp(technique))
            .ok()
    }

    pub fn parent_of(&self, class: usize) -> Option<usize> {
        self.parent[class]
    }

    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    pub fn vectorise(&self, features: &[Feature]) -> SparseVec {
        self.vocab.transform(features)
    }

    /// Vectorises each class's technique text from `kb` (name, detection strategies, analytics
    /// facts) so [`Model::scores`] can fuse it; techniques `kb` does not know get none.
    pub fn attach_text(&mut self, kb: &crate::attack::KnowledgeBase) {
        self.text = self
            .classes
            .iter()
            .map(|c| match kb.technique(c) {
                Some(t) => self
                    .vocab
                    .transform(&super::features::technique_features(kb, t)),
                None => SparseVec::default(),
            })
            .collect();
    }

    /// Blends each class's text cosine into its score, with the share of `text_weight`.
    fn fuse_text(&self, x: &SparseVec, out: &mut [f64]) {
        let w = self.opts.text_weight;
        if w <= 0.0 || self.text.len() != out.len() {
            return;
        }
        for ((s, t), scorer) in out.iter_mut().zip(&self.text).zip(&self.scorers) {
            if !matches!(scorer, Scorer::Skipped) {
                *s = (1.0 - w) * *s + w * x.dot(t).max(0.0);
            }
        }
    }

    /// Whether a class has a classifier (else a centroid or roll-up only).
    pub fn is_linear(&self, class: usize) -> bool {
        matches!(self.scorers[class], Scorer::Linear { .. })
    }

    /// A score in [0, 1] per class. With `roll_up`, a parent scores at least as high as its best
    /// sub-technique.
    pub fn scores(&self, x: &SparseVec, roll_up: bool) -> Vec<f64> {
        let mut margins: Vec<f64> = self
            .scorers
            .iter()
            .map(|s| match s {
                Scorer::Linear { bias } => *bias,
                _ => 0.0,
            })
            .collect();
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            for &(c, w) in &self.weights[j as usize] {
                margins[c as usize] += f64::from(v) * f64::from(w);
            }
        }
        let mut out: Vec<f64> = self
            .scorers
            .iter()
            .zip(margins)
            .map(|(s, m)| match s {
                Scorer::Linear { .. } => sigmoid(m),
                Scorer::Centroid(centroid) => self.opts.centroid_scale * x.dot(centroid).max(0.0),
                Scorer::RollUpOnly | Scorer::Skipped => 0.0,
            })
            .collect();
        self.fuse_text(x, &mut out);
        let lambda = self.opts.neighbour_weight;
        if lambda > 0.0 {
            let near = self.neighbours(x);
            let total: f64 = near.iter().map(|n| n.1.max(0.0)).sum();
            out.iter_mut().for_each(|s| *s *= 1.0 - lambda);
            if total > 0.0 {
                for &(r, sim) in &near {
                    for &c in &self.labels[r] {
                        out[c as usize] += lambda * sim.max(0.0) / total;
                    }
                }
            }
        }
        if roll_up {
            for c in 0..out.len() {
                if let Some(p) = self.parent[c] {
                    out[p] = out[p].max(out[c]);
                }
            }
        }
        out
    }

    /// What each feature of `x` adds toward `class`, largest first, positive only.
    pub fn contributions(&self, x: &SparseVec, class: usize) -> Vec<(Feature, f64)> {
        let mut out: Vec<(Feature, f64)> = x
            .idx
            .iter()
            .zip(&x.val)
            .filter_map(|(&j, &v)| {
                let w = match &self.scorers[class] {
                    Scorer::Linear { .. } => {
                        let ws = &self.weights[j as usize];
                        let k = ws.binary_search_by_key(&(class as u32), |e| e.0).ok()?;
                        f64::from(ws[k].1)
                    }
                    Scorer::Centroid(centroid) => {
                        let k = centroid.idx.binary_search(&j).ok()?;
                        f64::from(centroid.val[k])
                    }
                    Scorer::RollUpOnly | Scorer::Skipped => return None,
                };
                let c = f64::from(v) * w;
                (c > 0.0).then(|| (self.vocab.feature(j).clone(), c))
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The nearest training rules to `x` by cosine, closest first (ties by index).
    pub fn neighbours(&self, x: &SparseVec) -> Vec<(usize, f64)> {
        let mut sims = vec![0.0f64; self.labels.len()];
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            for &(r, u) in &self.postings[j as usize] {
                sims[r as usize] += f64::from(v) * f64::from(u);
            }
        }
        let mut out: Vec<(usize, f64)> = sims
            .into_iter()
            .enumerate()
            .filter(|&(_, s)| s > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out.truncate(self.opts.neighbours);
        out
    }

    /// Whether training rule `r` is tagged with `class` or one of its sub-techniques.
    pub fn rule_has(&self, r: usize, class: usize) -> bool {
        self.labels[r]
            .iter()
            .any(|&l| l as usize == class || self.parent[l as usize] == Some(class))
    }
}

fn sigmoid(m: f64) -> f64 {
    1.0 / (1.0 + (-m).exp())
}

/// Every tagged technique, plus the parents of tagged sub-techniques, sorted; and each class's
/// parent class.
fn class_list(examples: &[Example<'_>]) -> (Vec<String>, Vec<Option<usize>>) {
    let mut set: Vec<String> = examples
        .iter()
        .flat_map(|e| e.techniques.iter())
        .flat_map(|t| {
            let parent = t.split_once('.').map(|(p, _)| p.to_string());
            std::iter::once(t.clone()).chain(parent)
        })
        .collect();
    set.sort();
    set.dedup();
    let parent = set
        .iter()
        .map(|t| {
            t.split_once('.')
                .and_then(|(p, _)| set.binary_search_by(|c| c.as_str().cmp(p)).ok())
        })
        .collect();
    (set, parent)
}

fn train_class(
    class: u32,
    xs: &[SparseVec],
    labels: &[Vec<u32>],
    dim: usize,
    opts: &ModelOptions,
) -> (Scorer, Vec<(u32, f32)>) {
    let positive: Vec<bool> = labels.iter().map(|l| l.contains(&class)).collect();
    let n_pos = positive.iter().filter(|&&p| p).count();
    if n_pos == 0 {
        return (Scorer::RollUpOnly, Vec::new());
    }
    if n_pos < opts.min_rules {
        return (Scorer::Centroid(centroid(xs, &positive)), Vec::new());
    }
    let linear = solver::train(xs, &positive, dim, &opts.solver);
    let w = linear
        .w
        .iter()
        .enumerate()
        .filter(|(_, w)| w.abs() >= opts.prune)
        .map(|(j, &w)| (j as u32, w as f32))
        .collect();
    (Scorer::Linear { bias: linear.bias }, w)
}

fn centroid(xs: &[SparseVec], members: &[bool]) -> SparseVec {
    let mut sum: BTreeMap<u32, f64> = BTreeMap::new();
    for x in xs.iter().zip(members).filter(|(_, &m)| m).map(|(x, _)| x) {
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            *sum.entry(j).or_default() += f64::from(v);
        }
    }
    let mut out = SparseVec {
        idx: sum.keys().copied().collect(),
        val: sum.values().map(|&v| v as f32).collect(),
    };
    out.normalise();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Feature {
        Feature::Value(s.into())
    }

    fn data() -> Vec<(Vec<Feature>, Vec<String>)> {
        let mut d = Vec::new();
        for i in 0..4 {
            d.push((
                vec![v("crontab"), v(&format!("x{i}"))],
                vec!["T1053.003".to_string()],
            ));
            d.push((
                vec![v("systemctl"), v("timer"), v(&format!("y{i}"))],
                vec!["T1053.006".to_string()],
            ));
            d.push((
                vec![v("vssadmin"), v(&format!("z{i}"))],
                vec!["T1490".to_string()],
            ));
        }
        d.push((
            vec![v("wevtutil"), v("clear")],
            vec!["T1070.001".to_string()],
        ));
        d
    }

    fn model() -> Model {
        let d = data();
        let ex: Vec<Example> = d
            .iter()
            .map(|(f, t)| Example {
                features: f,
                techniques: t,
            })
            .collect();
        Model::train(&ex, &ModelOptions::default())
    }

    #[test]
    fn ranks_the_right_class_first_and_rolls_up() {
        let m = model();
        assert_eq!(
            m.classes(),
            [
                "T1053",
                "T1053.003",
                "T1053.006",
                "T1070",
                "T1070.001",
                "T1490"
            ]
        );
        let x = m.vectorise(&[v("systemctl"), v("timer")]);
        let s = m.scores(&x, false);
        let best = (0..s.len()).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap();
        assert_eq!(m.classes()[best], "T1053.006");
        assert_eq!(s[0], 0.0);
        let r = m.scores(&x, true);
        assert_eq!(r[0], r[2]);
        // Too few rules for a classifier: the centroid answers.
        assert!(!m.is_linear(4));
        let y = m.vectorise(&[v("wevtutil")]);
        let s = m.scores(&y, false);
        assert!(s[4] > s[5] && s[4] > s[1], "{s:?}");
        assert_eq!(m.contributions(&x, 2)[0].0, v("systemctl"));
        assert!(m.rule_has(m.neighbours(&x)[0].0, 0));
    }

    #[test]
    fn same_scores_whatever_the_thread_count() {
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let m = model();
                let x = m.vectorise(&[v("crontab"), v("timer"), v("vssadmin")]);
                m.scores(&x, true)
            })
        };
        assert_eq!(run(1), run(4));
        assert_eq!(run(3), run(1));
    }
}
