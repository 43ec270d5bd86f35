//! The RegNet design spaces (docs/method.md §5) and pycls's `regnet_sampler`.

use crate::random::{RandType, Scalar};
use crate::space::{ParamInfo, StemChoice};
use num_bigint::BigUint;
use rand::Rng;
use regnet_spec::{Activation, BlockType, RegNetSpec};

/// Ranges of the six RegNet parameters, each drawn the way pycls's
/// `regnet_sampler` draws it: depth uniform (q 1), w0 log-uniform (q 8),
/// wa log-uniform (q 0.1), wm log-uniform (q 0.001), group width
/// power-of-2-or-log-uniform (q 8), bot_mul power-of-2 uniform (q 1/128).
#[derive(Debug, Clone, PartialEq)]
pub struct RegNetRanges {
    pub depth: Scalar,
    pub w0: Scalar,
    pub wa: Scalar,
    pub wm: Scalar,
    pub group_w: Scalar,
    pub bot_mul: Scalar,
}

/// One draw of the RegNet parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegNetDraw {
    pub depth: u64,
    pub w0: u64,
    pub wa: f64,
    pub wm: f64,
    pub group_w: u64,
    pub bot_mul: f64,
}

/// The pycls config keys set by a RegNet draw, in order.
pub const REGNET_KEYS: [&str; 6] = ["DEPTH", "W0", "WA", "WM", "GROUP_W", "BOT_MUL"];

impl RegNetRanges {
    /// Ranges `[low, high]` for DEPTH, W0, WA, WM, GROUP_W, BOT_MUL; the error
    /// names the parameter whose range is invalid.
    pub fn new(r: [(f64, f64); 6]) -> Result<Self, String> {
        let kinds = [
            (RandType::Uniform, 1.0),
            (RandType::LogUniform, 8.0),
            (RandType::LogUniform, 0.1),
            (RandType::LogUniform, 0.001),
            (RandType::Power2OrLogUniform, 8.0),
            (RandType::Power2Uniform, 1.0 / 128.0),
        ];
        if r[3].0 <= 1.0 {
            return Err(format!("WM: low must be greater than 1 (got {})", r[3].0));
        }
        if r[0].0 < 1.0 {
            return Err(format!("DEPTH: low must be at least 1 (got {})", r[0].0));
        }
        let mut s = Vec::with_capacity(6);
        for ((key, (low, high)), (t, q)) in REGNET_KEYS.iter().zip(r).zip(kinds) {
            s.push(Scalar::new(t, low, high, q).map_err(|e| format!("{key}: {e}"))?);
        }
        Ok(RegNetRanges {
            depth: s[0],
            w0: s[1],
            wa: s[2],
            wm: s[3],
            group_w: s[4],
            bot_mul: s[5],
        })
    }

    /// pycls `REGNET_SAMPLER` defaults (good models up to 16GF).
    pub fn pycls_default() -> [(f64, f64); 6] {
        [
            (12.0, 28.0),
            (8.0, 256.0),
            (8.0, 256.0),
            (2.0, 3.0),
            (8.0, 128.0),
            (1.0, 1.0),
        ]
    }

    fn scalars(&self) -> [&Scalar; 6] {
        [
            &self.depth,
            &self.w0,
            &self.wa,
            &self.wm,
            &self.group_w,
            &self.bot_mul,
        ]
    }

    /// Draws the six parameters in pycls's order.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> RegNetDraw {
        RegNetDraw {
            depth: self.depth.sample(rng) as u64,
            w0: self.w0.sample(rng) as u64,
            wa: self.wa.sample(rng),
            wm: self.wm.sample(rng),
            group_w: self.group_w.sample(rng) as u64,
            bot_mul: self.bot_mul.sample(rng),
        }
    }

    /// Number of distinct parameter tuples the sampler can produce.
    pub fn size(&self) -> BigUint {
        self.scalars()
            .iter()
            .map(|s| BigUint::from(s.support().len()))
            .product()
    }

    /// Per-parameter descriptions for `space info`.
    pub fn param_info(&self) -> Vec<ParamInfo> {
        REGNET_KEYS
            .iter()
            .zip(self.scalars())
            .map(|(key, s)| ParamInfo::scalar(&key.to_ascii_lowercase(), s))
            .collect()
    }
}

/// A RegNet space: the sampler ranges plus what every model shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RegNetSpace {
    pub name: &'static str,
    pub description: &'static str,
    /// The stem (the paper's: 32-wide `simple_stem_in`).
    pub stem: StemChoice,
    pub ranges: RegNetRanges,
    /// SE ratio (RegNetY) or none.
    pub se_r: Option<f64>,
}

impl RegNetSpace {
    /// `regnet`, `regnetx` or `regnety`.
    pub fn named(name: &str) -> Option<Self> {
        // RegNet: d < 64, w0 < 256, 0 < wa < 256, 1.5 <= wm <= 3, b and g as AnyNetX.
        let regnet = [
            (1.0, 63.0),
            (8.0, 248.0),
            (0.1, 255.9),
            (1.5, 3.0),
            (1.0, 32.0),
            (0.25, 1.0),
        ];
        // RegNetX: b = 1, 12 <= d <= 28, wm >= 2.
        let mut x = regnet;
        x[0] = (12.0, 28.0);
        x[3] = (2.0, 3.0);
        x[5] = (1.0, 1.0);
        let (name, description, r, se_r) = match name {
            "regnet" => ("regnet", "RegNet: quantized linear widths; d < 64, w0 < 256, wa < 256, 1.5 <= wm <= 3, b and g as AnyNetX", regnet, None),
            "regnetx" => ("regnetx", "RegNetX: RegNet with b = 1, 12 <= d <= 28, wm >= 2", x, None),
            "regnety" => ("regnety", "RegNetY: RegNetX with squeeze-and-excitation (se_r 0.25)", x, Some(0.25)),
            _ => return None,
        };
        Some(RegNetSpace {
            name,
            description,
            stem: StemChoice::default(),
            ranges: RegNetRanges::new(r).expect("built-in ranges are valid"),
            se_r,
        })
    }

    /// Draws a model spec (the space's stem, X blocks, stride 2, no head conv).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R, num_classes: u64) -> RegNetSpec {
        let d = self.ranges.draw(rng);
        RegNetSpec {
            stem_type: self.stem.kind,
            stem_w: self.stem.width,
            block_type: BlockType::ResBottleneckBlock,
            stride: 2,
            se_r: self.se_r,
            depth: d.depth,
            w0: d.w0,
            wa: d.wa,
            wm: d.wm,
            group_w: d.group_w,
            bot_mul: d.bot_mul,
            head_w: 0,
            num_classes,
            activation: Activation::Relu,
        }
    }
}
