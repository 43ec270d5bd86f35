//! Complexity and RegNet constraints a sampled model must satisfy
//! (pycls `SETUP.CONSTRAINTS`).

use regnet_spec::time_model::TimeFit;
use regnet_spec::Complexity;
use serde::Serialize;
use std::fmt;

/// A closed band [lo, hi] on one complexity measure; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Band {
    pub lo: Option<u64>,
    pub hi: Option<u64>,
}

impl Band {
    /// pycls form `[LOW, HIGH]` where 0 means "no bound on this side".
    pub fn from_pycls(lo: f64, hi: f64) -> Self {
        let end = |v: f64| (v > 0.0).then_some(v.round() as u64);
        Band {
            lo: end(lo),
            hi: end(hi),
        }
    }

    /// Parses `LO:HI` with either side optional; values like `360e6`,
    /// `360M`, `0.4G`, `2.5K` or `1000000`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (lo, hi) = s.split_once(':').ok_or_else(|| {
            format!("'{s}' is not a range; write LO:HI, e.g. 360M:400M (either side may be empty)")
        })?;
        let side = |t: &str| -> Result<Option<u64>, String> {
            if t.trim().is_empty() {
                Ok(None)
            } else {
                parse_quantity(t).map(|v| Some(v.round() as u64))
            }
        };
        let band = Band {
            lo: side(lo)?,
            hi: side(hi)?,
        };
        if let (Some(l), Some(h)) = (band.lo, band.hi) {
            if l > h {
                return Err(format!("range '{s}' is empty: low is above high"));
            }
        }
        Ok(band)
    }

    /// Whether the band constrains anything.
    pub fn is_active(&self) -> bool {
        self.lo.is_some() || self.hi.is_some()
    }

    /// Whether `v` lies in the band.
    pub fn contains(&self, v: u64) -> bool {
        self.lo.is_none_or(|l| v >= l) && self.hi.is_none_or(|h| v <= h)
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |v: Option<u64>| v.map_or("-".to_string(), si);
        write!(f, "[{}, {}]", side(self.lo), side(self.hi))
    }
}

/// `360000000` → `"360M"`, as users write bands.
fn si(v: u64) -> String {
    let x = v as f64;
    let (scaled, unit) = match v {
        0..=999 => return v.to_string(),
        1_000..=999_999 => (x / 1e3, "K"),
        1_000_000..=999_999_999 => (x / 1e6, "M"),
        _ => (x / 1e9, "G"),
    };
    format!("{}{unit}", (scaled * 1000.0).round() / 1000.0)
}

/// A count with an optional K/M/G suffix or exponent: `360M`, `0.4G`, `360e6`.
pub fn parse_quantity(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&t[..t.len() - 1], 1e3),
        Some('M') => (&t[..t.len() - 1], 1e6),
        Some('G') | Some('B') => (&t[..t.len() - 1], 1e9),
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * mult),
        _ => Err(format!(
            "'{s}' is not a count; write e.g. 360M, 0.4G, 360e6 or 360000000"
        )),
    }
}

/// Why a candidate was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rejection {
    /// RegNet widths skip an exponent or give a stage count out of range.
    NumStages,
    Flops,
    Params,
    Acts,
    /// The same model was already sampled.
    Duplicate,
    /// The drawn parameters do not make a valid model.
    Invalid,
    /// A derived space's restrictions rule the model out.
    Refined,
    /// Its predicted run time is outside the time band.
    Time,
}

impl Rejection {
    /// Every reason, in report order.
    pub const ALL: [Rejection; 8] = [
        Rejection::NumStages,
        Rejection::Flops,
        Rejection::Params,
        Rejection::Acts,
        Rejection::Time,
        Rejection::Duplicate,
        Rejection::Invalid,
        Rejection::Refined,
    ];

    /// Short name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Rejection::NumStages => "num_stages",
            Rejection::Flops => "flops",
            Rejection::Params => "params",
            Rejection::Acts => "acts",
            Rejection::Duplicate => "duplicate",
            Rejection::Invalid => "invalid",
            Rejection::Refined => "refined",
            Rejection::Time => "time",
        }
    }
}

/// Constraints on sampled models.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Constraints {
    pub flops: Band,
    pub params: Band,
    pub acts: Band,
    /// Allowed RegNet stage counts (pycls `REGNET.NUM_STAGES`); RegNet models only.
    pub num_stages: Option<(u64, u64)>,
    /// A band of predicted run time (`space sample --time-ms`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<TimeBand>,
}

/// Predicted milliseconds per image within [lo, hi], by a run-time model
/// fitted on some machine (`regnet time-model fit`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeBand {
    pub fit: TimeFit,
    pub lo_ms: Option<f64>,
    pub hi_ms: Option<f64>,
}

impl TimeBand {
    fn contains(&self, cx: &Complexity) -> bool {
        let t = self.fit.predict_ms(cx);
        self.lo_ms.is_none_or(|lo| t >= lo) && self.hi_ms.is_none_or(|hi| t <= hi)
    }
}

impl fmt::Display for TimeBand {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let end = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x}"));
        write!(f, "[{}, {}] ms/image", end(self.lo_ms), end(self.hi_ms))
    }
}

impl Constraints {
    /// The first complexity band `cx` falls outside of.
    pub fn check(&self, cx: &Complexity) -> Result<(), Rejection> {
        if !self.flops.contains(cx.flops) {
            Err(Rejection::Flops)
        } else if !self.params.contains(cx.params) {
            Err(Rejection::Params)
        } else if !self.acts.contains(cx.acts) {
            Err(Rejection::Acts)
        } else if self.time.as_ref().is_some_and(|t| !t.contains(cx)) {
            Err(Rejection::Time)
        } else {
            Ok(())
        }
    }

    /// A human description of the constraint behind `r`.
    pub fn describe(&self, r: Rejection) -> String {
        match r {
            Rejection::Flops => format!("flops in {}", self.flops),
            Rejection::Params => format!("params in {}", self.params),
            Rejection::Acts => format!("acts in {}", self.acts),
            Rejection::NumStages => match self.num_stages {
                Some((lo, hi)) => {
                    format!("RegNet stage count in [{lo}, {hi}] with no skipped width")
                }
                None => "RegNet stage count".into(),
            },
            Rejection::Duplicate => "distinct models".into(),
            Rejection::Invalid => "valid model parameters".into(),
            Rejection::Refined => "the derived space's restrictions".into(),
            Rejection::Time => match &self.time {
                Some(t) => format!("predicted time in {t}"),
                None => "predicted time".into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_and_bands() {
        assert_eq!(parse_quantity("360M").unwrap(), 360e6);
        assert_eq!(parse_quantity("0.4G").unwrap(), 4e8);
        assert_eq!(parse_quantity("360e6").unwrap(), 360e6);
        assert_eq!(parse_quantity("2.5k").unwrap(), 2500.0);
        assert!(parse_quantity("lots").is_err());
        let b = Band::parse("360M:400M").unwrap();
        assert_eq!((b.lo, b.hi), (Some(360_000_000), Some(400_000_000)));
        assert!(b.contains(380_000_000) && !b.contains(400_000_001));
        let open = Band::parse(":2M").unwrap();
        assert_eq!((open.lo, open.hi), (None, Some(2_000_000)));
        assert!(Band::parse("400M:360M").is_err());
        assert!(Band::parse("400M").is_err());
        assert_eq!(Band::from_pycls(0.0, 2.0e6), open);
        assert_eq!(b.to_string(), "[360M, 400M]");
    }
}
