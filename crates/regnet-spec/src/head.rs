//! Classification head (pycls `AnyHead` and EfficientNet `EffHead`).

use crate::cx::Cx;
use crate::layers::{gap2d_complexity, Conv2d, ConvBn, Linear};
use crate::names::Names;

/// pycls `AnyHead`'s conv and BN; torchvision's RegNet and ResNet have none.
const ANY_HEAD: [Names; 2] = [Names::pycls("conv"), Names::pycls("bn")];
/// pycls `EffHead`'s conv and BN, torchvision's last `features` entry.
const EFF_HEAD: [Names; 2] = [
    Names::pycls("conv").effnet("0"),
    Names::pycls("conv_bn").effnet("1"),
];
/// The classifier.
const FC: Names = Names::pycls("fc").regnet("fc").resnet("fc").effnet("1");

/// Optional 1×1 conv to `head_w` + BN + activation, global average pool,
/// optional dropout, fully connected layer (with bias) to the classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Head {
    /// `conv` / `bn` in AnyHead, `conv` / `conv_bn` in EffHead.
    pub conv: Option<ConvBn>,
    /// `fc`.
    pub fc: Linear,
    /// Dropout ratio before `fc` (EfficientNet `EN.DROPOUT_RATIO`); 0 = none.
    pub dropout: f64,
    /// What checkpoints call `fc`.
    pub fc_names: Names,
}

impl Head {
    /// pycls `AnyHead` over `w_in` channels; `head_w == 0` means no conv
    /// (pycls AnyNet default).
    pub fn new(w_in: u64, head_w: u64, num_classes: u64, dropout: f64) -> Self {
        Self::named(w_in, head_w, num_classes, dropout, ANY_HEAD)
    }

    /// pycls `EffHead`: the same layers, its BN named `conv_bn`.
    pub fn eff(w_in: u64, head_w: u64, num_classes: u64, dropout: f64) -> Self {
        Self::named(w_in, head_w, num_classes, dropout, EFF_HEAD)
    }

    fn named(w_in: u64, head_w: u64, num_classes: u64, dropout: f64, names: [Names; 2]) -> Self {
        let conv = (head_w > 0).then(|| ConvBn::new(Conv2d::new(w_in, head_w, 1), names));
        let fc_in = if head_w > 0 { head_w } else { w_in };
        Head {
            conv,
            fc: Linear {
                w_in: fc_in,
                w_out: num_classes,
                bias: true,
            },
            dropout,
            fc_names: FC,
        }
    }

    /// pycls `AnyHead.complexity` / `EffHead.complexity`.
    pub fn complexity(&self, cx: &mut Cx) {
        if let Some(conv) = &self.conv {
            conv.complexity(cx);
        }
        gap2d_complexity(cx);
        self.fc.complexity(cx);
    }
}
