//! RegNet: per-block widths from a quantized linear function (pycls `regnet.py`).

use crate::anynet::{check_positive_f64, check_range, AnyNetSpec, BlockType, MAX_DEPTH, MAX_WIDTH};
use crate::error::{Result, SpecError};
use crate::network::{Activation, Network};
use crate::pyround::{lcm, round_half_even, trunc_to_u64};
use crate::stem::StemType;

/// Width quantum of the RegNet rule: every block width is a multiple of 8.
pub const WIDTH_QUANTUM: u64 = 8;

/// Output of the quantized linear rule (pycls `generate_regnet`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegNetWidths {
    /// Stage widths: the distinct block widths, in order.
    pub widths: Vec<u64>,
    /// Stage depths: how many blocks share each width.
    pub depths: Vec<u64>,
    /// Largest quantization exponent + 1; more than `widths.len()` means the
    /// rounded exponents skipped a value (design-space samplers reject that).
    pub total_stages: u64,
    /// Quantized width of every block, w_j.
    pub block_widths: Vec<u64>,
    /// Continuous width of every block, u_j = w0 + wa·j.
    pub block_widths_cont: Vec<f64>,
}

impl RegNetWidths {
    /// Number of stages actually produced.
    pub fn num_stages(&self) -> usize {
        self.widths.len()
    }
}

/// The quantized linear rule: u_j = w0 + wa·j, s_j = round(log(u_j/w0)/log(wm)),
/// w_j = round(w0·wm^s_j / q)·q; equal consecutive widths form a stage.
/// Rounding is half-to-even, as numpy's.
pub fn generate_regnet(wa: f64, w0: u64, wm: f64, depth: u64, q: u64) -> Result<RegNetWidths> {
    check_regnet_params(wa, w0, wm, depth, q)?;
    let w0f = w0 as f64;
    let block_widths_cont: Vec<f64> = (0..depth).map(|j| j as f64 * wa + w0f).collect();
    let ks: Vec<f64> = block_widths_cont
        .iter()
        .map(|u| round_half_even((u / w0f).ln() / wm.ln()))
        .collect();
    let block_widths: Vec<u64> = ks
        .iter()
        .map(|&k| round_half_even(w0f * wm.powf(k) / q as f64) as u64 * q)
        .collect();
    let (widths, depths) = run_lengths(&block_widths);
    let total_stages = ks.iter().fold(0.0f64, |a, &k| a.max(k)) as u64 + 1;
    Ok(RegNetWidths {
        widths,
        depths,
        total_stages,
        block_widths,
        block_widths_cont,
    })
}

fn check_regnet_params(wa: f64, w0: u64, wm: f64, depth: u64, q: u64) -> Result<()> {
    if w0 == 0 || w0 % q != 0 || w0 > MAX_WIDTH {
        return Err(SpecError::invalid(format!(
            "REGNET.W0 must be a positive multiple of {q} up to {MAX_WIDTH} (got {w0})"
        )));
    }
    if !(wa.is_finite() && wa >= 0.0) || wa > MAX_WIDTH as f64 {
        return Err(SpecError::invalid(format!(
            "REGNET.WA must be a number >= 0 (got {wa})"
        )));
    }
    if !(wm.is_finite() && wm > 1.0) {
        return Err(SpecError::invalid(format!(
            "REGNET.WM must be a number greater than 1 (got {wm})"
        )));
    }
    check_range("REGNET.DEPTH", depth, 1, MAX_DEPTH)
}

/// Distinct consecutive values and how often each repeats.
fn run_lengths(values: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let mut widths: Vec<u64> = Vec::new();
    let mut depths: Vec<u64> = Vec::new();
    for &v in values {
        if widths.last() == Some(&v) {
            *depths.last_mut().expect("depths follows widths") += 1;
        } else {
            widths.push(v);
            depths.push(1);
        }
    }
    (widths, depths)
}

/// Which library's (width, bottleneck, group) compatibility rule to apply.
///
/// They differ in rounding: pycls rounds half to even and never grows a width
/// by more than rounding; torchvision rounds half up and bumps a width that
/// shrank by more than 10%. Among the RegNets both libraries ship, the two
/// rules disagree on RegNetX-400MF, RegNetY-800MF and RegNetY-8.0GF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compat {
    #[default]
    Pycls,
    Torchvision,
}

/// pycls `adjust_block_compatibility` for one stage: returns (w, g) such that
/// the bottleneck width w·b is a whole number of groups of width g.
pub fn adjust_block_compatibility(w: u64, b: f64, g: u64) -> Result<(u64, u64)> {
    let v = trunc_to_u64((w as f64 * b).max(1.0));
    let g = g.min(v);
    let m = if b > 1.0 {
        if b.fract() != 0.0 {
            return Err(SpecError::invalid(format!(
                "bot_mul above 1 must be a whole number (got {b})"
            )));
        }
        lcm(g, b as u64)
    } else {
        g
    };
    let v = m.max(round_half_even(v as f64 / m as f64) as u64 * m);
    Ok((trunc_to_u64(v as f64 / b), g))
}

/// torchvision `_adjust_widths_groups_compatibilty` for one stage.
fn adjust_block_compatibility_torchvision(w: u64, b: f64, g: u64) -> (u64, u64) {
    let w_bot = trunc_to_u64(w as f64 * b);
    let g = g.min(w_bot).max(1);
    let mut v = g.max(trunc_to_u64(w_bot as f64 + g as f64 / 2.0) / g * g);
    if (v as f64) < 0.9 * w_bot as f64 {
        v += g;
    }
    (trunc_to_u64(v as f64 / b), g)
}

/// A RegNet as pycls's `REGNET` section describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegNetSpec {
    pub stem_type: StemType,
    pub stem_w: u64,
    pub block_type: BlockType,
    /// Stride of every stage.
    pub stride: u64,
    /// SE ratio when SE is on (RegNetY).
    pub se_r: Option<f64>,
    pub depth: u64,
    pub w0: u64,
    pub wa: f64,
    pub wm: f64,
    pub group_w: u64,
    pub bot_mul: f64,
    pub head_w: u64,
    pub num_classes: u64,
    pub activation: Activation,
}

impl RegNetSpec {
    /// Per-block and per-stage widths before the compatibility adjustment.
    pub fn widths(&self) -> Result<RegNetWidths> {
        generate_regnet(self.wa, self.w0, self.wm, self.depth, WIDTH_QUANTUM)
    }

    /// The equivalent AnyNet, exactly as pycls `RegNet.get_params` builds it.
    pub fn to_anynet(&self) -> Result<AnyNetSpec> {
        self.to_anynet_with(Compat::Pycls)
    }

    /// The equivalent AnyNet under either library's compatibility rule.
    pub fn to_anynet_with(&self, compat: Compat) -> Result<AnyNetSpec> {
        self.expand(self.widths()?, compat)
    }

    /// The equivalent AnyNet from already generated widths (`self.widths()`),
    /// so a caller that inspected them (a sampler checking the stage count)
    /// does not generate them twice.
    pub fn expand(&self, rw: RegNetWidths, compat: Compat) -> Result<AnyNetSpec> {
        check_range("REGNET.STEM_W", self.stem_w, 1, MAX_WIDTH)?;
        check_range("REGNET.HEAD_W", self.head_w, 0, MAX_WIDTH)?;
        check_range("REGNET.STRIDE", self.stride, 1, 64)?;
        check_range("REGNET.GROUP_W", self.group_w, 1, MAX_WIDTH)?;
        check_positive_f64("REGNET.BOT_MUL", self.bot_mul)?;
        if let Some(se_r) = self.se_r {
            check_positive_f64("REGNET.SE_R", se_r)?;
        }
        let n = rw.num_stages();
        let mut widths = Vec::with_capacity(n);
        let mut group_ws = Vec::with_capacity(n);
        for &w in &rw.widths {
            let (w, g) = match compat {
                Compat::Pycls => adjust_block_compatibility(w, self.bot_mul, self.group_w)
                    .map_err(|e| SpecError::invalid(format!("REGNET.BOT_MUL: {e}")))?,
                Compat::Torchvision => {
                    adjust_block_compatibility_torchvision(w, self.bot_mul, self.group_w)
                }
            };
            widths.push(w);
            group_ws.push(g);
        }
        Ok(AnyNetSpec {
            stem_type: self.stem_type,
            stem_w: self.stem_w,
            block_type: self.block_type,
            depths: rw.depths,
            widths,
            strides: vec![self.stride; n],
            bot_muls: vec![self.bot_mul; n],
            group_ws,
            head_w: self.head_w,
            se_r: self.se_r,
            num_classes: self.num_classes,
            activation: self.activation,
        })
    }

    /// Expands and builds the network.
    pub fn build(&self) -> Result<Network> {
        self.to_anynet()?.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regnetx_200mf_widths_match_the_paper() {
        // docs/method.md §5: (d 13, w0 24, wa 36.44, wm 2.49) -> widths [24, 56, 152, 368], depths [1, 1, 4, 7].
        let rw = generate_regnet(36.44, 24, 2.49, 13, 8).unwrap();
        assert_eq!(rw.widths, vec![24, 56, 152, 368]);
        assert_eq!(rw.depths, vec![1, 1, 4, 7]);
        assert_eq!(rw.total_stages, 4);
        assert_eq!(rw.block_widths.len(), 13);
    }

    #[test]
    fn compatibility_by_hand() {
        // w=100, b=0.25, g=8: v=int(25)=25, g=min(8,25)=8, m=8, v=max(8, round(25/8)*8)=max(8, 3*8)=24, w=24/0.25=96.
        assert_eq!(adjust_block_compatibility(100, 0.25, 8).unwrap(), (96, 8));
        // g larger than the bottleneck: w=24, b=1, g=32: v=24, g=24, w=24.
        assert_eq!(adjust_block_compatibility(24, 1.0, 32).unwrap(), (24, 24));
        // tie rounds to even: w=36, b=1, g=24: round(36/24)=round(1.5)=2 -> v=48.
        assert_eq!(adjust_block_compatibility(36, 1.0, 24).unwrap(), (48, 24));
        // and down: w=60, g=24: round(2.5)=2 -> 48 (Rust's f64::round would give 72).
        assert_eq!(adjust_block_compatibility(60, 1.0, 24).unwrap(), (48, 24));
        // inverted bottleneck b=2 with g=3: m=lcm(3,2)=6; v=int(10*2)=20 -> round(20/6)*6=18 -> w=9.
        assert_eq!(adjust_block_compatibility(10, 2.0, 3).unwrap(), (9, 3));
    }

    #[test]
    fn bad_regnet_params_are_named() {
        let e = generate_regnet(10.0, 12, 2.5, 10, 8)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("REGNET.W0") && e.contains("multiple of 8"),
            "{e}"
        );
        let e = generate_regnet(10.0, 16, 1.0, 10, 8)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("REGNET.WM") && e.contains("greater than 1"),
            "{e}"
        );
        let e = generate_regnet(10.0, 16, 2.0, 0, 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("REGNET.DEPTH"), "{e}");
        let e = generate_regnet(-1.0, 16, 2.0, 5, 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("REGNET.WA"), "{e}");
    }
}
