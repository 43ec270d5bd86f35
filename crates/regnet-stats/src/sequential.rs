//! Group-sequential comparison of two populations' mean errors.
//!
//! A fixed-n comparison spends as many models on an obvious difference as on
//! a hopeless one. Here the two populations grow in rounds (`round` models of
//! each per look, at most `looks` looks) and after every round the repeated
//! confidence interval (RCI) of the mean-error difference is read: the RCIs
//! of all looks hold the true difference *simultaneously* with probability at
//! least `1 - alpha`, so stopping at the first look whose interval decides is
//! as trustworthy as the level says, however often one looks (Jennison &
//! Turnbull, *Group Sequential Methods with Applications to Clinical
//! Trials*, 2000, ch. 9; boundaries of Pocock 1977 and O'Brien & Fleming
//! 1979). The critical values are computed here by recursive numerical
//! integration of the standardized statistic's Brownian path (Armitage,
//! McPherson & Rowe 1969), and each look's interval uses Student's t with
//! Welch's degrees of freedom at that look's nominal level, the usual
//! small-sample adjustment (Jennison & Turnbull §3.8).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The shape of the critical values over the looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Boundary {
    /// One constant for every look: stops earliest on large differences,
    /// the point of sequential design-space comparisons.
    Pocock,
    /// Wide early, close to the fixed-n value at the last look.
    #[serde(rename = "obrien-fleming")]
    OBrienFleming,
}

/// A group-sequential plan: level, number of looks, models per population
/// per look, and the boundary shape.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Design {
    pub alpha: f64,
    pub looks: usize,
    pub round: usize,
    pub boundary: Boundary,
    /// Normal-scale critical value of each look, computed once.
    pub critical: Vec<f64>,
}

/// What one look says about "candidate minus baseline" mean error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// The candidate's mean error is lower: the interval lies below 0.
    Better,
    /// The candidate's mean error is higher: the interval lies above 0.
    Worse,
    /// Not worse by more than the margin: the interval lies below it but
    /// reaches 0 or above. A margin asks the non-inferiority question, so
    /// an interval within (0, margin) answers it rather than "worse".
    NotWorse,
    /// Undecided; more models are needed (or the last look was spent).
    Continue,
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decision::Better => "better",
            Decision::Worse => "worse",
            Decision::NotWorse => "not worse",
            Decision::Continue => "continue",
        })
    }
}

impl std::str::FromStr for Boundary {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pocock" => Ok(Boundary::Pocock),
            "obrien-fleming" => Ok(Boundary::OBrienFleming),
            _ => Err(format!("boundary '{s}': use pocock or obrien-fleming")),
        }
    }
}

impl std::fmt::Display for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Boundary::Pocock => "pocock",
            Boundary::OBrienFleming => "obrien-fleming",
        })
    }
}

/// One look: the models used, the estimate and its repeated confidence
/// interval, and the decision they give.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Look {
    pub look: usize,
    pub n: usize,
    pub estimate: f64,
    pub lo: f64,
    pub hi: f64,
    pub decision: Decision,
}

impl Design {
    /// A plan, validated: `alpha` in (0, 0.5), 1 to 50 looks, rounds of at
    /// least 2 models (a standard deviation needs two).
    pub fn new(alpha: f64, looks: usize, round: usize, boundary: Boundary) -> Result<Self, String> {
        if !(alpha > 0.0 && alpha < 0.5) {
            return Err(format!("alpha {alpha}: must lie in (0, 0.5)"));
        }
        if !(1..=50).contains(&looks) {
            return Err(format!("{looks} looks: allowed are 1 to 50"));
        }
        if round < 2 {
            return Err(format!("rounds of {round} models: at least 2 are needed"));
        }
        let critical = critical_values(alpha, looks, boundary);
        Ok(Design {
            alpha,
            looks,
            round,
            boundary,
            critical,
        })
    }

    /// The most models per population the plan can use.
    pub fn max_n(&self) -> usize {
        self.looks * self.round
    }

    /// Every look the two populations (each in the order its models
    /// finished) allow, up to and including the first that decides.
    /// `margin` (points of error, > 0) enables the not-worse decision.
    pub fn run(&self, baseline: &[f64], candidate: &[f64], margin: Option<f64>) -> Vec<Look> {
        let mut looks = Vec::new();
        for k in 1..=self.looks {
            let n = k * self.round;
            if baseline.len() < n || candidate.len() < n {
                break;
            }
            let look = self.look(k, &baseline[..n], &candidate[..n], margin);
            let decided = look.decision != Decision::Continue;
            looks.push(look);
            if decided {
                break;
            }
        }
        looks
    }

    /// The repeated confidence interval at look `k` (1-based) of
    /// `mean(candidate) - mean(baseline)`, and its decision.
    fn look(&self, k: usize, baseline: &[f64], candidate: &[f64], margin: Option<f64>) -> Look {
        let (ma, va) = mean_var(baseline);
        let (mb, vb) = mean_var(candidate);
        let (na, nb) = (baseline.len() as f64, candidate.len() as f64);
        let se2 = va / na + vb / nb;
        let df = welch_df(va / na, vb / nb, na, nb);
        let half = t_critical(self.critical[k - 1], df) * se2.sqrt();
        let estimate = mb - ma;
        let (lo, hi) = (estimate - half, estimate + half);
        let decision = if hi < 0.0 {
            Decision::Better
        } else if margin.is_some_and(|d| hi < d) {
            Decision::NotWorse
        } else if lo > 0.0 {
            Decision::Worse
        } else {
            Decision::Continue
        };
        Look {
            look: k,
            n: baseline.len(),
            estimate,
            lo,
            hi,
            decision,
        }
    }
}

/// The Student-t critical value with `df` degrees of freedom at the same
/// two-sided nominal level as the normal value `z`.
fn t_critical(z: f64, df: f64) -> f64 {
    let normal = Normal::standard();
    let upper = normal.sf(z);
    match StudentsT::new(0.0, 1.0, df.max(1.0)) {
        Ok(t) => t.inverse_cdf(1.0 - upper),
        Err(_) => z,
    }
}

/// Welch–Satterthwaite degrees of freedom of a difference of two means with
/// squared standard errors `sa`, `sb`; infinite (normal) when both vanish.
fn welch_df(sa: f64, sb: f64, na: f64, nb: f64) -> f64 {
    let den = sa * sa / (na - 1.0) + sb * sb / (nb - 1.0);
    if den > 0.0 {
        (sa + sb).powi(2) / den
    } else {
        f64::INFINITY
    }
}

/// Mean and unbiased variance.
pub fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, var)
}

/// Normal-scale critical values `c_1..c_K` of equally spaced looks with
/// two-sided crossing probability `alpha` under no difference: Pocock's
/// constant `c_k = C`, O'Brien–Fleming's `c_k = C sqrt(K / k)`, `C` found
/// by bisection on the exact crossing probability.
pub fn critical_values(alpha: f64, looks: usize, boundary: Boundary) -> Vec<f64> {
    let shape = |c: f64| -> Vec<f64> {
        (1..=looks)
            .map(|k| match boundary {
                Boundary::Pocock => c,
                Boundary::OBrienFleming => c * (looks as f64 / k as f64).sqrt(),
            })
            .collect()
    };
    let (mut lo, mut hi) = (1.0, 6.0);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if crossing_probability(&shape(mid)) > alpha {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    shape(0.5 * (lo + hi))
}

/// Probability that a standard Brownian path observed at times 1..K
/// (independent unit-variance increments) leaves `|S_k| < c_k sqrt(k)` at
/// some look: the density of the path still inside is carried from look to
/// look on a grid (Simpson's rule) and the mass leaving at each look summed.
pub fn crossing_probability(critical: &[f64]) -> f64 {
    let normal = Normal::standard();
    let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    // The first look: S_1 is standard normal.
    let b1 = critical[0];
    let mut crossed = 2.0 * normal.sf(b1);
    let mut grid = simpson_grid(b1);
    let mut density: Vec<f64> = grid.iter().map(|&(s, _)| pdf(s)).collect();
    for (k, &c) in critical.iter().enumerate().skip(1) {
        let b = c * ((k + 1) as f64).sqrt();
        // Mass leaving at this look, from each point still inside.
        crossed += grid
            .iter()
            .zip(&density)
            .map(|(&(s, w), f)| w * f * (normal.sf(b - s) + normal.cdf(-b - s)))
            .sum::<f64>();
        let next = simpson_grid(b);
        density = next
            .iter()
            .map(|&(t, _)| {
                grid.iter()
                    .zip(&density)
                    .map(|(&(s, w), f)| w * f * pdf(t - s))
                    .sum()
            })
            .collect();
        grid = next;
    }
    crossed
}

/// Points and Simpson weights covering `[-b, b]` with a spacing near 0.05
/// (Simpson's error on a unit-variance Gaussian at that spacing is below
/// 1e-6).
fn simpson_grid(b: f64) -> Vec<(f64, f64)> {
    let intervals = (((2.0 * b) / 0.05).ceil() as usize)
        .max(2)
        .next_multiple_of(2);
    let h = 2.0 * b / intervals as f64;
    (0..=intervals)
        .map(|i| {
            let w = if i == 0 || i == intervals {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            (-b + i as f64 * h, w * h / 3.0)
        })
        .collect()
}

/// Models per population a fixed-n two-sided comparison at level `alpha`
/// needs to detect a mean-error difference of `difference` points with
/// probability `power`, from a pilot's standard deviations (normal
/// approximation, `n = (z_{1-alpha/2} + z_power)^2 (sd_a^2 + sd_b^2) / d^2`).
pub fn models_needed(
    difference: f64,
    sd_a: f64,
    sd_b: f64,
    alpha: f64,
    power: f64,
) -> Result<usize, String> {
    if !(difference.is_finite() && difference > 0.0) {
        return Err(format!(
            "difference {difference}: must be a positive number of points"
        ));
    }
    if !(alpha > 0.0 && alpha < 1.0 && power > 0.0 && power < 1.0) {
        return Err(format!(
            "alpha {alpha}, power {power}: both must lie in (0, 1)"
        ));
    }
    let normal = Normal::standard();
    let z = normal.inverse_cdf(1.0 - alpha / 2.0) + normal.inverse_cdf(power);
    let n = (z * z * (sd_a * sd_a + sd_b * sd_b) / (difference * difference)).ceil();
    Ok((n as usize).max(2))
}

/// Half-width of the Dvoretzky–Kiefer–Wolfowitz–Massart band: with
/// probability at least `1 - alpha` the true distribution function lies
/// within this distance of an EDF of `n` models everywhere at once. For a
/// weighted (normalized) EDF pass its effective size. At most 1 (a band
/// that says nothing), which is also the answer for no models.
pub fn dkw_half_width(n: f64, alpha: f64) -> f64 {
    if n > 0.0 {
        ((2.0 / alpha).ln() / (2.0 * n)).sqrt().min(1.0)
    } else {
        1.0
    }
}

/// Operating characteristics of a plan, estimated by resampling: the share
/// of comparisons ending in each decision and the mean models per
/// population they used.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Simulation {
    pub better: f64,
    pub worse: f64,
    pub not_worse: f64,
    pub undecided: f64,
    pub mean_n: f64,
}

/// Runs `pairs` comparisons of populations drawn with replacement from
/// `baseline` and `candidate` (each candidate error plus `shift` points),
/// seeded: how often the plan decides what, and at what cost. With the same
/// population on both sides and no shift every "better" or "worse" is a
/// false decision.
pub fn simulate(
    design: &Design,
    (baseline, candidate): (&[f64], &[f64]),
    shift: f64,
    margin: Option<f64>,
    (pairs, seed): (usize, u64),
) -> Simulation {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut draw = |pop: &[f64], shift: f64| -> Vec<f64> {
        (0..design.max_n())
            .map(|_| pop[rng.random_range(0..pop.len())] + shift)
            .collect()
    };
    let mut counts = [0usize; 4];
    let mut used = 0;
    for _ in 0..pairs {
        let base = draw(baseline, 0.0);
        let cand = draw(candidate, shift);
        let looks = design.run(&base, &cand, margin);
        let Some(last) = looks.last() else { continue };
        used += last.n;
        counts[last.decision as usize] += 1;
    }
    let p = pairs as f64;
    Simulation {
        better: counts[Decision::Better as usize] as f64 / p,
        worse: counts[Decision::Worse as usize] as f64 / p,
        not_worse: counts[Decision::NotWorse as usize] as f64 / p,
        undecided: counts[Decision::Continue as usize] as f64 / p,
        mean_n: used as f64 / p,
    }
}
