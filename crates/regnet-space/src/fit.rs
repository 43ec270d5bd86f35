//! Fitting the RegNet quantized linear rule to per-block widths (docs/method.md §5).
//!
//! Given widths w_j, find (w0, wa, wm) whose quantized widths ŵ_j minimize
//! e_fit = mean_j |log w_j − log ŵ_j|, by a coarse grid search refined around
//! the best coarse points. A model that is exactly a RegNet fits with e_fit 0.

use crate::{Result, SpaceError};
use regnet_spec::pyround::round_half_even;
use serde::Serialize;

/// The best quantized-linear description of a width sequence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegNetFit {
    /// Number of blocks.
    pub d: usize,
    pub w0: u64,
    pub wa: f64,
    pub wm: f64,
    /// Mean absolute log-width error.
    pub e_fit: f64,
    /// The widths the fitted parameters produce.
    pub widths_fit: Vec<u64>,
}

const Q: u64 = 8;
const WM_RANGE: (f64, f64) = (1.2, 4.0);
const KEEP: usize = 8;
/// Coarse-grid resolution: slopes tried between the bounds below.
const WA_STEPS: usize = 200;
/// At most this many initial widths are tried besides w_0 and its neighbours.
const W0_SPREAD: usize = 24;

/// Fits (w0, wa, wm) to per-block widths.
pub fn fit_regnet(widths: &[u64]) -> Result<RegNetFit> {
    if widths.is_empty() || widths.contains(&0) {
        return Err(SpaceError(
            "widths must be a non-empty list of positive integers".into(),
        ));
    }
    let scorer = Scorer::new(widths);
    // Coarse grid, keeping the best few points.
    let mut best: Vec<Point> = Vec::new();
    for w0 in w0_candidates(widths[0]) {
        for wa in wa_candidates(widths, w0) {
            let logs = block_logs(w0, wa, widths.len());
            for wm in grid(WM_RANGE.0, WM_RANGE.1, 0.05) {
                keep_best(&mut best, (scorer.error(w0, wm, &logs), w0, wa, wm));
            }
        }
    }
    // Refine around each kept point.
    let mut fine = Vec::new();
    for &(_, w0, wa0, wm0) in &best {
        let step = (wa0 * 0.01).max(0.01);
        for wa in grid((wa0 - 100.0 * step).max(0.0), wa0 + 100.0 * step, step) {
            let logs = block_logs(w0, wa, widths.len());
            for wm in grid((wm0 - 0.05).max(1.001), wm0 + 0.05, 0.001) {
                keep_best(&mut fine, (scorer.error(w0, wm, &logs), w0, wa, wm));
            }
        }
    }
    let (e_fit, w0, wa, wm) = fine[0];
    let logs = block_logs(w0, wa, widths.len());
    Ok(RegNetFit {
        d: widths.len(),
        w0,
        wa: round_to(wa, 2),
        wm: round_to(wm, 3),
        e_fit,
        widths_fit: logs.iter().map(|&l| quantized(w0, wm, l)).collect(),
    })
}

/// (error, w0, wa, wm).
type Point = (f64, u64, f64, f64);

/// Multiples of 8 around the first width: it and its neighbours, plus an
/// even spread over [w_0 / 2, 2 w_0] (the first block's width is w0 itself
/// in an exact RegNet, and close to it after compatibility adjustment).
fn w0_candidates(w_first: u64) -> Vec<u64> {
    let near = (w_first / Q).max(1) * Q;
    let lo = (w_first / 2 / Q).max(1);
    let hi = (w_first * 2).div_ceil(Q);
    let step = ((hi - lo) as usize / W0_SPREAD).max(1);
    let mut v: Vec<u64> = (lo..=hi).step_by(step).map(|k| k * Q).collect();
    v.extend([near.saturating_sub(Q).max(Q), near, near + Q]);
    v.sort_unstable();
    v.dedup();
    v
}

/// Slopes from 0 to where the last block's continuous width u_{d-1} reaches
/// twice the largest width (no quantization rounds further than that).
fn wa_candidates(widths: &[u64], w0: u64) -> Vec<f64> {
    let d = widths.len();
    if d == 1 {
        return vec![0.0];
    }
    let w_max = *widths.iter().max().expect("non-empty") as f64;
    let hi = ((2.0 * w_max - w0 as f64) / (d - 1) as f64).max(1.0);
    let step = hi / WA_STEPS as f64;
    grid(0.0, hi, step).collect()
}

fn round_to(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

/// `lo, lo + step, ..., <= hi`, computed without accumulating error.
fn grid(lo: f64, hi: f64, step: f64) -> impl Iterator<Item = f64> {
    let n = ((hi - lo) / step + 1e-9).floor() as usize;
    (0..=n).map(move |i| lo + i as f64 * step)
}

/// log(u_j / w0) for u_j = w0 + wa·j: the part of the rule independent of wm.
fn block_logs(w0: u64, wa: f64, d: usize) -> Vec<f64> {
    let w0 = w0 as f64;
    (0..d).map(|j| ((j as f64 * wa + w0) / w0).ln()).collect()
}

/// Quantized width of a block with log(u_j/w0) = `log_ratio` (docs/method.md §5 steps 2–3).
fn quantized(w0: u64, wm: f64, log_ratio: f64) -> u64 {
    let s = round_half_even(log_ratio / wm.ln());
    round_half_even(w0 as f64 * wm.powi(s as i32) / Q as f64) as u64 * Q
}

/// e_fit of candidate parameters against fixed target widths, with the
/// logs of quantized widths cached (they are multiples of 8).
struct Scorer {
    target: Vec<f64>,
    ln_multiple_of_q: Vec<f64>,
}

impl Scorer {
    fn new(widths: &[u64]) -> Self {
        let max_k = (*widths.iter().max().expect("non-empty") / Q + 1) * 8;
        Scorer {
            target: widths.iter().map(|&w| (w as f64).ln()).collect(),
            ln_multiple_of_q: (0..=max_k).map(|k| ((k * Q).max(1) as f64).ln()).collect(),
        }
    }

    fn ln_width(&self, w: u64) -> f64 {
        self.ln_multiple_of_q
            .get((w / Q) as usize)
            .copied()
            .unwrap_or_else(|| (w.max(1) as f64).ln())
    }

    fn error(&self, w0: u64, wm: f64, logs: &[f64]) -> f64 {
        let sum: f64 = self
            .target
            .iter()
            .zip(logs)
            .map(|(t, &l)| (t - self.ln_width(quantized(w0, wm, l))).abs())
            .sum();
        sum / self.target.len() as f64
    }
}

/// Keeps the `KEEP` lowest-error points, earliest first among equals.
fn keep_best(best: &mut Vec<Point>, p: Point) {
    if best.len() == KEEP && p.0 >= best[KEEP - 1].0 {
        return;
    }
    let at = best.partition_point(|q| q.0 <= p.0);
    best.insert(at, p);
    best.truncate(KEEP);
}
