//! The HTML page: sections of charts and tables around an [`Analysis`].

use crate::charts::{curves, edf, metric_label, metric_scatter, pair_scatter};
use crate::svg::{color, esc};
use regnet_analysis::{Analysis, PopulationAnalysis, Refinement, Sequential};
use std::fmt::Write;

const STYLE: &str = "
body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1000px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0; }
th, td { border-bottom: 1px solid #e2e2e2; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child, td.l { text-align: left; }
.cfg { text-align: left; font-family: monospace; font-size: 11px; max-width: 520px; overflow-wrap: anywhere; }
.figs { display: flex; flex-wrap: wrap; gap: 8px; } .note { color: #555; font-size: 13px; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.warn { background: #fff4e5; border-left: 4px solid #e08a00; padding: 6px 10px; font-size: 13px; }
@media print { body { margin: 0; } h2 { break-after: avoid; } svg { break-inside: avoid; } }
";

/// The whole report as one HTML document.
pub fn render(a: &Analysis, title: &str) -> String {
    let mut h = open(title);
    body(&mut h, a);
    h.push_str("</body></html>\n");
    h
}

/// The document's head and title.
pub(crate) fn open(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = esc(title)
    )
}

/// Every section of an analysis.
pub(crate) fn body(h: &mut String, a: &Analysis) {
    let _ = write!(
        h,
        "<p class=\"note\">Errors are final-epoch test top-1 errors in percent. Normalized EDFs weight models so that every population has the same distribution of log {} ({} bins), as in Radosavovic et al. (ICCV 2019). Bootstraps: pycls filters (best model of 25% samples), seeded.</p>",
        a.normalized_by,
        a.bins
    );
    summary(h, a);
    missing(h, a);
    comparisons(h, a);
    sequential(h, a);
    h.push_str("<h2>Error EDFs</h2><div class=\"figs\">");
    h.push_str(&edf(a, false));
    h.push_str(&edf(a, true));
    h.push_str("</div>");
    dkw_note(h, a);
    metrics(h, a);
    pairs(h, a);
    h.push_str("<h2>Training curves</h2><div class=\"figs\">");
    h.push_str(&curves(a));
    h.push_str("</div>");
    for (i, p) in a.populations.iter().enumerate() {
        top_models(h, p, i);
        regnet_fit(h, p);
        refinement(
            h,
            &format!("Refinement candidates for {}", p.name),
            &p.refinement,
        );
    }
}

pub(crate) fn f2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "–".into()
    }
}

pub(crate) fn table(h: &mut String, header: &[&str], rows: &[Vec<String>]) {
    h.push_str("<table><tr>");
    for c in header {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{c}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn name_cell(p: &PopulationAnalysis, i: usize) -> String {
    format!(
        "<span class=\"swatch\" style=\"background:{}\"></span>{}",
        color(i),
        esc(&p.name)
    )
}

fn summary(h: &mut String, a: &Analysis) {
    h.push_str("<h2>Populations</h2>");
    let rows: Vec<Vec<String>> = a
        .populations
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (s, n) = (p.summary, p.normalized_summary);
            vec![
                name_cell(p, i),
                p.sampled.to_string(),
                p.missing.len().to_string(),
                s.n.to_string(),
                f2(s.min),
                f2(s.mean),
                f2(s.median),
                f2(n.mean),
                f2(n.median),
            ]
        })
        .collect();
    table(
        h,
        &[
            "population",
            "sampled",
            "missing",
            "n",
            "min",
            "mean",
            "median",
            "normalized mean",
            "normalized median",
        ],
        &rows,
    );
}

/// A warning and a table per population whose sampled models did not all
/// train: the compared populations are then not the sampled ones.
fn missing(h: &mut String, a: &Analysis) {
    let lost: Vec<&PopulationAnalysis> = a
        .populations
        .iter()
        .filter(|p| !p.missing.is_empty())
        .collect();
    if lost.is_empty() {
        return;
    }
    let counts: Vec<String> = lost
        .iter()
        .map(|p| format!("{} of {} in {}", p.missing.len(), p.sampled, esc(&p.name)))
        .collect();
    let _ = write!(
        h,
        "<p class=\"warn\"><b>Missing models:</b> {} sampled models did not finish training. The populations analysed are not the sampled ones; if models were lost for reasons tied to their architecture, the EDFs are biased.</p>",
        counts.join(", ")
    );
    for p in lost {
        let _ = write!(h, "<h3>Missing from {}</h3>", esc(&p.name));
        let rows: Vec<Vec<String>> = p
            .missing
            .iter()
            .map(|m| {
                vec![
                    esc(&m.name),
                    esc(&m.state),
                    format!("<span class=\"cfg\">{}</span>", esc(&m.reason)),
                ]
            })
            .collect();
        table(h, &["model", "state", "reason"], &rows);
    }
}

fn comparisons(h: &mut String, a: &Analysis) {
    if a.comparisons.is_empty() {
        return;
    }
    h.push_str("<h2>Comparison</h2>");
    for c in &a.comparisons {
        let significant = if c.ks.p_value < 0.05 {
            "significant"
        } else {
            "not significant"
        };
        let verdict = esc(&c.verdict());
        let verdict = match &c.better {
            Some(b) => verdict.replacen(&esc(b), &format!("<b>{}</b>", esc(b)), 1),
            None => verdict,
        };
        let _ = write!(
            h,
            "<p><b>Verdict:</b> {verdict}. The normalized EDFs of {} and {} differ by KS D = {:.3}, p = {:.3} ({significant} at the 5% level).</p>",
            esc(&c.a), esc(&c.b), c.ks.d, c.ks.p_value
        );
    }
    let rows: Vec<Vec<String>> = a
        .comparisons
        .iter()
        .map(|c| {
            let ci = |i: &regnet_analysis::Interval| {
                format!("{} [{}, {}]", f2(i.estimate), f2(i.lo), f2(i.hi))
            };
            vec![
                format!("{} vs {}", esc(&c.a), esc(&c.b)),
                format!("{:.3}", c.ks.d),
                format!("{:.3}", c.ks.p_value),
                format!("{:.3}", c.ks_plain.d),
                format!("{:.3}", c.ks_plain.p_value),
                ci(&c.mean_diff),
                ci(&c.min_diff),
            ]
        })
        .collect();
    table(
        h,
        &[
            "pair",
            "KS D (normalized)",
            "p",
            "KS D (plain)",
            "p",
            "mean error a − b [95% CI]",
            "min error a − b [95% CI]",
        ],
        &rows,
    );
}

/// The sequential comparison's looks and the fixed-n plan, when computed.
fn sequential(h: &mut String, a: &Analysis) {
    if let Some(s) = &a.sequential {
        let _ = write!(
            h,
            "<h2>Sequential comparison</h2><p><b>Verdict:</b> {}.</p>",
            esc(&s.verdict())
        );
        looks(h, s);
    }
    if let Some(p) = &a.plan {
        let _ = write!(h, "<p><b>Plan:</b> {}.</p>", esc(&p.verdict()));
    }
}

/// A sequential comparison's plan and its looks' intervals.
pub(crate) fn looks(h: &mut String, s: &Sequential) {
    let boundary = match s.design.boundary {
        regnet_analysis::Boundary::Pocock => "Pocock",
        regnet_analysis::Boundary::OBrienFleming => "O'Brien–Fleming",
    };
    let _ = write!(
        h,
        "<p class=\"note\">Group-sequential plan: up to {} looks of {} models each, {boundary} boundary, alpha {}; the intervals of all looks hold together, so stopping at the first that decides keeps the error rate.</p>",
        s.design.looks,
        s.design.round,
        s.design.alpha
    );
    let rows: Vec<Vec<String>> = s
        .looks
        .iter()
        .map(|l| {
            vec![
                l.look.to_string(),
                l.n.to_string(),
                f2(l.estimate),
                format!("[{}, {}]", f2(l.lo), f2(l.hi)),
                l.decision.to_string(),
            ]
        })
        .collect();
    let pair = format!("mean error {} − {}", esc(&s.candidate), esc(&s.baseline));
    table(
        h,
        &[
            "look",
            "models each",
            &pair,
            "repeated interval",
            "decision",
        ],
        &rows,
    );
}

/// How far each EDF can move at its size: the DKW bands the charts shade.
fn dkw_note(h: &mut String, a: &Analysis) {
    let bands: Vec<String> = a
        .populations
        .iter()
        .map(|p| {
            format!(
                "{} ±{:.3} (normalized ±{:.3})",
                esc(&p.name),
                p.dkw,
                p.normalized_dkw
            )
        })
        .collect();
    let _ = write!(
        h,
        "<p class=\"note\">Shaded: 95% Dvoretzky–Kiefer–Wolfowitz bands, within which each population's true error distribution lies everywhere at once with probability 0.95 (normalized EDFs at Kish's effective size): {}.</p>",
        bands.join("; ")
    );
}

/// The metric names shown for a population: complexity first, then design parameters.
fn metric_order(a: &Analysis) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in &a.populations {
        for m in &p.metrics {
            if !names.contains(&m.name) {
                names.push(m.name.clone());
            }
        }
    }
    let rank = |n: &str| {
        ["flops", "params", "acts"]
            .iter()
            .position(|c| *c == n)
            .unwrap_or(3)
    };
    names.sort_by_key(|n| rank(n));
    names
}

fn metrics(h: &mut String, a: &Analysis) {
    h.push_str("<h2>Error vs design metrics</h2><p class=\"note\">Shaded: the 95% range of the best model's value over bootstrap samples; dashed: its median.</p><div class=\"figs\">");
    for m in metric_order(a) {
        h.push_str(&metric_scatter(a, &m));
    }
    h.push_str("</div>");
    let mut rows = Vec::new();
    for p in &a.populations {
        for m in &p.metrics {
            rows.push(vec![
                esc(&p.name),
                esc(&metric_label(&m.name)),
                f2(m.best.lo),
                f2(m.best.median),
                f2(m.best.hi),
                f2(m.spearman),
            ]);
        }
    }
    table(
        h,
        &[
            "population",
            "metric",
            "best range low",
            "median",
            "high",
            "Spearman ρ with error",
        ],
        &rows,
    );
}

fn pairs(h: &mut String, a: &Analysis) {
    h.push_str("<h2>Metric pairs</h2><p class=\"note\">Each model coloured by its error rank in its population: blue best, red worst.</p><div class=\"figs\">");
    for p in &a.populations {
        let has = |k: &str| p.metrics.iter().any(|m| m.name == k);
        let mut chosen = vec![("flops", "params"), ("flops", "acts")];
        if has("regnet_wa") {
            chosen.push(("regnet_wa", "regnet_wm"));
            chosen.push(("regnet_depth", "regnet_w0"));
        }
        if has("anynet_d") {
            chosen.push(("anynet_d", "anynet_w"));
        }
        for (x, y) in chosen {
            if has(x) && has(y) {
                h.push_str(&pair_scatter(p, x, y));
            }
        }
    }
    h.push_str("</div>");
}

fn top_models(h: &mut String, p: &PopulationAnalysis, i: usize) {
    let _ = write!(h, "<h2>Top models of {}</h2>", name_cell(p, i));
    let rows: Vec<Vec<String>> = p
        .models
        .iter()
        .take(p.top_k)
        .enumerate()
        .map(|(r, m)| {
            let get = |k: &str| m.metrics.get(k).map_or("–".into(), |v| format!("{v:.0}"));
            let model_cfg = ["ANYNET", "REGNET", "EN"]
                .iter()
                .find_map(|k| m.config.get(*k))
                .map_or(String::new(), |v| v.to_string());
            vec![
                (r + 1).to_string(),
                esc(&m.name),
                f2(m.error),
                get("flops"),
                get("params"),
                get("acts"),
                format!("<span class=\"cfg\">{}</span>", esc(&model_cfg)),
            ]
        })
        .collect();
    table(
        h,
        &["rank", "job", "error", "flops", "params", "acts", "config"],
        &rows,
    );
}

fn regnet_fit(h: &mut String, p: &PopulationAnalysis) {
    let Some(f) = &p.regnet_fit else {
        return;
    };
    let _ = write!(
        h,
        "<h2>RegNet fit of {}</h2><p>{:.0}% of the {} best models (top quarter) are within e_fit ≤ {} of a RegNet (quantized linear widths).</p>",
        esc(&p.name),
        100.0 * f.close_share,
        f.good,
        f.threshold
    );
    let rows: Vec<Vec<String>> = f
        .top
        .iter()
        .map(|r| {
            vec![
                esc(&r.name),
                f2(r.error),
                format!("{:.0}", r.w0),
                f2(r.wa),
                format!("{:.3}", r.wm),
                format!("{:.3}", r.e_fit),
            ]
        })
        .collect();
    table(h, &["job", "error", "w0", "wa", "wm", "e_fit"], &rows);
}

/// A screening table under `heading`.
pub(crate) fn refinement(h: &mut String, heading: &str, screening: &[Refinement]) {
    if screening.is_empty() {
        return;
    }
    let _ = write!(
        h,
        "<h2>{}</h2><p class=\"note\">Each constraint keeps the models that satisfy it; their normalized EDF is compared with the whole population's. Candidates: the AnyNet structural restrictions, and each design parameter's range where the best models lie (pycls filters). Best first: largest drop in mean error, then the smallest share of the space kept.</p>",
        esc(heading)
    );
    let rows: Vec<Vec<String>> = screening
        .iter()
        .map(|r| {
            vec![
                esc(&r.constraint),
                r.kept.to_string(),
                format!("{:.0}%", 100.0 * r.share),
                f2(r.mean_error),
                f2(r.mean_change),
                f2(r.min_change),
                format!("{:.3}", r.ks_d),
                format!("{:.3}", r.p_value),
            ]
        })
        .collect();
    table(
        h,
        &[
            "constraint",
            "models kept",
            "share kept",
            "normalized mean error",
            "change",
            "min change",
            "KS D",
            "p",
        ],
        &rows,
    );
}
