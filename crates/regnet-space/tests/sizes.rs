//! Exact space sizes: closed forms against brute-force enumeration.

use num_bigint::BigUint;
use regnet_space::anynetx::{binomial, AnyNetXSpace, StageParam, Tying};
use regnet_space::Space;
use std::collections::HashSet;

#[test]
fn anynetx_a_size_is_the_papers() {
    // (16 * 128 * 3 * 6)^4, docs/method.md §4.
    assert_eq!(
        Space::builtin("anynetx-a").unwrap().size().to_string(),
        "1846757322198614016"
    );
}

#[test]
fn anynetx_sizes_by_hand() {
    let pow = |b: u64, e: u32| BigUint::from(b).pow(e);
    let n = |x: u64| BigUint::from(x);
    // B: one shared b; C: shared b and g; D: widths a multiset of 4 from 128;
    // E: depths a multiset of 4 from 16 too.
    let expected = [
        ("anynetx-b", n(3) * pow(16 * 128 * 6, 4)),
        ("anynetx-c", n(3 * 6) * pow(16 * 128, 4)),
        (
            "anynetx-d",
            n(3 * 6) * pow(16, 4) * n(131 * 130 * 129 * 128 / 24),
        ),
        (
            "anynetx-e",
            n(3 * 6) * n(19 * 18 * 17 * 16 / 24) * n(131 * 130 * 129 * 128 / 24),
        ),
    ];
    for (name, size) in expected {
        assert_eq!(Space::builtin(name).unwrap().size(), size, "{name}");
    }
    // "From A to E the space shrinks by about seven orders of magnitude."
    let a = regnet_space::space::log10(&Space::builtin("anynetx-a").unwrap().size());
    let e = regnet_space::space::log10(&Space::builtin("anynetx-e").unwrap().size());
    assert!((6.0..7.5).contains(&(a - e)), "{a} {e}");
}

/// Counts distinct tuples by enumerating every per-stage assignment and
/// keeping those that respect each parameter's tying.
fn brute_force(space: &AnyNetXSpace) -> usize {
    let params = [
        &space.depth,
        &space.width,
        &space.bottleneck,
        &space.group_w,
    ];
    let s = space.stages;
    let seqs: Vec<Vec<Vec<u64>>> = params.iter().map(|p| all_sequences(p, s)).collect();
    let mut tuples = HashSet::new();
    for d in &seqs[0] {
        for w in &seqs[1] {
            for b in &seqs[2] {
                for g in &seqs[3] {
                    tuples.insert((d.clone(), w.clone(), b.clone(), g.clone()));
                }
            }
        }
    }
    tuples.len()
}

fn all_sequences(p: &StageParam, stages: usize) -> Vec<Vec<u64>> {
    let mut out = vec![vec![]];
    for _ in 0..stages {
        out = out
            .into_iter()
            .flat_map(|seq: Vec<u64>| {
                p.values.iter().map(move |&v| {
                    let mut s = seq.clone();
                    s.push(v);
                    s
                })
            })
            .collect();
    }
    out.retain(|seq| match p.tying {
        Tying::PerStage => true,
        Tying::Shared => seq.windows(2).all(|w| w[0] == w[1]),
        Tying::NonDecreasing => seq.windows(2).all(|w| w[0] <= w[1]),
    });
    out
}

#[test]
fn closed_forms_equal_brute_force_on_shrunken_ranges() {
    for v in ['a', 'b', 'c', 'd', 'e'] {
        let mut s = AnyNetXSpace::variant(v).unwrap();
        s.stages = 3;
        s.depth.values = vec![1, 2, 3];
        s.width.values = vec![8, 16, 24, 32];
        s.bottleneck.values = vec![1, 2];
        s.group_w.values = vec![1, 2];
        assert_eq!(s.size(), BigUint::from(brute_force(&s)), "anynetx-{v}");
    }
}

#[test]
fn binomials() {
    assert_eq!(binomial(5, 2), BigUint::from(10u32));
    assert_eq!(binomial(131, 4), BigUint::from(11_716_640u64));
    assert_eq!(binomial(3, 4), BigUint::from(0u32));
}

#[test]
fn regnet_sizes_are_products_of_sampler_grids() {
    // regnet: d 1..63 (63), w0 8..248 step 8 (31), wa 0.1..255.9 step 0.1 (2559),
    // wm 1.5..3.0 step 0.001 (1501), g in {1,2,4,8,16,24,32} (7), b in {1,2,4} (3).
    let regnet = BigUint::from(63u64 * 31 * 2559 * 1501 * 7 * 3);
    assert_eq!(Space::builtin("regnet").unwrap().size(), regnet);
    // regnetx: d 12..28 (17), wm 2.0..3.0 (1001), b = 1.
    let x = BigUint::from(17u64 * 31 * 2559 * 1001 * 7);
    assert_eq!(Space::builtin("RegNetX").unwrap().size(), x.clone());
    assert_eq!(Space::builtin("regnet_y").unwrap().size(), x);
}

#[test]
fn scalar_supports_match_what_sampling_produces() {
    use rand::SeedableRng;
    use regnet_space::random::{RandType, Scalar};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let cases = [
        Scalar::new(RandType::Uniform, 1.0, 16.0, 1.0).unwrap(),
        Scalar::new(RandType::LogUniform, 8.0, 64.0, 8.0).unwrap(),
        Scalar::new(RandType::LogUniform, 0.5, 3.0, 0.1).unwrap(),
        Scalar::new(RandType::Power2Uniform, 0.25, 1.0, 1.0 / 128.0).unwrap(),
        Scalar::new(RandType::Power2OrLogUniform, 1.0, 32.0, 8.0).unwrap(),
    ];
    for s in cases {
        let support: Vec<String> = s.support().iter().map(|v| v.to_string()).collect();
        let seen: HashSet<String> = (0..50_000)
            .map(|_| s.sample(&mut rng).to_string())
            .collect();
        let expected: HashSet<String> = support.iter().cloned().collect();
        assert_eq!(seen, expected, "{s:?}");
    }
}
