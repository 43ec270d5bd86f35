//! SGD with momentum, dampening, Nesterov and per-group weight decay (BN
//! parameters and biases may have their own, as in pycls), as PyTorch's
//! `torch.optim.SGD` computes it. Written out so its state (the momentum
//! buffers) can be checkpointed and resumed exactly.

use regnet_config::Recipe;
use tch::nn::VarStore;
use tch::Tensor;

/// One parameter and its optimizer state.
struct Param {
    name: String,
    var: Tensor,
    weight_decay: f64,
    buf: Option<Tensor>,
}

/// The optimizer over every trainable variable of a var store.
pub struct Sgd {
    params: Vec<Param>,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    /// `Recipe::clip_grad_norm` (0 = off).
    clip_grad_norm: f64,
    /// The total gradient norm of the last step, before clipping (kept when
    /// clipping computed it).
    last_norm: Option<f64>,
}

impl Sgd {
    /// Optimizer for `vs` with the recipe's momentum and weight decays.
    pub fn new(vs: &VarStore, r: &Recipe) -> Self {
        let mut named: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let params = named
            .into_iter()
            .map(|(name, var)| Param {
                weight_decay: weight_decay(&name, r),
                name,
                var,
                buf: None,
            })
            .collect();
        Sgd {
            params,
            momentum: r.momentum,
            dampening: r.dampening,
            nesterov: r.nesterov,
            clip_grad_norm: r.clip_grad_norm,
            last_norm: None,
        }
    }

    /// Each parameter's gradient 2-norm, by name (for step traces).
    pub fn grad_norms(&self) -> Vec<(String, f64)> {
        tch::no_grad(|| {
            self.params
                .iter()
                .filter(|p| p.var.grad().defined())
                .map(|p| (p.name.clone(), p.var.grad().norm().double_value(&[])))
                .collect()
        })
    }

    /// The last step's total gradient norm before clipping, when it clipped.
    pub fn last_norm(&self) -> Option<f64> {
        self.last_norm
    }

    /// Scales every gradient by max / total norm when the total 2-norm
    /// exceeds the recipe's maximum, as `torch.nn.utils.clip_grad_norm_`
    /// does (with its 1e-6 guard); one device sync per step.
    fn clip(&mut self) {
        if self.clip_grad_norm <= 0.0 {
            return;
        }
        let grads = self.grads();
        if grads.is_empty() {
            return;
        }
        tch::no_grad(|| {
            let norms: Vec<Tensor> = grads.iter().map(|g| g.norm()).collect();
            let total = Tensor::stack(&norms, 0).norm().double_value(&[]);
            self.last_norm = Some(total);
            let coef = self.clip_grad_norm / (total + 1e-6);
            if coef < 1.0 {
                for mut g in grads {
                    let _ = g.f_mul_scalar_(coef).expect("gradient clipping");
                }
            }
        });
    }

    /// The momentum buffers, named after their variables (for checkpoints).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.params
            .iter()
            .filter_map(|p| p.buf.as_ref().map(|b| (p.name.clone(), b.shallow_clone())))
            .collect()
    }

    /// Restores momentum buffers saved by [`Sgd::state`].
    pub fn load_state(&mut self, state: &[(String, Tensor)]) {
        for p in &mut self.params {
            p.buf = state
                .iter()
                .find(|(n, _)| *n == p.name)
                .map(|(_, t)| t.to_device(p.var.device()));
        }
    }

    /// The gradients that exist (for loss scaling to unscale in place).
    pub fn grads(&self) -> Vec<Tensor> {
        self.params
            .iter()
            .map(|p| p.var.grad())
            .filter(Tensor::defined)
            .collect()
    }

    /// Clears every gradient.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// One update with learning rate `lr`: d = g + wd·p;
    /// buf = m·buf + (1 − dampening)·d (buf = d at the first step);
    /// p -= lr·(nesterov ? d + m·buf : buf).
    /// Gradients are clipped first when the recipe says so.
    pub fn step(&mut self, lr: f64) {
        self.clip();
        let (m, nesterov, damp) = (self.momentum, self.nesterov, self.dampening);
        tch::no_grad(|| {
            for p in &mut self.params {
                let g = p.var.grad();
                if !g.defined() {
                    continue;
                }
                let d = if p.weight_decay != 0.0 {
                    &g + &p.var * p.weight_decay
                } else {
                    g
                };
                let step = if m == 0.0 {
                    d
                } else {
                    // In place: no new buffer per step (PyTorch updates it in place too).
                    let buf = match &mut p.buf {
                        Some(b) => {
                            let _ = b.f_mul_scalar_(m).expect("momentum decay");
                            let upd = if damp != 0.0 {
                                &d * (1.0 - damp)
                            } else {
                                d.shallow_clone()
                            };
                            let _ = b.f_add_(&upd).expect("momentum update");
                            b.shallow_clone()
                        }
                        None => {
                            let b = d.copy();
                            p.buf = Some(b.shallow_clone());
                            b
                        }
                    };
                    if nesterov {
                        &d + &buf * m
                    } else {
                        buf
                    }
                };
                let _ = p.var.f_sub_(&(step * lr)).expect("parameter update");
            }
        });
    }
}

/// pycls's weight decay groups: BN affine parameters and other biases may
/// each have a custom decay; every other parameter takes `WEIGHT_DECAY`.
fn weight_decay(name: &str, r: &Recipe) -> f64 {
    match (r.bn_weight_decay, r.bias_weight_decay) {
        (Some(wd), _) if is_bn(name) => wd,
        (_, Some(wd)) if !is_bn(name) && name.ends_with(".bias") => wd,
        _ => r.weight_decay,
    }
}

/// Whether a variable is a BN affine parameter (pycls names BNs `bn`, `*_bn`).
fn is_bn(name: &str) -> bool {
    let module = name.rsplit_once('.').map_or(name, |(m, _)| m);
    let last = module.rsplit('.').next().unwrap_or(module);
    last == "bn" || last.ends_with("_bn")
}

#[cfg(test)]
mod tests {
    #[test]
    fn bn_names() {
        assert!(super::is_bn("s1.b1.f.a_bn.weight"));
        assert!(super::is_bn("stem.bn.bias"));
        assert!(!super::is_bn("s1.b1.f.a.weight"));
        assert!(!super::is_bn("head.fc.bias"));
    }
}
