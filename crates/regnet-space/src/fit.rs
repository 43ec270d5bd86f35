//! Fitting the RegNet quantized linear rule to per-block widths (METHOD.md §6).
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
const WA_MAX: f64 = 256.0;
const KEEP: usize = 8;

/// Fits (w0, wa, wm) to per-block widths.
pub fn fit_regnet(widths: &[u64]) -> Result<RegNetFit> {
    if widths.is_empty() || widths.contains(&0) {
        return Err(SpaceError(
            "widths must be a non-empty list of positive integers".into(),
        ));
    }
    let target: Vec<f64> = widths.iter().map(|&w| (w as f64).ln()).collect();
    let d = widths.len();
    let w_first = widths[0];
    let lo = (w_first / 2 / Q).max(1) * Q;
    let hi = (w_first * 2).div_ceil(Q) * Q;
    let wa_max = WA_MAX.max(widths.iter().max().copied().unwrap_or(0) as f64);
    // Coarse grid, keeping the best few points.
    let mut best: Vec<(f64, u64, f64, f64)> = Vec::new();
    for w0 in (lo..=hi).step_by(Q as usize) {
        for wa in grid(0.0, wa_max, 1.0) {
            let logs = block_logs(w0, wa, d);
            for wm in grid(WM_RANGE.0, WM_RANGE.1, 0.05) {
                let e = error(&target, w0, wm, &logs);
                keep_best(&mut best, (e, w0, wa, wm));
            }
        }
    }
    // Refine around each kept point.
    let mut fine = Vec::new();
    for &(_, w0, wa0, wm0) in &best {
        for wa in grid((wa0 - 1.0).max(0.0), wa0 + 1.0, 0.01) {
            let logs = block_logs(w0, wa, d);
            for wm in grid((wm0 - 0.05).max(1.001), wm0 + 0.05, 0.001) {
                keep_best(&mut fine, (error(&target, w0, wm, &logs), w0, wa, wm));
            }
        }
    }
    let (e_fit, w0, wa, wm) = fine[0];
    let logs = block_logs(w0, wa, d);
    Ok(RegNetFit {
        d,
        w0,
        wa: round_to(wa, 2),
        wm: round_to(wm, 3),
        e_fit,
        widths_fit: logs.iter().map(|&l| quantized(w0, wm, l)).collect(),
    })
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

/// Quantized width of a block with log(u_j/w0) = `log_ratio` (METHOD.md §6 steps 2–3).
fn quantized(w0: u64, wm: f64, log_ratio: f64) -> u64 {
    let s = round_half_even(log_ratio / wm.ln());
    round_half_even(w0 as f64 * wm.powf(s) / Q as f64) as u64 * Q
}

fn error(target: &[f64], w0: u64, wm: f64, logs: &[f64]) -> f64 {
    let sum: f64 = target
        .iter()
        .zip(logs)
        .map(|(t, &l)| (t - (quantized(w0, wm, l).max(1) as f64).ln()).abs())
        .sum();
    sum / target.len() as f64
}

/// Keeps the `KEEP` lowest-error points, earliest first among equals.
fn keep_best(best: &mut Vec<(f64, u64, f64, f64)>, p: (f64, u64, f64, f64)) {
    if best.len() == KEEP && p.0 >= best[KEEP - 1].0 {
        return;
    }
    let at = best.partition_point(|q| q.0 <= p.0);
    best.insert(at, p);
    best.truncate(KEEP);
}
