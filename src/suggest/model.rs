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
            prune: 1e-2,
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
    /// Logistic regression; the weights live in [`Model::weights`]; `dual` is each training
    /// rule's signed dual variable, to take the rule's own pull out of its margin.
    Linear {
        bias: f64,
        dual: Vec<f32>,
        /// The dual bounds (the balanced `C`) of the negatives and the positives.
        upper: [f64; 2],
    },
    /// Cosine to the L2-normalised mean of the tagged rules; `norm` is the length of their sum,
    /// to take one member out exactly.
    Centroid { unit: SparseVec, norm: f64 },
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
    /// Built on the first held-out score: see [`Model::leverages`].
    leverage: std::sync::OnceLock<Vec<Vec<f32>>>,
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
            leverage: std::sync::OnceLock::new(),
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
        self.scores_without(x, None, roll_up)
    }

    /// [`Model::scores`] of training rule `held` (its vector `x`) as if the rule had not been
    /// trained on: its dual share leaves each classifier's margin, it leaves the centroids it
    /// belongs to and the neighbour vote. Exact for centroids and neighbours; for a classifier it
    /// is a one-Newton-step leave-one-out (the dual's pull times the rule's leverage under a
    /// diagonal Hessian, [`Model::leverages`]), not a retraining: the other rules' duals stay.
    pub fn scores_without(&self, x: &SparseVec, held: Option<usize>, roll_up: bool) -> Vec<f64> {
        let margins = self.margins(x, held);
        let mut out: Vec<f64> = self
            .scorers
            .iter()
            .zip(margins)
            .map(|(s, m)| match s {
                Scorer::Linear { .. } => sigmoid(m),
                Scorer::Centroid { unit, norm } => {
                    self.opts.centroid_scale * centroid_cosine(x, unit, *norm, m > 0.0).max(0.0)
                }
                Scorer::RollUpOnly | Scorer::Skipped => 0.0,
            })
            .collect();
        self.fuse_text(x, &mut out);
        self.vote(x, held, &mut out);
        if roll_up {
            for c in 0..out.len() {
                if let Some(p) = self.parent[c] {
                    out[p] = out[p].max(out[c]);
                }
            }
        }
        out
    }

    /// Per class: the classifier's margin (less `held`'s own pull), or for a centroid 1.0 when
    /// `held` is one of its members (else 0.0).
    fn margins(&self, x: &SparseVec, held: Option<usize>) -> Vec<f64> {
        let mut margins: Vec<f64> = self
            .scorers
            .iter()
            .enumerate()
            .map(|(c, s)| match (s, held) {
                (Scorer::Linear { bias, dual, .. }, Some(r)) => {
                    let leverage = self.leverage.get_or_init(|| self.leverages());
                    bias - f64::from(dual[r]) * f64::from(leverage[c][r])
                }
                (Scorer::Linear { bias, .. }, None) => *bias,
                (Scorer::Centroid { .. }, Some(r)) => {
                    f64::from(u8::from(self.labels[r].contains(&(c as u32))))
                }
                _ => 0.0,
            })
            .collect();
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            for &(c, w) in &self.weights[j as usize] {
                margins[c as usize] += f64::from(v) * f64::from(w);
            }
        }
        margins
    }

    /// Per linear class and training rule `r`: `x_r' H^-1 x_r`, `H` the Hessian of the other
    /// rules' loss plus the regulariser, taken diagonal (bias included): how far removing the
    /// rule moves its own margin, per unit of its dual. Near `|x_r|^2 + bias^2` for a rule unlike
    /// the others; small for one whose features other rules of the class share (they take over
    /// its pull). Built once, on the first held-out score, from the postings (the training
    /// vectors by feature).
    fn leverages(&self) -> Vec<Vec<f32>> {
        let b2 = self.opts.solver.bias * self.opts.solver.bias;
        (0..self.scorers.len())
            .into_par_iter()
            .map(|c| {
                let Scorer::Linear { dual, upper, .. } = &self.scorers[c] else {
                    return Vec::new();
                };
                let own: Vec<f64> = (0..dual.len()).map(|j| curvature(dual, upper, j)).collect();
                let total: f64 = own.iter().sum();
                let mut h: Vec<f64> = own
                    .iter()
                    .map(|d| b2 / (1.0 + b2 * (total - d).max(0.0)))
                    .collect();
                for post in &self.postings {
                    let sq = |u: f32| f64::from(u) * f64::from(u);
                    let diag: f64 = post.iter().map(|&(j, u)| own[j as usize] * sq(u)).sum();
                    for &(j, u) in post {
                        let rest = (diag - own[j as usize] * sq(u)).max(0.0);
                        h[j as usize] += sq(u) / (1.0 + rest);
                    }
                }
                h.into_iter().map(|v| v as f32).collect()
            })
            .collect()
    }

    /// Blends in the neighbour vote (`neighbour_weight`), `held` not voting.
    fn vote(&self, x: &SparseVec, held: Option<usize>, out: &mut [f64]) {
        let lambda = self.opts.neighbour_weight;
        if lambda <= 0.0 {
            return;
        }
        let near = self.neighbours_without(x, held);
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

    /// Whether `class` (or one of its sub-techniques) is taught by a training rule other than
    /// `held`: a tag the model learnt only from the rule itself cannot be judged.
    pub fn known_without(&self, class: usize, held: usize) -> bool {
        (0..self.labels.len()).any(|r| r != held && self.rule_has(r, class))
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
                    Scorer::Centroid { unit, .. } => {
                        let k = unit.idx.binary_search(&j).ok()?;
                        f64::from(unit.val[k])
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
        self.neighbours_without(x, None)
    }

    /// [`Model::neighbours`] leaving out training rule `held`.
    pub fn neighbours_without(&self, x: &SparseVec, held: Option<usize>) -> Vec<(usize, f64)> {
        let mut sims = vec![0.0f64; self.labels.len()];
        for (&j, &v) in x.idx.iter().zip(&x.val) {
            for &(r, u) in &self.postings[j as usize] {
                sims[r as usize] += f64::from(v) * f64::from(u);
            }
        }
        let mut out: Vec<(usize, f64)> = sims
            .into_iter()
            .enumerate()
            .filter(|&(r, s)| s > 0.0 && Some(r) != held)
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

/// The loss curvature of training rule `j` in a classifier, from its dual alone: at the optimum
/// `alpha = C sigma(-y m)`, so `C sigma'(m) = alpha (1 - alpha / C)`.
fn curvature(dual: &[f32], upper: &[f64; 2], j: usize) -> f64 {
    let a = f64::from(dual[j]).abs();
    let c = upper[usize::from(dual[j] > 0.0)];
    a * (1.0 - a / c).max(0.0)
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
        let (unit, norm) = centroid(xs, &positive);
        return (Scorer::Centroid { unit, norm }, Vec::new());
    }
    let linear = solver::train(xs, &positive, dim, &opts.solver);
    let w = linear
        .w
        .iter()
        .enumerate()
        .filter(|(_, w)| w.abs() >= opts.prune)
        .map(|(j, &w)| (j as u32, w as f32))
        .collect();
    let dual = linear.dual.iter().map(|&d| d as f32).collect();
    (
        Scorer::Linear {
            bias: linear.bias,
            dual,
            upper: solver::bounds(labels.len(), n_pos, &opts.solver),
        },
        w,
    )
}

/// The unit mean direction of the members and the length of their sum.
fn centroid(xs: &[SparseVec], members: &[bool]) -> (SparseVec, f64) {
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
    let norm = out.norm_sq().sqrt();
    out.normalise();
    (out, norm)
}

/// Cosine of `x` to a centroid (unit direction, sum length `norm`), with `x` itself taken out of
/// the sum when `member`: `x.(S - x) / |S - x|`.
fn centroid_cosine(x: &SparseVec, unit: &SparseVec, norm: f64, member: bool) -> f64 {
    let d = x.dot(unit);
    if !member {
        return d;
    }
    let xx = x.norm_sq();
    let rest_sq = norm * norm - 2.0 * norm * d + xx;
    if rest_sq <= 1e-12 {
        return 0.0;
    }
    (norm * d - xx) / rest_sq.sqrt()
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
    fn held_out_rules_lose_their_own_pull() {
        let m = model();
        let d = data();
        // Rule 1 is the only one with `y0`: held out, it keeps its class from the rules like it
        // but loses the margin its own training gave it.
        let x = m.vectorise(&d[1].0);
        let c = m.class_index("T1053.006").unwrap();
        let (with, without) = (m.scores(&x, false), m.scores_without(&x, Some(1), false));
        assert!(without[c] < with[c], "{} {}", without[c], with[c]);
        let best = (0..without.len())
            .max_by(|&a, &b| without[a].total_cmp(&without[b]))
            .unwrap();
        assert_eq!(best, c);
        // The lone T1070.001 rule: held out, its centroid has no other member.
        let last = d.len() - 1;
        let k = m.class_index("T1070.001").unwrap();
        let x = m.vectorise(&d[last].0);
        assert!(m.scores(&x, false)[k] > 0.5);
        assert_eq!(m.scores_without(&x, Some(last), false)[k], 0.0);
        assert!(!m.known_without(k, last) && m.known_without(c, 1));
        assert!(m
            .neighbours_without(&x, Some(last))
            .iter()
            .all(|n| n.0 != last));
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
                let mut s = m.scores(&x, true);
                s.extend(m.scores_without(&m.vectorise(&data()[1].0), Some(1), true));
                s
            })
        };
        assert_eq!(run(1), run(4));
        assert_eq!(run(3), run(1));
    }
}
