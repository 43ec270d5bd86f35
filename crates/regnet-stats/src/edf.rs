//! The (weighted) empirical distribution function of errors.

use serde::Serialize;

/// F(e) = Σ w_i 1[e_i < e] over a population, weights summing to 1 (equal
/// weights 1/n for the plain error EDF).
#[derive(Debug, Clone, PartialEq)]
pub struct Edf {
    /// (error, weight), sorted by error; weights sum to 1.
    points: Vec<(f64, f64)>,
}

impl Edf {
    /// The plain EDF of `errors` (each weighs 1/n).
    pub fn new(errors: &[f64]) -> Self {
        let w = vec![1.0; errors.len()];
        Self::weighted(errors, &w)
    }

    /// The EDF with `weights` (normalized here to sum to 1; models of weight
    /// 0 do not count). Non-finite errors are left out.
    pub fn weighted(errors: &[f64], weights: &[f64]) -> Self {
        let mut points: Vec<(f64, f64)> = errors
            .iter()
            .zip(weights)
            .filter(|(e, w)| e.is_finite() && **w > 0.0)
            .map(|(&e, &w)| (e, w))
            .collect();
        let total: f64 = points.iter().map(|p| p.1).sum();
        for p in &mut points {
            p.1 /= total;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        Edf { points }
    }

    /// Number of models with positive weight.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// F(e): the weight of models with error strictly below `e`.
    pub fn at(&self, e: f64) -> f64 {
        self.points
            .iter()
            .take_while(|p| p.0 < e)
            .map(|p| p.1)
            .sum()
    }

    /// The curve's corners: (error, F just after it), one per distinct error,
    /// for plotting a step function.
    pub fn steps(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        let mut cum = 0.0;
        for &(e, w) in &self.points {
            cum += w;
            match out.last_mut() {
                Some(last) if last.0 == e => last.1 = cum,
                _ => out.push((e, cum)),
            }
        }
        out
    }

    /// The distinct errors, sorted.
    pub fn errors(&self) -> Vec<f64> {
        self.steps().into_iter().map(|s| s.0).collect()
    }

    /// n, min, (weighted) mean and (weighted) median error.
    pub fn summary(&self) -> Summary {
        let mean = self.points.iter().map(|(e, w)| e * w).sum();
        Summary {
            n: self.len(),
            min: self.points.first().map_or(f64::NAN, |p| p.0),
            mean: if self.is_empty() { f64::NAN } else { mean },
            median: self.quantile(0.5),
        }
    }

    /// The smallest error at which F reaches `q` (weighted quantile; with
    /// equal weights and an even n, the mean of the two middle errors for q = 0.5).
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.points.len();
        if n == 0 {
            return f64::NAN;
        }
        let equal = self
            .points
            .iter()
            .all(|p| (p.1 - 1.0 / n as f64).abs() < 1e-12);
        if equal && q == 0.5 && n % 2 == 0 {
            return (self.points[n / 2 - 1].0 + self.points[n / 2].0) / 2.0;
        }
        let mut cum = 0.0;
        for &(e, w) in &self.points {
            cum += w;
            if cum >= q - 1e-12 {
                return e;
            }
        }
        self.points[n - 1].0
    }

    /// Kish's effective sample size (Σw)² / Σw²: n for equal weights, less
    /// when a few models carry most of the weight.
    pub fn effective_n(&self) -> f64 {
        let s2: f64 = self.points.iter().map(|p| p.1 * p.1).sum();
        if s2 == 0.0 {
            0.0
        } else {
            1.0 / s2
        }
    }
}

/// What the paper's legends print: n | min | mean (plus the median).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub n: usize,
    pub min: f64,
    pub mean: f64,
    pub median: f64,
}
