//! Everything the report shows, computed once into a serializable value.

use crate::metric::ComplexityMetric;
use crate::population::{MissingModel, ModelResult, Population};
use crate::refine::{refine, RangeOptions, Refinement};
use crate::sequential::{Plan, Sequential};
use regnet_space::fit_regnet;
use regnet_space::restriction::block_widths;
use regnet_stats::normalize::default_bins;
use regnet_stats::{
    best_range, diff_interval, dkw_half_width, ks_test, normalized_weights, spearman, BestRange,
    Edf, Interval, KsTest, Statistic, Summary,
};
use serde::Serialize;

/// What to compute.
#[derive(Debug, Clone)]
pub struct Options {
    /// Metrics for the error-vs-metric views (default: every metric all
    /// models have).
    pub metrics: Option<Vec<String>>,
    /// Complexity metric the normalized EDFs equalize: flops, params or acts.
    pub normalize_by: ComplexityMetric,
    /// Bins of log-complexity (default about √n, at most 10).
    pub bins: Option<usize>,
    /// Models in the top-models table, and training curves of the best and worst.
    pub top_k: usize,
    pub curves_k: usize,
    /// Bootstrap of the best models' range (pycls: 5, 0.25, 2500).
    pub alpha: f64,
    pub sample: f64,
    pub bootstrap: usize,
    pub seed: u64,
    /// Extra refinement constraints, e.g. `anynet_b<=1`.
    pub constraints: Vec<regnet_space::Restriction>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            metrics: None,
            normalize_by: ComplexityMetric::Flops,
            bins: None,
            top_k: 10,
            curves_k: 5,
            alpha: 5.0,
            sample: 0.25,
            bootstrap: 2500,
            seed: 0,
            constraints: Vec::new(),
        }
    }
}

impl Options {
    /// The bootstrap of the best models' ranges.
    pub fn ranges(&self) -> RangeOptions {
        RangeOptions {
            alpha: self.alpha,
            sample: self.sample,
            bootstrap: self.bootstrap,
            seed: self.seed,
        }
    }
}

/// The analysis of one or more populations.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub normalized_by: ComplexityMetric,
    pub bins: usize,
    pub populations: Vec<PopulationAnalysis>,
    /// The first population against each other one.
    pub comparisons: Vec<Comparison>,
    /// The sequential comparison of the first two populations, when asked.
    pub sequential: Option<Sequential>,
    /// The fixed-n plan from the first two populations as pilots, when asked.
    pub plan: Option<Plan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PopulationAnalysis {
    pub name: String,
    /// Models sampled; `missing` lists those not trained to the end.
    pub sampled: usize,
    pub missing: Vec<MissingModel>,
    pub summary: Summary,
    pub normalized_summary: Summary,
    /// EDF corners (error, F), plain and normalized.
    pub edf: Vec<(f64, f64)>,
    pub normalized_edf: Vec<(f64, f64)>,
    /// Half-widths of the 95% DKW bands of the two EDFs (the normalized
    /// one at its effective size): how far each can be from the truth.
    pub dkw: f64,
    pub normalized_dkw: f64,
    pub metrics: Vec<MetricStats>,
    /// Every model, best first.
    pub models: Vec<ModelResult>,
    pub top_k: usize,
    pub curves_k: usize,
    pub regnet_fit: Option<RegNetFitSummary>,
    pub refinement: Vec<Refinement>,
}

/// Error against one design metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricStats {
    pub name: String,
    /// Where the best models lie (bootstrap, pycls filters).
    pub best: BestRange,
    /// Spearman's ρ of the metric with error (negative: larger is better).
    pub spearman: f64,
}

/// Two populations compared.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// KS test of the normalized EDFs, and of the plain ones.
    pub ks: KsTest,
    pub ks_plain: KsTest,
    /// Bootstrap 95% intervals of a − b for the mean and min error.
    pub mean_diff: Interval,
    pub min_diff: Interval,
    /// The population with the lower mean error, named only when the 95%
    /// bootstrap interval of the mean difference excludes zero; none when
    /// the data cannot tell the two apart.
    pub better: Option<String>,
}

impl Comparison {
    /// The finding in one sentence, with its uncertainty: a better space is
    /// named only when the interval of the mean difference excludes zero.
    pub fn verdict(&self) -> String {
        let d = &self.mean_diff;
        let interval = format!(
            "mean error {} − {} = {:.2} points, 95% bootstrap interval [{:.2}, {:.2}]",
            self.a, self.b, d.estimate, d.lo, d.hi
        );
        match &self.better {
            Some(b) => format!("{b} is better: {interval}, which excludes zero"),
            None => format!(
                "the data cannot tell {} and {} apart: {interval}, which includes zero",
                self.a, self.b
            ),
        }
    }
}

/// How close the good models of an AnyNet population are to RegNets.
#[derive(Debug, Clone, Serialize)]
pub struct RegNetFitSummary {
    /// Fits of the top models: (name, error, w0, wa, wm, e_fit).
    pub top: Vec<FitRow>,
    /// The best quarter of the population.
    pub good: usize,
    /// Share of good models with e_fit at most `threshold`.
    pub close_share: f64,
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FitRow {
    pub name: String,
    pub error: f64,
    pub w0: f64,
    pub wa: f64,
    pub wm: f64,
    pub e_fit: f64,
}

/// A model is "close to a RegNet" when its e_fit is at most this.
pub const CLOSE_FIT: f64 = 0.1;

/// Analyzes the populations (their models are sorted best first).
pub fn analyze(pops: &[Population], o: &Options) -> Analysis {
    let sizes: Vec<usize> = pops.iter().map(|p| p.models.len()).collect();
    let bins = o.bins.unwrap_or_else(|| default_bins(&sizes));
    let cx: Vec<Vec<f64>> = pops
        .iter()
        .map(|p| p.metric(o.normalize_by.name()))
        .collect();
    let refs: Vec<&[f64]> = cx.iter().map(Vec::as_slice).collect();
    let weights = normalized_weights(&refs, bins);
    let plain: Vec<Edf> = pops.iter().map(|p| Edf::new(&p.errors())).collect();
    let normed: Vec<Edf> = pops
        .iter()
        .zip(&weights)
        .map(|(p, w)| Edf::weighted(&p.errors(), w))
        .collect();
    let populations = pops
        .iter()
        .zip(plain.iter().zip(&normed))
        .map(|(p, (e, n))| population(p, e, n, o, bins))
        .collect();
    let comparisons = (1..pops.len())
        .map(|i| {
            let interval = |s| {
                diff_interval(
                    &pops[0].errors(),
                    &pops[i].errors(),
                    s,
                    o.bootstrap,
                    0.95,
                    o.seed,
                )
            };
            let mean_diff = interval(Statistic::Mean);
            Comparison {
                a: pops[0].name.clone(),
                b: pops[i].name.clone(),
                ks: ks_test(&normed[0], &normed[i]),
                ks_plain: ks_test(&plain[0], &plain[i]),
                better: better(&pops[0].name, &pops[i].name, &mean_diff),
                mean_diff,
                min_diff: interval(Statistic::Min),
            }
        })
        .collect();
    Analysis {
        normalized_by: o.normalize_by,
        bins,
        populations,
        comparisons,
        sequential: None,
        plan: None,
    }
}

/// `a` when the whole interval of a − b is below zero, `b` when above.
fn better(a: &str, b: &str, diff: &Interval) -> Option<String> {
    if diff.hi < 0.0 {
        Some(a.to_string())
    } else if diff.lo > 0.0 {
        Some(b.to_string())
    } else {
        None
    }
}

fn population(
    p: &Population,
    plain: &Edf,
    normed: &Edf,
    o: &Options,
    bins: usize,
) -> PopulationAnalysis {
    let errors = p.errors();
    let names = o.metrics.clone().unwrap_or_else(|| p.metric_names());
    let metrics = names
        .iter()
        .map(|name| {
            let v = p.metric(name);
            MetricStats {
                name: name.clone(),
                best: best_range(&v, &errors, o.alpha, o.sample, o.bootstrap, o.seed),
                spearman: spearman(&v, &errors),
            }
        })
        .collect();
    let mut models = p.models.clone();
    models.sort_by(|a, b| a.error.total_cmp(&b.error));
    PopulationAnalysis {
        name: p.name.clone(),
        sampled: p.sampled(),
        missing: p.missing.clone(),
        summary: plain.summary(),
        normalized_summary: normed.summary(),
        edf: plain.steps(),
        normalized_edf: normed.steps(),
        dkw: dkw_half_width(plain.effective_n(), 0.05),
        normalized_dkw: dkw_half_width(normed.effective_n(), 0.05),
        metrics,
        regnet_fit: regnet_fit(&models, o.top_k),
        refinement: refine(p, &o.constraints, o.ranges(), o.normalize_by, bins),
        top_k: o.top_k,
        curves_k: o.curves_k,
        models,
    }
}

/// RegNet fits of an AnyNet population's models (sorted best first): only
/// the good quarter and the top models are fitted (a fit is a grid search).
fn regnet_fit(models: &[ModelResult], top_k: usize) -> Option<RegNetFitSummary> {
    // AnyNet populations only: every model has per-block widths.
    if models.iter().any(|m| block_widths(&m.config).is_none()) {
        return None;
    }
    let good = models.len().div_ceil(4);
    let fitted = good.max(top_k).min(models.len());
    let fits: Vec<Option<FitRow>> = models[..fitted]
        .iter()
        .map(|m| {
            let f = fit_regnet(&block_widths(&m.config)?).ok()?;
            Some(FitRow {
                name: m.name.clone(),
                error: m.error,
                w0: f.w0 as f64,
                wa: f.wa,
                wm: f.wm,
                e_fit: f.e_fit,
            })
        })
        .collect();
    if fits.iter().any(Option::is_none) || fits.is_empty() {
        return None;
    }
    let fits: Vec<FitRow> = fits.into_iter().flatten().collect();
    let close = fits[..good].iter().filter(|f| f.e_fit <= CLOSE_FIT).count();
    Some(RegNetFitSummary {
        top: fits.into_iter().take(top_k).collect(),
        good,
        close_share: close as f64 / good as f64,
        threshold: CLOSE_FIT,
    })
}
