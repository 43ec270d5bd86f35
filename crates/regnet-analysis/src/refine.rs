//! The refinement assistant: what the paper did by hand from AnyNetX_A to
//! AnyNetX_E. Each candidate constraint splits the population into the
//! models that satisfy it; if their normalized EDF is as good or better while
//! the space shrinks, the constraint is a refinement worth making. The
//! candidates are the AnyNet structural restrictions, the range of every
//! design parameter where the best models lie (pycls's filters), and the
//! user's own; the design loop (`regnet refine`) tests them in rank order.

use crate::metric::ComplexityMetric;
use crate::population::{ModelResult, Population};
use regnet_space::restriction::{design_metrics, restriction_metrics, Op};
use regnet_space::Restriction;
use regnet_stats::{best_range, ks_test, normalized_weights, Edf};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// One candidate constraint, tested.
#[derive(Debug, Clone, Serialize)]
pub struct Refinement {
    /// The restrictions, as `space derive --constraint` takes them.
    pub constraint: String,
    #[serde(serialize_with = "as_strings")]
    pub restrictions: Vec<Restriction>,
    /// Models that satisfy it, and their share of the population (an
    /// estimate of the share of the space it keeps, under the sampling
    /// distribution).
    pub kept: usize,
    pub share: f64,
    /// Normalized mean and min error of the kept models, and their change
    /// against the whole population (negative: the constraint helps).
    pub mean_error: f64,
    pub mean_change: f64,
    pub min_change: f64,
    /// KS test of the kept models' normalized EDF against the population's.
    pub ks_d: f64,
    pub p_value: f64,
}

fn as_strings<S: Serializer>(r: &[Restriction], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(r.iter().map(ToString::to_string))
}

/// How the best models' ranges are bootstrapped (pycls `get_filters`:
/// alpha 5, sample 0.25, 2,500 samples).
#[derive(Debug, Clone, Copy)]
pub struct RangeOptions {
    pub alpha: f64,
    pub sample: f64,
    pub bootstrap: usize,
    pub seed: u64,
}

/// The candidates, tested and ranked: largest normalized mean-error
/// improvement first, then the smallest share kept. `extra` are the user's
/// `metric<=value` style constraints.
pub fn refine(
    p: &Population,
    extra: &[Restriction],
    ranges: RangeOptions,
    normalize_by: ComplexityMetric,
    bins: usize,
) -> Vec<Refinement> {
    let mut candidates: Vec<Vec<Restriction>> = Vec::new();
    if p.models
        .iter()
        .all(|m| m.config["ANYNET"]["DEPTHS"].is_array())
    {
        candidates.extend(
            [
                Restriction::SharedB,
                Restriction::SharedG,
                Restriction::NonDecreasingW,
                Restriction::NonDecreasingD,
            ]
            .map(|r| vec![r]),
        );
    }
    candidates.extend(best_ranges(p, ranges));
    candidates.extend(extra.iter().map(|r| vec![r.clone()]));
    let mut out: Vec<Refinement> = candidates
        .into_iter()
        .filter_map(|rs| evaluate(p, rs, normalize_by, bins))
        .collect();
    out.sort_by(|a, b| {
        a.mean_change
            .total_cmp(&b.mean_change)
            .then(a.share.total_cmp(&b.share))
    });
    out
}

/// Fewest models a candidate must keep for the loop to test it: a split
/// of one or two models says nothing about a space.
pub const MIN_KEPT: usize = 3;

/// The candidate the design loop tests next: the best-ranked one that
/// shrinks the space (keeps some but not all of the population, at least
/// [`MIN_KEPT`] models), whose kept models look no worse than `margin`
/// points, and that was not tried against this parent yet.
pub fn next_candidate<'a>(
    screening: &'a [Refinement],
    tried: &[Vec<Restriction>],
    margin: f64,
) -> Option<&'a Refinement> {
    screening.iter().find(|r| {
        r.kept >= MIN_KEPT
            && r.share < 1.0
            && r.mean_change < margin
            && !tried.contains(&r.restrictions)
    })
}

/// Each design parameter's range where the best models lie (the
/// bootstrap of [`best_range`]), as restrictions: a side is kept only
/// where it excludes some model. Whole-number parameters get whole bounds
/// (`d3>=2.4` is `d3>=3`); others are rounded outwards to 3 digits.
fn best_ranges(p: &Population, o: RangeOptions) -> Vec<Vec<Restriction>> {
    let per_model: Vec<BTreeMap<String, f64>> = p
        .models
        .iter()
        .map(|m| design_metrics(&m.config, true))
        .collect();
    let Some(first) = per_model.first() else {
        return Vec::new();
    };
    let errors = p.errors();
    first
        .keys()
        .filter(|k| per_model.iter().all(|m| m.contains_key(*k)))
        .filter_map(|name| {
            let v: Vec<f64> = per_model.iter().map(|m| m[name]).collect();
            let b = best_range(&v, &errors, o.alpha, o.sample, o.bootstrap, o.seed);
            let whole = v.iter().all(|x| x.fract() == 0.0);
            let (lo, hi) = if whole {
                (b.lo.ceil(), b.hi.floor())
            } else {
                (round3(b.lo, f64::floor), round3(b.hi, f64::ceil))
            };
            let (min, max) = v
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, z), &x| {
                    (a.min(x), z.max(x))
                });
            let side = |op, value| Restriction::Range {
                metric: name.clone(),
                op,
                value,
            };
            let mut rs = Vec::new();
            if lo.is_finite() && lo > min {
                rs.push(side(Op::Ge, lo));
            }
            if hi.is_finite() && hi < max {
                rs.push(side(Op::Le, hi));
            }
            (!rs.is_empty()).then_some(rs)
        })
        .collect()
}

/// `v` to 3 significant digits, rounded by `dir` (floor or ceil).
fn round3(v: f64, dir: fn(f64) -> f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(2 - v.abs().log10().floor() as i32);
    dir(v * scale) / scale
}

fn evaluate(
    p: &Population,
    restrictions: Vec<Restriction>,
    normalize_by: ComplexityMetric,
    bins: usize,
) -> Option<Refinement> {
    if p.models.is_empty() {
        return None;
    }
    let constraint = restrictions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let kept: Vec<&ModelResult> = p
        .models
        .iter()
        .filter(|m| holds(&restrictions, m))
        .collect();
    if kept.is_empty() {
        // Listed all the same: a constraint no model meets is an answer too.
        return Some(Refinement {
            constraint,
            restrictions,
            kept: 0,
            share: 0.0,
            mean_error: f64::NAN,
            mean_change: f64::NAN,
            min_change: f64::NAN,
            ks_d: f64::NAN,
            p_value: f64::NAN,
        });
    }
    let cx = |ms: &[&ModelResult]| -> Vec<f64> {
        ms.iter()
            .map(|m| {
                m.metrics
                    .get(normalize_by.name())
                    .copied()
                    .unwrap_or(f64::NAN)
            })
            .collect()
    };
    let all: Vec<&ModelResult> = p.models.iter().collect();
    let (ck, ca) = (cx(&kept), cx(&all));
    let w = normalized_weights(&[&ck, &ca], bins);
    let errs = |ms: &[&ModelResult]| -> Vec<f64> { ms.iter().map(|m| m.error).collect() };
    let (ek, ea) = (errs(&kept), errs(&all));
    let (fk, fa) = (Edf::weighted(&ek, &w[0]), Edf::weighted(&ea, &w[1]));
    if fk.is_empty() || fa.is_empty() {
        return None;
    }
    let (sk, sa) = (fk.summary(), fa.summary());
    let ks = ks_test(&fk, &fa);
    Some(Refinement {
        constraint,
        restrictions,
        kept: kept.len(),
        share: kept.len() as f64 / p.models.len() as f64,
        mean_error: sk.mean,
        mean_change: sk.mean - sa.mean,
        min_change: Edf::new(&ek).summary().min - Edf::new(&ea).summary().min,
        ks_d: ks.d,
        p_value: ks.p_value,
    })
}

/// Whether a model satisfies every restriction (one it lacks a field for
/// does not).
fn holds(restrictions: &[Restriction], m: &ModelResult) -> bool {
    let cx = ["flops", "params", "acts"].map(|k| m.metrics.get(k).copied().unwrap_or(f64::NAN));
    let metrics = restriction_metrics(restrictions, &m.config, cx);
    restrictions
        .iter()
        .all(|r| r.holds(&m.config, &metrics) == Some(true))
}
