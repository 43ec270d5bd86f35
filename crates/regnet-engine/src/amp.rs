//! Mixed precision (`TRAIN.MIXED_PRECISION`), as pycls trains with
//! `torch.cuda.amp`: the forward pass runs under CUDA autocast (convolutions
//! and matmuls in float16, reductions and the loss in float32), and the loss
//! is scaled before backward so small float16 gradients do not flush to
//! zero. [`GradScaler`] is PyTorch's dynamic loss scaling: start at 2^16,
//! unscale the gradients before the step, skip the step and halve the scale
//! when a gradient is not finite, double it after 2000 finite steps in a row.

use tch::{Kind, Tensor};

/// PyTorch `GradScaler` defaults.
pub const INIT_SCALE: f64 = 65536.0;
pub const GROWTH_FACTOR: f64 = 2.0;
pub const BACKOFF_FACTOR: f64 = 0.5;
pub const GROWTH_INTERVAL: u32 = 2000;

/// Dynamic loss scaling; its state is checkpointed so a resumed run scales
/// exactly as an uninterrupted one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradScaler {
    pub scale: f64,
    /// Finite steps since the scale last changed.
    pub growth_tracker: u32,
    pub growth_interval: u32,
}

impl Default for GradScaler {
    fn default() -> Self {
        GradScaler {
            scale: INIT_SCALE,
            growth_tracker: 0,
            growth_interval: GROWTH_INTERVAL,
        }
    }
}

impl GradScaler {
    /// The loss to call `backward` on.
    pub fn scale_loss(&self, loss: &Tensor) -> Tensor {
        loss * self.scale
    }

    /// Divides every gradient by the scale, in place; `true` when all of
    /// them are finite (one host sync for all of them).
    pub fn unscale(&self, grads: &[Tensor]) -> bool {
        let Some(first) = grads.first() else {
            return true;
        };
        let inv = 1.0 / self.scale;
        let mut bad = Tensor::zeros([], (Kind::Int64, first.device()));
        tch::no_grad(|| {
            for g in grads {
                let _ = g.shallow_clone().f_mul_scalar_(inv).expect("unscale");
                bad += g.isfinite().logical_not().sum(Kind::Int64);
            }
        });
        bad.int64_value(&[]) == 0
    }

    /// After a step (taken when `finite`, skipped otherwise): back off on an
    /// overflow, grow after `growth_interval` finite steps in a row.
    pub fn update(&mut self, finite: bool) {
        if !finite {
            self.scale *= BACKOFF_FACTOR;
            self.growth_tracker = 0;
            return;
        }
        self.growth_tracker += 1;
        if self.growth_tracker == self.growth_interval {
            let grown = self.scale * GROWTH_FACTOR;
            if grown.is_finite() {
                self.scale = grown;
            }
            self.growth_tracker = 0;
        }
    }

    /// The state as checkpoint tensors.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        vec![
            ("amp.scale".into(), Tensor::from_slice(&[self.scale])),
            (
                "amp.growth_tracker".into(),
                Tensor::from_slice(&[self.growth_tracker as i64]),
            ),
        ]
    }

    /// Restores [`GradScaler::state`] from a checkpoint's tensors (a
    /// checkpoint without them leaves the scaler as it is).
    pub fn load_state(&mut self, named: &[(String, Tensor)]) {
        for (k, t) in named {
            match k.as_str() {
                "amp.scale" => self.scale = t.double_value(&[0]),
                "amp.growth_tracker" => self.growth_tracker = t.int64_value(&[0]) as u32,
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grads(values: &[f32]) -> Vec<Tensor> {
        values
            .iter()
            .map(|v| Tensor::from_slice(&[*v, 2.0 * *v]))
            .collect()
    }

    #[test]
    fn unscaling_divides_by_the_scale_and_flags_non_finite_gradients() {
        let s = GradScaler::default();
        let g = grads(&[65536.0, -131072.0]);
        assert!(s.unscale(&g));
        assert_eq!(Vec::<f32>::try_from(&g[0]).unwrap(), vec![1.0, 2.0]);
        assert_eq!(Vec::<f32>::try_from(&g[1]).unwrap(), vec![-2.0, -4.0]);
        assert!(!s.unscale(&grads(&[1.0, f32::INFINITY])));
        assert!(!s.unscale(&grads(&[f32::NAN])));
    }

    #[test]
    fn the_scale_backs_off_on_overflow_and_grows_after_an_interval() {
        // Hand-computed with PyTorch's rule (torch._amp_update_scale_).
        let mut s = GradScaler {
            growth_interval: 3,
            ..GradScaler::default()
        };
        let mut trace = Vec::new();
        for finite in [true, true, false, true, true, true, true, false, false] {
            s.update(finite);
            trace.push((s.scale, s.growth_tracker));
        }
        assert_eq!(
            trace,
            vec![
                (65536.0, 1),
                (65536.0, 2),
                (32768.0, 0),
                (32768.0, 1),
                (32768.0, 2),
                (65536.0, 0),
                (65536.0, 1),
                (32768.0, 0),
                (16384.0, 0),
            ]
        );
        let mut restored = GradScaler::default();
        restored.load_state(&s.state());
        assert_eq!((restored.scale, restored.growth_tracker), (16384.0, 0));
    }
}
