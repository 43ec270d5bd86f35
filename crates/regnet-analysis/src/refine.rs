//! The refinement assistant: what the paper did by hand from AnyNetX_A to
//! AnyNetX_E. Each candidate constraint splits the population into the
//! models that satisfy it; if their normalized EDF is as good or better while
//! the space shrinks, the constraint is a refinement worth making.

use crate::metric::ComplexityMetric;
use crate::population::{ModelResult, Population};
use regnet_space::restriction::restriction_metrics;
use regnet_space::Restriction;
use regnet_stats::{ks_test, normalized_weights, Edf};
use serde::Serialize;

/// One candidate constraint, tested.
#[derive(Debug, Clone, Serialize)]
pub struct Refinement {
    pub constraint: String,
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

/// Whether a model satisfies a constraint (None: the model lacks the field).
type Test = Box<dyn Fn(&ModelResult) -> Option<bool>>;

/// The built-in candidates (for AnyNet populations) and the user's
/// `metric<=value` style constraints, ranked: largest mean-error improvement
/// first, then smallest share kept.
pub fn refine(
    p: &Population,
    extra: &[String],
    normalize_by: ComplexityMetric,
    bins: usize,
) -> Vec<Refinement> {
    let mut candidates: Vec<(String, Test)> = Vec::new();
    if p.models
        .iter()
        .all(|m| m.config["ANYNET"]["DEPTHS"].is_array())
    {
        for (label, r) in [
            ("shared b (one bottleneck ratio)", Restriction::SharedB),
            ("shared g (one group width)", Restriction::SharedG),
            ("widths non-decreasing", Restriction::NonDecreasingW),
            ("depths non-decreasing", Restriction::NonDecreasingD),
        ] {
            candidates.push((
                label.into(),
                Box::new(move |m| r.holds(&m.config, &m.metrics)),
            ));
        }
    }
    for c in extra {
        if let Ok(r) = c.parse::<Restriction>() {
            candidates.push((
                c.clone(),
                Box::new(move |m| {
                    let cx = ["flops", "params", "acts"]
                        .map(|k| m.metrics.get(k).copied().unwrap_or(f64::NAN));
                    let metrics = restriction_metrics(std::slice::from_ref(&r), &m.config, cx);
                    r.holds(&m.config, &metrics)
                }),
            ));
        }
    }
    let mut out: Vec<Refinement> = candidates
        .iter()
        .filter_map(|(name, test)| evaluate(p, name, test.as_ref(), normalize_by, bins))
        .collect();
    out.sort_by(|a, b| {
        a.mean_change
            .total_cmp(&b.mean_change)
            .then(a.share.total_cmp(&b.share))
    });
    out
}

fn evaluate(
    p: &Population,
    name: &str,
    test: &dyn Fn(&ModelResult) -> Option<bool>,
    normalize_by: ComplexityMetric,
    bins: usize,
) -> Option<Refinement> {
    let kept: Vec<&ModelResult> = p.models.iter().filter(|m| test(m) == Some(true)).collect();
    if p.models.is_empty() {
        return None;
    }
    if kept.is_empty() {
        // Listed all the same: a constraint no model meets is an answer too.
        return Some(Refinement {
            constraint: name.to_string(),
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
        constraint: name.to_string(),
        kept: kept.len(),
        share: kept.len() as f64 / p.models.len() as f64,
        mean_error: sk.mean,
        mean_change: sk.mean - sa.mean,
        min_change: Edf::new(&ek).summary().min - Edf::new(&ea).summary().min,
        ks_d: ks.d,
        p_value: ks.p_value,
    })
}

/// Checks a user constraint's syntax, for a one-line error before analysis.
pub fn check_constraint(s: &str) -> Result<(), String> {
    s.parse::<Restriction>().map(|_| ())
}
