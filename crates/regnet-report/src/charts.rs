//! The report's figures, one function per kind, from an [`Analysis`].

use crate::svg::{color, rank_color, Axis, Chart};
use regnet_analysis::{Analysis, PopulationAnalysis};

const ERR: &str = "test top-1 error (%)";

/// Axis label of a metric, with its unit.
pub fn metric_label(name: &str) -> String {
    match name {
        "flops" => "flops (multiply-adds)".into(),
        "params" => "params (count)".into(),
        "acts" => "activations (count)".into(),
        "regnet_depth" | "anynet_d" => "depth d (blocks)".into(),
        "regnet_w0" => "initial width w0 (channels)".into(),
        "regnet_wa" => "slope wa (channels per block)".into(),
        "regnet_wm" => "width multiplier wm".into(),
        "regnet_gw" | "anynet_g" => "group width g (channels)".into(),
        "regnet_bm" | "anynet_b" => "bottleneck multiplier (1/b)".into(),
        "anynet_w" => "largest stage width w (channels)".into(),
        other => other.into(),
    }
}

fn all_errors(a: &Analysis) -> Vec<f64> {
    a.populations
        .iter()
        .flat_map(|p| p.models.iter().map(|m| m.error))
        .collect()
}

/// EDF curves of every population, plain or normalized, legend n|min|mean,
/// each in its 95% DKW band (shaded) so a reader sees how far it can move.
pub fn edf(a: &Analysis, normalized: bool) -> String {
    let title = if normalized {
        format!(
            "Normalized error EDF (equal {} distributions)",
            a.normalized_by
        )
    } else {
        "Error EDF".to_string()
    };
    let x = Axis::fit(ERR, all_errors(a));
    let y = Axis::fixed("cumulative prob.", 0.0, 1.0);
    let mut c = Chart::new(&title, x, y, 460.0, 320.0);
    c.legend_low = true;
    for (i, p) in a.populations.iter().enumerate() {
        let (steps, s, eps) = if normalized {
            (&p.normalized_edf, p.normalized_summary, p.normalized_dkw)
        } else {
            (&p.edf, p.summary, p.dkw)
        };
        c.step_band(steps, eps, color(i));
        c.steps(steps, color(i));
        c.legend(
            color(i),
            &format!("{} {}|{:.1}|{:.1}", p.name, s.n, s.min, s.mean),
            false,
        );
    }
    c.finish()
}

/// Error against one metric for every population that has it, with each
/// population's bootstrap range of the best models shaded and its median dashed.
pub fn metric_scatter(a: &Analysis, metric: &str) -> String {
    let has: Vec<(usize, &PopulationAnalysis)> = a
        .populations
        .iter()
        .enumerate()
        .filter(|(_, p)| p.metrics.iter().any(|m| m.name == metric))
        .collect();
    let values = has.iter().flat_map(|(_, p)| {
        p.models
            .iter()
            .filter_map(|m| m.metrics.get(metric).copied())
    });
    let x = Axis::fit(&metric_label(metric), values);
    let y = Axis::fit(ERR, all_errors(a));
    let mut c = Chart::new(&format!("Error vs {metric}"), x, y, 320.0, 250.0);
    for (i, p) in &has {
        if let Some(m) = p.metrics.iter().find(|m| m.name == metric) {
            c.band(m.best.lo, m.best.hi, color(*i));
            c.vline(m.best.median, color(*i));
        }
    }
    for (i, p) in &has {
        let pts: Vec<(f64, f64, String)> = p
            .models
            .iter()
            .filter_map(|m| Some((*m.metrics.get(metric)?, m.error, color(*i).to_string())))
            .collect();
        c.points(&pts, 3.0);
    }
    c.finish()
}

/// Two metrics against each other, each model coloured by its error rank
/// within its population (blue best, red worst).
pub fn pair_scatter(p: &PopulationAnalysis, mx: &str, my: &str) -> String {
    let get = |k: &str| -> Vec<f64> {
        p.models
            .iter()
            .map(|m| m.metrics.get(k).copied().unwrap_or(f64::NAN))
            .collect()
    };
    let x = Axis::fit(&metric_label(mx), get(mx));
    let y = Axis::fit(&metric_label(my), get(my));
    let mut c = Chart::new(&format!("{}: {my} vs {mx}", p.name), x, y, 320.0, 250.0);
    let n = p.models.len().max(2) - 1;
    let pts: Vec<(f64, f64, String)> = p
        .models
        .iter()
        .enumerate()
        .filter_map(|(rank, m)| {
            Some((
                *m.metrics.get(mx)?,
                *m.metrics.get(my)?,
                rank_color(rank as f64 / n as f64),
            ))
        })
        .collect();
    c.points(&pts, 3.5);
    c.finish()
}

/// Test error per epoch of the best k (solid) and worst k (dashed) models.
pub fn curves(a: &Analysis) -> String {
    let k_of = |p: &PopulationAnalysis| p.curves_k.min(p.models.len());
    let errs = a.populations.iter().flat_map(|p| {
        let k = k_of(p);
        let ends = p.models.iter().take(k).chain(p.models.iter().rev().take(k));
        ends.flat_map(|m| m.curve.iter().copied())
            .collect::<Vec<_>>()
    });
    let epochs = a
        .populations
        .iter()
        .flat_map(|p| p.models.iter().map(|m| m.curve.len()))
        .max()
        .unwrap_or(1);
    let x = Axis::fixed("epoch", 0.5, epochs as f64 + 0.5);
    let y = Axis::fit(ERR, errs);
    let mut c = Chart::new(
        "Training curves: best (solid) and worst (dashed) models",
        x,
        y,
        460.0,
        320.0,
    );
    for (i, p) in a.populations.iter().enumerate() {
        let k = k_of(p);
        let series = |m: &regnet_analysis::ModelResult| -> Vec<(f64, f64)> {
            m.curve
                .iter()
                .enumerate()
                .map(|(e, v)| (e as f64 + 1.0, *v))
                .collect()
        };
        for m in p.models.iter().take(k) {
            c.line(&series(m), color(i), 1.5, false);
        }
        for m in p.models.iter().rev().take(k) {
            c.line(&series(m), color(i), 1.2, true);
        }
        c.legend(color(i), &format!("{}: best / worst {k}", p.name), false);
    }
    c.finish()
}
