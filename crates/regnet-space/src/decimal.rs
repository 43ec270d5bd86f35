//! Exact decimal arithmetic for quantization, as pycls does with `Decimal`.
//!
//! pycls quantizes a sampled float f to `Decimal(op(f / q)) * Decimal(str(q))`,
//! so 364 steps of q = 0.1 give exactly 36.4 (not 36.400000000000006), and it
//! checks that a range's ends are multiples of q in decimal. A [`Decimal`] is
//! the shortest decimal representation of an `f64` (what Python's `str`
//! prints): an integer mantissa and a power-of-ten exponent.

/// `mantissa * 10^exp`, from the shortest round-trip representation of a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    exp: i32,
}

impl Decimal {
    /// The decimal a float prints as (`0.1` → 1e-1, `0.0078125` → 78125e-7).
    pub fn from_f64(x: f64) -> Option<Self> {
        if !x.is_finite() {
            return None;
        }
        // Fast path (no allocation; sampling calls this per draw): the fewest
        // decimal places k with round(x·10^k) / 10^k == x exactly.
        for k in 0..=17 {
            let p = 10f64.powi(k);
            let m = (x * p).round();
            if m.abs() < 9.0e15 && m / p == x {
                return Some(Decimal {
                    mantissa: m as i128,
                    exp: -k,
                });
            }
        }
        let s = format!("{x:e}");
        let (digits, exp) = s.split_once('e')?;
        let exp: i32 = exp.parse().ok()?;
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
        Some(Decimal {
            mantissa,
            exp: exp - frac.len() as i32,
        })
    }

    /// `k` copies of this decimal, rounded once to the nearest float.
    pub fn times(&self, k: f64) -> f64 {
        let m = k * self.mantissa as f64;
        if self.exp >= 0 {
            m * 10f64.powi(self.exp)
        } else {
            m / 10f64.powi(-self.exp)
        }
    }

    /// Whether `self` is an integer multiple of `q` (exactly, in decimal).
    pub fn is_multiple_of(&self, q: &Decimal) -> bool {
        if q.mantissa == 0 {
            return false;
        }
        let e = self.exp.min(q.exp);
        let scale = |d: &Decimal| {
            10i128
                .checked_pow((d.exp - e) as u32)
                .and_then(|p| d.mantissa.checked_mul(p))
        };
        match (scale(self), scale(q)) {
            (Some(a), Some(b)) => a % b == 0,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantization_is_exact_in_decimal() {
        let q = Decimal::from_f64(0.1).unwrap();
        assert_eq!(q.times(364.0), 36.4);
        assert_eq!(Decimal::from_f64(0.001).unwrap().times(2490.0), 2.49);
        assert_eq!(Decimal::from_f64(1.0 / 128.0).unwrap().times(32.0), 0.25);
        assert_eq!(Decimal::from_f64(8.0).unwrap().times(3.0), 24.0);
        assert_eq!(Decimal::from_f64(1e-10).unwrap().times(5e9), 0.5);
    }

    #[test]
    fn fast_path_agrees_with_the_printed_form() {
        for x in [
            0.1,
            0.001,
            1.0 / 128.0,
            36.44,
            8.0,
            1e-10,
            255.9,
            2.49,
            1e20,
            123456.789,
        ] {
            let s = format!("{x:e}");
            let (digits, exp) = s.split_once('e').unwrap();
            let frac = digits.split_once('.').map_or("", |(_, f)| f);
            let printed = Decimal {
                mantissa: digits.replace('.', "").parse().unwrap(),
                exp: exp.parse::<i32>().unwrap() - frac.len() as i32,
            };
            let fast = Decimal::from_f64(x).unwrap();
            assert_eq!(fast.times(1.0), printed.times(1.0), "{x}");
            assert!(
                fast.is_multiple_of(&printed) && printed.is_multiple_of(&fast),
                "{x}"
            );
        }
    }

    #[test]
    fn multiples() {
        let d = |x| Decimal::from_f64(x).unwrap();
        assert!(d(255.9).is_multiple_of(&d(0.1)));
        assert!(d(256.0).is_multiple_of(&d(8.0)));
        assert!(!d(250.0).is_multiple_of(&d(8.0)));
        assert!(d(5e-5).is_multiple_of(&d(1e-10)));
        assert!(!d(0.25).is_multiple_of(&d(0.1)));
    }
}
