//! The sequential comparison of two populations (candidate against
//! baseline, in the order their models were sampled) and the fixed-n
//! planner, as the report, `regnet compare` and the design loop read them.

use crate::population::Population;
use regnet_stats::sequential::{mean_var, models_needed, Decision, Design, Look};
use serde::Serialize;

/// A sequential comparison to run: the plan and the not-worse margin.
#[derive(Debug, Clone)]
pub struct SequentialOptions {
    pub design: Design,
    /// Points of error; enables the "not worse by more than" decision.
    pub margin: Option<f64>,
}

/// Where a sequential comparison stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Outcome {
    /// A look's interval decided.
    Decided { decision: Decision },
    /// Undecided so far; the next look needs `next` models of each.
    NeedsMore { next: usize },
    /// Every look of the plan was spent without a decision.
    Undecided,
}

/// A sequential comparison's looks and outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Sequential {
    pub baseline: String,
    pub candidate: String,
    pub design: Design,
    pub margin: Option<f64>,
    pub looks: Vec<Look>,
    pub outcome: Outcome,
}

/// Runs the plan on the two populations' errors in their models' order
/// (job order of a store, record order of a sweep.json): the order they
/// were sampled in, so that every look sees an unbiased sample (the order
/// they finished in would favour fast models early).
pub fn sequential(
    baseline: &Population,
    candidate: &Population,
    o: &SequentialOptions,
) -> Sequential {
    let looks = o
        .design
        .run(&baseline.errors(), &candidate.errors(), o.margin);
    let outcome = match looks.last() {
        Some(l) if l.decision != Decision::Continue => Outcome::Decided {
            decision: l.decision,
        },
        _ if looks.len() == o.design.looks => Outcome::Undecided,
        _ => Outcome::NeedsMore {
            next: (looks.len() + 1) * o.design.round,
        },
    };
    Sequential {
        baseline: baseline.name.clone(),
        candidate: candidate.name.clone(),
        design: o.design.clone(),
        margin: o.margin,
        looks,
        outcome,
    }
}

impl Sequential {
    /// The finding in one sentence, with the interval it rests on.
    pub fn verdict(&self) -> String {
        let (b, c) = (&self.baseline, &self.candidate);
        let Some(l) = self.looks.last() else {
            let next = self.design.round;
            return format!(
                "{c} vs {b}: too few models for the first look (it needs {next} of each)"
            );
        };
        let level = 100.0 * (1.0 - self.design.alpha);
        let interval = format!(
            "mean error {c} − {b} = {:.2} points, {level:.0}% repeated interval [{:.2}, {:.2}] at look {} of {} ({} models each)",
            l.estimate, l.lo, l.hi, l.look, self.design.looks, l.n
        );
        match &self.outcome {
            Outcome::Decided {
                decision: Decision::Better,
            } => format!("{c} is better than {b}: {interval}"),
            Outcome::Decided {
                decision: Decision::Worse,
            } => format!("{c} is worse than {b}: {interval}"),
            Outcome::Decided {
                decision: Decision::NotWorse,
            } => format!(
                "{c} is not worse than {b} by more than {} points: {interval}",
                self.margin.unwrap_or(0.0)
            ),
            Outcome::NeedsMore { next } => {
                format!("{c} vs {b}: undecided so far, {interval}; the next look needs {next} models of each")
            }
            Outcome::Undecided
            | Outcome::Decided {
                decision: Decision::Continue,
            } => {
                format!("{c} vs {b}: cannot tell after every look of the plan: {interval}")
            }
        }
    }
}

/// A fixed-n plan to ask for: the difference to detect and the power.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    pub difference: f64,
    pub power: f64,
    pub alpha: f64,
}

/// What a fixed-n comparison would cost, from two pilot populations.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub difference: f64,
    pub power: f64,
    pub alpha: f64,
    /// The pilots' standard deviations of error.
    pub sd: (f64, f64),
    pub models_per_space: usize,
    /// Mean training time of the pilots' models, where recorded.
    pub seconds_per_model: Option<f64>,
    /// Training time of both populations at that rate, one worker.
    pub hours: Option<f64>,
}

/// Models per space a fixed-n comparison needs at the pilots' spread.
pub fn plan(a: &Population, b: &Population, o: PlanOptions) -> Result<Plan, String> {
    let sd = |p: &Population| -> Result<f64, String> {
        let e = p.errors();
        if e.len() < 2 {
            return Err(format!(
                "{}: a pilot needs at least 2 models, it has {}",
                p.name,
                e.len()
            ));
        }
        Ok(mean_var(&e).1.sqrt())
    };
    let sd = (sd(a)?, sd(b)?);
    let n = models_needed(o.difference, sd.0, sd.1, o.alpha, o.power)?;
    let times: Option<Vec<f64>> = a
        .models
        .iter()
        .chain(&b.models)
        .map(|m| m.seconds)
        .collect();
    let seconds_per_model = times.map(|t| t.iter().sum::<f64>() / t.len() as f64);
    Ok(Plan {
        difference: o.difference,
        power: o.power,
        alpha: o.alpha,
        sd,
        models_per_space: n,
        seconds_per_model,
        hours: seconds_per_model.map(|s| 2.0 * n as f64 * s / 3600.0),
    })
}

impl Plan {
    /// The plan in one sentence.
    pub fn verdict(&self) -> String {
        let cost = match (self.seconds_per_model, self.hours) {
            (Some(s), Some(h)) => format!(", {h:.1} CPU-hours at the pilots' {s:.0} s per model"),
            _ => String::new(),
        };
        format!(
            "a fixed-n comparison needs {} models per space to detect {:.2} points at {:.0}% power (alpha {}, pilot SDs {:.1} and {:.1}){cost}",
            self.models_per_space,
            self.difference,
            100.0 * self.power,
            self.alpha,
            self.sd.0,
            self.sd.1
        )
    }
}
