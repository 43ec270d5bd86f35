//! A resolved network: stem, stages of constructed blocks, head.

use crate::blocks::Block;
use crate::cx::{Complexity, Cx};
use crate::error::{Result, SpecError};
use crate::head::Head;
use crate::stem::Stem;
use std::fmt;
use std::str::FromStr;

/// Largest input resolution accepted (keeps every count far from overflow).
pub const MAX_IM_SIZE: u64 = 1 << 16;

/// Activation function (pycls `MODEL.ACTIVATION_FUN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Activation {
    #[default]
    Relu,
    /// SiLU, also called swish (EfficientNet).
    Silu,
}

impl Activation {
    /// The pycls config name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Silu => "silu",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Activation::Relu),
            "silu" | "swish" => Ok(Activation::Silu),
            _ => Err(format!(
                "unknown activation '{s}' (allowed: relu, silu, swish)"
            )),
        }
    }
}

/// The design parameters a stage was built from, kept for reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StageParams {
    /// Vanilla or basic blocks: width, depth and stride only.
    Plain,
    /// X blocks: bottleneck multiplier (1/b) and group width g.
    Bottleneck { bot_mul: f64, group_w: u64 },
    /// EfficientNet MBConv: expansion ratio and depthwise kernel size.
    MbConv { exp_ratio: f64, kernel: u64 },
}

/// A stage: a sequence of blocks with the same output width; the first block
/// carries the stage stride.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub params: StageParams,
    pub blocks: Vec<Block>,
}

impl Stage {
    /// Number of blocks d_i.
    pub fn depth(&self) -> u64 {
        self.blocks.len() as u64
    }

    /// Output width w_i.
    pub fn width(&self) -> u64 {
        self.blocks[0].w_out()
    }

    /// Stride s_i of the first block.
    pub fn stride(&self) -> u64 {
        self.blocks[0].stride()
    }

    /// Groups of the spatial conv in each block of the stage.
    pub fn groups(&self) -> u64 {
        self.blocks[0].groups()
    }

    fn complexity(&self, cx: &mut Cx) {
        for block in &self.blocks {
            block.complexity(cx);
        }
    }
}

/// A network ready to count or to build: every width is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    pub stem: Stem,
    pub stages: Vec<Stage>,
    pub head: Head,
    pub activation: Activation,
    /// Drop-connect ratio on residual branches (EfficientNet `EN.DC_RATIO`); 0 = none.
    pub drop_connect: f64,
}

/// Builds one stage per width, each from the previous stage's output width
/// (the stem's for the first); returns the stages and the last width.
pub(crate) fn chain_stages(
    stem_w: u64,
    widths: &[u64],
    mut build_stage: impl FnMut(usize, u64) -> Result<Stage>,
) -> Result<(Vec<Stage>, u64)> {
    let mut w_in = stem_w;
    let mut stages = Vec::with_capacity(widths.len());
    for (i, &w) in widths.iter().enumerate() {
        stages.push(build_stage(i, w_in)?);
        w_in = w;
    }
    Ok((stages, w_in))
}

/// Output size and own complexity of one part of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartProfile {
    /// Spatial output size (square inputs give square outputs).
    pub out_size: u64,
    pub cx: Complexity,
}

/// Per-part breakdown of a network's complexity at one resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub stem: PartProfile,
    pub stages: Vec<PartProfile>,
    pub head: PartProfile,
    pub total: Complexity,
}

impl Network {
    /// Total spatial downsampling from the input to the last stage.
    pub fn downsampling(&self) -> u64 {
        self.stages.iter().fold(self.stem.downsampling(), |acc, s| {
            acc.saturating_mul(s.stride())
        })
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> u64 {
        self.head.fc.w_out
    }

    /// Exact pycls flops / params / acts at `im_size`×`im_size`.
    pub fn complexity(&self, im_size: u64) -> Result<Complexity> {
        self.check_im_size(im_size)?;
        let mut cx = Cx::new(im_size);
        self.stem.complexity(&mut cx);
        for stage in &self.stages {
            stage.complexity(&mut cx);
        }
        self.head.complexity(&mut cx);
        cx.totals()
    }

    /// Complexity broken down by stem, stage and head, with output sizes.
    pub fn profile(&self, im_size: u64) -> Result<Profile> {
        self.check_im_size(im_size)?;
        let mut cx = Cx::new(im_size);
        let mut part = |count: &dyn Fn(&mut Cx)| -> Result<PartProfile> {
            let start = cx;
            count(&mut cx);
            Ok(PartProfile {
                out_size: cx.h,
                cx: cx.since(&start)?,
            })
        };
        let stem = part(&|cx| self.stem.complexity(cx))?;
        let stages = self
            .stages
            .iter()
            .map(|s| part(&|cx| s.complexity(cx)))
            .collect::<Result<Vec<_>>>()?;
        let head = part(&|cx| self.head.complexity(cx))?;
        let total = cx.totals()?;
        Ok(Profile {
            stem,
            stages,
            head,
            total,
        })
    }

    /// Stages whose input map is already 1x1, at `im_size`: pycls's spatial
    /// arithmetic keeps a 1x1 map at 1x1 under any stride, so such stages are
    /// built and counted, but their strides no longer downsample. Empty when
    /// the input is at least as large as the total downsampling.
    pub fn stages_at_1x1(&self, im_size: u64) -> Vec<usize> {
        let mut cx = Cx::new(im_size);
        self.stem.complexity(&mut cx);
        let mut out = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            if cx.h == 1 && cx.w == 1 {
                out.push(i);
            }
            stage.complexity(&mut cx);
        }
        out
    }

    /// A one-line note for networks that downsample by more than their input
    /// size (pycls builds and counts them; the stages listed run at 1x1).
    pub fn small_input_note(&self, im_size: u64) -> Option<String> {
        let down = self.downsampling();
        if im_size == 0 || im_size >= down {
            return None;
        }
        let at_1x1 = self.stages_at_1x1(im_size);
        let which = if at_1x1.is_empty() {
            "the last stage ends at 1x1".to_string()
        } else {
            let names: Vec<String> = at_1x1.iter().map(|i| format!("stage {}", i + 1)).collect();
            format!("{} run at 1x1", names.join(", "))
        };
        Some(format!(
            "the network downsamples by {down} but the input is {im_size}x{im_size}: {which} (as in pycls, a 1x1 map stays 1x1 under a stride)"
        ))
    }

    /// pycls counts any input of at least one pixel ((h - 1) // s + 1 keeps a
    /// 1x1 map at 1x1); zero and absurdly large sizes are refused.
    fn check_im_size(&self, im_size: u64) -> Result<()> {
        if im_size > MAX_IM_SIZE {
            return Err(SpecError::invalid(format!(
                "im_size (TRAIN.IM_SIZE) {im_size} is too large (at most {MAX_IM_SIZE})"
            )));
        }
        if im_size == 0 {
            return Err(SpecError::invalid(
                "im_size (TRAIN.IM_SIZE) 0 is too small: it must be at least 1 pixel".to_string(),
            ));
        }
        Ok(())
    }
}
