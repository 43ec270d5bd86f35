//! Derived spaces against independent truth: the paper's construction of
//! AnyNetX_B–E from A, hand-counted sizes, brute-force shares, and samples
//! that all satisfy their restrictions.

use regnet_space::space::Target;
use regnet_space::{
    sample, Constraints, DerivedSpace, Restriction, SampleOptions, SizeEstimate, Space,
};

fn opts(n: usize, seed: u64) -> SampleOptions {
    SampleOptions {
        n,
        seed,
        max_tries: 200_000,
        max_time: regnet_space::MAX_TIME,
        constraints: Constraints::default(),
        target: Target::default(),
    }
}

fn derived(parent: &str, restrictions: &[&str]) -> Space {
    let r = restrictions
        .iter()
        .map(|s| s.parse::<Restriction>().unwrap())
        .collect();
    Space::Derived(Box::new(
        DerivedSpace::new("d", "", Space::builtin(parent).unwrap(), r).unwrap(),
    ))
}

fn configs(space: &Space, n: usize, seed: u64) -> Vec<serde_json::Value> {
    sample(space, &opts(n, seed))
        .unwrap()
        .models
        .into_iter()
        .map(|m| m.config)
        .collect()
}

fn list(c: &serde_json::Value, key: &str) -> Vec<f64> {
    c["ANYNET"][key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_plus_the_papers_restrictions_is_the_built_in_b_to_e() {
    let steps = [
        "shared_b",
        "shared_g",
        "non_decreasing_w",
        "non_decreasing_d",
    ];
    for (k, builtin) in ["anynetx-b", "anynetx-c", "anynetx-d", "anynetx-e"]
        .iter()
        .enumerate()
    {
        let d = derived("anynetx-a", &steps[..=k]);
        let b = Space::builtin(builtin).unwrap();
        assert_eq!(d.size(), b.size(), "{builtin}");
        assert_eq!(d.info().derived.unwrap().size, SizeEstimate::Exact);
        // The same construction draws the same models from the same seed.
        assert_eq!(configs(&d, 20, 3), configs(&b, 20, 3), "{builtin}");
    }
    // Hand count (paper §4): A = (16·128·3·6)^4; E = C(19,4)·C(131,4)·3·6.
    let a = 36_864u128.pow(4);
    assert_eq!(
        Space::builtin("anynetx-a").unwrap().size().to_string(),
        a.to_string()
    );
    let e = 3876u128 * 11_716_640 * 18;
    assert_eq!(
        derived("anynetx-a", &steps).size().to_string(),
        e.to_string()
    );
    // Restricting what is already shared changes nothing.
    assert_eq!(
        derived("anynetx-c", &["shared_b", "non_decreasing_w"]).size(),
        Space::builtin("anynetx-d").unwrap().size()
    );
}

#[test]
fn a_range_is_checked_on_every_sample_and_its_share_estimated() {
    let d = derived("anynetx-a", &["anynet_d<=20", "w4>=256"]);
    for c in configs(&d, 30, 1) {
        assert!(list(&c, "DEPTHS").iter().sum::<f64>() <= 20.0, "{c}");
        assert!(list(&c, "WIDTHS")[3] >= 256.0, "{c}");
    }
    // The share of total depth <= 20 by brute force over [1, 16]^4 ...
    let mut kept = 0u64;
    for t in 0..16u64.pow(4) {
        let sum: u64 = (0..4).map(|i| (t / 16u64.pow(i)) % 16 + 1).sum();
        kept += u64::from(sum <= 20);
    }
    let truth = kept as f64 / 65536.0;
    let one = derived("anynetx-a", &["anynet_d<=20"]);
    let info = one.info();
    let Some(SizeEstimate::Estimated {
        share,
        lo,
        hi,
        draws,
    }) = info.derived.map(|d| d.size)
    else {
        panic!("a range gives an estimated size");
    };
    // ... lies in the estimate's interval, and the size is the parent's times it.
    assert!(
        lo <= truth && truth <= hi,
        "{truth} not in [{lo}, {hi}] ({share}, {draws} draws)"
    );
    let parent = Space::builtin("anynetx-a").unwrap().info().size_log10;
    assert!((info.size_log10 - (parent + share.log10())).abs() < 1e-9);
}

#[test]
fn a_quantization_keeps_the_multiples_and_its_share_is_their_count() {
    // AnyNetX_A's depths are 1..=16, uniform (widths are not: pycls makes
    // them compatible with b and g): 4 of them are multiples of 4.
    let d = derived("anynetx-a", &["d1%=4", "w2%=32"]);
    for c in configs(&d, 30, 2) {
        assert_eq!(list(&c, "DEPTHS")[0] % 4.0, 0.0, "{c}");
        assert_eq!(list(&c, "WIDTHS")[1] % 32.0, 0.0, "{c}");
    }
    let d = derived("anynetx-a", &["d1%=4"]);
    let Some(SizeEstimate::Estimated { share, draws, .. }) = d.info().derived.map(|d| d.size)
    else {
        panic!("a quantization is checked per sample");
    };
    // Within 4 standard errors of the truth (the fixed draws give 0.269).
    let se = (0.25f64 * 0.75 / draws as f64).sqrt();
    assert!((share - 0.25).abs() < 4.0 * se, "{share} of {draws}");
    assert_eq!(
        "w1%=32".parse::<Restriction>().unwrap().to_string(),
        "w1%=32"
    );
    let e = "w1%=0".parse::<Restriction>().unwrap_err();
    assert!(e.contains("%=Q for a multiple of Q > 0"), "{e}");
}

#[test]
fn restrictions_that_keep_nothing_or_name_nothing_are_one_line_errors() {
    // No total depth is below 4 with 4 stages of at least 1 block.
    let d = derived("anynetx-a", &["anynet_d<4"]);
    let mut o = opts(1, 0);
    o.max_tries = 500;
    let err = sample(&d, &o).unwrap_err().0;
    assert!(err.contains("refined") && err.contains("500"), "{err}");
    for bad in ["depth<=3", "anynet_d<=x", "w0>=8", "shared_q"] {
        let e = bad.parse::<Restriction>().unwrap_err();
        assert!(e.contains(bad) && e.contains("anynet_d"), "{e}");
    }
    let none = DerivedSpace::new("x", "", Space::builtin("regnetx").unwrap(), vec![]).unwrap_err();
    assert!(none.0.contains("no restriction"));
}

#[test]
fn a_count_beyond_the_tries_fails_at_once_without_allocating_it() {
    let mut o = opts(1_000_000_000, 0);
    o.max_tries = 1000;
    let e = sample(&Space::builtin("anynetx-a").unwrap(), &o)
        .unwrap_err()
        .0;
    assert!(
        e.contains("1000000000 models cannot be found in at most 1000 tries"),
        "{e}"
    );
}
