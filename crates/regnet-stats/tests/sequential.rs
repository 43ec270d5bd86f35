//! The group-sequential comparison against published boundary constants and
//! by simulation: A/A pairs resampled from the study's own populations
//! (false decisions at most alpha under every look) and shifted pairs
//! (decided, and with fewer models than the fixed-n design).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_stats::sequential::{critical_values, crossing_probability, simulate, Simulation};
use regnet_stats::*;

#[path = "support/study.rs"]
mod support;
use support::study;

#[test]
fn critical_values_are_the_published_ones() {
    // Jennison & Turnbull (2000), Tables 2.1 and 2.3: two-sided alpha 0.05,
    // equally spaced looks; Pocock C_P(K) and O'Brien-Fleming C_B(K).
    for (k, pocock, obf) in [
        (1, 1.960, 1.960),
        (2, 2.178, 1.977),
        (3, 2.289, 2.004),
        (4, 2.361, 2.024),
        (5, 2.413, 2.040),
    ] {
        let p = critical_values(0.05, k, Boundary::Pocock);
        assert!((p[0] - pocock).abs() < 0.002, "Pocock K={k}: {p:?}");
        assert!(p.iter().all(|&c| c == p[0]));
        let o = critical_values(0.05, k, Boundary::OBrienFleming);
        assert!(
            (o[k - 1] - obf).abs() < 0.002,
            "O'Brien-Fleming K={k}: {o:?}"
        );
        assert!((o[0] - obf * (k as f64).sqrt()).abs() < 0.005);
    }
    // Pocock (1977), Table 1: K = 10 at 0.05 gives 2.555.
    assert!((critical_values(0.05, 10, Boundary::Pocock)[0] - 2.555).abs() < 0.002);
    // One look is the fixed test: 5% beyond 1.96.
    assert!((crossing_probability(&[1.959964]) - 0.05).abs() < 1e-6);
}

#[test]
fn crossing_probability_matches_a_simulated_random_walk() {
    let c = [2.2, 2.2, 2.2];
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let normal = rand_distr::StandardNormal;
    let runs = 200_000;
    let mut crossed = 0;
    for _ in 0..runs {
        let mut s = 0.0;
        for (k, &ck) in c.iter().enumerate() {
            let z: f64 = rng.sample(normal);
            s += z;
            if s.abs() >= ck * ((k + 1) as f64).sqrt() {
                crossed += 1;
                break;
            }
        }
    }
    let sim = crossed as f64 / runs as f64;
    let se = (sim * (1.0 - sim) / runs as f64).sqrt();
    let exact = crossing_probability(&c);
    assert!(
        (sim - exact).abs() < 4.0 * se,
        "simulated {sim} ± {se}, computed {exact}"
    );
}

#[test]
fn an_a_a_comparison_under_every_look_errs_at_most_alpha() {
    // The study's own populations, each compared with itself: any "better"
    // or "worse" is a false decision. 6 looks of 8 models = the study's 48.
    let design = Design::new(0.05, 6, 8, Boundary::Pocock).unwrap();
    let pairs = 2000;
    for name in ["anynetx_a", "anynetx_e", "regnetx"] {
        let pop = study(name);
        let s = simulate(&design, (&pop, &pop), 0.0, None, (pairs, 11));
        let false_rate = s.better + s.worse;
        // Monte Carlo standard error at the nominal rate: sqrt(.05 * .95 / 2000) = 0.0049.
        assert!(false_rate <= 0.05 + 2.0 * 0.0049, "{name}: {false_rate}");
    }
}

#[test]
fn a_large_difference_is_found_with_at_most_half_the_models() {
    let design = Design::new(0.05, 6, 8, Boundary::Pocock).unwrap();
    let (a, e) = (study("anynetx_a"), study("anynetx_e"));
    // In the study's regime E has the higher error (68.0 against 42.4 mean):
    // as the candidate against A it is worse.
    let Simulation {
        better,
        worse,
        mean_n,
        ..
    } = simulate(&design, (&a, &e), 0.0, None, (500, 5));
    assert!(
        worse >= 0.95 && better == 0.0,
        "better {better}, worse {worse}"
    );
    assert!(mean_n <= 24.0, "{mean_n} models per population on average");
}

#[test]
fn a_shift_within_the_margin_is_not_worse() {
    // E against a copy of itself 2 points worse, margin 10 points: "worse"
    // is true here, "better" is the false decision.
    let design = Design::new(0.05, 6, 8, Boundary::Pocock).unwrap();
    let e = study("anynetx_e");
    let Simulation {
        better, not_worse, ..
    } = simulate(&design, (&e, &e), 2.0, Some(10.0), (500, 9));
    assert!(
        better <= 0.05 && not_worse >= 0.5,
        "better {better}, not worse {not_worse}"
    );
}

#[test]
fn the_planner_and_the_dkw_band_follow_their_formulas() {
    // n = (1.95996 + 0.84162)^2 (15^2 + 15^2) / 10^2 = 35.3 -> 36.
    assert_eq!(models_needed(10.0, 15.0, 15.0, 0.05, 0.8).unwrap(), 36);
    assert!(models_needed(0.0, 15.0, 15.0, 0.05, 0.8).is_err());
    // sqrt(ln(2 / 0.05) / (2 * 48)) = 0.19603.
    assert!((dkw_half_width(48.0, 0.05) - 0.19603).abs() < 1e-5);
    // Coverage by simulation: uniform samples of 48, the sup distance of
    // the EDF from the identity stays within the band in >= 95% of runs.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let eps = dkw_half_width(48.0, 0.05);
    let runs = 4000;
    let inside = (0..runs)
        .filter(|_| {
            let mut u: Vec<f64> = (0..48).map(|_| rng.random::<f64>()).collect();
            u.sort_by(f64::total_cmp);
            let d = u.iter().enumerate().fold(0.0f64, |d, (i, &x)| {
                d.max(((i + 1) as f64 / 48.0 - x).abs())
                    .max((x - i as f64 / 48.0).abs())
            });
            d <= eps
        })
        .count();
    assert!(inside as f64 / runs as f64 >= 0.95, "{inside} of {runs}");
}
