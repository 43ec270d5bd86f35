//! pycls's random samplers over a closed interval [low, high] quantized to q
//! (`pycls/sweep/random.py`), with the same distributions and quantization.

use crate::decimal::Decimal;
use rand::{Rng, RngExt};
use rand_distr::{Distribution, LogNormal, Normal};
use std::fmt;
use std::str::FromStr;

/// How a scalar is drawn (pycls `RAND_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandType {
    /// Uniform on [low, high], quantized down.
    Uniform,
    /// Log-uniform on (low - q*, high], quantized up; q* = min(q, low/2).
    LogUniform,
    /// Uniform over the powers of 2 in [low, high].
    Power2Uniform,
    /// Powers of 2 below q, log-uniform multiples of q from q up (group widths).
    Power2OrLogUniform,
    /// Normal clipped to [low, high] (99.7% inside), rounded to q.
    Normal,
    /// Log-normal clipped to [low, high], rounded to q.
    LogNormal,
}

impl RandType {
    const ALL: [RandType; 6] = [
        RandType::Uniform,
        RandType::LogUniform,
        RandType::Power2Uniform,
        RandType::Power2OrLogUniform,
        RandType::Normal,
        RandType::LogNormal,
    ];

    /// pycls name.
    pub fn name(self) -> &'static str {
        match self {
            RandType::Uniform => "uniform",
            RandType::LogUniform => "log_uniform",
            RandType::Power2Uniform => "power2_uniform",
            RandType::Power2OrLogUniform => "power2_or_log_uniform",
            RandType::Normal => "normal",
            RandType::LogNormal => "log_normal",
        }
    }
}

impl fmt::Display for RandType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RandType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        RandType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = RandType::ALL.iter().map(|t| t.name()).collect();
                format!("unknown RAND_TYPE '{s}' (allowed: {})", names.join(", "))
            })
    }
}

/// A validated scalar distribution: `rand_type` on [low, high] quantized to q.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scalar {
    pub rand_type: RandType,
    pub low: f64,
    pub high: f64,
    pub q: f64,
}

impl Scalar {
    /// Checks the parameters as pycls `validate_rand` does; the error says
    /// which condition failed.
    pub fn new(rand_type: RandType, low: f64, high: f64, q: f64) -> Result<Self, String> {
        let s = Scalar {
            rand_type,
            low,
            high,
            q,
        };
        let bad = |why: &str| {
            Err(format!(
                "{rand_type}(low={low}, high={high}, q={q}) is invalid: {why}"
            ))
        };
        if !(low.is_finite() && high.is_finite() && q.is_finite()) {
            return bad("values must be finite numbers");
        }
        if q <= 0.0 || low > high {
            return bad("need q > 0 and low <= high");
        }
        let log_type = !matches!(rand_type, RandType::Uniform | RandType::Normal);
        if log_type && low <= 0.0 {
            return bad("low must be > 0 for this RAND_TYPE");
        }
        let dec = |x: f64| Decimal::from_f64(x).expect("finite");
        let on_grid = dec(low).is_multiple_of(&dec(q)) && dec(high).is_multiple_of(&dec(q));
        if !on_grid && rand_type != RandType::Power2OrLogUniform {
            return bad("low and high must be multiples of q");
        }
        let power2 = |x: f64| x.log2().fract() == 0.0;
        let p2_type = matches!(
            rand_type,
            RandType::Power2Uniform | RandType::Power2OrLogUniform
        );
        if p2_type && !(power2(low) && power2(high) && power2(q)) {
            return bad("low, high and q must be powers of 2");
        }
        Ok(s)
    }

    /// Draws one value.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let (low, high, q) = (self.low, self.high, self.q);
        match self.rand_type {
            RandType::Uniform => uniform(rng, low, high, q),
            RandType::LogUniform => log_uniform(rng, low, high, q),
            RandType::Power2Uniform => power2_uniform(rng, low, high, q),
            RandType::Power2OrLogUniform => power2_or_log_uniform(rng, low, high, q),
            RandType::Normal => {
                let d = Normal::new((low + high) / 2.0, (high - low) / 6.0).expect("valid sigma");
                quantize(clipped(rng, &d, low, high), q, f64::round)
            }
            RandType::LogNormal => {
                let (ll, lh) = (low.ln(), high.ln());
                let d = LogNormal::new((ll + lh) / 2.0, (lh - ll) / 6.0).expect("valid sigma");
                quantize(clipped(rng, &d, low, high), q, f64::round)
            }
        }
    }

    /// Every value the distribution can produce, in increasing order.
    pub fn support(&self) -> Vec<f64> {
        let (low, high, q) = (self.low, self.high, self.q);
        match self.rand_type {
            RandType::Power2Uniform => powers_of_2(low, high)
                .map(|p| quantize(p, q, f64::floor))
                .collect(),
            RandType::Power2OrLogUniform => {
                let mut v: Vec<f64> = powers_of_2(low, high).filter(|&p| p < q).collect();
                if high >= q {
                    v.extend(grid(low.max(q), high, high.min(q)));
                }
                v
            }
            _ => grid(low, high, q),
        }
    }
}

/// pycls `quantize`: `op(f / q)` steps of q, exact in decimal.
pub fn quantize(f: f64, q: f64, op: fn(f64) -> f64) -> f64 {
    Decimal::from_f64(q).expect("finite q").times(op(f / q))
}

fn unif<R: Rng + ?Sized>(rng: &mut R, a: f64, b: f64) -> f64 {
    a + (b - a) * rng.random::<f64>()
}

/// f in [low, high + q), floored to q: each grid value equally likely.
pub fn uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64, q: f64) -> f64 {
    quantize(unif(rng, low, high + q), q, f64::floor)
}

/// f log-uniform in (low - q*, high], ceiled to q.
pub fn log_uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64, q: f64) -> f64 {
    let q_star = q.min(low / 2.0);
    let f = (-unif(rng, -high.ln(), -(low - q_star).ln())).exp();
    quantize(f, q, f64::ceil)
}

/// A uniformly chosen power of 2 in [low, high], floored to q.
pub fn power2_uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64, q: f64) -> f64 {
    let f2 = unif(rng, low.log2(), high.log2() + 1.0).floor();
    quantize(2f64.powf(f2), q, f64::floor)
}

/// A power of 2 in [low, high]; if it is at least q, a log-uniform multiple
/// of q in [max(low, q), high] instead (so the CDF is log-linear overall).
pub fn power2_or_log_uniform<R: Rng + ?Sized>(rng: &mut R, low: f64, high: f64, q: f64) -> f64 {
    let f = power2_uniform(rng, low, high, low);
    if f >= q {
        log_uniform(rng, low.max(q), high, high.min(q))
    } else {
        f
    }
}

fn clipped<R: Rng + ?Sized, D: Distribution<f64>>(rng: &mut R, d: &D, low: f64, high: f64) -> f64 {
    loop {
        let f = d.sample(rng);
        if (low..=high).contains(&f) {
            return f;
        }
    }
}

fn powers_of_2(low: f64, high: f64) -> impl Iterator<Item = f64> {
    let (a, b) = (low.log2() as i32, high.log2() as i32);
    (a..=b).map(|e| 2f64.powi(e))
}

fn grid(low: f64, high: f64, q: f64) -> Vec<f64> {
    let (a, b) = ((low / q).round() as i64, (high / q).round() as i64);
    let dq = Decimal::from_f64(q).expect("finite q");
    (a..=b).map(|k| dq.times(k as f64)).collect()
}
