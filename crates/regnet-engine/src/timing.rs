//! How long a network takes on this machine: inference (eval mode, no
//! grad) or a training step (forward, backward, SGD step) on random inputs,
//! after warm-up steps, in the layout asked for (channels-last with the
//! crash guard, BN folded into the convs for inference). What a run-time
//! model is fitted to, and what the speed benchmarks print.

use crate::amp::GradScaler;
use crate::sgd::Sgd;
use crate::train::backward_step;
use crate::{channels_last, BuiltModel, Device, InitConfig, Result};
use regnet_config::Recipe;
use regnet_spec::Network;
use tch::nn::ModuleT;
use tch::{Kind, Reduction, Tensor};

/// What is timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Eval-mode forward without gradients.
    Infer,
    /// Forward, cross-entropy, backward and an SGD step.
    Train,
}

/// How a timing is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub mode: Mode,
    pub batch: i64,
    pub im_size: i64,
    /// Untimed steps first (allocator and kernel choice settle).
    pub warmup: usize,
    /// Timed steps.
    pub steps: usize,
    /// Channels-last weights and inputs (with the crash guard).
    pub channels_last: bool,
    /// Every BN folded into its conv (inference only).
    pub fold_bn: bool,
    /// Mixed precision (float16 autocast with loss scaling), CUDA only.
    pub amp: bool,
}

/// Seconds per image of `net` (its head as built) under `t` on `device`.
pub fn seconds_per_image(net: &Network, t: &Timing, device: Device) -> Result<f64> {
    tch::manual_seed(0);
    let mut m = BuiltModel::new(net, device, InitConfig::default());
    let classes = net.num_classes() as i64;
    let mut x = Tensor::f_randn(
        [t.batch, 3, t.im_size, t.im_size],
        (Kind::Float, device.tch()),
    )?;
    if t.channels_last {
        m.to_channels_last();
        x = channels_last(&x);
    }
    if t.fold_bn && t.mode == Mode::Infer {
        m.fold_bn();
    }
    let y = Tensor::f_randint(classes, [t.batch], (Kind::Int64, device.tch()))?;
    let recipe = Recipe {
        weight_decay: 5e-5,
        nesterov: false,
        ..Recipe::default()
    };
    let mut sgd = Sgd::new(&m.vs, &recipe);
    let mut scaler = t.amp.then(GradScaler::default);
    let mut step = || {
        if t.mode == Mode::Infer {
            let _ = tch::no_grad(|| m.model.forward_t(&x, false));
            return;
        }
        let logits = tch::autocast(t.amp, || m.model.forward_t(&x, true));
        let loss = logits.to_kind(Kind::Float).cross_entropy_loss(
            &y,
            None::<Tensor>,
            Reduction::Mean,
            -100,
            0.0,
        );
        backward_step(&loss, &mut sgd, scaler.as_mut(), 0.1);
    };
    for _ in 0..t.warmup {
        step();
    }
    device.synchronize();
    let start = std::time::Instant::now();
    for _ in 0..t.steps {
        step();
    }
    device.synchronize();
    Ok(start.elapsed().as_secs_f64() / (t.steps.max(1) as f64 * t.batch as f64))
}
