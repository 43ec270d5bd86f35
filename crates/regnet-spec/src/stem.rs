//! Network stems (pycls `ResStemCifar`, `ResStem`, `SimpleStem`).

use crate::cx::Cx;
use crate::layers::{Conv2d, ConvBn, MaxPool2d};
use crate::names::Names;
use std::fmt;
use std::str::FromStr;

/// The stem types pycls knows, by their pycls config names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StemType {
    /// `res_stem_cifar`: 3×3 conv stride 1, BN, activation.
    ResStemCifar,
    /// `res_stem_in`: 7×7 conv stride 2, BN, activation, 3×3 max pool stride 2.
    ResStemIn,
    /// `simple_stem_in`: 3×3 conv stride 2, BN, activation (AnyNet, RegNet, EfficientNet).
    SimpleStemIn,
}

impl StemType {
    /// Every stem type, in the order shown to users.
    pub const ALL: [StemType; 3] = [
        StemType::SimpleStemIn,
        StemType::ResStemIn,
        StemType::ResStemCifar,
    ];

    /// The pycls config name.
    pub fn name(self) -> &'static str {
        match self {
            StemType::ResStemCifar => "res_stem_cifar",
            StemType::ResStemIn => "res_stem_in",
            StemType::SimpleStemIn => "simple_stem_in",
        }
    }
}

impl fmt::Display for StemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for StemType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        StemType::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown stem type '{s}' (allowed: {})",
                    names(&StemType::ALL)
                )
            })
    }
}

/// The stem's conv and BN in pycls (`stem.conv`, `stem.bn`) and torchvision.
const STEM: [Names; 2] = [
    Names::pycls("conv").regnet("0").resnet("conv1").effnet("0"),
    Names::pycls("bn").regnet("1").resnet("bn1").effnet("1"),
];

/// A constructed stem: conv + BN (+ max pool for `res_stem_in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stem {
    pub kind: StemType,
    /// `conv` / `bn` in pycls.
    pub conv: ConvBn,
    /// `pool` in pycls (only `res_stem_in`).
    pub pool: Option<MaxPool2d>,
}

impl Stem {
    /// The stem of type `kind` mapping `w_in` image channels to `w_out`.
    pub fn new(kind: StemType, w_in: u64, w_out: u64) -> Self {
        let (conv, pool) = match kind {
            StemType::ResStemCifar => (Conv2d::new(w_in, w_out, 3), None),
            StemType::ResStemIn => (
                Conv2d::new(w_in, w_out, 7).with_stride(2),
                Some(MaxPool2d {
                    w: w_out,
                    k: 3,
                    stride: 2,
                }),
            ),
            StemType::SimpleStemIn => (Conv2d::new(w_in, w_out, 3).with_stride(2), None),
        };
        Stem {
            kind,
            conv: ConvBn::new(conv, STEM),
            pool,
        }
    }

    /// Output channels.
    pub fn w_out(&self) -> u64 {
        self.conv.conv.w_out
    }

    /// Total spatial downsampling of the stem.
    pub fn downsampling(&self) -> u64 {
        self.conv.conv.stride * self.pool.map_or(1, |p| p.stride)
    }

    /// pycls `Stem.complexity`.
    pub fn complexity(&self, cx: &mut Cx) {
        self.conv.complexity(cx);
        if let Some(pool) = &self.pool {
            pool.complexity(cx);
        }
    }
}

/// Comma-separated names, for "allowed: ..." messages.
pub(crate) fn names<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
