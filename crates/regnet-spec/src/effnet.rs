//! EfficientNet (pycls `effnet.py`, `EN` config section).

use crate::anynet::{
    check_each, check_len, check_positive_f64, check_range, check_stages, MAX_WIDTH,
};
use crate::blocks::{Block, MbConv};
use crate::error::{Result, SpecError};
use crate::head::Head;
use crate::network::{chain_stages, Activation, Network, Stage, StageParams};
use crate::stem::{Stem, StemType};

/// An EfficientNet as pycls's `EN` section describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct EffNetSpec {
    pub stem_w: u64,
    pub depths: Vec<u64>,
    pub widths: Vec<u64>,
    pub exp_ratios: Vec<f64>,
    /// SE ratio relative to each block's input width.
    pub se_r: f64,
    pub strides: Vec<u64>,
    /// Depthwise kernel size per stage (odd).
    pub kernels: Vec<u64>,
    pub head_w: u64,
    /// Drop-connect ratio on residual branches during training.
    pub dc_ratio: f64,
    /// Dropout ratio before the classifier during training.
    pub dropout_ratio: f64,
    pub num_classes: u64,
    pub activation: Activation,
}

impl EffNetSpec {
    /// Validates the spec and constructs every block.
    pub fn build(&self) -> Result<Network> {
        self.validate()?;
        let stem = Stem::new(StemType::SimpleStemIn, 3, self.stem_w);
        let (stages, w_in) = chain_stages(self.stem_w, &self.widths, |i, w_in| {
            self.build_stage(i, w_in)
        })?;
        Ok(Network {
            stem,
            stages,
            head: Head::eff(w_in, self.head_w, self.num_classes, self.dropout_ratio),
            activation: self.activation,
            drop_connect: self.dc_ratio,
        })
    }

    fn build_stage(&self, i: usize, w_in: u64) -> Result<Stage> {
        let (w, exp_r, k) = (self.widths[i], self.exp_ratios[i], self.kernels[i]);
        let blocks = (0..self.depths[i])
            .map(|j| {
                let (b_in, stride) = if j == 0 {
                    (w_in, self.strides[i])
                } else {
                    (w, 1)
                };
                MbConv::new(b_in, w, exp_r, k, stride, self.se_r)
                    .map(Block::MbConv)
                    .map_err(|e| SpecError::invalid(format!("EN stage {}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Stage {
            params: StageParams::MbConv {
                exp_ratio: exp_r,
                kernel: k,
            },
            blocks,
        })
    }

    fn validate(&self) -> Result<()> {
        check_range("EN.HEAD_W", self.head_w, 1, MAX_WIDTH)?;
        let n = check_stages(
            "EN",
            self.stem_w,
            self.num_classes,
            [&self.depths, &self.widths, &self.strides],
        )?;
        check_len("EN.EXP_RATIOS", self.exp_ratios.len(), n)?;
        check_len("EN.KERNELS", self.kernels.len(), n)?;
        check_each("EN.KERNELS", &self.kernels, 1, 31)?;
        if let Some(i) = self.kernels.iter().position(|k| k % 2 == 0) {
            return Err(SpecError::invalid(format!(
                "EN.KERNELS[{i}] must be odd (got {}); pycls supports only odd kernels",
                self.kernels[i]
            )));
        }
        for (i, &r) in self.exp_ratios.iter().enumerate() {
            check_positive_f64(&format!("EN.EXP_RATIOS[{i}]"), r)?;
        }
        check_positive_f64("EN.SE_R", self.se_r)?;
        check_ratio("EN.DC_RATIO", self.dc_ratio)?;
        check_ratio("EN.DROPOUT_RATIO", self.dropout_ratio)
    }
}

/// A probability-like ratio in [0, 1).
fn check_ratio(key: &str, v: f64) -> Result<()> {
    if !(0.0..1.0).contains(&v) {
        return Err(SpecError::invalid(format!(
            "{key} must be in [0, 1) (got {v})"
        )));
    }
    Ok(())
}
