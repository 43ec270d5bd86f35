//! The two-sample Kolmogorov–Smirnov comparison of two (weighted) EDFs.

use crate::edf::Edf;
use serde::Serialize;

/// D = sup_e |F1(e) − F2(e)| and its asymptotic p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KsTest {
    pub d: f64,
    /// Q_KS(√(n1·n2/(n1+n2)) · D), the asymptotic two-sided p-value (scipy
    /// `ks_2samp(..., method="asymp")`); with weights, n1 and n2 are the
    /// effective sample sizes.
    pub p_value: f64,
    pub n1: f64,
    pub n2: f64,
}

/// Compares two EDFs.
pub fn ks_test(a: &Edf, b: &Edf) -> KsTest {
    let mut xs: Vec<f64> = a.errors();
    xs.extend(b.errors());
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    // F at the right of each jump: weight of errors <= x.
    let (sa, sb) = (a.steps(), b.steps());
    let at_or_below = |steps: &[(f64, f64)], x: f64| -> f64 {
        steps
            .iter()
            .take_while(|s| s.0 <= x)
            .last()
            .map_or(0.0, |s| s.1)
    };
    let d = xs
        .iter()
        .map(|&x| (at_or_below(&sa, x) - at_or_below(&sb, x)).abs())
        .fold(0.0, f64::max);
    let (n1, n2) = (a.effective_n(), b.effective_n());
    let en = (n1 * n2 / (n1 + n2)).sqrt();
    KsTest {
        d,
        p_value: kolmogorov_sf(en * d),
        n1,
        n2,
    }
}

/// Survival function of the Kolmogorov distribution,
/// Q(x) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²x²) (scipy `kstwobign.sf`).
pub fn kolmogorov_sf(x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x < 0.2 {
        // The alternating series converges slowly here; Q is 1 to double precision.
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = (-2.0 * k * k * x * x).exp();
        sum += if k as u64 % 2 == 1 { term } else { -term };
        if term < 1e-17 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}
