//! Sampling: constraints always hold, the spaces' rules hold, marginals follow
//! the declared distributions, and a seed fixes the output.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regnet_space::anynetx::AnyNetXSpace;
use regnet_space::random::{RandType, Scalar};
use regnet_space::space::Target;
use regnet_space::{sample, Band, Constraints, SampleOptions, Space};
use statrs::distribution::{ChiSquared, ContinuousCDF};

fn opts(n: usize, seed: u64, constraints: Constraints) -> SampleOptions {
    SampleOptions {
        n,
        seed,
        max_tries: 2_000_000,
        max_time: regnet_space::MAX_TIME,
        constraints,
        target: Target::default(),
    }
}

fn band(lo: u64, hi: u64) -> Band {
    Band {
        lo: Some(lo),
        hi: Some(hi),
    }
}

fn u64s(v: &serde_json::Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn f64s(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn anynetx_samples_obey_constraints_and_rules() {
    for name in [
        "anynetx-a",
        "anynetx-b",
        "anynetx-c",
        "anynetx-d",
        "anynetx-e",
    ] {
        let space = Space::builtin(name).unwrap();
        let mut c = space.default_constraints();
        c.flops = band(360_000_000, 400_000_000);
        let pop = sample(&space, &opts(40, 1, c)).unwrap();
        assert_eq!(pop.models.len(), 40);
        for m in &pop.models {
            assert!((360_000_000..=400_000_000).contains(&m.flops), "{name}");
            let a = &m.config["ANYNET"];
            let (d, w, b, g) = (
                u64s(&a["DEPTHS"]),
                u64s(&a["WIDTHS"]),
                f64s(&a["BOT_MULS"]),
                u64s(&a["GROUP_WS"]),
            );
            assert_eq!(d.len(), 4);
            assert!(d.iter().all(|x| (1..=16).contains(x)));
            assert!(w.iter().all(|x| x % 8 == 0 && (8..=1024).contains(x)));
            assert!(b.iter().all(|x| [1.0, 0.5, 0.25].contains(x)));
            for i in 0..4 {
                let w_b = (w[i] as f64 * b[i]).round() as u64;
                assert_eq!(
                    w_b % g[i],
                    0,
                    "{name}: group width must divide the bottleneck"
                );
            }
            assert_eq!(u64s(&a["STRIDES"]), [2, 2, 2, 2]);
            if name != "anynetx-a" {
                assert!(b.windows(2).all(|x| x[0] == x[1]), "{name} shares b");
            }
            if name >= "anynetx-d" {
                assert!(
                    w.windows(2).all(|x| x[0] <= x[1]),
                    "{name} widths non-decreasing: {w:?}"
                );
            }
            if name == "anynetx-e" {
                assert!(
                    d.windows(2).all(|x| x[0] <= x[1]),
                    "{name} depths non-decreasing: {d:?}"
                );
            }
            // The config describes back to the same counts.
            let cfg = regnet_config::from_value(&serde_yaml::to_value(&m.config).unwrap()).unwrap();
            let cx = cfg.model.build().unwrap().complexity(cfg.im_size).unwrap();
            assert_eq!((cx.flops, cx.params, cx.acts), (m.flops, m.params, m.acts));
        }
    }
}

#[test]
fn shared_g_spaces_share_g_after_compatibility() {
    let space = Space::builtin("anynetx-c").unwrap();
    let pop = sample(&space, &opts(200, 3, Constraints::default())).unwrap();
    for m in &pop.models {
        let b = f64s(&m.config["ANYNET"]["BOT_MULS"]);
        let w = u64s(&m.config["ANYNET"]["WIDTHS"]);
        let g = u64s(&m.config["ANYNET"]["GROUP_WS"]);
        // A shared g is only lowered where a stage's bottleneck is narrower than g.
        let g_max = *g.iter().max().unwrap();
        for i in 0..4 {
            let w_b = (w[i] as f64 * b[i]).round() as u64;
            assert!(g[i] == g_max || g[i] == w_b, "{g:?} {w:?} {b:?}");
        }
    }
}

#[test]
fn regnet_samples_have_four_stages_and_respect_ranges() {
    for name in ["regnet", "regnetx", "regnety"] {
        let space = Space::builtin(name).unwrap();
        let mut c = space.default_constraints();
        c.flops = band(360_000_000, 400_000_000);
        let pop = sample(&space, &opts(30, 2, c)).unwrap();
        for m in &pop.models {
            assert!((360_000_000..=400_000_000).contains(&m.flops));
            let r = &m.config["REGNET"];
            let cfg = regnet_config::from_value(&serde_yaml::to_value(&m.config).unwrap()).unwrap();
            let regnet_spec::ModelSpec::RegNet(spec) = &cfg.model else {
                panic!("not a regnet");
            };
            let rw = spec.widths().unwrap();
            assert_eq!(rw.num_stages(), 4);
            assert_eq!(rw.total_stages, 4);
            assert_eq!(r["SE_ON"].as_bool(), Some(name == "regnety"));
            let depth = r["DEPTH"].as_u64().unwrap();
            let wm = r["WM"].as_f64().unwrap();
            if name == "regnet" {
                assert!((1..64).contains(&depth) && (1.5..=3.0).contains(&wm));
            } else {
                assert!((12..=28).contains(&depth) && (2.0..=3.0).contains(&wm));
                assert_eq!(r["BOT_MUL"].as_f64(), Some(1.0));
            }
            assert!(r["W0"].as_u64().unwrap() % 8 == 0 && r["W0"].as_u64().unwrap() < 256);
        }
    }
}

#[test]
fn same_seed_same_population_other_seed_other() {
    let space = Space::builtin("regnetx").unwrap();
    let c = space.default_constraints();
    let a = sample(&space, &opts(20, 42, c.clone())).unwrap();
    let b = sample(&space, &opts(20, 42, c.clone())).unwrap();
    let other = sample(&space, &opts(20, 43, c)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.models, other.models);
}

#[test]
fn samples_are_distinct() {
    // A tiny space forces duplicates: they must be skipped, not returned.
    // 2 stages, 2 depths and 2 widths per stage: 16 models in all.
    let mut s = AnyNetXSpace::variant('c').unwrap();
    s.stages = 2;
    s.depth.values = vec![1, 2];
    s.width.values = vec![64, 128];
    s.bottleneck.values = vec![1];
    s.group_w.values = vec![8];
    let space = Space::AnyNetX(s);
    let pop = sample(&space, &opts(16, 0, Constraints::default())).unwrap();
    let keys: std::collections::HashSet<String> =
        pop.models.iter().map(|m| m.config.to_string()).collect();
    assert_eq!(keys.len(), 16);
    assert!(pop.rejected["duplicate"] > 0);
    // A 17th distinct model does not exist.
    let e = sample(
        &space,
        &SampleOptions {
            max_tries: 5000,
            max_time: regnet_space::MAX_TIME,
            ..opts(17, 0, Constraints::default())
        },
    )
    .unwrap_err();
    assert!(
        e.0.contains("found only 16 of 17") && e.0.contains("duplicate"),
        "{e}"
    );
}

#[test]
fn impossible_constraints_say_what_rejected_most() {
    let space = Space::builtin("anynetx-a").unwrap();
    let c = Constraints {
        flops: band(1, 10),
        ..Constraints::default()
    };
    let e = sample(
        &space,
        &SampleOptions {
            max_tries: 2000,
            ..opts(5, 0, c)
        },
    )
    .unwrap_err();
    assert!(
        e.0.starts_with("found only 0 of 5 models after 2000 tries"),
        "{e}"
    );
    assert!(
        e.0.contains("the flops constraint (flops in [1, 10]) rejected most"),
        "{e}"
    );
}

/// A constraint that keeps almost nothing, with tries enough for hours:
/// the time bound ends it, saying how far it got and the share accepted.
#[test]
fn sampling_stops_at_its_time_bound_with_the_share_accepted() {
    let space = Space::builtin("anynetx-a").unwrap();
    let c = Constraints {
        flops: band(1, 10),
        ..Constraints::default()
    };
    let t = std::time::Instant::now();
    let e = sample(
        &space,
        &SampleOptions {
            max_tries: 1_000_000_000_000,
            max_time: std::time::Duration::from_millis(300),
            ..opts(5, 0, c)
        },
    )
    .unwrap_err();
    let took = t.elapsed().as_secs_f64();
    assert!(took < 5.0, "took {took} s");
    assert!(
        e.0.starts_with("found only 0 of 5 models in the 0.3 s time bound, "),
        "{e}"
    );
    assert!(e.0.contains(" of 1000000000000 tries (accepted 0%)"), "{e}");
}

/// Pearson chi-square test at significance 0.001 with a fixed seed: the
/// statistic is deterministic, and a correct sampler exceeds the critical
/// value only with probability 0.001, so a failure means a wrong distribution.
fn chi_square_ok(counts: &[u64], probs: &[f64]) -> (bool, f64, f64) {
    let n: u64 = counts.iter().sum();
    let stat: f64 = counts
        .iter()
        .zip(probs)
        .map(|(&c, &p)| {
            let e = p * n as f64;
            (c as f64 - e).powi(2) / e
        })
        .sum();
    let crit = ChiSquared::new((counts.len() - 1) as f64)
        .unwrap()
        .inverse_cdf(0.999);
    (stat < crit, stat, crit)
}

fn histogram(values: &[f64], support: &[f64]) -> Vec<u64> {
    let mut c = vec![0u64; support.len()];
    for v in values {
        let i = support
            .iter()
            .position(|s| s == v)
            .expect("value in support");
        c[i] += 1;
    }
    c
}

#[test]
fn uniform_and_log_uniform_marginals() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    // Uniform ints in [12, 28]: 17 equally likely values.
    let s = Scalar::new(RandType::Uniform, 12.0, 28.0, 1.0).unwrap();
    let draws: Vec<f64> = (0..40_000).map(|_| s.sample(&mut rng)).collect();
    let sup = s.support();
    let (ok, stat, crit) = chi_square_ok(&histogram(&draws, &sup), &[1.0 / 17.0; 17]);
    assert!(ok, "uniform: {stat} >= {crit}");
    // Log-uniform w0 in [8, 256] q 8: f ~ logU(4, 256], value v = ceil(f/8)*8,
    // so P(v) = ln(v / max(v - 8, 4)) / ln(256 / 4).
    let s = Scalar::new(RandType::LogUniform, 8.0, 256.0, 8.0).unwrap();
    let draws: Vec<f64> = (0..40_000).map(|_| s.sample(&mut rng)).collect();
    let sup = s.support();
    let probs: Vec<f64> = sup
        .iter()
        .map(|&v| (v / (v - 8.0).max(4.0)).ln() / (256.0f64 / 4.0).ln())
        .collect();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let (ok, stat, crit) = chi_square_ok(&histogram(&draws, &sup), &probs);
    assert!(ok, "log_uniform: {stat} >= {crit}");
}

#[test]
fn group_width_marginal_is_power2_then_log_uniform() {
    // power2_or_log_uniform in [1, 32], q 8: first a uniform power of 2 among
    // {1, 2, 4, 8, 16, 32}; 1, 2, 4 are kept (1/6 each), otherwise (1/2) a
    // log-uniform multiple of 8 in [8, 32]: f ~ logU(4, 32], ceiled to 8.
    let s = Scalar::new(RandType::Power2OrLogUniform, 1.0, 32.0, 8.0).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let draws: Vec<f64> = (0..40_000).map(|_| s.sample(&mut rng)).collect();
    let sup = s.support();
    assert_eq!(sup, vec![1.0, 2.0, 4.0, 8.0, 16.0, 24.0, 32.0]);
    let log_part = |v: f64| 0.5 * (v / (v - 8.0).max(4.0)).ln() / 8f64.ln();
    let probs: Vec<f64> = sup
        .iter()
        .map(|&v| if v < 8.0 { 1.0 / 6.0 } else { log_part(v) })
        .collect();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let (ok, stat, crit) = chi_square_ok(&histogram(&draws, &sup), &probs);
    assert!(ok, "power2_or_log_uniform: {stat} >= {crit}");
}

#[test]
fn anynetx_raw_marginals() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    // AnyNetX_A: each stage's depth uniform on 1..16.
    let a = AnyNetXSpace::variant('a').unwrap();
    let mut counts = vec![0u64; 16];
    for _ in 0..20_000 {
        let [d, ..] = a.draw_raw(&mut rng);
        counts[d[2] as usize - 1] += 1;
    }
    let (ok, stat, crit) = chi_square_ok(&counts, &[1.0 / 16.0; 16]);
    assert!(ok, "A depth: {stat} >= {crit}");
    // AnyNetX_E: depths uniform over non-decreasing 4-sequences of 1..16, so
    // P(d_1 = v) = C((16 - v + 1) + 2, 3) / C(19, 4) (sequences starting at v).
    let e = AnyNetXSpace::variant('e').unwrap();
    let mut counts = vec![0u64; 16];
    for _ in 0..40_000 {
        let [d, w, ..] = e.draw_raw(&mut rng);
        assert!(d.windows(2).all(|x| x[0] <= x[1]) && w.windows(2).all(|x| x[0] <= x[1]));
        counts[d[0] as usize - 1] += 1;
    }
    let c3 = |n: f64| n * (n - 1.0) * (n - 2.0) / 6.0;
    let probs: Vec<f64> = (1..=16).map(|v| c3((16 - v + 3) as f64) / 3876.0).collect();
    assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let (ok, stat, crit) = chi_square_ok(&counts, &probs);
    assert!(ok, "E first depth: {stat} >= {crit}");
    // Shared b in B: uniform on {1, 2, 4}.
    let b = AnyNetXSpace::variant('b').unwrap();
    let mut counts = vec![0u64; 3];
    for _ in 0..9_000 {
        let [_, _, bs, _] = b.draw_raw(&mut rng);
        assert!(bs.windows(2).all(|x| x[0] == x[1]));
        counts[[1, 2, 4].iter().position(|&x| x == bs[0]).unwrap()] += 1;
    }
    let (ok, stat, crit) = chi_square_ok(&counts, &[1.0 / 3.0; 3]);
    assert!(ok, "B shared b: {stat} >= {crit}");
}
