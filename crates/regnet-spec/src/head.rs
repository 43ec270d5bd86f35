//! Classification head (pycls `AnyHead` and EfficientNet `EffHead`).

use crate::cx::Cx;
use crate::layers::{gap2d_complexity, Conv2d, ConvBn, Linear};

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
}

impl Head {
    /// Head over `w_in` channels; `head_w == 0` means no conv (pycls AnyNet default).
    pub fn new(w_in: u64, head_w: u64, num_classes: u64, dropout: f64) -> Self {
        let conv = (head_w > 0).then(|| ConvBn::new(Conv2d::new(w_in, head_w, 1)));
        let fc_in = if head_w > 0 { head_w } else { w_in };
        Head {
            conv,
            fc: Linear {
                w_in: fc_in,
                w_out: num_classes,
                bias: true,
            },
            dropout,
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
