//! The AnyNetX design spaces A–E (docs/method.md §4).

use crate::constraints::Rejection;
use crate::space::{ParamInfo, StemChoice};
use num_bigint::BigUint;
use rand::seq::index;
use rand::{Rng, RngExt};
use regnet_spec::{adjust_block_compatibility, Activation, AnyNetSpec, BlockType};

/// How a per-stage parameter is tied across stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tying {
    /// Each stage draws its own value.
    PerStage,
    /// One value for all stages.
    Shared,
    /// Values never decrease from one stage to the next.
    NonDecreasing,
}

impl Tying {
    fn name(self) -> &'static str {
        match self {
            Tying::PerStage => "per_stage",
            Tying::Shared => "shared",
            Tying::NonDecreasing => "non_decreasing",
        }
    }
}

/// A per-stage parameter: its allowed values and how stages are tied.
#[derive(Debug, Clone, PartialEq)]
pub struct StageParam {
    pub name: &'static str,
    pub values: Vec<u64>,
    pub tying: Tying,
}

impl StageParam {
    /// Number of distinct value sequences over `stages` stages: n^s per
    /// stage, n shared, C(n + s - 1, s) non-decreasing (multisets).
    pub fn count(&self, stages: usize) -> BigUint {
        let n = self.values.len();
        match self.tying {
            Tying::PerStage => BigUint::from(n).pow(stages as u32),
            Tying::Shared => BigUint::from(n),
            Tying::NonDecreasing => binomial(n + stages - 1, stages),
        }
    }

    /// Draws a sequence uniformly from the allowed ones.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R, stages: usize) -> Vec<u64> {
        let n = self.values.len();
        match self.tying {
            Tying::PerStage => (0..stages)
                .map(|_| self.values[rng.random_range(0..n)])
                .collect(),
            Tying::Shared => vec![self.values[rng.random_range(0..n)]; stages],
            Tying::NonDecreasing => {
                // Stars and bars: a uniform s-subset of n + s - 1 slots maps
                // one-to-one onto the non-decreasing sequences.
                let mut picks = index::sample(rng, n + stages - 1, stages).into_vec();
                picks.sort_unstable();
                picks
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| self.values[c - i])
                    .collect()
            }
        }
    }

    fn info(&self, stages: usize) -> ParamInfo {
        let (lo, hi) = (self.values[0], self.values[self.values.len() - 1]);
        ParamInfo {
            name: self.name.to_string(),
            values: format!(
                "{} values in [{lo}, {hi}]: {}",
                self.values.len(),
                list(&self.values)
            ),
            tying: Some(self.tying.name()),
            count: self.count(stages).to_string(),
        }
    }
}

fn list(v: &[u64]) -> String {
    if v.len() <= 8 {
        format!("{v:?}")
    } else {
        format!("[{}, {}, ..., {}]", v[0], v[1], v[v.len() - 1])
    }
}

/// Binomial coefficient C(n, k), exactly.
pub fn binomial(n: usize, k: usize) -> BigUint {
    if k > n {
        return BigUint::from(0u32);
    }
    (0..k).fold(BigUint::from(1u32), |acc, i| acc * (n - i) / (i + 1))
}

/// An AnyNetX space: 4 stages of X blocks (stride 2) after a stem (the
/// paper's: 32-wide `simple_stem_in`).
#[derive(Debug, Clone, PartialEq)]
pub struct AnyNetXSpace {
    pub name: &'static str,
    pub description: &'static str,
    pub stem: StemChoice,
    pub stages: usize,
    /// d_i, blocks per stage.
    pub depth: StageParam,
    /// w_i, stage width.
    pub width: StageParam,
    /// b_i, bottleneck ratio (bot_mul = 1/b).
    pub bottleneck: StageParam,
    /// g_i, group width.
    pub group_w: StageParam,
}

impl AnyNetXSpace {
    /// Variant `a`..=`e` of the paper's AnyNetX spaces.
    pub fn variant(v: char) -> Option<Self> {
        let (name, description, shared_b, shared_g, mono_w, mono_d) = match v {
            'a' => (
                "anynetx-a",
                "AnyNetX_A: every stage free (d, w, b, g)",
                false,
                false,
                false,
                false,
            ),
            'b' => (
                "anynetx-b",
                "AnyNetX_B: A with one shared bottleneck ratio b",
                true,
                false,
                false,
                false,
            ),
            'c' => (
                "anynetx-c",
                "AnyNetX_C: B with one shared group width g",
                true,
                true,
                false,
                false,
            ),
            'd' => (
                "anynetx-d",
                "AnyNetX_D: C with widths non-decreasing",
                true,
                true,
                true,
                false,
            ),
            'e' => (
                "anynetx-e",
                "AnyNetX_E: D with depths non-decreasing",
                true,
                true,
                true,
                true,
            ),
            _ => return None,
        };
        let tie = |shared: bool| {
            if shared {
                Tying::Shared
            } else {
                Tying::PerStage
            }
        };
        let mono = |m: bool| {
            if m {
                Tying::NonDecreasing
            } else {
                Tying::PerStage
            }
        };
        Some(AnyNetXSpace {
            name,
            description,
            stem: StemChoice::default(),
            stages: 4,
            depth: StageParam {
                name: "d",
                values: (1..=16).collect(),
                tying: mono(mono_d),
            },
            width: StageParam {
                name: "w",
                values: (1..=128).map(|i| 8 * i).collect(),
                tying: mono(mono_w),
            },
            bottleneck: StageParam {
                name: "b",
                values: vec![1, 2, 4],
                tying: tie(shared_b),
            },
            group_w: StageParam {
                name: "g",
                values: vec![1, 2, 4, 8, 16, 32],
                tying: tie(shared_g),
            },
        })
    }

    fn params(&self) -> [&StageParam; 4] {
        [&self.depth, &self.width, &self.bottleneck, &self.group_w]
    }

    /// Exact number of (d, w, b, g) tuples the space allows.
    pub fn size(&self) -> BigUint {
        self.params().iter().map(|p| p.count(self.stages)).product()
    }

    /// Per-parameter descriptions for `space info`.
    pub fn param_info(&self) -> Vec<ParamInfo> {
        self.params().iter().map(|p| p.info(self.stages)).collect()
    }

    /// Draws a raw (d, w, b, g) tuple, one vector per parameter.
    pub fn draw_raw<R: Rng + ?Sized>(&self, rng: &mut R) -> [Vec<u64>; 4] {
        let s = self.stages;
        [
            self.depth.draw(rng, s),
            self.width.draw(rng, s),
            self.bottleneck.draw(rng, s),
            self.group_w.draw(rng, s),
        ]
    }

    /// Draws a model: a raw tuple made compatible stage by stage with pycls
    /// `adjust_block_compatibility` (so w/b splits into whole groups).
    pub fn draw<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        num_classes: u64,
    ) -> Result<AnyNetSpec, Rejection> {
        let [depths, ws, bs, gs] = self.draw_raw(rng);
        let mut widths = Vec::with_capacity(self.stages);
        let mut group_ws = Vec::with_capacity(self.stages);
        for i in 0..self.stages {
            let (w, g) = adjust_block_compatibility(ws[i], 1.0 / bs[i] as f64, gs[i])
                .map_err(|_| Rejection::Invalid)?;
            widths.push(w);
            group_ws.push(g);
        }
        Ok(AnyNetSpec {
            stem_type: self.stem.kind,
            stem_w: self.stem.width,
            block_type: BlockType::ResBottleneckBlock,
            depths,
            widths,
            strides: vec![2; self.stages],
            bot_muls: bs.iter().map(|&b| 1.0 / b as f64).collect(),
            group_ws,
            head_w: 0,
            se_r: None,
            num_classes,
            activation: Activation::Relu,
        })
    }
}
