//! Python's integer rounding, reproduced exactly.
//!
//! pycls uses Python's `round` and numpy's `np.round`, both of which round
//! half to *even* (`round(2.5) == 2`), and `int(x)`, which truncates. Rust's
//! `f64::round` rounds half away from zero, which would change RegNet widths
//! and compatibility adjustments in tie cases, so every rounding in this crate
//! goes through these helpers.

/// Python `round(x)` / `np.round(x)`: nearest integer, ties to even.
pub fn round_half_even(x: f64) -> f64 {
    x.round_ties_even()
}

/// Python `int(round(x))` for non-negative values.
pub fn round_to_u64(x: f64) -> u64 {
    round_half_even(x).max(0.0) as u64
}

/// Python `int(x)` for non-negative values: truncation toward zero.
pub fn trunc_to_u64(x: f64) -> u64 {
    x.trunc().max(0.0) as u64
}

/// Greatest common divisor (`math.gcd`).
pub fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Least common multiple (`np.lcm`).
pub fn lcm(a: u64, b: u64) -> u64 {
    if a == 0 || b == 0 {
        0
    } else {
        a / gcd(a, b) * b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_go_to_even_like_python() {
        // Python: [round(x) for x in (0.5, 1.5, 2.5, 3.5, -0.5)] == [0, 2, 2, 4, 0]
        assert_eq!(round_half_even(0.5), 0.0);
        assert_eq!(round_half_even(1.5), 2.0);
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(3.5), 4.0);
        assert_eq!(round_half_even(-0.5), 0.0);
        assert_eq!(round_to_u64(2.5), 2);
        assert_eq!(round_to_u64(2.51), 3);
    }

    #[test]
    fn trunc_and_lcm() {
        assert_eq!(trunc_to_u64(7.99), 7);
        assert_eq!(lcm(4, 6), 12);
        assert_eq!(lcm(8, 8), 8);
        assert_eq!(gcd(48, 18), 6);
    }
}
