//! AnyNet: the general stem → stages → head structure (pycls `ANYNET` config).

use crate::blocks::{Block, BottleneckParams};
use crate::error::{Result, SpecError};
use crate::head::Head;
use crate::network::{chain_stages, Activation, Network, Stage, StageParams};
use crate::stem::Stem;

pub use crate::blocks::BlockType;
pub use crate::stem::StemType;

/// Largest width, depth or class count accepted anywhere (keeps counts exact in 64 bits).
pub const MAX_WIDTH: u64 = 1 << 20;
/// Largest number of blocks in one stage.
pub const MAX_DEPTH: u64 = 10_000;

/// An AnyNet as pycls's `ANYNET` section describes it: per-stage depth,
/// width, stride, bottleneck multiplier and group width.
#[derive(Debug, Clone, PartialEq)]
pub struct AnyNetSpec {
    pub stem_type: StemType,
    pub stem_w: u64,
    pub block_type: BlockType,
    pub depths: Vec<u64>,
    pub widths: Vec<u64>,
    pub strides: Vec<u64>,
    /// Per-stage bottleneck multiplier (1/b); used by bottleneck blocks only.
    pub bot_muls: Vec<f64>,
    /// Per-stage group width g; used by bottleneck blocks only.
    pub group_ws: Vec<u64>,
    /// Width of the optional 1×1 head conv; 0 = none.
    pub head_w: u64,
    /// SE ratio when SE is on (RegNetY); bottleneck blocks only.
    pub se_r: Option<f64>,
    pub num_classes: u64,
    pub activation: Activation,
}

impl AnyNetSpec {
    /// Validates the spec and constructs every block.
    pub fn build(&self) -> Result<Network> {
        self.validate()?;
        let stem = Stem::new(self.stem_type, 3, self.stem_w);
        let (stages, w_in) = chain_stages(self.stem_w, &self.widths, |i, w_in| {
            self.build_stage(i, w_in)
        })?;
        Ok(Network {
            stem,
            stages,
            head: Head::new(w_in, self.head_w, self.num_classes, 0.0),
            activation: self.activation,
            drop_connect: 0.0,
        })
    }

    /// Number of stages.
    pub fn num_stages(&self) -> usize {
        self.depths.len()
    }

    fn build_stage(&self, i: usize, w_in: u64) -> Result<Stage> {
        let (d, w, s) = (self.depths[i], self.widths[i], self.strides[i]);
        let bottleneck = self.block_type.is_bottleneck().then(|| BottleneckParams {
            bot_mul: self.bot_muls[i],
            group_w: self.group_ws[i],
            se_r: self.se_r.unwrap_or(0.0),
        });
        let blocks = (0..d)
            .map(|j| {
                let (b_in, b_stride) = if j == 0 { (w_in, s) } else { (w, 1) };
                Block::anynet(self.block_type, b_in, w, b_stride, bottleneck.as_ref())
                    .map_err(|e| SpecError::invalid(format!("ANYNET stage {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        let params = match bottleneck {
            Some(p) => StageParams::Bottleneck {
                bot_mul: p.bot_mul,
                group_w: p.group_w,
            },
            None => StageParams::Plain,
        };
        Ok(Stage { params, blocks })
    }

    fn validate(&self) -> Result<()> {
        check_range("ANYNET.HEAD_W", self.head_w, 0, MAX_WIDTH)?;
        let n = check_stages(
            "ANYNET",
            self.stem_w,
            self.num_classes,
            [&self.depths, &self.widths, &self.strides],
        )?;
        if self.block_type.is_bottleneck() {
            self.validate_bottleneck(n)
        } else if self.se_r.is_some() {
            Err(SpecError::invalid(format!(
                "ANYNET.SE_ON: squeeze-and-excitation needs a bottleneck block, not {}",
                self.block_type
            )))
        } else {
            Ok(())
        }
    }

    fn validate_bottleneck(&self, n: usize) -> Result<()> {
        let block = self.block_type;
        if self.bot_muls.len() != n {
            return Err(SpecError::invalid(format!(
                "ANYNET.BOT_MULS has {} values but there are {n} stages; {block} needs one per stage",
                self.bot_muls.len()
            )));
        }
        if self.group_ws.len() != n {
            return Err(SpecError::invalid(format!(
                "ANYNET.GROUP_WS has {} values but there are {n} stages; {block} needs one per stage",
                self.group_ws.len()
            )));
        }
        for (i, &b) in self.bot_muls.iter().enumerate() {
            check_positive_f64(&format!("ANYNET.BOT_MULS[{i}]"), b)?;
        }
        check_each("ANYNET.GROUP_WS", &self.group_ws, 1, MAX_WIDTH)?;
        if let Some(se_r) = self.se_r {
            check_positive_f64("ANYNET.SE_R", se_r)?;
        }
        Ok(())
    }
}

/// Checks what every stage-list model shares: stem width, class count, and
/// per-stage `[DEPTHS, WIDTHS, STRIDES]` of one length and in range, named
/// under `section`. Returns the number of stages.
pub(crate) fn check_stages(
    section: &str,
    stem_w: u64,
    num_classes: u64,
    [depths, widths, strides]: [&[u64]; 3],
) -> Result<usize> {
    check_range(&format!("{section}.STEM_W"), stem_w, 1, MAX_WIDTH)?;
    check_range("MODEL.NUM_CLASSES", num_classes, 1, MAX_WIDTH)?;
    let n = depths.len();
    if n == 0 {
        return Err(SpecError::invalid(format!(
            "{section}.DEPTHS is empty; give at least one stage (one depth per stage)"
        )));
    }
    check_len(&format!("{section}.WIDTHS"), widths.len(), n)?;
    check_len(&format!("{section}.STRIDES"), strides.len(), n)?;
    check_each(&format!("{section}.DEPTHS"), depths, 1, MAX_DEPTH)?;
    check_each(&format!("{section}.WIDTHS"), widths, 1, MAX_WIDTH)?;
    check_each(&format!("{section}.STRIDES"), strides, 1, 64)?;
    Ok(n)
}

/// `key` must lie in `lo..=hi`.
pub(crate) fn check_range(key: &str, v: u64, lo: u64, hi: u64) -> Result<()> {
    if v < lo || v > hi {
        return Err(SpecError::invalid(format!(
            "{key} must be between {lo} and {hi} (got {v})"
        )));
    }
    Ok(())
}

/// Every element of the list `key` must lie in `lo..=hi`.
pub(crate) fn check_each(key: &str, vs: &[u64], lo: u64, hi: u64) -> Result<()> {
    vs.iter()
        .enumerate()
        .try_for_each(|(i, &v)| check_range(&format!("{key}[{i}]"), v, lo, hi))
}

/// A per-stage list `key` must have one value per stage.
pub(crate) fn check_len(key: &str, len: usize, stages: usize) -> Result<()> {
    if len != stages {
        return Err(SpecError::invalid(format!(
            "{key} has {len} values but there are {stages} stages; give one per stage"
        )));
    }
    Ok(())
}

/// `key` must be a finite number > 0.
pub(crate) fn check_positive_f64(key: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v > 0.0) {
        return Err(SpecError::invalid(format!(
            "{key} must be a number greater than 0 (got {v})"
        )));
    }
    Ok(())
}
