//! Module names in pycls and torchvision, checked against keys of real
//! torchvision state dicts (`torchvision.models.*().state_dict()`).

use regnet_spec::zoo::find;
use regnet_spec::{Activation, AnyNetSpec, BlockType, Naming, Network, StemType};

fn net(name: &str) -> Network {
    find(name).unwrap().spec().build().unwrap()
}

fn table(name: &str, naming: Naming) -> Vec<(String, String)> {
    net(name).module_names(naming).unwrap()
}

/// Each (ours, theirs) pair is in the table.
fn has(table: &[(String, String)], pairs: &[(&str, &str)]) {
    for (ours, theirs) in pairs {
        assert!(
            table.iter().any(|(o, t)| o == ours && t == theirs),
            "{ours} -> {theirs} missing"
        );
    }
}

#[test]
fn torchvision_regnet_names() {
    let t = table("RegNetY-200MF", Naming::TorchvisionRegNet);
    has(
        &t,
        &[
            ("stem.conv", "stem.0"),
            ("stem.bn", "stem.1"),
            ("s1.b1.proj", "trunk_output.block1.block1-0.proj.0"),
            ("s1.b1.bn", "trunk_output.block1.block1-0.proj.1"),
            ("s2.b1.f.se.f_ex.0", "trunk_output.block2.block2-0.f.se.fc1"),
            ("s2.b1.f.se.f_ex.2", "trunk_output.block2.block2-0.f.se.fc2"),
            ("s4.b2.f.c_bn", "trunk_output.block4.block4-1.f.c.1"),
            ("s3.b3.f.b", "trunk_output.block3.block3-2.f.b.0"),
            ("head.fc", "fc"),
        ],
    );
    // Every module once: stem conv and BN, fc, six convs and BNs and two SE
    // convs per block, and a projection pair in each stage's first block.
    let blocks: usize = net("RegNetY-200MF")
        .stages
        .iter()
        .map(|s| s.blocks.len())
        .sum();
    assert_eq!(t.len(), 2 + 1 + blocks * 8 + 4 * 2);
}

#[test]
fn torchvision_resnet_names() {
    has(
        &table("R-50-1x64d", Naming::TorchvisionResNet),
        &[
            ("stem.conv", "conv1"),
            ("stem.bn", "bn1"),
            ("s1.b1.proj", "layer1.0.downsample.0"),
            ("s3.b1.bn", "layer3.0.downsample.1"),
            ("s1.b3.f.b", "layer1.2.conv2"),
            ("s4.b3.f.c_bn", "layer4.2.bn3"),
            ("head.fc", "fc"),
        ],
    );
}

#[test]
fn torchvision_efficientnet_names() {
    has(
        &table("EN-B0", Naming::TorchvisionEfficientNet),
        &[
            ("stem.conv", "features.0.0"),
            ("stem.bn", "features.0.1"),
            // Stage 1 has no expansion conv: the depthwise conv comes first.
            ("s1.b1.dwise", "features.1.0.block.0.0"),
            ("s1.b1.se.f_ex.2", "features.1.0.block.1.fc2"),
            ("s1.b1.lin_proj_bn", "features.1.0.block.2.1"),
            ("s2.b2.exp_bn", "features.2.1.block.0.1"),
            ("s2.b2.se.f_ex.0", "features.2.1.block.2.fc1"),
            ("s6.b4.lin_proj", "features.6.3.block.3.0"),
            ("head.conv", "features.8.0"),
            ("head.conv_bn", "features.8.1"),
            ("head.fc", "classifier.1"),
        ],
    );
}

#[test]
fn pycls_names_are_ours() {
    for name in ["RegNetY-200MF", "R-50-1x64d", "EN-B0", "X-50-32x4d"] {
        for (ours, theirs) in table(name, Naming::Pycls) {
            assert_eq!(ours, theirs);
        }
    }
}

#[test]
fn what_torchvision_cannot_express_is_refused_with_the_reason() {
    let err = |name: &str, naming| net(name).module_names(naming).unwrap_err();
    assert!(err("R-50-1x64d", Naming::TorchvisionRegNet).contains("res_stem_in"));
    assert!(err("RegNetX-200MF", Naming::TorchvisionResNet).contains("simple_stem_in"));
    assert!(err("RegNetX-200MF", Naming::TorchvisionEfficientNet).contains("s1.b1"));
    // A ResNet with SE: torchvision's ResNet has no SE module.
    let mut spec = resnet_like(BlockType::ResBottleneckBlock);
    spec.se_r = Some(0.25);
    let e = spec
        .build()
        .unwrap()
        .module_names(Naming::TorchvisionResNet)
        .unwrap_err();
    assert!(e.contains("s1.b1.f.se.f_ex.0"), "{e}");
    // Linear blocks exist in no torchvision class.
    let mut spec = resnet_like(BlockType::ResBottleneckLinearBlock);
    spec.stem_type = StemType::SimpleStemIn;
    let e = spec
        .build()
        .unwrap()
        .module_names(Naming::TorchvisionRegNet)
        .unwrap_err();
    assert!(e.contains("res_bottleneck_linear_block"), "{e}");
}

/// One stage of one block on a ResNet stem.
fn resnet_like(block_type: BlockType) -> AnyNetSpec {
    AnyNetSpec {
        stem_type: StemType::ResStemIn,
        stem_w: 64,
        block_type,
        depths: vec![1],
        widths: vec![256],
        strides: vec![1],
        bot_muls: vec![0.25],
        group_ws: vec![64],
        head_w: 0,
        se_r: None,
        num_classes: 10,
        activation: Activation::Relu,
    }
}
