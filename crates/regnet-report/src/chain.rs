//! The design loop's report: the chain of spaces with their sizes, every
//! decision with its interval, models and time, each step's screening, then
//! the ordinary analysis of every population (their EDFs on one chart).

use crate::page::{body, f2, looks, open, refinement, table};
use crate::svg::{color, esc, Axis, Chart};
use regnet_analysis::{Analysis, Chain, SizeEstimate, Step};
use std::fmt::Write;

/// The refine report as one HTML document; the populations of `a` are the
/// chain's steps, in order.
pub fn render_chain(chain: &Chain, a: &Analysis, title: &str) -> String {
    let mut h = open(title);
    let _ = write!(
        h,
        "<p><b>Status:</b> {}.</p><p class=\"note\">{}; not-worse margin {} points; {} models trained in {:.2} worker-hours.</p>",
        esc(&chain.status),
        esc(&chain.setting),
        chain.margin,
        chain.models,
        chain.train_hours
    );
    steps(&mut h, chain);
    h.push_str("<div class=\"figs\">");
    h.push_str(&sizes(chain));
    h.push_str("</div>");
    for s in &chain.steps {
        if let Some(c) = &s.comparison {
            let _ = write!(
                h,
                "<h2>Step {}: {}</h2><p><b>Verdict:</b> {}.</p>",
                s.index,
                esc(s.tested.as_deref().unwrap_or(&s.space)),
                esc(&c.verdict())
            );
            looks(&mut h, c);
        }
        let heading = format!("Screening in {} (step {})", s.population, s.index);
        refinement(&mut h, &heading, &s.screening);
    }
    body(&mut h, a);
    h.push_str("</body></html>\n");
    h
}

/// The size column: log10, exact or with the estimated share's interval.
fn size_cell(s: &Step) -> String {
    match s.size {
        SizeEstimate::Exact => format!("{:.2} (exact)", s.size_log10),
        SizeEstimate::Estimated { share, lo, hi, .. } => {
            let (dlo, dhi) = ((lo / share).log10(), (hi / share).log10());
            format!(
                "{:.2} [{:.2}, {:.2}] (estimated)",
                s.size_log10,
                s.size_log10 + dlo,
                s.size_log10 + dhi
            )
        }
    }
}

/// One row per step: the space, what it tested, its size and its decision.
fn steps(h: &mut String, chain: &Chain) {
    h.push_str("<h2>Chain of spaces</h2>");
    let rows: Vec<Vec<String>> = chain
        .steps
        .iter()
        .map(|s| {
            let decision = match (&s.comparison, s.decision) {
                (_, Some(d)) => d.label(chain.margin),
                (Some(c), None) => format!("needs more models after {} looks", c.looks.len()),
                (None, None) => "–".to_string(),
            };
            let last = s.comparison.as_ref().and_then(|c| c.looks.last());
            vec![
                s.index.to_string(),
                format!(
                    "<span class=\"swatch\" style=\"background:{}\"></span>{}",
                    color(s.index),
                    esc(&s.space)
                ),
                s.parent.map_or("–".into(), |p| p.to_string()),
                esc(s.tested.as_deref().unwrap_or("–")),
                size_cell(s),
                s.models.to_string(),
                format!("{:.2}", s.train_seconds / 3600.0),
                last.map_or("–".into(), |l| {
                    format!("{} [{}, {}]", f2(l.estimate), f2(l.lo), f2(l.hi))
                }),
                decision,
            ]
        })
        .collect();
    table(
        h,
        &[
            "step",
            "space",
            "parent",
            "restriction tested",
            "log10 size",
            "models",
            "worker-hours",
            "mean error − parent's [repeated interval]",
            "decision",
        ],
        &rows,
    );
}

/// log10 size by step, the kept chain joined by a line (as the paper plots
/// its spaces' sizes).
fn sizes(chain: &Chain) -> String {
    let x = Axis::fixed(
        "step",
        -0.5,
        chain.steps.len().saturating_sub(1) as f64 + 0.5,
    );
    let y = Axis::fit(
        "log10 size (models)",
        chain.steps.iter().map(|s| s.size_log10),
    );
    let mut c = Chart::new("Size of each space", x, y, 460.0, 280.0);
    let kept: Vec<(f64, f64)> = chain
        .steps
        .iter()
        .filter(|s| s.index == 0 || s.kept())
        .map(|s| (s.index as f64, s.size_log10))
        .collect();
    c.line(&kept, "#444", 1.5, false);
    let points: Vec<(f64, f64, String)> = chain
        .steps
        .iter()
        .map(|s| (s.index as f64, s.size_log10, color(s.index).to_string()))
        .collect();
    c.points(&points, 4.0);
    c.legend("#444", "kept chain", false);
    c.finish()
}
