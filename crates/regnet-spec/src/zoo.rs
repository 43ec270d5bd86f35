//! The model zoo: every pycls `configs/dds_baselines` model, by name.
//!
//! Names match case-insensitively. torchvision and timm names are accepted
//! as aliases where the architecture is identical; torchvision's
//! `regnet_x_400mf`, `regnet_y_800mf` and `regnet_y_8gf` differ from pycls's
//! (another compatibility rounding, see [`Compat`]) and are listed as models of
//! their own so that torchvision weights have a matching architecture.

use crate::anynet::AnyNetSpec;
use crate::blocks::BlockType;
use crate::effnet::EffNetSpec;
use crate::model::ModelSpec;
use crate::network::Activation;
use crate::regnet::{Compat, RegNetSpec};
use crate::stem::StemType;

/// A named model with its native training resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct ZooEntry {
    /// Canonical name (pycls's, or torchvision's for the torchvision variants).
    pub name: &'static str,
    /// Other accepted names (pycls model_zoo, torchvision, timm).
    pub aliases: &'static [&'static str],
    /// Training resolution of the published model (TRAIN.IM_SIZE).
    pub im_size: u64,
    arch: Arch,
}

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::enum_variant_names)] // the architecture families are called *Net
enum Arch {
    RegNet {
        depth: u64,
        w0: u64,
        wa: f64,
        wm: f64,
        group_w: u64,
        se: bool,
        compat: Compat,
    },
    ResNet {
        depths: [u64; 4],
        bot_mul: f64,
        group_ws: [u64; 4],
    },
    EffNet {
        stem_w: u64,
        depths: [u64; 7],
        widths: [u64; 7],
        head_w: u64,
    },
}

impl ZooEntry {
    /// The model's spec with ImageNet's 1000 classes.
    pub fn spec(&self) -> ModelSpec {
        match &self.arch {
            &Arch::RegNet {
                depth,
                w0,
                wa,
                wm,
                group_w,
                se,
                compat,
            } => {
                let spec = RegNetSpec {
                    stem_type: StemType::SimpleStemIn,
                    stem_w: 32,
                    block_type: BlockType::ResBottleneckBlock,
                    stride: 2,
                    se_r: se.then_some(0.25),
                    depth,
                    w0,
                    wa,
                    wm,
                    group_w,
                    bot_mul: 1.0,
                    head_w: 0,
                    num_classes: 1000,
                    activation: Activation::Relu,
                };
                match compat {
                    Compat::Pycls => ModelSpec::RegNet(spec),
                    Compat::Torchvision => ModelSpec::AnyNet(
                        spec.to_anynet_with(compat)
                            .expect("zoo RegNet parameters are valid"),
                    ),
                }
            }
            Arch::ResNet {
                depths,
                bot_mul,
                group_ws,
            } => ModelSpec::AnyNet(AnyNetSpec {
                stem_type: StemType::ResStemIn,
                stem_w: 64,
                block_type: BlockType::ResBottleneckBlock,
                depths: depths.to_vec(),
                widths: vec![256, 512, 1024, 2048],
                strides: vec![1, 2, 2, 2],
                bot_muls: vec![*bot_mul; 4],
                group_ws: group_ws.to_vec(),
                head_w: 0,
                se_r: None,
                num_classes: 1000,
                activation: Activation::Relu,
            }),
            Arch::EffNet {
                stem_w,
                depths,
                widths,
                head_w,
            } => ModelSpec::EffNet(EffNetSpec {
                stem_w: *stem_w,
                depths: depths.to_vec(),
                widths: widths.to_vec(),
                exp_ratios: vec![1.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0],
                se_r: 0.25,
                strides: vec![1, 2, 2, 2, 1, 2, 1],
                kernels: vec![3, 3, 5, 3, 5, 5, 3],
                head_w: *head_w,
                dc_ratio: 0.0,
                dropout_ratio: 0.0,
                num_classes: 1000,
                activation: Activation::Silu,
            }),
        }
    }

    /// Whether `name` (any case) names this model.
    pub fn matches(&self, name: &str) -> bool {
        std::iter::once(&self.name)
            .chain(self.aliases)
            .any(|n| n.eq_ignore_ascii_case(name))
    }
}

/// Finds a zoo model by name or alias, case-insensitively.
pub fn find(name: &str) -> Option<&'static ZooEntry> {
    zoo().iter().find(|e| e.matches(name))
}

/// Every zoo model, RegNetX, RegNetY, torchvision variants, ResNe(X)t, EfficientNet.
pub fn zoo() -> &'static [ZooEntry] {
    &ZOO
}

const fn regnet(
    name: &'static str,
    aliases: &'static [&'static str],
    (depth, w0, wa, wm, group_w): (u64, u64, f64, f64, u64),
    se: bool,
) -> ZooEntry {
    ZooEntry {
        name,
        aliases,
        im_size: 224,
        arch: Arch::RegNet {
            depth,
            w0,
            wa,
            wm,
            group_w,
            se,
            compat: Compat::Pycls,
        },
    }
}

const fn torchvision_regnet(
    name: &'static str,
    params: (u64, u64, f64, f64, u64),
    se: bool,
) -> ZooEntry {
    let mut e = regnet(name, &[], params, se);
    if let Arch::RegNet { compat, .. } = &mut e.arch {
        *compat = Compat::Torchvision;
    }
    e
}

const fn resnet(
    name: &'static str,
    aliases: &'static [&'static str],
    depths: [u64; 4],
    bot_mul: f64,
    group_ws: [u64; 4],
) -> ZooEntry {
    ZooEntry {
        name,
        aliases,
        im_size: 224,
        arch: Arch::ResNet {
            depths,
            bot_mul,
            group_ws,
        },
    }
}

const fn effnet(
    name: &'static str,
    aliases: &'static [&'static str],
    im_size: u64,
    (stem_w, depths, widths, head_w): (u64, [u64; 7], [u64; 7], u64),
) -> ZooEntry {
    ZooEntry {
        name,
        aliases,
        im_size,
        arch: Arch::EffNet {
            stem_w,
            depths,
            widths,
            head_w,
        },
    }
}

// RegNet parameters (depth, w0, wa, wm, group_w) of pycls configs/dds_baselines.
const X200: (u64, u64, f64, f64, u64) = (13, 24, 36.44, 2.49, 8);
const X400: (u64, u64, f64, f64, u64) = (22, 24, 24.48, 2.54, 16);
const Y800: (u64, u64, f64, f64, u64) = (14, 56, 38.84, 2.4, 16);
const Y8G: (u64, u64, f64, f64, u64) = (17, 192, 76.82, 2.19, 56);
const R_DEPTHS_50: [u64; 4] = [3, 4, 6, 3];
const R_DEPTHS_101: [u64; 4] = [3, 4, 23, 3];
const R_DEPTHS_152: [u64; 4] = [3, 8, 36, 3];
const R_GROUP_WS: [u64; 4] = [64, 128, 256, 512];
const X_GROUP_WS: [u64; 4] = [4, 8, 16, 32];
const EN_B0_WIDTHS: [u64; 7] = [16, 24, 40, 80, 112, 192, 320];

static ZOO: [ZooEntry; 39] = [
    regnet("RegNetX-200MF", &["regnetx_002"], X200, false),
    regnet("RegNetX-400MF", &["regnetx_004"], X400, false),
    regnet(
        "RegNetX-600MF",
        &["regnetx_006"],
        (16, 48, 36.97, 2.24, 24),
        false,
    ),
    regnet(
        "RegNetX-800MF",
        &["regnetx_008", "regnet_x_800mf"],
        (16, 56, 35.73, 2.28, 16),
        false,
    ),
    regnet(
        "RegNetX-1.6GF",
        &["regnetx_016", "regnet_x_1_6gf"],
        (18, 80, 34.01, 2.25, 24),
        false,
    ),
    regnet(
        "RegNetX-3.2GF",
        &["regnetx_032", "regnet_x_3_2gf"],
        (25, 88, 26.31, 2.25, 48),
        false,
    ),
    regnet(
        "RegNetX-4.0GF",
        &["regnetx_040"],
        (23, 96, 38.65, 2.43, 40),
        false,
    ),
    regnet(
        "RegNetX-6.4GF",
        &["regnetx_064"],
        (17, 184, 60.83, 2.07, 56),
        false,
    ),
    regnet(
        "RegNetX-8.0GF",
        &["regnetx_080", "regnet_x_8gf"],
        (23, 80, 49.56, 2.88, 120),
        false,
    ),
    regnet(
        "RegNetX-12GF",
        &["regnetx_120"],
        (19, 168, 73.36, 2.37, 112),
        false,
    ),
    regnet(
        "RegNetX-16GF",
        &["regnetx_160", "regnet_x_16gf"],
        (22, 216, 55.59, 2.1, 128),
        false,
    ),
    regnet(
        "RegNetX-32GF",
        &["regnetx_320", "regnet_x_32gf"],
        (23, 320, 69.86, 2.0, 168),
        false,
    ),
    regnet("RegNetY-200MF", &["regnety_002"], X200, true),
    regnet(
        "RegNetY-400MF",
        &["regnety_004", "regnet_y_400mf"],
        (16, 48, 27.89, 2.09, 8),
        true,
    ),
    regnet(
        "RegNetY-600MF",
        &["regnety_006"],
        (15, 48, 32.54, 2.32, 16),
        true,
    ),
    regnet("RegNetY-800MF", &["regnety_008"], Y800, true),
    regnet(
        "RegNetY-1.6GF",
        &["regnety_016", "regnet_y_1_6gf"],
        (27, 48, 20.71, 2.65, 24),
        true,
    ),
    regnet(
        "RegNetY-3.2GF",
        &["regnety_032", "regnet_y_3_2gf"],
        (21, 80, 42.63, 2.66, 24),
        true,
    ),
    regnet(
        "RegNetY-4.0GF",
        &["regnety_040"],
        (22, 96, 31.41, 2.24, 64),
        true,
    ),
    regnet(
        "RegNetY-6.4GF",
        &["regnety_064"],
        (25, 112, 33.22, 2.27, 72),
        true,
    ),
    regnet("RegNetY-8.0GF", &["regnety_080"], Y8G, true),
    regnet(
        "RegNetY-12GF",
        &["regnety_120"],
        (19, 168, 73.36, 2.37, 112),
        true,
    ),
    regnet(
        "RegNetY-16GF",
        &["regnety_160", "regnet_y_16gf"],
        (18, 200, 106.23, 2.48, 112),
        true,
    ),
    regnet(
        "RegNetY-32GF",
        &["regnety_320", "regnet_y_32gf"],
        (20, 232, 115.89, 2.53, 232),
        true,
    ),
    torchvision_regnet("regnet_x_400mf", X400, false),
    torchvision_regnet("regnet_y_800mf", Y800, true),
    torchvision_regnet("regnet_y_8gf", Y8G, true),
    resnet(
        "R-50-1x64d",
        &["ResNet-50", "resnet50"],
        R_DEPTHS_50,
        0.25,
        R_GROUP_WS,
    ),
    resnet(
        "R-101-1x64d",
        &["ResNet-101", "resnet101"],
        R_DEPTHS_101,
        0.25,
        R_GROUP_WS,
    ),
    resnet(
        "R-152-1x64d",
        &["ResNet-152", "resnet152"],
        R_DEPTHS_152,
        0.25,
        R_GROUP_WS,
    ),
    resnet(
        "X-50-32x4d",
        &["ResNeXt-50", "resnext50_32x4d"],
        R_DEPTHS_50,
        0.5,
        X_GROUP_WS,
    ),
    resnet(
        "X-101-32x4d",
        &["ResNeXt-101"],
        R_DEPTHS_101,
        0.5,
        X_GROUP_WS,
    ),
    resnet(
        "X-152-32x4d",
        &["ResNeXt-152"],
        R_DEPTHS_152,
        0.5,
        X_GROUP_WS,
    ),
    effnet(
        "EN-B0",
        &["EfficientNet-B0", "efficientnet_b0"],
        224,
        (32, [1, 2, 2, 3, 3, 4, 1], EN_B0_WIDTHS, 1280),
    ),
    effnet(
        "EN-B1",
        &["EfficientNet-B1", "efficientnet_b1"],
        240,
        (32, [2, 3, 3, 4, 4, 5, 2], EN_B0_WIDTHS, 1280),
    ),
    effnet(
        "EN-B2",
        &["EfficientNet-B2", "efficientnet_b2"],
        260,
        (
            32,
            [2, 3, 3, 4, 4, 5, 2],
            [16, 24, 48, 88, 120, 208, 352],
            1408,
        ),
    ),
    effnet(
        "EN-B3",
        &["EfficientNet-B3", "efficientnet_b3"],
        300,
        (
            40,
            [2, 3, 3, 5, 5, 6, 2],
            [24, 32, 48, 96, 136, 232, 384],
            1536,
        ),
    ),
    effnet(
        "EN-B4",
        &["EfficientNet-B4", "efficientnet_b4"],
        380,
        (
            48,
            [2, 4, 4, 6, 6, 8, 2],
            [24, 32, 56, 112, 160, 272, 448],
            1792,
        ),
    ),
    effnet(
        "EN-B5",
        &["EfficientNet-B5", "efficientnet_b5"],
        456,
        (
            48,
            [3, 5, 5, 7, 7, 9, 3],
            [24, 40, 64, 128, 176, 304, 512],
            2048,
        ),
    ),
];
