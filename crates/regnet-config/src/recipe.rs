//! The training recipe of a pycls config (`OPTIM`, `TRAIN`, `TEST`, `BN`),
//! with pycls's defaults. Plain data and arithmetic: the engine consumes it.

use crate::section::{as_u64, Section};
use crate::Result;
use serde_yaml::{Mapping, Value};

/// Learning-rate policy (pycls `OPTIM.LR_POLICY`).
#[derive(Debug, Clone, PartialEq)]
pub enum LrPolicy {
    /// Half-period cosine from the base lr down to `min_lr` × base lr.
    Cos,
    /// Multiply by `lr_mult` at each epoch of `steps` (which starts at 0).
    Steps { steps: Vec<f64>, lr_mult: f64 },
    /// `gamma ^ epoch`.
    Exp { gamma: f64 },
    /// Linear decay to 0.
    Lin,
}

/// A training recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub epochs: usize,
    pub batch_size: usize,
    pub test_batch_size: usize,
    pub base_lr: f64,
    pub policy: LrPolicy,
    /// Lowest lr of the cosine policy, as a fraction of base_lr (`OPTIM.MIN_LR`).
    pub min_lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    /// Weight decay of BN γ/β when `BN.USE_CUSTOM_WEIGHT_DECAY`.
    pub bn_weight_decay: Option<f64>,
    pub warmup_epochs: f64,
    pub warmup_factor: f64,
    pub label_smoothing: f64,
    /// Mixup's Beta(α, α) parameter (`TRAIN.MIXUP_ALPHA`; 0 = off).
    pub mixup_alpha: f64,
    /// Weight EMA rate (`OPTIM.EMA_ALPHA`; 0 = no EMA model). Off unless a
    /// config sets it (pycls's default 1e-5 keeps an EMA model always).
    pub ema_alpha: f64,
    /// Iterations between EMA updates (`OPTIM.EMA_UPDATE_PERIOD`, pycls: 32).
    pub ema_update_period: usize,
    /// Seed of initialization and shuffles (`RNG_SEED`).
    pub seed: u64,
    /// Float16 autocast on CUDA with dynamic loss scaling
    /// (`TRAIN.MIXED_PRECISION`, pycls's `torch.cuda.amp`).
    pub mixed_precision: bool,
    /// γ = 0 for the last BN of each residual branch (`BN.ZERO_INIT_FINAL_GAMMA`).
    /// On by default, as METHOD.md §3 prescribes (pycls's own default is off).
    pub zero_init_final_gamma: bool,
}

impl Default for Recipe {
    /// pycls defaults (`pycls/core/config.py`).
    fn default() -> Self {
        Recipe {
            epochs: 200,
            batch_size: 128,
            test_batch_size: 200,
            base_lr: 0.1,
            policy: LrPolicy::Cos,
            min_lr: 0.0,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            bn_weight_decay: None,
            warmup_epochs: 0.0,
            warmup_factor: 0.1,
            label_smoothing: 0.0,
            mixup_alpha: 0.0,
            ema_alpha: 0.0,
            ema_update_period: 32,
            seed: 1,
            mixed_precision: false,
            zero_init_final_gamma: true,
        }
    }
}

/// pycls options this toolkit does not implement yet: set to anything but
/// their default they are reported, never silently dropped.
const NOT_YET: &[(&str, &str)] = &[
    ("OPTIM", "DAMPENING"),
    ("TRAIN", "CUTMIX_ALPHA"),
    ("BN", "USE_PRECISE_STATS"),
];

impl Recipe {
    /// Reads the recipe from a config document; returns it with warnings for
    /// options that are set but not applied.
    pub fn from_doc(doc: &Mapping) -> Result<(Self, Vec<String>)> {
        let d = Recipe::default();
        let optim = Section::lenient(doc, "OPTIM")?;
        let train = Section::lenient(doc, "TRAIN")?;
        let test = Section::lenient(doc, "TEST")?;
        let bn = Section::lenient(doc, "BN")?;
        let policy_name = optim.string("LR_POLICY", "cos")?;
        let policy = match policy_name.as_str() {
            "cos" => LrPolicy::Cos,
            "steps" => LrPolicy::Steps {
                steps: optim.f64_list("STEPS")?,
                lr_mult: optim.f64("LR_MULT", 0.1)?,
            },
            "exp" => LrPolicy::Exp {
                gamma: optim.f64("GAMMA", 0.1)?,
            },
            "lin" => LrPolicy::Lin,
            other => {
                return Err(crate::ConfigError(format!(
                    "OPTIM.LR_POLICY must be cos, steps, exp or lin (got '{other}')"
                )))
            }
        };
        if let LrPolicy::Steps { steps, .. } = &policy {
            if steps.first() != Some(&0.0) {
                return Err(crate::ConfigError(
                    "OPTIM.STEPS must start at 0 (pycls: the first lr step starts at epoch 0)"
                        .into(),
                ));
            }
        }
        let recipe = Recipe {
            epochs: positive(&optim, "MAX_EPOCH", d.epochs as u64)? as usize,
            batch_size: positive(&train, "BATCH_SIZE", d.batch_size as u64)? as usize,
            test_batch_size: positive(&test, "BATCH_SIZE", d.test_batch_size as u64)? as usize,
            base_lr: optim.f64("BASE_LR", d.base_lr)?,
            policy,
            min_lr: optim.f64("MIN_LR", d.min_lr)?,
            momentum: optim.f64("MOMENTUM", d.momentum)?,
            nesterov: optim.bool("NESTEROV", d.nesterov)?,
            weight_decay: optim.f64("WEIGHT_DECAY", d.weight_decay)?,
            bn_weight_decay: if bn.bool("USE_CUSTOM_WEIGHT_DECAY", false)? {
                Some(bn.f64("CUSTOM_WEIGHT_DECAY", 0.0)?)
            } else {
                None
            },
            warmup_epochs: optim.f64("WARMUP_EPOCHS", d.warmup_epochs)?,
            warmup_factor: optim.f64("WARMUP_FACTOR", d.warmup_factor)?,
            label_smoothing: train.f64("LABEL_SMOOTHING", d.label_smoothing)?,
            mixup_alpha: train.f64("MIXUP_ALPHA", d.mixup_alpha)?,
            ema_alpha: optim.f64("EMA_ALPHA", d.ema_alpha)?,
            ema_update_period: optim.u64("EMA_UPDATE_PERIOD", d.ema_update_period as u64)? as usize,
            seed: match doc.get("RNG_SEED") {
                Some(v) => as_u64(v, "RNG_SEED")?,
                None => d.seed,
            },
            mixed_precision: train.bool("MIXED_PRECISION", d.mixed_precision)?,
            zero_init_final_gamma: bn.bool("ZERO_INIT_FINAL_GAMMA", d.zero_init_final_gamma)?,
        };
        if !(0.0..1.0).contains(&recipe.label_smoothing) {
            return Err(crate::ConfigError(format!(
                "TRAIN.LABEL_SMOOTHING must be in [0, 1) (got {})",
                recipe.label_smoothing
            )));
        }
        if !(recipe.mixup_alpha >= 0.0 && recipe.mixup_alpha.is_finite()) {
            return Err(crate::ConfigError(format!(
                "TRAIN.MIXUP_ALPHA must be 0 (off) or positive (got {})",
                recipe.mixup_alpha
            )));
        }
        if !(recipe.ema_alpha >= 0.0 && recipe.ema_alpha.is_finite()) {
            return Err(crate::ConfigError(format!(
                "OPTIM.EMA_ALPHA must be 0 (off) or positive (got {})",
                recipe.ema_alpha
            )));
        }
        Ok((recipe, not_applied(doc)))
    }

    /// pycls `get_epoch_lr` at a fractional epoch, warmup included.
    pub fn lr_at(&self, epoch: f64) -> f64 {
        let max = self.epochs as f64;
        let factor = match &self.policy {
            LrPolicy::Cos => {
                let c = 0.5 * (1.0 + (std::f64::consts::PI * epoch / max).cos());
                (1.0 - self.min_lr) * c + self.min_lr
            }
            LrPolicy::Steps { steps, lr_mult } => {
                let passed = steps.iter().filter(|&&s| epoch >= s).count();
                lr_mult.powi(passed.saturating_sub(1) as i32)
            }
            LrPolicy::Exp { gamma } => gamma.powf(epoch),
            LrPolicy::Lin => 1.0 - epoch / max,
        };
        let warmup = if epoch < self.warmup_epochs {
            let alpha = epoch / self.warmup_epochs;
            self.warmup_factor * (1.0 - alpha) + alpha
        } else {
            1.0
        };
        self.base_lr * factor * warmup
    }
}

fn positive(s: &Section, key: &str, default: u64) -> Result<u64> {
    let v = s.u64(key, default)?;
    if v == 0 {
        return Err(crate::ConfigError(format!(
            "{} must be at least 1",
            s.full(key)
        )));
    }
    Ok(v)
}

fn not_applied(doc: &Mapping) -> Vec<String> {
    NOT_YET
        .iter()
        .filter_map(|(sec, key)| {
            let v = doc.get(*sec)?.get(*key)?;
            let off = matches!(v, Value::Bool(false) | Value::Null) || v.as_f64() == Some(0.0);
            (!off).then(|| format!("{sec}.{key} is set but not supported yet; it is ignored"))
        })
        .collect()
}

impl Recipe {
    /// Whether an EMA model is kept.
    pub fn ema_on(&self) -> bool {
        self.ema_alpha > 0.0 && self.ema_update_period > 0
    }

    /// pycls `update_model_ema`'s rate for an update in `epoch`: EMA_ALPHA
    /// scaled by batch size / epochs × period (so it is fairly independent of
    /// them), capped at 1, and 1 (a plain copy) during warmup.
    pub fn ema_rate(&self, epoch: usize) -> f64 {
        if (epoch as f64) < self.warmup_epochs {
            return 1.0;
        }
        let adjust = self.batch_size as f64 / self.epochs as f64 * self.ema_update_period as f64;
        (self.ema_alpha * adjust).min(1.0)
    }
}
