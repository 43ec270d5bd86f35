//! Networks that downsample by more than their input size. pycls builds and
//! counts them: its spatial rule h' = (h - 1) // s + 1 keeps a 1x1 map at 1x1
//! under any stride. The expected numbers were worked out with that rule
//! layer by layer (stem conv + BN; per X block: the projection at the block's
//! input size, then a 1x1, the 3x3 group conv with the stride, a 1x1, each
//! with BN; head: fc with bias after global pooling), independently of this
//! crate's code.

use regnet_spec::{Activation, AnyNetSpec, BlockType, Complexity, RegNetSpec, StemType};

fn x_anynet(stem: StemType, stem_w: u64, widths: &[u64], depths: &[u64]) -> AnyNetSpec {
    let n = widths.len();
    AnyNetSpec {
        stem_type: stem,
        stem_w,
        block_type: BlockType::ResBottleneckBlock,
        depths: depths.to_vec(),
        widths: widths.to_vec(),
        strides: vec![2; n],
        bot_muls: vec![1.0; n],
        group_ws: vec![8; n],
        head_w: 0,
        se_r: None,
        num_classes: 10,
        activation: Activation::Relu,
    }
}

fn sizes(net: &regnet_spec::Network, im: u64) -> (Vec<u64>, Complexity) {
    let p = net.profile(im).unwrap();
    let mut s = vec![p.stem.out_size];
    s.extend(p.stages.iter().map(|st| st.out_size));
    (s, p.total)
}

#[test]
fn anynet_with_five_stride_2_stages_at_32() {
    // simple stem (s2) + five stride-2 stages: downsampling 64 at 32x32.
    // Maps: 32 -> 16 (stem) -> 8 -> 4 -> 2 -> 1 -> 1.
    let net = x_anynet(StemType::SimpleStemIn, 8, &[8, 16, 16, 32, 32], &[1; 5])
        .build()
        .unwrap();
    assert_eq!(net.downsampling(), 64);
    let (s, cx) = sizes(&net, 32);
    assert_eq!(s, vec![16, 8, 4, 2, 1, 1]);
    assert_eq!(
        cx,
        Complexity {
            flops: 171_850,
            params: 15_474,
            acts: 8_234
        }
    );
    // Only the last stage starts from a 1x1 map.
    assert_eq!(net.stages_at_1x1(32), vec![4]);
    let note = net.small_input_note(32).unwrap();
    assert!(
        note.contains("downsamples by 64") && note.contains("stage 5 run at 1x1"),
        "{note}"
    );
    // At 64x64 nothing collapses and there is nothing to say.
    assert_eq!(net.small_input_note(64), None);
    assert!(net.stages_at_1x1(64).is_empty());
}

#[test]
fn regnet_with_six_stages_at_32() {
    // d 10, w0 8, wa 8, wm 1.5: u_j = 8 + 8j, exponents round(log(u_j/8)/log 1.5)
    // = [0, 2, 3, 3, 4, 4, 5, 5, 5, 6] -> widths [8, 16, 24, 24, 40, 40, 64, 64, 64, 88]:
    // six stages of depths [1, 1, 2, 2, 3, 1]. Simple stem: downsampling 128.
    let spec = RegNetSpec {
        stem_type: StemType::SimpleStemIn,
        stem_w: 32,
        block_type: BlockType::ResBottleneckBlock,
        stride: 2,
        se_r: None,
        depth: 10,
        w0: 8,
        wa: 8.0,
        wm: 1.5,
        group_w: 8,
        bot_mul: 1.0,
        head_w: 0,
        num_classes: 10,
        activation: Activation::Relu,
    };
    let net = spec.build().unwrap();
    let widths: Vec<u64> = net.stages.iter().map(|s| s.width()).collect();
    let depths: Vec<u64> = net.stages.iter().map(|s| s.depth()).collect();
    assert_eq!(widths, vec![8, 16, 24, 40, 64, 88]);
    assert_eq!(depths, vec![1, 1, 2, 2, 3, 1]);
    assert_eq!(net.downsampling(), 128);
    let (s, cx) = sizes(&net, 32);
    assert_eq!(s, vec![16, 8, 4, 2, 1, 1, 1]);
    assert_eq!(
        cx,
        Complexity {
            flops: 486_266,
            params: 90_906,
            acts: 15_930
        }
    );
    assert_eq!(net.stages_at_1x1(32), vec![4, 5]);
}

#[test]
fn cifar_stem_with_six_stride_2_stages() {
    // CIFAR stem (s1) then six stride-2 stages at 32x32: 32 -> 32 -> 16 -> 8 -> 4 -> 2 -> 1 -> 1.
    // Mixed bottlenecks and group widths: stage 1 b = 2 (bot_mul 0.5) with g = 4.
    let mut spec = x_anynet(
        StemType::ResStemCifar,
        16,
        &[16, 32, 64, 64, 128, 128],
        &[1, 2, 1, 1, 1, 1],
    );
    spec.bot_muls[0] = 0.5;
    spec.group_ws = vec![4, 8, 16, 16, 16, 16];
    let net = spec.build().unwrap();
    let (s, cx) = sizes(&net, 32);
    assert_eq!(s, vec![32, 16, 8, 4, 2, 1, 1]);
    assert_eq!(
        cx,
        Complexity {
            flops: 2_057_482,
            params: 172_570,
            acts: 65_674
        }
    );
}

#[test]
fn one_pixel_inputs_count_and_zero_is_refused() {
    let net = x_anynet(StemType::ResStemIn, 8, &[8], &[1])
        .build()
        .unwrap();
    // 1x1 in: every map stays 1x1. Stem 7x7 conv 3->8: flops = params 1,176 (+16 BN),
    // acts 8, pool acts 8; block 8->8 s2 (projection 64, a 64, b 9*8*8/1 = 576, c 64;
    // BN 4*16); head fc 8->10 + bias: 90.
    let cx = net.complexity(1).unwrap();
    assert_eq!(
        cx,
        Complexity {
            flops: 1_176 + 64 + 64 + 576 + 64 + 90,
            params: 1_176 + 16 + 64 + 64 + 576 + 64 + 4 * 16 + 90,
            acts: 8 + 8 + 8 * 4 + 10
        }
    );
    let e = net.complexity(0).unwrap_err().to_string();
    assert!(e.contains("im_size (TRAIN.IM_SIZE) 0 is too small"), "{e}");
}
