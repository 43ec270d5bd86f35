//! Residual and plain blocks (pycls `anynet.py` and `effnet.py`).
//!
//! Every block is constructed from its arguments once, computing its derived
//! widths (bottleneck width `w_b`, number of groups, SE width) in `new`; its
//! `complexity` reads the constructed layers, never the arguments again.
//! Each layer is named where it is built (pycls's module name, and
//! torchvision's where torchvision has the block), so the engine and the
//! weight importers and exporters read a block's names from here.

use crate::cx::Cx;
use crate::layers::{Conv2d, ConvBn, Se};
use crate::names::Names;
use crate::pyround::{round_to_u64, trunc_to_u64};
use crate::stem::names;
use std::fmt;
use std::str::FromStr;

/// The AnyNet block types, by their pycls config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockType {
    /// `vanilla_block`: [3×3 conv, BN, act] × 2, no shortcut.
    VanillaBlock,
    /// `res_basic_block`: x + [3×3, BN, act, 3×3, BN](x), then act.
    ResBasicBlock,
    /// `res_bottleneck_block`: the X block (1×1, 3×3 group conv, [SE], 1×1) with shortcut.
    ResBottleneckBlock,
    /// `res_bottleneck_linear_block`: the bottleneck transform with an identity
    /// skip only when shapes match, and no activation after the sum.
    ResBottleneckLinearBlock,
}

impl BlockType {
    /// Every block type, in the order shown to users.
    pub const ALL: [BlockType; 4] = [
        BlockType::ResBottleneckBlock,
        BlockType::ResBottleneckLinearBlock,
        BlockType::ResBasicBlock,
        BlockType::VanillaBlock,
    ];

    /// The pycls config name.
    pub fn name(self) -> &'static str {
        match self {
            BlockType::VanillaBlock => "vanilla_block",
            BlockType::ResBasicBlock => "res_basic_block",
            BlockType::ResBottleneckBlock => "res_bottleneck_block",
            BlockType::ResBottleneckLinearBlock => "res_bottleneck_linear_block",
        }
    }

    /// Whether the block has a bottleneck (uses bot_mul, group_w and SE).
    pub fn is_bottleneck(self) -> bool {
        matches!(
            self,
            BlockType::ResBottleneckBlock | BlockType::ResBottleneckLinearBlock
        )
    }
}

impl fmt::Display for BlockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BlockType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        BlockType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown block type '{s}' (allowed: {})",
                    names(&BlockType::ALL)
                )
            })
    }
}

/// Bottleneck settings of a stage: pycls `params` dict for X blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BottleneckParams {
    /// Bottleneck multiplier, 1/b in the paper.
    pub bot_mul: f64,
    /// Group width g of the 3×3 conv.
    pub group_w: u64,
    /// SE ratio relative to the block's input width; 0 disables SE.
    pub se_r: f64,
}

/// A module of a block with the BN after it: `{name}` / `{name}_bn` in
/// pycls (`f.a`, `f.a_bn`).
macro_rules! conv_bn_names {
    ($name:literal) => {
        [Names::pycls($name), Names::pycls(concat!($name, "_bn"))]
    };
}

/// `vanilla_block`'s convs; torchvision has no plain block.
const VANILLA: [[Names; 2]; 2] = [conv_bn_names!("a"), conv_bn_names!("b")];
/// The residual branch of basic and bottleneck blocks (`f.a`, `f.b`,
/// `f.c`): `f.a.0` / `f.a.1` in torchvision's RegNet, `conv1` / `bn1` in its ResNet.
const F_A: [Names; 2] = [
    Names::pycls("f.a").regnet("f.a.0").resnet("conv1"),
    Names::pycls("f.a_bn").regnet("f.a.1").resnet("bn1"),
];
const F_B: [Names; 2] = [
    Names::pycls("f.b").regnet("f.b.0").resnet("conv2"),
    Names::pycls("f.b_bn").regnet("f.b.1").resnet("bn2"),
];
const F_C: [Names; 2] = [
    Names::pycls("f.c").regnet("f.c.0").resnet("conv3"),
    Names::pycls("f.c_bn").regnet("f.c.1").resnet("bn3"),
];
/// The bottleneck's SE (`f.se.f_ex.0`, `f.se.f_ex.2`); torchvision's RegNet
/// calls its convs `fc1` and `fc2`.
const F_SE: [Names; 2] = [
    Names::pycls("f.se.f_ex.0").regnet("f.se.fc1"),
    Names::pycls("f.se.f_ex.2").regnet("f.se.fc2"),
];
/// The shortcut projection and its BN (pycls `proj` / `bn`).
const PROJ: [Names; 2] = [
    Names::pycls("proj").regnet("proj.0").resnet("downsample.0"),
    Names::pycls("bn").regnet("proj.1").resnet("downsample.1"),
];
/// MBConv's layers; torchvision numbers them inside `block`, and without an
/// expansion conv every later index moves down by one.
const MB_EXP: [Names; 2] = [
    Names::pycls("exp").effnet("block.0.0"),
    Names::pycls("exp_bn").effnet("block.0.1"),
];
const MB_EXPANDED: [[Names; 2]; 3] = [
    [
        Names::pycls("dwise").effnet("block.1.0"),
        Names::pycls("dwise_bn").effnet("block.1.1"),
    ],
    [
        Names::pycls("se.f_ex.0").effnet("block.2.fc1"),
        Names::pycls("se.f_ex.2").effnet("block.2.fc2"),
    ],
    [
        Names::pycls("lin_proj").effnet("block.3.0"),
        Names::pycls("lin_proj_bn").effnet("block.3.1"),
    ],
];
const MB_PLAIN: [[Names; 2]; 3] = [
    [
        Names::pycls("dwise").effnet("block.0.0"),
        Names::pycls("dwise_bn").effnet("block.0.1"),
    ],
    [
        Names::pycls("se.f_ex.0").effnet("block.1.fc1"),
        Names::pycls("se.f_ex.2").effnet("block.1.fc2"),
    ],
    [
        Names::pycls("lin_proj").effnet("block.2.0"),
        Names::pycls("lin_proj_bn").effnet("block.2.1"),
    ],
];

/// `vanilla_block`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VanillaBlock {
    /// `a` / `a_bn`.
    pub a: ConvBn,
    /// `b` / `b_bn`.
    pub b: ConvBn,
}

impl VanillaBlock {
    /// Two 3×3 convs, the first strided.
    pub fn new(w_in: u64, w_out: u64, stride: u64) -> Self {
        Self::named(w_in, w_out, stride, VANILLA)
    }

    fn named(w_in: u64, w_out: u64, stride: u64, [a, b]: [[Names; 2]; 2]) -> Self {
        VanillaBlock {
            a: ConvBn::new(Conv2d::new(w_in, w_out, 3).with_stride(stride), a),
            b: ConvBn::new(Conv2d::new(w_out, w_out, 3), b),
        }
    }

    fn complexity(&self, cx: &mut Cx) {
        self.a.complexity(cx);
        self.b.complexity(cx);
    }

    fn names(&self) -> Vec<Names> {
        [self.a.names, self.b.names].concat()
    }
}

/// `res_basic_block`: shortcut projection when shapes change, and the basic
/// transform `f` (same convs as [`VanillaBlock`]; `f.b` is the residual
/// branch's last BN, zero-initialised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResBasicBlock {
    /// `proj` / `bn`.
    pub proj: Option<ConvBn>,
    /// `f.a`, `f.a_bn`, `f.b`, `f.b_bn`.
    pub f: VanillaBlock,
}

impl ResBasicBlock {
    /// Basic residual block.
    pub fn new(w_in: u64, w_out: u64, stride: u64) -> Self {
        ResBasicBlock {
            proj: projection(w_in, w_out, stride),
            f: VanillaBlock::named(w_in, w_out, stride, [F_A, F_B]),
        }
    }

    fn complexity(&self, cx: &mut Cx) {
        if let Some(proj) = &self.proj {
            proj.parallel_complexity(cx);
        }
        self.f.complexity(cx);
    }
}

/// 1×1 strided conv + BN on the shortcut when the shape changes.
fn projection(w_in: u64, w_out: u64, stride: u64) -> Option<ConvBn> {
    (w_in != w_out || stride != 1)
        .then(|| ConvBn::new(Conv2d::new(w_in, w_out, 1).with_stride(stride), PROJ))
}

/// The projection's names (when there is one), then the branch's.
fn with_proj(proj: &Option<ConvBn>, f: Vec<Names>) -> Vec<Names> {
    let proj = proj.iter().flat_map(|p| p.names);
    proj.chain(f).collect()
}

/// Bottleneck transform: 1×1, 3×3 group conv [+SE], 1×1 (pycls `BottleneckTransform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BottleneckTransform {
    /// `a` / `a_bn`: 1×1, w_in → w_b.
    pub a: ConvBn,
    /// `b` / `b_bn`: 3×3 group conv with the block stride, w_b → w_b.
    pub b: ConvBn,
    /// `se`: present when round(w_in · se_r) > 0.
    pub se: Option<Se>,
    /// `c` / `c_bn`: 1×1, w_b → w_out; `c_bn` is zero-initialised.
    pub c: ConvBn,
}

impl BottleneckTransform {
    /// Builds the transform, checking that the bottleneck width splits into
    /// whole groups of `group_w` channels.
    pub fn new(w_in: u64, w_out: u64, stride: u64, p: &BottleneckParams) -> Result<Self, String> {
        let w_b = round_to_u64(w_out as f64 * p.bot_mul);
        if w_b == 0 {
            return Err(format!(
                "bottleneck width round({w_out} x {}) is 0; bot_mul must give at least 1 channel",
                p.bot_mul
            ));
        }
        if p.group_w == 0 || w_b % p.group_w != 0 {
            return Err(format!(
                "bottleneck width {w_b} (= round({w_out} x {})) is not divisible by group width {}",
                p.bot_mul, p.group_w
            ));
        }
        let w_se = round_to_u64(w_in as f64 * p.se_r);
        Ok(BottleneckTransform {
            a: ConvBn::new(Conv2d::new(w_in, w_b, 1), F_A),
            b: ConvBn::new(
                Conv2d::new(w_b, w_b, 3)
                    .with_stride(stride)
                    .with_groups(w_b / p.group_w),
                F_B,
            ),
            se: (w_se > 0).then(|| Se::new(w_b, w_se, F_SE)),
            c: ConvBn::new(Conv2d::new(w_b, w_out, 1), F_C),
        })
    }

    /// Bottleneck width w_b.
    pub fn w_b(&self) -> u64 {
        self.a.conv.w_out
    }

    fn complexity(&self, cx: &mut Cx) {
        self.a.complexity(cx);
        self.b.complexity(cx);
        if let Some(se) = &self.se {
            se.complexity(cx);
        }
        self.c.complexity(cx);
    }

    fn names(&self) -> Vec<Names> {
        let se = self.se.iter().flat_map(|s| s.names);
        let a_b = [self.a.names, self.b.names].concat();
        a_b.into_iter().chain(se).chain(self.c.names).collect()
    }
}

/// `res_bottleneck_block`, the X block (Y block with SE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResBottleneckBlock {
    /// `proj` / `bn`.
    pub proj: Option<ConvBn>,
    /// `f`.
    pub f: BottleneckTransform,
}

/// `res_bottleneck_linear_block`: x + f(x) only when shapes match, no final activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResBottleneckLinearBlock {
    pub has_skip: bool,
    /// `f`.
    pub f: BottleneckTransform,
}

/// Mobile inverted bottleneck with SE (pycls EfficientNet `MBConv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MbConv {
    /// `exp` / `exp_bn`: 1×1 expansion, present when w_exp != w_in.
    pub exp: Option<ConvBn>,
    /// `dwise` / `dwise_bn`: k×k depthwise conv with the block stride.
    pub dwise: ConvBn,
    /// `se`.
    pub se: Se,
    /// `lin_proj` / `lin_proj_bn`: 1×1 linear projection to w_out.
    pub lin_proj: ConvBn,
    /// Identity skip (with drop-connect in training) when stride 1 and w_in == w_out.
    pub has_skip: bool,
}

impl MbConv {
    /// pycls `MBConv(w_in, exp_r, k, stride, se_r, w_out)`; widths truncate like `int()`.
    pub fn new(
        w_in: u64,
        w_out: u64,
        exp_r: f64,
        k: u64,
        stride: u64,
        se_r: f64,
    ) -> Result<Self, String> {
        let w_exp = trunc_to_u64(w_in as f64 * exp_r);
        if w_exp == 0 {
            return Err(format!("expanded width int({w_in} x {exp_r}) is 0"));
        }
        let w_se = trunc_to_u64(w_in as f64 * se_r);
        if w_se == 0 {
            return Err(format!(
                "SE width int({w_in} x {se_r}) is 0; EN.SE_R too small"
            ));
        }
        let expanded = w_exp != w_in;
        let [dwise, se, lin_proj] = if expanded { MB_EXPANDED } else { MB_PLAIN };
        Ok(MbConv {
            exp: expanded.then(|| ConvBn::new(Conv2d::new(w_in, w_exp, 1), MB_EXP)),
            dwise: ConvBn::new(
                Conv2d::new(w_exp, w_exp, k)
                    .with_stride(stride)
                    .with_groups(w_exp),
                dwise,
            ),
            se: Se::new(w_exp, w_se, se),
            lin_proj: ConvBn::new(Conv2d::new(w_exp, w_out, 1), lin_proj),
            has_skip: stride == 1 && w_in == w_out,
        })
    }

    fn complexity(&self, cx: &mut Cx) {
        if let Some(exp) = &self.exp {
            exp.complexity(cx);
        }
        self.dwise.complexity(cx);
        self.se.complexity(cx);
        self.lin_proj.complexity(cx);
    }

    fn names(&self) -> Vec<Names> {
        let exp = self.exp.iter().flat_map(|e| e.names);
        let rest = [self.dwise.names, self.se.names, self.lin_proj.names].concat();
        exp.chain(rest).collect()
    }
}

/// Any block a stage can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Vanilla(VanillaBlock),
    ResBasic(ResBasicBlock),
    ResBottleneck(ResBottleneckBlock),
    ResBottleneckLinear(ResBottleneckLinearBlock),
    MbConv(MbConv),
}

impl Block {
    /// Builds an AnyNet block of `block_type`; `bottleneck` is required for
    /// bottleneck types and ignored otherwise (as pycls does).
    pub fn anynet(
        block_type: BlockType,
        w_in: u64,
        w_out: u64,
        stride: u64,
        bottleneck: Option<&BottleneckParams>,
    ) -> Result<Self, String> {
        let transform = || match bottleneck {
            Some(p) => BottleneckTransform::new(w_in, w_out, stride, p),
            None => Err(format!("{block_type} needs bot_mul and group_w")),
        };
        Ok(match block_type {
            BlockType::VanillaBlock => Block::Vanilla(VanillaBlock::new(w_in, w_out, stride)),
            BlockType::ResBasicBlock => Block::ResBasic(ResBasicBlock::new(w_in, w_out, stride)),
            BlockType::ResBottleneckBlock => Block::ResBottleneck(ResBottleneckBlock {
                proj: projection(w_in, w_out, stride),
                f: transform()?,
            }),
            BlockType::ResBottleneckLinearBlock => {
                Block::ResBottleneckLinear(ResBottleneckLinearBlock {
                    has_skip: w_in == w_out && stride == 1,
                    f: transform()?,
                })
            }
        })
    }

    /// The conv that carries the block's stride.
    fn strided_conv(&self) -> &Conv2d {
        match self {
            Block::Vanilla(b) => &b.a.conv,
            Block::ResBasic(b) => &b.f.a.conv,
            Block::ResBottleneck(b) => &b.f.b.conv,
            Block::ResBottleneckLinear(b) => &b.f.b.conv,
            Block::MbConv(b) => &b.dwise.conv,
        }
    }

    /// The block's last conv (it carries the output width).
    fn last_conv(&self) -> &Conv2d {
        match self {
            Block::Vanilla(b) => &b.b.conv,
            Block::ResBasic(b) => &b.f.b.conv,
            Block::ResBottleneck(b) => &b.f.c.conv,
            Block::ResBottleneckLinear(b) => &b.f.c.conv,
            Block::MbConv(b) => &b.lin_proj.conv,
        }
    }

    /// Output width.
    pub fn w_out(&self) -> u64 {
        self.last_conv().w_out
    }

    /// Spatial stride of the block.
    pub fn stride(&self) -> u64 {
        self.strided_conv().stride
    }

    /// Groups of the block's spatial conv (1 for plain convs, w for depthwise).
    pub fn groups(&self) -> u64 {
        self.strided_conv().groups
    }

    /// The AnyNet block type (`None` for EfficientNet's MBConv).
    pub fn block_type(&self) -> Option<BlockType> {
        Some(match self {
            Block::Vanilla(_) => BlockType::VanillaBlock,
            Block::ResBasic(_) => BlockType::ResBasicBlock,
            Block::ResBottleneck(_) => BlockType::ResBottleneckBlock,
            Block::ResBottleneckLinear(_) => BlockType::ResBottleneckLinearBlock,
            Block::MbConv(_) => return None,
        })
    }

    /// The names of the block's parameter-holding modules, in order.
    pub fn names(&self) -> Vec<Names> {
        match self {
            Block::Vanilla(b) => b.names(),
            Block::ResBasic(b) => with_proj(&b.proj, b.f.names()),
            Block::ResBottleneck(b) => with_proj(&b.proj, b.f.names()),
            Block::ResBottleneckLinear(b) => b.f.names(),
            Block::MbConv(b) => b.names(),
        }
    }

    /// Exact pycls complexity of the block.
    pub fn complexity(&self, cx: &mut Cx) {
        match self {
            Block::Vanilla(b) => b.complexity(cx),
            Block::ResBasic(b) => b.complexity(cx),
            Block::ResBottleneck(b) => {
                if let Some(proj) = &b.proj {
                    proj.parallel_complexity(cx);
                }
                b.f.complexity(cx);
            }
            Block::ResBottleneckLinear(b) => b.f.complexity(cx),
            Block::MbConv(b) => b.complexity(cx),
        }
    }
}
