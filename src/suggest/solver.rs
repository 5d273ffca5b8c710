//! L2-regularised logistic regression by dual coordinate descent (Yu, Huang and Lin, 2011), for one
//! class against the rest, on sparse unit vectors.
//!
//! Hand-written because the problems are small (a few thousand rules, tens of thousands of
//! features) and the result must not depend on the machine: the visiting order comes from a fixed
//! seed, so one class always gets the same weights whatever thread solves it.

use super::tfidf::SparseVec;

/// Solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverOptions {
    /// Inverse regularisation strength; each side's share is rebalanced by class size.
    pub c: f64,
    /// Value of the constant feature that carries the bias (regularised like the rest).
    pub bias: f64,
    pub max_epochs: usize,
    /// Stop when the largest projected gradient of an epoch falls below this.
    pub tolerance: f64,
}

impl Default for SolverOptions {
    fn default() -> Self {
        SolverOptions {
            c: 4.0,
            bias: 1.0,
            max_epochs: 6,
            tolerance: 0.05,
        }
    }
}

/// Weights of one class; `bias` is already multiplied by the constant feature.
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    pub w: Vec<f64>,
    pub bias: f64,
    /// Per example, its signed dual variable `y_i alpha_i`: `w` is the sum of `dual_i x_i`, so
    /// an example's own pull on its margin is `dual_i (|x_i|^2 + bias^2)`.
    pub dual: Vec<f64>,
}

impl Linear {
    pub fn margin(&self, x: &SparseVec) -> f64 {
        x.dot_dense(&self.w) + self.bias
    }
}

/// The dual bounds of a class with `n_pos` of `n` examples: `[negatives, positives]`, each side
/// weighing the same in total.
pub fn bounds(n: usize, n_pos: usize, opts: &SolverOptions) -> [f64; 2] {
    let n_pos = n_pos.clamp(1, n.max(1));
    let n_neg = (n - n_pos.min(n)).max(1);
    let c = |k: usize| opts.c * n as f64 / (2.0 * k as f64);
    [c(n_neg), c(n_pos)]
}

/// Trains one class: `positive[i]` says whether example `i` belongs to it. Class-balanced: both
/// sides weigh the same in total whatever their sizes.
pub fn train(xs: &[SparseVec], positive: &[bool], dim: usize, opts: &SolverOptions) -> Linear {
    let n = xs.len();
    let bound = bounds(n, positive.iter().filter(|&&p| p).count(), opts);
    let upper: Vec<f64> = positive.iter().map(|&p| bound[usize::from(p)]).collect();
    let y: Vec<f64> = positive
        .iter()
        .map(|&p| if p { 1.0 } else { -1.0 })
        .collect();
    let qii: Vec<f64> = xs
        .iter()
        .map(|x| x.norm_sq() + opts.bias * opts.bias)
        .collect();
    let mut alpha: Vec<f64> = upper.iter().map(|&c| (0.001 * c).min(1e-8)).collect();
    let mut w = vec![0.0; dim];
    let mut wb = 0.0;
    for i in 0..n {
        add(&mut w, &mut wb, &xs[i], y[i] * alpha[i], opts.bias);
    }
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut inner_eps = 1e-2;
    for _ in 0..opts.max_epochs {
        rng.shuffle(&mut order);
        let mut gmax: f64 = 0.0;
        let mut newton_steps = 0;
        for &i in &order {
            let c = upper[i];
            let b = y[i] * (xs[i].dot_dense(&w) + wb * opts.bias);
            let a = qii[i];
            // Work on whichever of alpha and c - alpha the sub-problem moves away from the bound.
            let (old, sign) = if 0.5 * a * (c - 2.0 * alpha[i]) + b < 0.0 {
                (c - alpha[i], -1.0)
            } else {
                (alpha[i], 1.0)
            };
            let (z, g0, steps) = newton(a, sign * b, c, old, inner_eps);
            gmax = gmax.max(g0.abs());
            newton_steps += steps;
            if steps > 0 {
                alpha[i] = if sign > 0.0 { z } else { c - z };
                add(&mut w, &mut wb, &xs[i], sign * (z - old) * y[i], opts.bias);
            }
        }
        if gmax < opts.tolerance {
            break;
        }
        if newton_steps <= n / 10 {
            inner_eps = (0.1 * inner_eps).max(1e-8);
        }
    }
    Linear {
        w,
        bias: wb * opts.bias,
        dual: alpha.iter().zip(&y).map(|(a, y)| a * y).collect(),
    }
}

/// Newton's method on `g(z) = z ln z + (c - z) ln(c - z) + a/2 (z - old)^2 + b (z - old)` over
/// `(0, c)`. Returns the new `z`, the first gradient and the number of steps taken.
fn newton(a: f64, b: f64, c: f64, old: f64, eps: f64) -> (f64, f64, usize) {
    let mut z = old;
    if c - z < 0.5 * c {
        z *= 0.1;
    }
    let grad = |z: f64| a * (z - old) + b + (z / (c - z)).ln();
    let mut gp = grad(z);
    let first = gp;
    let mut steps = 0;
    while steps < 100 && gp.abs() >= eps {
        let gpp = a + c / (c - z) / z;
        let next = z - gp / gpp;
        z = if next <= 0.0 { z * 0.1 } else { next };
        gp = grad(z);
        steps += 1;
    }
    (z, first, steps)
}

fn add(w: &mut [f64], wb: &mut f64, x: &SparseVec, scale: f64, bias: f64) {
    for (&i, &v) in x.idx.iter().zip(&x.val) {
        w[i as usize] += scale * f64::from(v);
    }
    *wb += scale * bias;
}

/// A small fixed-seed generator for the visiting order: reproducible everywhere.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle(&mut self, items: &mut [usize]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(idx: &[u32], val: &[f32]) -> SparseVec {
        let mut v = SparseVec {
            idx: idx.to_vec(),
            val: val.to_vec(),
        };
        v.normalise();
        v
    }

    #[test]
    fn separates_two_groups() {
        // Feature 0 marks the class, feature 1 the rest; feature 2 is shared noise.
        let xs = vec![
            x(&[0, 2], &[1.0, 0.3]),
            x(&[0], &[1.0]),
            x(&[1, 2], &[1.0, 0.3]),
            x(&[1], &[1.0]),
            x(&[1, 2], &[1.0, 1.0]),
        ];
        let pos = [true, true, false, false, false];
        let m = train(&xs, &pos, 3, &SolverOptions::default());
        assert!(m.w[0] > 0.5 && m.w[1] < -0.5, "{m:?}");
        for (xi, &p) in xs.iter().zip(&pos) {
            assert_eq!(m.margin(xi) > 0.0, p);
        }
        assert!(m.margin(&x(&[0], &[1.0])) > m.margin(&x(&[2], &[1.0])));
        // The weights are the duals' sum of the examples (what held-out scores rely on).
        let mut w = [0.0; 3];
        for (xi, d) in xs.iter().zip(&m.dual) {
            xi.idx
                .iter()
                .zip(&xi.val)
                .for_each(|(&j, &v)| w[j as usize] += d * f64::from(v));
        }
        assert!(
            w.iter().zip(&m.w).all(|(a, b)| (a - b).abs() < 1e-9),
            "{w:?}"
        );
        assert!(m.dual[0] > 0.0 && m.dual[2] < 0.0);
    }

    #[test]
    fn matches_the_primal_optimum() {
        // One feature, one positive at +1 and one negative at -1, C = 1, no bias: the optimum of
        // w^2/2 + 2 ln(1 + e^-w) solves w = 2 / (1 + e^w), i.e. w ≈ 0.6749.
        let xs = vec![x(&[0], &[1.0]), x(&[0], &[-1.0])];
        let opts = SolverOptions {
            c: 1.0,
            bias: 0.0,
            max_epochs: 200,
            tolerance: 1e-9,
        };
        let m = train(&xs, &[true, false], 1, &opts);
        assert!((m.w[0] - 2.0 / (1.0 + m.w[0].exp())).abs() < 1e-4, "{m:?}");
        assert!((m.w[0] - 0.6749).abs() < 1e-3, "{m:?}");
    }

    #[test]
    fn same_weights_every_time() {
        let xs: Vec<SparseVec> = (0..30u32)
            .map(|i| x(&[i % 4, 4 + i % 3], &[1.0, 0.5]))
            .collect();
        let pos: Vec<bool> = (0..30).map(|i| i % 4 == 0).collect();
        let a = train(&xs, &pos, 7, &SolverOptions::default());
        let b = train(&xs, &pos, 7, &SolverOptions::default());
        assert_eq!(a, b);
    }
}
