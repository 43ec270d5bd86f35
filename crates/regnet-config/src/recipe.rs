//! The training recipe of a pycls config (`OPTIM`, `TRAIN`, `TEST`, `BN`),
//! with pycls's defaults. Plain data and arithmetic: the engine consumes it.

use crate::section::{as_u64, Section};
use crate::write::mapping;
use crate::Result;
use serde_yaml::{Mapping, Value};

/// Learning-rate policy (pycls `OPTIM.LR_POLICY`).
#[derive(Debug, Clone, PartialEq)]
pub enum LrPolicy {
    /// Half-period cosine from the base lr down to `min_lr` × base lr.
    Cos,
    /// Multiply by `lr_mult` at each epoch of `steps` (which starts at 0).
    Steps { steps: Vec<f64>, lr_mult: f64 },
    /// Exponential decay from the base lr to `min_lr` × base lr:
    /// `min_lr ^ (epoch / max_epoch)` (pycls `lr_fun_exp`).
    Exp,
    /// Linear decay from the base lr to `min_lr` × base lr.
    Lin,
}

/// When the learning rate changes during an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LrUpdate {
    /// Once per epoch, at its start (pycls `get_epoch_lr(cur_epoch)`: a step
    /// function over epochs, warmup included). The default, so results
    /// compare with pycls's.
    #[default]
    PerEpoch,
    /// Every mini-batch, the schedule evaluated at the fractional epoch
    /// `epoch + i / iters` (an opt-in; not what pycls does).
    PerIter,
}

impl LrUpdate {
    /// The name used by `--lr-update` and recorded in run outputs.
    pub fn name(self) -> &'static str {
        match self {
            LrUpdate::PerEpoch => "epoch",
            LrUpdate::PerIter => "iter",
        }
    }
}

impl serde::Serialize for LrUpdate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for LrUpdate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for LrUpdate {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "epoch" => Ok(LrUpdate::PerEpoch),
            "iter" => Ok(LrUpdate::PerIter),
            _ => Err(format!("unknown lr update '{s}' (allowed: epoch, iter)")),
        }
    }
}

/// A training recipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub epochs: usize,
    pub batch_size: usize,
    pub test_batch_size: usize,
    pub base_lr: f64,
    pub policy: LrPolicy,
    /// Lowest lr of the cos, exp and lin policies, as a fraction of base_lr
    /// (`OPTIM.MIN_LR`).
    pub min_lr: f64,
    /// Whether the lr is set once per epoch (pycls) or every iteration.
    /// Not a pycls config key: chosen by `--lr-update`.
    pub lr_update: LrUpdate,
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    /// SGD momentum dampening (`OPTIM.DAMPENING`).
    pub dampening: f64,
    /// Weight decay of BN γ/β when `BN.USE_CUSTOM_WEIGHT_DECAY`.
    pub bn_weight_decay: Option<f64>,
    /// Weight decay of biases outside BN (conv and fc biases) when
    /// `OPTIM.BIAS_USE_CUSTOM_WEIGHT_DECAY`.
    pub bias_weight_decay: Option<f64>,
    /// BN epsilon (`BN.EPS`).
    pub bn_eps: f64,
    /// BN running-statistics momentum, PyTorch's convention (`BN.MOM`).
    pub bn_momentum: f64,
    /// Training images whose batch statistics replace the BN running
    /// statistics after every epoch (`BN.USE_PRECISE_STATS` with
    /// `BN.NUM_SAMPLES_PRECISE`); 0 = off.
    pub precise_bn_samples: usize,
    pub warmup_epochs: f64,
    pub warmup_factor: f64,
    pub label_smoothing: f64,
    /// Std of the PCA colour lighting of image-folder training views
    /// (`TRAIN.PCA_STD`; 0 = none).
    pub pca_std: f64,
    /// Shorter side image-folder test views are resized to before the
    /// centre crop of `TRAIN.IM_SIZE` (`TEST.IM_SIZE`).
    pub test_im_size: u64,
    /// Mixup's Beta(α, α) parameter (`TRAIN.MIXUP_ALPHA`; 0 = off).
    pub mixup_alpha: f64,
    /// Weight EMA rate (`OPTIM.EMA_ALPHA`; 0 = no EMA model). pycls's
    /// default 1e-5 keeps an EMA model in every run.
    pub ema_alpha: f64,
    /// Iterations between EMA updates (`OPTIM.EMA_UPDATE_PERIOD`, pycls: 32).
    pub ema_update_period: usize,
    /// Seed of initialization and shuffles (`RNG_SEED`).
    pub seed: u64,
    /// Float16 autocast on CUDA with dynamic loss scaling
    /// (`TRAIN.MIXED_PRECISION`, pycls's `torch.cuda.amp`).
    pub mixed_precision: bool,
    /// γ = 0 for the last BN of each residual branch (`BN.ZERO_INIT_FINAL_GAMMA`;
    /// off by default, as in pycls; some ResNet configs turn it on).
    pub zero_init_final_gamma: bool,
    /// Largest total 2-norm of the gradients before a step; larger ones are
    /// scaled down to it, as `torch.nn.utils.clip_grad_norm_` does (0 = off).
    /// Not a pycls key (`TOOLKIT.CLIP_GRAD_NORM`): it stops the first steps
    /// of a deep, narrow model from blowing up at the base lr.
    pub clip_grad_norm: f64,
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
            lr_update: LrUpdate::PerEpoch,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            dampening: 0.0,
            bn_weight_decay: None,
            bias_weight_decay: None,
            bn_eps: 1e-5,
            bn_momentum: 0.1,
            precise_bn_samples: 8192,
            warmup_epochs: 0.0,
            warmup_factor: 0.1,
            label_smoothing: 0.0,
            pca_std: 0.1,
            test_im_size: 256,
            mixup_alpha: 0.0,
            ema_alpha: 1e-5,
            ema_update_period: 32,
            seed: 1,
            mixed_precision: false,
            zero_init_final_gamma: false,
            clip_grad_norm: 0.0,
        }
    }
}

/// The top-level section of the keys this toolkit adds to a pycls config
/// (pycls itself would refuse them; the pycls export leaves it out).
pub const TOOLKIT: &str = "TOOLKIT";

/// pycls options this toolkit does not implement yet: set to anything but
/// their default they are reported, never silently dropped.
const NOT_YET: &[(&str, &str)] = &[("TRAIN", "CUTMIX_ALPHA"), ("TRAIN", "AUGMENT")];

/// Keys pycls has deprecated (`register_deprecated_key`): it ignores them
/// with a warning, and so does this toolkit.
const DEPRECATED: &[(&str, &str)] = &[
    ("OPTIM", "GAMMA"),
    ("MEM", "RELU_INPLACE"),
    ("PREC_TIME", "BATCH_SIZE"),
    ("PREC_TIME", "ENABLED"),
    ("TRAIN", "EVAL_PERIOD"),
    ("TRAIN", "CHECKPOINT_PERIOD"),
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
        let toolkit = Section::new(doc, TOOLKIT, TOOLKIT_KEYS)?;
        check_supported(doc)?;
        let recipe = Recipe {
            epochs: positive(&optim, "MAX_EPOCH", d.epochs as u64)? as usize,
            batch_size: positive(&train, "BATCH_SIZE", d.batch_size as u64)? as usize,
            test_batch_size: positive(&test, "BATCH_SIZE", d.test_batch_size as u64)? as usize,
            base_lr: optim.f64("BASE_LR", d.base_lr)?,
            policy: read_policy(&optim)?,
            min_lr: optim.f64("MIN_LR", d.min_lr)?,
            lr_update: read_lr_update(&toolkit)?,
            momentum: optim.f64("MOMENTUM", d.momentum)?,
            nesterov: optim.bool("NESTEROV", d.nesterov)?,
            weight_decay: optim.f64("WEIGHT_DECAY", d.weight_decay)?,
            dampening: optim.f64("DAMPENING", d.dampening)?,
            bn_weight_decay: custom_decay(&bn, "USE_CUSTOM_WEIGHT_DECAY", "CUSTOM_WEIGHT_DECAY")?,
            bias_weight_decay: custom_decay(
                &optim,
                "BIAS_USE_CUSTOM_WEIGHT_DECAY",
                "BIAS_CUSTOM_WEIGHT_DECAY",
            )?,
            bn_eps: positive_f64(&bn, "EPS", d.bn_eps)?,
            bn_momentum: bn.f64("MOM", d.bn_momentum)?,
            precise_bn_samples: if bn.bool("USE_PRECISE_STATS", true)? {
                bn.u64("NUM_SAMPLES_PRECISE", d.precise_bn_samples as u64)? as usize
            } else {
                0
            },
            warmup_epochs: optim.f64("WARMUP_EPOCHS", d.warmup_epochs)?,
            warmup_factor: optim.f64("WARMUP_FACTOR", d.warmup_factor)?,
            label_smoothing: train.f64("LABEL_SMOOTHING", d.label_smoothing)?,
            pca_std: train.f64("PCA_STD", d.pca_std)?,
            test_im_size: positive(&test, "IM_SIZE", d.test_im_size)?,
            mixup_alpha: train.f64("MIXUP_ALPHA", d.mixup_alpha)?,
            ema_alpha: optim.f64("EMA_ALPHA", d.ema_alpha)?,
            ema_update_period: optim.u64("EMA_UPDATE_PERIOD", d.ema_update_period as u64)? as usize,
            seed: match doc.get("RNG_SEED") {
                Some(v) => as_u64(v, "RNG_SEED")?,
                None => d.seed,
            },
            mixed_precision: train.bool("MIXED_PRECISION", d.mixed_precision)?,
            zero_init_final_gamma: bn.bool("ZERO_INIT_FINAL_GAMMA", d.zero_init_final_gamma)?,
            clip_grad_norm: toolkit.f64("CLIP_GRAD_NORM", d.clip_grad_norm)?,
        };
        recipe.check()?;
        Ok((recipe, not_applied(doc)))
    }

    /// Values pycls (or PyTorch underneath it) would refuse.
    fn check(&self) -> Result<()> {
        let fail = |m: String| Err(crate::ConfigError(m));
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return fail(format!(
                "TRAIN.LABEL_SMOOTHING must be in [0, 1) (got {})",
                self.label_smoothing
            ));
        }
        for (key, v) in [
            ("TRAIN.MIXUP_ALPHA", self.mixup_alpha),
            ("OPTIM.EMA_ALPHA", self.ema_alpha),
            ("TRAIN.PCA_STD", self.pca_std),
            ("TOOLKIT.CLIP_GRAD_NORM", self.clip_grad_norm),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return fail(format!("{key} must be 0 (off) or positive (got {v})"));
            }
        }
        if !(0.0..=1.0).contains(&self.bn_momentum) {
            return fail(format!(
                "BN.MOM must be in [0, 1] (got {})",
                self.bn_momentum
            ));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return fail(format!(
                "OPTIM.NESTEROV needs OPTIM.MOMENTUM > 0 and OPTIM.DAMPENING 0 (got momentum {}, dampening {}), as PyTorch's SGD requires",
                self.momentum, self.dampening
            ));
        }
        Ok(())
    }

    /// pycls `get_epoch_lr` at a fractional epoch, warmup included.
    pub fn lr_at(&self, epoch: f64) -> f64 {
        let max = self.epochs as f64;
        let to_min = |f: f64| (1.0 - self.min_lr) * f + self.min_lr;
        let factor = match &self.policy {
            LrPolicy::Cos => to_min(0.5 * (1.0 + (std::f64::consts::PI * epoch / max).cos())),
            LrPolicy::Steps { steps, lr_mult } => {
                let passed = steps.iter().filter(|&&s| epoch >= s).count();
                lr_mult.powi(passed.saturating_sub(1) as i32)
            }
            LrPolicy::Exp => self.min_lr.powf(epoch / max),
            LrPolicy::Lin => to_min(1.0 - epoch / max),
        };
        let warmup = if epoch < self.warmup_epochs {
            let alpha = epoch / self.warmup_epochs;
            self.warmup_factor * (1.0 - alpha) + alpha
        } else {
            1.0
        };
        self.base_lr * factor * warmup
    }

    /// The lr of mini-batch `iter` (of `iters`) in 0-based `epoch`: pycls's
    /// per-epoch value, or the schedule at `epoch + iter / iters` when the
    /// recipe updates it every iteration.
    pub fn lr_for(&self, epoch: usize, iter: usize, iters: usize) -> f64 {
        match self.lr_update {
            LrUpdate::PerEpoch => self.lr_at(epoch as f64),
            LrUpdate::PerIter => self.lr_at(epoch as f64 + iter as f64 / iters.max(1) as f64),
        }
    }
}

/// The recipe keys this toolkit adds to pycls's (section `TOOLKIT`).
const TOOLKIT_KEYS: &[&str] = &["LR_UPDATE", "CLIP_GRAD_NORM"];

/// `TOOLKIT.LR_UPDATE`.
fn read_lr_update(toolkit: &Section) -> Result<LrUpdate> {
    let name = toolkit.string("LR_UPDATE", LrUpdate::default().name())?;
    name.parse()
        .map_err(|e: String| crate::ConfigError(format!("{}: {e}", toolkit.full("LR_UPDATE"))))
}

fn read_policy(optim: &Section) -> Result<LrPolicy> {
    let policy = match optim.string("LR_POLICY", "cos")?.as_str() {
        "cos" => LrPolicy::Cos,
        "steps" => LrPolicy::Steps {
            steps: optim.f64_list("STEPS")?,
            lr_mult: optim.f64("LR_MULT", 0.1)?,
        },
        "exp" => LrPolicy::Exp,
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
                "OPTIM.STEPS must start at 0 (pycls: the first lr step starts at epoch 0)".into(),
            ));
        }
    }
    Ok(policy)
}

/// `CUSTOM` when the `USE` switch is on (pycls's custom weight decays).
fn custom_decay(s: &Section, use_key: &str, value_key: &str) -> Result<Option<f64>> {
    Ok(if s.bool(use_key, false)? {
        Some(s.f64(value_key, 0.0)?)
    } else {
        None
    })
}

fn positive_f64(s: &Section, key: &str, default: f64) -> Result<f64> {
    let v = s.f64(key, default)?;
    if v <= 0.0 {
        return Err(crate::ConfigError(format!(
            "{} must be positive (got {v})",
            s.full(key)
        )));
    }
    Ok(v)
}

/// Choices pycls offers that this toolkit does not train with: refused,
/// since training otherwise would answer another question than the config asks.
fn check_supported(doc: &Mapping) -> Result<()> {
    let model = Section::lenient(doc, "MODEL")?;
    let optim = Section::lenient(doc, "OPTIM")?;
    for (s, key, default, allowed) in [
        (&optim, "OPTIMIZER", "sgd", "sgd"),
        (&model, "LOSS_FUN", "cross_entropy", "cross_entropy"),
    ] {
        let v = s.string(key, default)?;
        if v != allowed {
            return Err(crate::ConfigError(format!(
                "{} '{v}' is not supported (allowed: {allowed})",
                s.full(key)
            )));
        }
    }
    Ok(())
}

/// A whole number of at least 1.
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
    let set = |sec: &str, key: &str| doc.get(sec).and_then(|s| s.get(key)).cloned();
    let not_yet = NOT_YET.iter().filter_map(|(sec, key)| {
        let v = set(sec, key)?;
        let off = matches!(&v, Value::Bool(false) | Value::Null)
            || v.as_f64() == Some(0.0)
            || v.as_str() == Some("");
        (!off).then(|| format!("{sec}.{key} is set but not supported yet; it is ignored"))
    });
    let deprecated = DEPRECATED.iter().filter_map(|(sec, key)| {
        set(sec, key)?;
        let why = match (*sec, *key) {
            ("OPTIM", "GAMMA") => "; the exp policy decays to OPTIM.MIN_LR",
            _ => "",
        };
        Some(format!(
            "{sec}.{key} is deprecated in pycls and ignored{why}"
        ))
    });
    not_yet.chain(deprecated).collect()
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

impl Recipe {
    /// The recipe as the sections of a pycls config (`OPTIM`, `TRAIN`,
    /// `TEST`, `BN`, `MODEL.LOSS_FUN`, `RNG_SEED`, and `TOOLKIT` for this
    /// toolkit's own keys), every key written out, so that a run's config
    /// states the whole recipe and `from_doc` reads back the same recipe.
    pub fn to_doc(&self) -> Mapping {
        let (policy, steps) = match &self.policy {
            LrPolicy::Cos => ("cos", None),
            LrPolicy::Steps { steps, lr_mult } => ("steps", Some((steps, *lr_mult))),
            LrPolicy::Exp => ("exp", None),
            LrPolicy::Lin => ("lin", None),
        };
        let mut optim = mapping([
            ("OPTIMIZER", "sgd".into()),
            ("BASE_LR", self.base_lr.into()),
            ("LR_POLICY", policy.into()),
            ("MIN_LR", self.min_lr.into()),
            ("MAX_EPOCH", (self.epochs as u64).into()),
            ("MOMENTUM", self.momentum.into()),
            ("NESTEROV", self.nesterov.into()),
            ("DAMPENING", self.dampening.into()),
            ("WEIGHT_DECAY", self.weight_decay.into()),
            (
                "BIAS_USE_CUSTOM_WEIGHT_DECAY",
                self.bias_weight_decay.is_some().into(),
            ),
            (
                "BIAS_CUSTOM_WEIGHT_DECAY",
                self.bias_weight_decay.unwrap_or(0.0).into(),
            ),
            // pycls declares it an int (yacs refuses 0.0 for it).
            ("WARMUP_EPOCHS", whole_or_float(self.warmup_epochs)),
            ("WARMUP_FACTOR", self.warmup_factor.into()),
            ("EMA_ALPHA", self.ema_alpha.into()),
            ("EMA_UPDATE_PERIOD", (self.ema_update_period as u64).into()),
        ]);
        if let (Some((steps, lr_mult)), Value::Mapping(m)) = (steps, &mut optim) {
            let steps = Value::Sequence(steps.iter().map(|&s| s.into()).collect());
            m.insert("STEPS".into(), steps);
            m.insert("LR_MULT".into(), lr_mult.into());
        }
        let precise = self.precise_bn_samples > 0;
        let precise_samples = if precise {
            self.precise_bn_samples
        } else {
            Recipe::default().precise_bn_samples
        };
        let doc = [
            ("MODEL", mapping([("LOSS_FUN", "cross_entropy".into())])),
            ("OPTIM", optim),
            (
                "TRAIN",
                mapping([
                    ("BATCH_SIZE", (self.batch_size as u64).into()),
                    ("LABEL_SMOOTHING", self.label_smoothing.into()),
                    ("PCA_STD", self.pca_std.into()),
                    ("MIXUP_ALPHA", self.mixup_alpha.into()),
                    ("MIXED_PRECISION", self.mixed_precision.into()),
                ]),
            ),
            (
                "TEST",
                mapping([
                    ("BATCH_SIZE", (self.test_batch_size as u64).into()),
                    ("IM_SIZE", self.test_im_size.into()),
                ]),
            ),
            (
                "BN",
                mapping([
                    ("EPS", self.bn_eps.into()),
                    ("MOM", self.bn_momentum.into()),
                    ("USE_PRECISE_STATS", precise.into()),
                    ("NUM_SAMPLES_PRECISE", (precise_samples as u64).into()),
                    ("ZERO_INIT_FINAL_GAMMA", self.zero_init_final_gamma.into()),
                    (
                        "USE_CUSTOM_WEIGHT_DECAY",
                        self.bn_weight_decay.is_some().into(),
                    ),
                    (
                        "CUSTOM_WEIGHT_DECAY",
                        self.bn_weight_decay.unwrap_or(0.0).into(),
                    ),
                ]),
            ),
            ("RNG_SEED", Value::from(self.seed)),
            (
                TOOLKIT,
                mapping([
                    ("LR_UPDATE", self.lr_update.name().into()),
                    ("CLIP_GRAD_NORM", self.clip_grad_norm.into()),
                ]),
            ),
        ];
        doc.into_iter().map(|(k, v)| (Value::from(k), v)).collect()
    }
}

/// `x` as an integer when it is whole (pycls's type for such keys), else as
/// a float.
fn whole_or_float(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}
