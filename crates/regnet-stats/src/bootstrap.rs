//! Empirical bootstraps, seeded (ChaCha8) so a report is reproducible.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Where the best models lie for one metric: the (alpha/2, 50, 100 − alpha/2)
/// percentiles of the metric's value at the lowest-error model of each
/// bootstrap sample (pycls `analysis.get_filters`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BestRange {
    pub lo: f64,
    pub median: f64,
    pub hi: f64,
}

/// pycls's filters: `b` times, draw `sample` of the models (a fraction if
/// ≤ 1, else a count) with replacement and keep the metric value of the one
/// with the lowest error. pycls's defaults are alpha 5, sample 0.25, b 2500.
pub fn best_range(
    values: &[f64],
    errors: &[f64],
    alpha: f64,
    sample: f64,
    b: usize,
    seed: u64,
) -> BestRange {
    let n = values.len().min(errors.len());
    if n == 0 {
        return BestRange {
            lo: f64::NAN,
            median: f64::NAN,
            hi: f64::NAN,
        };
    }
    let k = if sample > 1.0 {
        sample as usize
    } else {
        ((n as f64 * sample) as usize).max(1)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut kept: Vec<f64> = (0..b.max(1))
        .map(|_| {
            let best = (0..k)
                .map(|_| rng.random_range(0..n))
                .min_by(|&i, &j| errors[i].total_cmp(&errors[j]))
                .unwrap_or(0);
            values[best]
        })
        .collect();
    kept.sort_by(f64::total_cmp);
    BestRange {
        lo: percentile(&kept, alpha / 2.0),
        median: percentile(&kept, 50.0),
        hi: percentile(&kept, 100.0 - alpha / 2.0),
    }
}

/// Which summary of a population a confidence interval is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    Min,
    Mean,
}

impl Statistic {
    fn of(self, v: &[f64]) -> f64 {
        match self {
            Statistic::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
            Statistic::Mean => v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

/// A point estimate with a percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    /// Coverage, e.g. 0.95.
    pub level: f64,
}

/// Bootstrap interval of stat(a) − stat(b): both populations resampled with
/// replacement `b` times.
pub fn diff_interval(
    a: &[f64],
    b_pop: &[f64],
    stat: Statistic,
    b: usize,
    level: f64,
    seed: u64,
) -> Interval {
    let estimate = stat.of(a) - stat.of(b_pop);
    if a.is_empty() || b_pop.is_empty() {
        return Interval {
            estimate,
            lo: f64::NAN,
            hi: f64::NAN,
            level,
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let resample = |v: &[f64], rng: &mut ChaCha8Rng| -> Vec<f64> {
        (0..v.len())
            .map(|_| v[rng.random_range(0..v.len())])
            .collect()
    };
    let mut diffs: Vec<f64> = (0..b.max(1))
        .map(|_| {
            let ra = resample(a, &mut rng);
            let rb = resample(b_pop, &mut rng);
            stat.of(&ra) - stat.of(&rb)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0 * 100.0;
    Interval {
        estimate,
        lo: percentile(&diffs, tail),
        hi: percentile(&diffs, 100.0 - tail),
        level,
    }
}

/// numpy's default (linear) percentile of sorted values, p in [0, 100].
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = p.clamp(0.0, 100.0) / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (idx.floor() as usize, idx.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - lo as f64)
}
