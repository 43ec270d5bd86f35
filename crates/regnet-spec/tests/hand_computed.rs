//! Small cases whose complexity is worked out by hand in the comments, one per
//! stem, block type, SE and head option, plus the validation messages.

use regnet_spec::blocks::{Block, BlockType, BottleneckParams, MbConv};
use regnet_spec::head::Head;
use regnet_spec::stem::{Stem, StemType};
use regnet_spec::{Activation, AnyNetSpec, Complexity, Cx, EffNetSpec, RegNetSpec};

fn counted(f: impl FnOnce(&mut Cx), size: u64) -> (Complexity, u64) {
    let mut cx = Cx::new(size);
    f(&mut cx);
    (cx.totals().unwrap(), cx.h)
}

fn c(flops: u64, params: u64, acts: u64) -> Complexity {
    Complexity {
        flops,
        params,
        acts,
    }
}

#[test]
fn stems() {
    // simple_stem_in 3->16 at 32: 3x3 s2 -> 16x16; flops 9*3*16*256, params 9*3*16 + BN 2*16, acts 16*256.
    let s = Stem::new(StemType::SimpleStemIn, 3, 16);
    assert_eq!(
        counted(|cx| s.complexity(cx), 32),
        (c(110_592, 464, 4_096), 16)
    );
    // res_stem_in 3->8 at 32: 7x7 s2 -> 16x16 (flops 49*3*8*256, params 49*24 + 16, acts 8*256),
    // then 3x3 max pool s2 -> 8x8 adds acts 8*64.
    let s = Stem::new(StemType::ResStemIn, 3, 8);
    assert_eq!(
        counted(|cx| s.complexity(cx), 32),
        (c(301_056, 1_192, 2_560), 8)
    );
    // res_stem_cifar 3->16 at 32: 3x3 s1 keeps 32x32; flops 27*16*1024, acts 16*1024.
    let s = Stem::new(StemType::ResStemCifar, 3, 16);
    assert_eq!(
        counted(|cx| s.complexity(cx), 32),
        (c(442_368, 464, 16_384), 32)
    );
}

fn block(t: BlockType, w_in: u64, w_out: u64, stride: u64, se_r: f64) -> Block {
    let p = BottleneckParams {
        bot_mul: 0.5,
        group_w: 8,
        se_r,
    };
    Block::anynet(t, w_in, w_out, stride, Some(&p)).unwrap()
}

#[test]
fn vanilla_and_basic_blocks() {
    // vanilla 16->32 s2 at 8x8: a 3x3 s2 -> 4x4: flops 9*16*32*16 = 73,728, params 4,608 + 64, acts 512;
    // b 3x3 32->32 at 4x4: flops 147,456, params 9,216 + 64, acts 512.
    let b = block(BlockType::VanillaBlock, 16, 32, 2, 0.0);
    assert_eq!(
        counted(|cx| b.complexity(cx), 8),
        (c(221_184, 13_952, 1_024), 4)
    );
    // basic 16->32 s2 adds the 1x1 s2 projection: flops 16*32*16 = 8,192, params 512 + 64, acts 512.
    let b = block(BlockType::ResBasicBlock, 16, 32, 2, 0.0);
    assert_eq!(
        counted(|cx| b.complexity(cx), 8),
        (c(229_376, 14_528, 1_536), 4)
    );
    // basic 32->32 s1 has no projection: two 3x3 convs at 4x4.
    let b = block(BlockType::ResBasicBlock, 32, 32, 1, 0.0);
    assert_eq!(
        counted(|cx| b.complexity(cx), 4),
        (c(294_912, 18_560, 1_024), 4)
    );
}

#[test]
fn bottleneck_blocks_with_and_without_se() {
    // X block 16->32 s2, bot_mul 0.5 (w_b = 16), group_w 8 (2 groups), at 8x8:
    // proj 1x1 s2 at 4x4: flops 8,192, params 576, acts 512
    // a 1x1 16->16 at 8x8: flops 16,384, params 256 + 32, acts 1,024
    // b 3x3 s2 groups 2 at 4x4: flops 9*16*16*16/2 = 18,432, params 1,152 + 32, acts 256
    // c 1x1 16->32 at 4x4: flops 8,192, params 512 + 64, acts 512
    let b = block(BlockType::ResBottleneckBlock, 16, 32, 2, 0.0);
    assert_eq!(
        counted(|cx| b.complexity(cx), 8),
        (c(51_200, 2_624, 2_304), 4)
    );
    // SE 0.25 of the block input: w_se = round(16 * 0.25) = 4 on w_b = 16 channels at 1x1:
    // 16->4 (bias): 68 flops / params, 4 acts; 4->16 (bias): 80 / 80, 16 acts.
    let b = block(BlockType::ResBottleneckBlock, 16, 32, 2, 0.25);
    assert_eq!(
        counted(|cx| b.complexity(cx), 8),
        (c(51_348, 2_772, 2_324), 4)
    );
    // The linear bottleneck has no projection and no skip when shapes change.
    let b = block(BlockType::ResBottleneckLinearBlock, 16, 32, 2, 0.0);
    assert_eq!(
        counted(|cx| b.complexity(cx), 8),
        (c(43_008, 2_048, 1_792), 4)
    );
    let Block::ResBottleneckLinear(lin) =
        block(BlockType::ResBottleneckLinearBlock, 32, 32, 1, 0.0)
    else {
        panic!("wrong block kind")
    };
    assert!(lin.has_skip);
}

#[test]
fn mbconv_blocks() {
    // MBConv 16->24, exp 6 (w_exp 96), k5, s2, SE 0.25 (w_se = int(16*0.25) = 4) at 8x8:
    // exp 1x1 16->96 at 8x8: 98,304 flops, 1,536 + 192 params, 6,144 acts
    // dwise 5x5 s2 96 groups at 4x4: 25*96*96*16/96 = 38,400 flops, 2,400 + 192 params, 1,536 acts
    // SE 96->4->96 at 1x1: 388 + 480 flops and params, 4 + 96 acts
    // lin_proj 1x1 96->24 at 4x4: 36,864 flops, 2,304 + 48 params, 384 acts
    let b = MbConv::new(16, 24, 6.0, 5, 2, 0.25).unwrap();
    assert_eq!(
        counted(|cx| Block::MbConv(b).complexity(cx), 8),
        (c(174_436, 7_540, 8_164), 4)
    );
    assert!(!b.has_skip);
    // exp ratio 1: no expansion conv; 3x3 depthwise at 8x8 (9,216 flops, 144 + 32 params,
    // 1,024 acts), SE 16->4->16 (68 + 80), lin_proj 16->16 (16,384 flops, 256 + 32, 1,024).
    let b = MbConv::new(16, 16, 1.0, 3, 1, 0.25).unwrap();
    assert!(b.exp.is_none() && b.has_skip);
    assert_eq!(
        counted(|cx| Block::MbConv(b).complexity(cx), 8),
        (c(25_748, 612, 2_068), 8)
    );
}

#[test]
fn heads() {
    // No head conv: global pool, fc 32->10 with bias: 330 flops and params, 10 acts.
    let h = Head::new(32, 0, 10, 0.0);
    assert_eq!(counted(|cx| h.complexity(cx), 4), (c(330, 330, 10), 1));
    // head_w 64: 1x1 conv 32->64 at 4x4 (32,768 flops, 2,048 + 128 params, 1,024 acts), fc 64->10.
    let h = Head::new(32, 64, 10, 0.0);
    assert_eq!(
        counted(|cx| h.complexity(cx), 4),
        (c(33_418, 2_826, 1_034), 1)
    );
}

fn tiny_anynet() -> AnyNetSpec {
    AnyNetSpec {
        stem_type: StemType::ResStemCifar,
        stem_w: 16,
        block_type: BlockType::VanillaBlock,
        depths: vec![1],
        widths: vec![32],
        strides: vec![2],
        bot_muls: vec![],
        group_ws: vec![],
        head_w: 0,
        se_r: None,
        num_classes: 10,
        activation: Activation::Relu,
    }
}

#[test]
fn whole_tiny_network() {
    // res_stem_cifar at 32 (442,368 / 464 / 16,384); vanilla 16->32 s2 at 32 -> 16:
    // a 9*16*32*256 = 1,179,648 flops, 4,672 params, 8,192 acts; b 9*32*32*256 = 2,359,296,
    // 9,280, 8,192; head fc 32->10: 330 / 330 / 10.
    let net = tiny_anynet().build().unwrap();
    assert_eq!(net.complexity(32).unwrap(), c(3_981_642, 14_746, 32_778));
    let p = net.profile(32).unwrap();
    assert_eq!(p.stem.out_size, 32);
    assert_eq!(p.stages[0].out_size, 16);
    assert_eq!(p.head.out_size, 1);
}

fn err(r: Result<impl std::fmt::Debug, regnet_spec::SpecError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn validation_messages_name_the_problem() {
    let mut s = tiny_anynet();
    s.block_type = BlockType::ResBottleneckBlock;
    s.bot_muls = vec![1.0];
    s.group_ws = vec![24];
    let e = err(s.build());
    assert!(
        e.contains("not divisible by group width 24") && e.contains("stage 1"),
        "{e}"
    );

    s.group_ws = vec![8, 8];
    assert!(err(s.build()).contains("ANYNET.GROUP_WS has 2 values"));

    let mut s = tiny_anynet();
    s.depths = vec![0];
    assert!(err(s.build()).contains("ANYNET.DEPTHS[0] must be between 1"));

    let mut s = tiny_anynet();
    s.num_classes = 0;
    assert!(err(s.build()).contains("MODEL.NUM_CLASSES"));

    let mut s = tiny_anynet();
    s.se_r = Some(0.25);
    assert!(err(s.build()).contains("ANYNET.SE_ON"));

    let net = tiny_anynet().build().unwrap();
    let e = err(net.complexity(0));
    assert!(e.contains("im_size (TRAIN.IM_SIZE) 0 is too small"), "{e}");

    let regnet = |wm: f64, w0: u64, depth: u64| RegNetSpec {
        stem_type: StemType::SimpleStemIn,
        stem_w: 32,
        block_type: BlockType::ResBottleneckBlock,
        stride: 2,
        se_r: None,
        depth,
        w0,
        wa: 20.0,
        wm,
        group_w: 8,
        bot_mul: 1.0,
        head_w: 0,
        num_classes: 1000,
        activation: Activation::Relu,
    };
    assert!(err(regnet(1.0, 24, 10).build()).contains("REGNET.WM must be a number greater than 1"));
    assert!(err(regnet(2.5, 20, 10).build()).contains("REGNET.W0 must be a positive multiple of 8"));
    assert!(err(regnet(2.5, 24, 0).build()).contains("REGNET.DEPTH"));

    let en = EffNetSpec {
        stem_w: 32,
        depths: vec![1],
        widths: vec![16],
        exp_ratios: vec![1.0],
        se_r: 0.25,
        strides: vec![1],
        kernels: vec![4],
        head_w: 1280,
        dc_ratio: 0.0,
        dropout_ratio: 0.0,
        num_classes: 1000,
        activation: Activation::Silu,
    };
    assert!(err(en.build()).contains("EN.KERNELS[0] must be odd"));
}
