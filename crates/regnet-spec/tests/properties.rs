//! Property tests: complexity is additive over parts and monotone in width and
//! depth; RegNet expansion always yields 8-divisible, group-compatible widths.

use proptest::prelude::*;
use regnet_spec::{Activation, AnyNetSpec, BlockType, Complexity, Cx, RegNetSpec, StemType};

fn anynet(
    block_type: BlockType,
    depths: Vec<u64>,
    widths: Vec<u64>,
    group_w: u64,
    se: bool,
) -> AnyNetSpec {
    let n = depths.len();
    AnyNetSpec {
        stem_type: StemType::SimpleStemIn,
        stem_w: 32,
        block_type,
        depths,
        widths,
        strides: vec![2; n],
        bot_muls: vec![1.0; n],
        group_ws: vec![group_w; n],
        head_w: 0,
        se_r: se.then_some(0.25),
        num_classes: 100,
        activation: Activation::Relu,
    }
}

fn regnet(depth: u64, w0: u64, wa: f64, wm: f64, group_w: u64, bot_mul: f64) -> RegNetSpec {
    RegNetSpec {
        stem_type: StemType::SimpleStemIn,
        stem_w: 32,
        block_type: BlockType::ResBottleneckBlock,
        stride: 2,
        se_r: Some(0.25),
        depth,
        w0,
        wa,
        wm,
        group_w,
        bot_mul,
        head_w: 0,
        num_classes: 1000,
        activation: Activation::Relu,
    }
}

fn block_type() -> impl Strategy<Value = BlockType> {
    prop::sample::select(BlockType::ALL.to_vec())
}

/// 1 to 4 stages of (depth 1..6, width a multiple of 8 up to 248).
fn stages() -> impl Strategy<Value = (Vec<u64>, Vec<u64>)> {
    prop::collection::vec((1u64..6, 1u64..32), 1..5)
        .prop_map(|v| v.into_iter().map(|(d, w)| (d, w * 8)).unzip())
}

fn cx(s: &AnyNetSpec) -> Complexity {
    s.build().unwrap().complexity(64).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn complexity_is_additive_over_parts(t in block_type(), (d, w) in stages(), se in any::<bool>()) {
        // Each part (stem, every block, head) counted on its own, from a
        // fresh counter at the size it receives, then summed: the network's
        // total must be that sum.
        let net = anynet(t, d, w, 8, se && t.is_bottleneck()).build().unwrap();
        let (mut sum, mut size) = (Complexity::default(), 64);
        let mut add = |count: &dyn Fn(&mut Cx), size: &mut u64| {
            let mut cx = Cx::new(*size);
            count(&mut cx);
            let c = cx.totals().unwrap();
            sum.flops += c.flops;
            sum.params += c.params;
            sum.acts += c.acts;
            *size = cx.h;
        };
        add(&|cx| net.stem.complexity(cx), &mut size);
        for block in net.stages.iter().flat_map(|s| &s.blocks) {
            add(&|cx| block.complexity(cx), &mut size);
        }
        add(&|cx| net.head.complexity(cx), &mut size);
        prop_assert_eq!(sum, net.complexity(64).unwrap());
    }

    #[test]
    fn complexity_grows_with_depth(t in block_type(), (d, w) in stages(), i in 0usize..4) {
        let i = i % d.len();
        let base = anynet(t, d.clone(), w.clone(), 8, false);
        let mut deeper = d;
        deeper[i] += 1;
        let (a, b) = (cx(&base), cx(&anynet(t, deeper, w, 8, false)));
        prop_assert!(b.flops > a.flops && b.params > a.params && b.acts > a.acts);
    }

    #[test]
    fn complexity_grows_with_width(t in block_type(), (d, w) in stages(), i in 0usize..4) {
        let i = i % d.len();
        let base = anynet(t, d.clone(), w.clone(), 8, false);
        let mut wider = w;
        wider[i] += 8;
        let (a, b) = (cx(&base), cx(&anynet(t, d, wider, 8, false)));
        prop_assert!(b.flops > a.flops && b.params > a.params && b.acts > a.acts);
    }

    #[test]
    fn regnet_widths_are_multiples_of_8_and_group_compatible(
        depth in 1u64..64,
        w0 in 1u64..32,
        wa in 0.0f64..256.0,
        wm in 1.5f64..3.0,
        g_pow in 0u32..6,
        g_mul in 1u64..8,
        power_of_2 in any::<bool>(),
    ) {
        // Group widths as the RegNet samplers draw them: powers of 2, or multiples of 8.
        let group_w = if power_of_2 { 1 << g_pow } else { 8 * g_mul };
        let spec = regnet(depth, w0 * 8, wa, wm, group_w, 1.0);
        let rw = spec.widths().unwrap();
        prop_assert!(rw.block_widths.iter().all(|w| w % 8 == 0 && *w > 0));
        prop_assert_eq!(rw.depths.iter().sum::<u64>(), depth);
        let any = spec.to_anynet().unwrap();
        for (w, g) in any.widths.iter().zip(&any.group_ws) {
            prop_assert_eq!(w % 8, 0);
            prop_assert_eq!(w % g, 0);
        }
        prop_assert!(spec.build().is_ok());
    }

    #[test]
    fn regnet_with_bottleneck_is_group_compatible(
        depth in 1u64..40,
        w0 in 1u64..32,
        wa in 0.0f64..128.0,
        wm in 1.5f64..3.0,
        group_w in prop::sample::select(vec![1u64, 2, 4, 8, 16, 24, 32, 48, 64]),
        b in prop::sample::select(vec![1.0f64, 0.5, 0.25]),
    ) {
        let spec = regnet(depth, w0 * 8, wa, wm, group_w, b);
        let any = spec.to_anynet().unwrap();
        for (w, g) in any.widths.iter().zip(&any.group_ws) {
            let w_b = (*w as f64 * b).round_ties_even() as u64;
            prop_assert!(w_b > 0 && w_b % g == 0, "w {} b {} g {}", w, b, g);
        }
        let net = spec.build().unwrap();
        prop_assert_eq!(net.stages.len(), any.widths.len());
    }
}
