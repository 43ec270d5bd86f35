//! Memory layouts for training, and the guard against a libtorch crash.
//!
//! On CPU, channels-last (NHWC) convolution kernels train small RegNets
//! 1.4-1.5x faster than NCHW, so training uses them by default. But
//! PyTorch 2.11's CPU backward of some 1x1 stride-2 convolutions with few
//! input channels crashes the process (SIGSEGV, or a heap-corruption abort)
//! in channels-last; PyTorch itself crashes the same way
//! (`bench/cl_conv_probe.py` maps the cases; docs/engine.md keeps the map).
//! Such convs are chosen from the spec before training and kept in NCHW,
//! each converting its input and output, while the rest stays channels-last.

use crate::model::BuiltModel;
use crate::Device;
use regnet_spec::layers::Conv2d;
use std::fmt;
use std::str::FromStr;

/// Whether libtorch 2.11's CPU backward is known to crash on `conv` in
/// channels-last: a 1x1 convolution with stride 2 and 2 to 15 input
/// channels (the probe's map: one input channel, and 16 or more, never
/// crashed; maps of 48x48 and larger crashed, 40x40 and smaller did not, but
/// the threshold varies between CPUs, so every input size is treated as at
/// risk; keeping such a conv in NCHW costs two layout copies of its input
/// and output).
pub fn crashes_channels_last(conv: &Conv2d) -> bool {
    conv.k == 1 && conv.stride == 2 && CRASHING_W_IN.contains(&conv.w_in)
}

/// Input widths of the crashing convs in the probe's map.
const CRASHING_W_IN: std::ops::RangeInclusive<u64> = 2..=15;

/// The layout asked for (`--layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Channels-last on CPU, with the crash guard; NCHW on CUDA (not
    /// measured there yet).
    #[default]
    Auto,
    /// Standard NCHW everywhere (the fallback after a crash).
    Nchw,
    /// Channels-last for every conv, unguarded (to probe the crash).
    ChannelsLast,
}

impl FromStr for Layout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Layout::Auto),
            "nchw" => Ok(Layout::Nchw),
            "channels-last" => Ok(Layout::ChannelsLast),
            _ => Err(format!(
                "unknown layout '{s}' (allowed: auto, nchw, channels-last)"
            )),
        }
    }
}

/// The layout a model trains in, as recorded in a run's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutUsed {
    pub channels_last: bool,
    /// Convs kept in NCHW inside a channels-last model (the guard).
    pub nchw_convs: Vec<String>,
}

impl fmt::Display for LayoutUsed {
    /// `nchw`, `channels-last`, or `channels-last (nchw: s1.b1.proj, ...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.channels_last, self.nchw_convs.is_empty()) {
            (false, _) => f.write_str("nchw"),
            (true, true) => f.write_str("channels-last"),
            (true, false) => write!(f, "channels-last (nchw: {})", self.nchw_convs.join(", ")),
        }
    }
}

impl BuiltModel {
    /// Puts the model (and its EMA) in the layout `layout` resolves to on `device`.
    pub fn set_layout(&mut self, layout: Layout, device: Device) -> LayoutUsed {
        match (layout, device) {
            (Layout::Nchw, _) | (Layout::Auto, Device::Cuda(_)) => LayoutUsed {
                channels_last: false,
                nchw_convs: Vec::new(),
            },
            (Layout::Auto, _) => LayoutUsed {
                channels_last: true,
                nchw_convs: self.to_channels_last(),
            },
            (Layout::ChannelsLast, _) => {
                self.to_channels_last_unguarded();
                LayoutUsed {
                    channels_last: true,
                    nchw_convs: Vec::new(),
                }
            }
        }
    }
}
