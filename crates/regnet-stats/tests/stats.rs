//! Statistics against hand-computed cases, published tables and known
//! sampling distributions.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_stats::ks::kolmogorov_sf;
use regnet_stats::normalize::default_bins;
use regnet_stats::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn edf_by_hand() {
    let f = Edf::new(&[3.0, 1.0, 2.0, 2.0]);
    // F(e) counts errors strictly below e.
    assert_eq!(f.at(1.0), 0.0);
    assert_eq!(f.at(2.0), 0.25);
    assert_eq!(f.at(2.5), 0.75);
    assert_eq!(f.at(9.0), 1.0);
    assert_eq!(f.steps(), vec![(1.0, 0.25), (2.0, 0.75), (3.0, 1.0)]);
    let s = f.summary();
    assert_eq!((s.n, s.min, s.mean, s.median), (4, 1.0, 2.0, 2.0));
    assert_eq!(Edf::new(&[4.0, 1.0, 3.0, 2.0]).summary().median, 2.5);
}

#[test]
fn weighted_edf_by_hand() {
    // weights 1:1:2 -> 0.25, 0.25, 0.5; a zero weight and a NaN drop out
    let f = Edf::weighted(&[1.0, 2.0, 3.0, 0.5, f64::NAN], &[1.0, 1.0, 2.0, 0.0, 1.0]);
    assert_eq!(f.len(), 3);
    assert_eq!(f.at(2.5), 0.5);
    let s = f.summary();
    assert!(close(s.mean, 2.25, 1e-12));
    assert_eq!(s.median, 2.0);
    assert!(close(
        f.effective_n(),
        1.0 / (0.0625 + 0.0625 + 0.25),
        1e-12
    ));
}

#[test]
fn normalized_weights_equalize_complexity_histograms_by_hand() {
    // log10: A = [0, 0, 0, 2], B = [0, 2, 2, 2]; 2 bins of width 1.
    let a = [1.0, 1.0, 1.0, 100.0];
    let b = [1.0, 100.0, 100.0, 100.0];
    let w = normalized_weights(&[&a, &b], 2);
    let sixth = 1.0 / 6.0;
    assert_eq!(w[0], vec![sixth, sixth, sixth, 0.5]);
    assert_eq!(w[1], vec![0.5, sixth, sixth, sixth]);
    for ws in &w {
        assert!(close(ws.iter().sum::<f64>(), 1.0, 1e-12));
    }
    // A bin only one population occupies gets no weight in either.
    let c = [1.0, 1.0, 1000.0];
    let d = [1.0, 10.0, 10.0];
    let w = normalized_weights(&[&c, &d], 3);
    assert_eq!(w[0], vec![0.5, 0.5, 0.0]);
    assert_eq!(w[1], vec![1.0, 0.0, 0.0]);
    assert_eq!(default_bins(&[500, 800]), 10);
    assert_eq!(default_bins(&[8, 8]), 2);
}

#[test]
fn kolmogorov_distribution_matches_the_published_critical_values() {
    // Asymptotic critical values K_alpha of the Kolmogorov distribution.
    for (x, alpha) in [
        (1.07275, 0.20),
        (1.22385, 0.10),
        (1.35810, 0.05),
        (1.62762, 0.01),
    ] {
        assert!(
            close(kolmogorov_sf(x), alpha, 2e-5),
            "Q({x}) = {}",
            kolmogorov_sf(x)
        );
    }
    assert_eq!(kolmogorov_sf(0.0), 1.0);
    assert!(kolmogorov_sf(5.0) < 1e-20);
}

#[test]
fn ks_statistic_and_p_value_by_hand() {
    let t = ks_test(&Edf::new(&[1.0, 2.0, 3.0]), &Edf::new(&[4.0, 5.0, 6.0]));
    assert_eq!(t.d, 1.0);
    // sqrt(3*3/6) * 1 = 1.2247...: 2 * sum (-1)^(k-1) exp(-2 k^2 1.5)
    assert!(close(t.p_value, 0.0995618483147803, 1e-12), "{}", t.p_value);
    let t = ks_test(&Edf::new(&[1.0, 3.0, 5.0]), &Edf::new(&[2.0, 4.0, 6.0]));
    assert!(close(t.d, 1.0 / 3.0, 1e-12));
    let same = ks_test(&Edf::new(&[1.0, 2.0]), &Edf::new(&[1.0, 2.0]));
    assert_eq!((same.d, same.p_value), (0.0, 1.0));
}

#[test]
fn ks_test_rejects_shifted_populations_and_not_equal_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let draw = |rng: &mut ChaCha8Rng, shift: f64| -> Vec<f64> {
        (0..200).map(|_| rng.random::<f64>() + shift).collect()
    };
    let (a, b, c) = (
        draw(&mut rng, 0.0),
        draw(&mut rng, 0.0),
        draw(&mut rng, 0.3),
    );
    assert!(ks_test(&Edf::new(&a), &Edf::new(&b)).p_value > 0.01);
    assert!(ks_test(&Edf::new(&a), &Edf::new(&c)).p_value < 1e-6);
}

#[test]
fn spearman_by_hand() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0];
    // ranks of y with a tie: 1, 2, 3.5, 5, 3.5 -> 8 / sqrt(10 * 9.5)
    let y = [5.0, 6.0, 7.0, 8.0, 7.0];
    assert!(close(spearman(&x, &y), 8.0 / 95f64.sqrt(), 1e-12));
    let cubes: Vec<f64> = x.iter().map(|v| v * v * v).collect();
    assert_eq!(spearman(&x, &cubes), 1.0);
    let neg: Vec<f64> = x.iter().map(|v| -v).collect();
    assert_eq!(spearman(&x, &neg), -1.0);
    assert!(spearman(&x, &[1.0; 5]).is_nan());
}

#[test]
fn best_range_matches_the_distribution_of_a_sample_minimum() {
    // value = error = i: the kept value is the minimum index of 25 uniform
    // draws from 0..100, with P(min >= m) = ((100 - m) / 100)^25, so its
    // median is near 100 (1 - 0.5^(1/25)) = 2.7 and its 97.5th percentile
    // near 100 (1 - 0.025^(1/25)) = 13.7.
    let v: Vec<f64> = (0..100).map(f64::from).collect();
    let r = best_range(&v, &v, 5.0, 0.25, 2500, 7);
    assert_eq!(r.lo, 0.0);
    assert!((2.0..=3.0).contains(&r.median), "{r:?}");
    assert!((12.0..=15.0).contains(&r.hi), "{r:?}");
    assert_eq!(r, best_range(&v, &v, 5.0, 0.25, 2500, 7), "seeded");
    assert_ne!(r, best_range(&v, &v, 5.0, 0.25, 2500, 8));
}

#[test]
fn difference_intervals_cover_the_true_difference() {
    // Means of two uniform populations differing by 0.1: the 90% interval
    // should hold 0.1 in about 90% of repeated experiments.
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let trials = 200;
    let mut covered = 0;
    for t in 0..trials {
        let a: Vec<f64> = (0..60).map(|_| rng.random::<f64>() + 0.1).collect();
        let b: Vec<f64> = (0..60).map(|_| rng.random::<f64>()).collect();
        let i = diff_interval(&a, &b, Statistic::Mean, 400, 0.9, t);
        if i.lo <= 0.1 && 0.1 <= i.hi {
            covered += 1;
        }
    }
    let rate = covered as f64 / trials as f64;
    assert!((0.83..=0.96).contains(&rate), "coverage {rate}");
    let a = [1.0, 2.0, 3.0];
    let i = diff_interval(&a, &[2.0, 4.0], Statistic::Min, 100, 0.95, 1);
    assert_eq!(i.estimate, -1.0);
    assert!(i.lo <= i.estimate && i.estimate <= i.hi);
    assert_eq!(
        i,
        diff_interval(&a, &[2.0, 4.0], Statistic::Min, 100, 0.95, 1)
    );
}

#[test]
fn percentiles_are_numpys_linear_ones() {
    // numpy.percentile([1, 2, 3, 4], [0, 25, 50, 90, 100]) == [1, 1.75, 2.5, 3.7, 4]
    let v = [1.0, 2.0, 3.0, 4.0];
    let p = |q| regnet_stats::bootstrap::percentile(&v, q);
    assert_eq!([p(0.0), p(25.0), p(50.0), p(100.0)], [1.0, 1.75, 2.5, 4.0]);
    assert!((p(90.0) - 3.7).abs() < 1e-12);
}
