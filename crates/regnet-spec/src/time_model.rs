//! A run-time model: milliseconds per image predicted from a network's
//! complexity, fitted on one machine (`regnet time-model fit`), since a fit
//! belongs to the device, threads, batch and resolution it was timed at.
//! `describe` and `space stats|sample` read it to put a time beside flops.

use crate::cx::Complexity;
use serde::{Deserialize, Serialize};

/// A complexity measure a fit uses, in the unit its coefficient is per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Term {
    /// Giga multiply-adds.
    Flops,
    /// Millions of parameters.
    Params,
    /// Millions of activations (conv output elements).
    Acts,
}

impl Term {
    pub const ALL: [Term; 3] = [Term::Flops, Term::Params, Term::Acts];

    /// The measure of `cx`, in this term's unit.
    pub fn of(self, cx: &Complexity) -> f64 {
        match self {
            Term::Flops => cx.flops as f64 / 1e9,
            Term::Params => cx.params as f64 / 1e6,
            Term::Acts => cx.acts as f64 / 1e6,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Term::Flops => "flops",
            Term::Params => "params",
            Term::Acts => "acts",
        }
    }
}

/// One linear fit, `ms = intercept + Σ coef · term`, with its error on
/// models it was not fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeFit {
    pub terms: Vec<Term>,
    pub intercept_ms: f64,
    pub coef_ms: Vec<f64>,
    /// Models it was fitted on.
    pub fitted_on: usize,
    /// Held-out models, and the median and 90th percentile of
    /// |predicted / measured - 1| over them.
    pub held_out: usize,
    pub median_error: f64,
    pub p90_error: f64,
}

impl TimeFit {
    /// Predicted milliseconds per image (never below zero).
    pub fn predict_ms(&self, cx: &Complexity) -> f64 {
        let v: f64 = self
            .terms
            .iter()
            .zip(&self.coef_ms)
            .map(|(t, c)| c * t.of(cx))
            .sum();
        (self.intercept_ms + v).max(0.0)
    }

    /// `12.3 ms/image (held-out error: median 8%, 90% within 15%)`.
    pub fn describe(&self, cx: &Complexity) -> String {
        format!(
            "{:.2} ms/image (on held-out models: median error {:.0}%, 90% within {:.0}%)",
            self.predict_ms(cx),
            100.0 * self.median_error,
            100.0 * self.p90_error
        )
    }
}

/// What a time model file holds: where it was timed, and the fits used to
/// predict inference and training time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeModel {
    /// The device and processor it was timed on.
    pub device: String,
    pub threads: usize,
    pub batch: u64,
    pub im_size: u64,
    /// Eval-mode forward, per image.
    pub infer: TimeFit,
    /// A training step (forward, backward, SGD), per image, when timed.
    pub train: Option<TimeFit>,
}

impl TimeModel {
    /// Reads a time model file; errors name the file.
    pub fn load(path: &std::path::Path) -> Result<TimeModel, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--time-model: cannot read '{}': {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "--time-model '{}': not a time model (made by `regnet time-model fit`): {e}",
                path.display()
            )
        })
    }

    /// Where it applies, for messages: `cpu (AMD EPYC), 2 threads, batch 8 at 224x224`.
    pub fn setting(&self) -> String {
        format!(
            "{}, {} threads, batch {} at {}x{}",
            self.device, self.threads, self.batch, self.im_size, self.im_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_predicts_from_its_terms_in_their_units() {
        let f = TimeFit {
            terms: vec![Term::Flops, Term::Acts],
            intercept_ms: 1.0,
            coef_ms: vec![10.0, 2.0],
            fitted_on: 10,
            held_out: 4,
            median_error: 0.08,
            p90_error: 0.15,
        };
        let cx = Complexity {
            flops: 400_000_000,
            params: 5_000_000,
            acts: 3_000_000,
        };
        // 1 + 10 * 0.4 GF + 2 * 3 M acts.
        assert!((f.predict_ms(&cx) - 11.0).abs() < 1e-12);
        assert!(f
            .describe(&cx)
            .starts_with("11.00 ms/image (on held-out models: median error 8%"));
    }
}
