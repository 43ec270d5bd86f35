//! Primitive layers and their exact complexity (pycls `blocks.py` helpers).
//!
//! Each layer holds exactly the arguments its PyTorch module is built with,
//! and its `complexity` uses those same fields, so what is counted is what is
//! built.

use crate::cx::Cx;
use crate::names::Names;

/// `nn.Conv2d` with "same" padding `(k - 1) / 2` (pycls only allows odd kernels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    pub w_in: u64,
    pub w_out: u64,
    pub k: u64,
    pub stride: u64,
    pub groups: u64,
    pub bias: bool,
}

impl Conv2d {
    /// A k×k convolution, stride 1, one group, no bias.
    pub fn new(w_in: u64, w_out: u64, k: u64) -> Self {
        Conv2d {
            w_in,
            w_out,
            k,
            stride: 1,
            groups: 1,
            bias: false,
        }
    }

    /// Same conv with another stride.
    pub fn with_stride(self, stride: u64) -> Self {
        Conv2d { stride, ..self }
    }

    /// Same conv split into `groups` groups.
    pub fn with_groups(self, groups: u64) -> Self {
        Conv2d { groups, ..self }
    }

    /// Same conv with a bias term.
    pub fn with_bias(self) -> Self {
        Conv2d { bias: true, ..self }
    }

    /// Padding that keeps "same" geometry for odd kernels.
    pub fn padding(&self) -> u64 {
        (self.k - 1) / 2
    }

    /// pycls `conv2d_cx`.
    pub fn complexity(&self, cx: &mut Cx) {
        cx.stride(self.stride);
        let (k, w_in, w_out) = (self.k as u128, self.w_in as u128, self.w_out as u128);
        let bias = if self.bias { w_out } else { 0 };
        cx.flops += k * k * w_in * w_out * cx.area() / self.groups as u128 + bias;
        cx.params += k * k * w_in * w_out / self.groups as u128 + bias;
        cx.acts += w_out * cx.area();
    }
}

/// `nn.BatchNorm2d`: two trainable vectors (γ, β), no flops or acts in pycls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Norm2d {
    pub w: u64,
}

impl Norm2d {
    /// pycls `norm2d_cx`.
    pub fn complexity(&self, cx: &mut Cx) {
        cx.params += 2 * self.w as u128;
    }
}

/// A convolution followed by batch norm: the unit most blocks are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvBn {
    pub conv: Conv2d,
    pub bn: Norm2d,
    /// What checkpoints call the conv and the BN.
    pub names: [Names; 2],
}

impl ConvBn {
    /// Wrap `conv` with a batch norm over its output channels; `names` are
    /// the conv's and the BN's module names.
    pub fn new(conv: Conv2d, names: [Names; 2]) -> Self {
        ConvBn {
            conv,
            bn: Norm2d { w: conv.w_out },
            names,
        }
    }

    /// Conv then BN complexity.
    pub fn complexity(&self, cx: &mut Cx) {
        self.conv.complexity(cx);
        self.bn.complexity(cx);
    }

    /// Complexity of a parallel branch (residual projection): counted from
    /// the block's input size, which pycls restores afterwards.
    pub fn parallel_complexity(&self, cx: &mut Cx) {
        let (h, w) = (cx.h, cx.w);
        self.complexity(cx);
        cx.h = h;
        cx.w = w;
    }
}

/// `nn.MaxPool2d(k, stride, padding=(k-1)/2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool2d {
    pub w: u64,
    pub k: u64,
    pub stride: u64,
}

impl MaxPool2d {
    /// pycls `pool2d_cx`: acts for the pooled output, no flops or params.
    pub fn complexity(&self, cx: &mut Cx) {
        cx.stride(self.stride);
        cx.acts += self.w as u128 * cx.area();
    }
}

/// `nn.Linear`; pycls counts it as a 1×1 map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    pub w_in: u64,
    pub w_out: u64,
    pub bias: bool,
}

impl Linear {
    /// pycls `linear_cx`.
    pub fn complexity(&self, cx: &mut Cx) {
        let (w_in, w_out) = (self.w_in as u128, self.w_out as u128);
        let bias = if self.bias { w_out } else { 0 };
        cx.flops += w_in * w_out + bias;
        cx.params += w_in * w_out + bias;
        cx.acts += w_out;
    }
}

/// Global average pooling: spatial size becomes 1×1, nothing counted.
pub fn gap2d_complexity(cx: &mut Cx) {
    cx.h = 1;
    cx.w = 1;
}

/// Squeeze-and-Excitation: global avg pool, 1×1 conv (bias) w→w_se,
/// activation, 1×1 conv (bias) w_se→w, sigmoid, channel-wise multiply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Se {
    /// `f_ex.0` in pycls.
    pub reduce: Conv2d,
    /// `f_ex.2` in pycls.
    pub expand: Conv2d,
    /// What checkpoints call the two convs.
    pub names: [Names; 2],
}

impl Se {
    /// SE over `w` channels squeezed to `w_se`; `names` are its convs' module names.
    pub fn new(w: u64, w_se: u64, names: [Names; 2]) -> Self {
        Se {
            reduce: Conv2d::new(w, w_se, 1).with_bias(),
            expand: Conv2d::new(w_se, w, 1).with_bias(),
            names,
        }
    }

    /// Width of the squeezed representation.
    pub fn w_se(&self) -> u64 {
        self.reduce.w_out
    }

    /// pycls `SE.complexity`: convs at 1×1, then the spatial size is restored.
    pub fn complexity(&self, cx: &mut Cx) {
        let (h, w) = (cx.h, cx.w);
        gap2d_complexity(cx);
        self.reduce.complexity(cx);
        self.expand.complexity(cx);
        cx.h = h;
        cx.w = w;
    }
}
