//! Ordinary least squares with an intercept, and Pearson's correlation:
//! what a run-time model is fitted with (time against flops, params,
//! activations, or two of them).

/// A fitted linear model `y = intercept + Σ coef[j] · x[j]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ols {
    pub intercept: f64,
    pub coef: Vec<f64>,
    /// Coefficient of determination on the fitted points.
    pub r2: f64,
}

impl Ols {
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(x).map(|(c, v)| c * v).sum::<f64>()
    }
}

/// Fits `ys` on the rows `xs` (each the same number of predictors); None
/// when there are fewer points than unknowns or the predictors are
/// collinear. Solved by Gaussian elimination with partial pivoting on the
/// normal equations, after centering (few predictors, well scaled).
pub fn ols(xs: &[Vec<f64>], ys: &[f64]) -> Option<Ols> {
    let n = ys.len();
    let k = xs.first().map_or(0, Vec::len);
    if n != xs.len() || n < k + 2 || xs.iter().any(|r| r.len() != k) {
        return None;
    }
    let mean = |f: &dyn Fn(usize) -> f64| (0..n).map(f).sum::<f64>() / n as f64;
    let mx: Vec<f64> = (0..k).map(|j| mean(&|i| xs[i][j])).collect();
    let my = mean(&|i| ys[i]);
    // [XᵀX | Xᵀy] of the centred data.
    let mut a = vec![vec![0.0; k + 1]; k];
    for i in 0..n {
        for r in 0..k {
            let xr = xs[i][r] - mx[r];
            for c in 0..k {
                a[r][c] += xr * (xs[i][c] - mx[c]);
            }
            a[r][k] += xr * (ys[i] - my);
        }
    }
    let coef = solve(a)?;
    let intercept = my - coef.iter().zip(&mx).map(|(c, m)| c * m).sum::<f64>();
    let fit = Ols {
        intercept,
        coef,
        r2: 0.0,
    };
    let ss_res: f64 = (0..n).map(|i| (ys[i] - fit.predict(&xs[i])).powi(2)).sum();
    let ss_tot: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    Some(Ols { r2, ..fit })
}

/// Solves the augmented system `a` (k rows of k + 1); None if singular.
fn solve(mut a: Vec<Vec<f64>>) -> Option<Vec<f64>> {
    let k = a.len();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-12 * scale {
            return None;
        }
        a.swap(col, pivot);
        let pivot_row = a[col].clone();
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let f = r[col] / pivot_row[col];
                for (v, p) in r.iter_mut().zip(&pivot_row).skip(col) {
                    *v -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

/// Pearson's correlation of `x` and `y`; None for fewer than two points
/// or a constant series.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len();
    if n != y.len() || n < 2 {
        return None;
    }
    let (mx, my) = (
        x.iter().sum::<f64>() / n as f64,
        y.iter().sum::<f64>() / n as f64,
    );
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points on a known plane are fitted exactly; a hand-computed line.
    #[test]
    fn known_models_are_recovered() {
        let xs: Vec<Vec<f64>> = (0..20)
            .map(|i| vec![i as f64, ((i * 7) % 11) as f64])
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 + 2.0 * x[0] - 0.5 * x[1]).collect();
        let f = ols(&xs, &ys).unwrap();
        assert!((f.intercept - 3.0).abs() < 1e-9, "{f:?}");
        assert!((f.coef[0] - 2.0).abs() < 1e-9 && (f.coef[1] + 0.5).abs() < 1e-9);
        assert!((f.r2 - 1.0).abs() < 1e-12);
        // y = (1, 3, 2, 5) on x = (0, 1, 2, 3): slope 1.1, intercept 1.1,
        // residuals (-0.1, 0.8, -1.3, 0.6): R² = 1 - 2.7/8.75 (by hand).
        let line = ols(
            &[vec![0.0], vec![1.0], vec![2.0], vec![3.0]],
            &[1.0, 3.0, 2.0, 5.0],
        )
        .unwrap();
        assert!((line.coef[0] - 1.1).abs() < 1e-12 && (line.intercept - 1.1).abs() < 1e-12);
        assert!((line.r2 - (1.0 - 2.7 / 8.75)).abs() < 1e-12);
        // Collinear predictors, too few points.
        let twin: Vec<Vec<f64>> = (0..5).map(|i| vec![i as f64, 2.0 * i as f64]).collect();
        assert!(ols(&twin, &[1.0, 2.0, 3.0, 4.0, 5.0]).is_none());
        assert!(ols(&[vec![1.0], vec![2.0]], &[1.0, 2.0]).is_none());
    }

    #[test]
    fn pearson_of_hand_computed_series() {
        // x = 1..5, y = (2, 4, 5, 4, 5): sxy 6, sxx 10, syy 6 (by hand).
        let r = pearson(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 5.0, 4.0, 5.0]).unwrap();
        assert!((r - 6.0 / 60.0f64.sqrt()).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 1.0], &[1.0, 2.0]), None);
    }
}
