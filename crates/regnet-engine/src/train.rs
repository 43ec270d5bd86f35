//! The training loop: SGD with momentum, pycls learning-rate schedules,
//! cross-entropy with label smoothing, top-1/top-5 evaluation.

use crate::amp::GradScaler;
use crate::data::{prefetched_batches, TensorSet};
use crate::error::{EngineError, Result};
use crate::model::BuiltModel;
use crate::precise_bn::{precise_bn, precise_bn_iters};
use crate::sgd::Sgd;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};
use regnet_config::Recipe;
use serde::Serialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Instant;
use tch::nn::ModuleT;
use tch::{Device, Kind, Reduction, Tensor};

/// One epoch's record (a line of the JSON Lines log, a row of the store).
pub use regnet_record::EpochRecord;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    /// The loss became NaN or infinite.
    Diverged,
    /// The observer stopped the run; the checkpoint allows resuming.
    Stopped,
}

/// Where a run is, reported after every mini-batch (for progress displays).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mini-batches done in this epoch, and in all.
    pub done: usize,
    pub total: usize,
    /// Mean training loss of the epoch so far.
    pub loss: f64,
}

/// How an observer stops a run after an epoch: with the epoch kept or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The epoch is kept: the checkpoint says it is done, and a resumed
    /// run goes on after it.
    AfterEpoch,
    /// The caller could not keep the epoch's record (a store or log it
    /// could not write): the checkpoint stays at the epoch before, so a
    /// resumed run repeats this one instead of losing its record.
    Unrecorded,
}

/// One SGD step seen from inside, for diagnosing a run that blows up: its
/// loss, lr and gradient norms (each parameter's, after any clipping, and
/// the total before clipping).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTrace {
    /// 0-based epoch and mini-batch.
    pub epoch: usize,
    pub step: usize,
    pub lr: f64,
    pub loss: f64,
    /// Total gradient 2-norm before clipping.
    pub grad_norm: f64,
    /// Each parameter's gradient 2-norm as the step applied it, by name.
    pub norms: Vec<(String, f64)>,
}

/// What a caller watches during training.
pub trait Observer {
    /// Whether [`Observer::step`] is called: tracing costs a device sync per
    /// parameter and step, so only observers that ask pay for it.
    fn traces_steps(&self) -> bool {
        false
    }
    /// After each SGD step, when [`Observer::traces_steps`] says so.
    fn step(&mut self, _t: StepTrace) {}
    /// After each mini-batch; `Break` stops the run at once, mid-epoch
    /// (the checkpoint stays at the last finished epoch).
    fn batch(&mut self, _p: BatchProgress) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// After each epoch's evaluation; `Break` stops the run (resumable).
    fn epoch(&mut self, log: &EpochRecord) -> ControlFlow<Stop>;
}

impl<F: FnMut(&EpochRecord) -> ControlFlow<Stop>> Observer for F {
    fn epoch(&mut self, log: &EpochRecord) -> ControlFlow<Stop> {
        self(log)
    }
}

/// Trains `model` on `train` for `recipe.epochs` epochs, evaluating on `test`
/// after each. With a `checkpoint` path, the run resumes from it when it
/// exists and rewrites it (atomically) after every epoch: a resumed run ends
/// exactly where an uninterrupted one does. The observer sees progress and
/// every epoch record as it is made, and may stop the run.
pub fn train(
    model: &mut BuiltModel,
    train: &TensorSet,
    test: &TensorSet,
    recipe: &Recipe,
    checkpoint: Option<&Path>,
    observer: impl Observer,
) -> Result<(Status, Vec<EpochRecord>)> {
    // A model or batch too large for memory fails inside tch's panicking
    // methods: one line from libtorch instead.
    crate::error::guarded(|| train_epochs(model, train, test, recipe, checkpoint, observer))?
}

fn train_epochs(
    model: &mut BuiltModel,
    train: &TensorSet,
    test: &TensorSet,
    recipe: &Recipe,
    checkpoint: Option<&Path>,
    mut observer: impl Observer,
) -> Result<(Status, Vec<EpochRecord>)> {
    // pycls's train loader drops the last partial batch (drop_last=True).
    let iters = train.len() / recipe.batch_size;
    if iters == 0 {
        return Err(EngineError::Setup(format!(
            "the training set ({} images) is smaller than TRAIN.BATCH_SIZE {}: as in pycls the last partial batch is dropped, so no step would be taken",
            train.len(),
            recipe.batch_size
        )));
    }
    let mut t = Trainer::new(model, train, recipe, iters)?;
    let first = match checkpoint {
        Some(path) if path.exists() => {
            load_checkpoint(path, t.model, &mut t.sgd, t.scaler.as_mut())?
        }
        _ => 0,
    };
    let mut logs = Vec::with_capacity(recipe.epochs);
    for epoch in first..recipe.epochs {
        let start = Instant::now();
        let totals = match t.train_epoch(epoch, &mut observer)? {
            Trained::Epoch(totals) => totals,
            Trained::Diverged => return Ok((Status::Diverged, logs)),
            Trained::Stopped => return Ok((Status::Stopped, logs)),
        };
        let log = t.end_epoch(epoch, &totals, test, start)?;
        // The caller records the epoch first, then the checkpoint says it is
        // done: a crash in between repeats the epoch, never loses its record.
        let flow = observer.epoch(&log);
        if flow == ControlFlow::Break(Stop::Unrecorded) {
            return Ok((Status::Stopped, logs));
        }
        if let Some(path) = checkpoint {
            save_checkpoint(path, t.model, &t.sgd, t.scaler.as_ref(), epoch + 1)?;
        }
        logs.push(log);
        if flow.is_break() && epoch + 1 < recipe.epochs {
            return Ok((Status::Stopped, logs));
        }
    }
    Ok((Status::Done, logs))
}

/// One run's training state: the model, its optimizer and loss scaler, and
/// what every step needs to know.
struct Trainer<'a> {
    model: &'a mut BuiltModel,
    train: &'a TensorSet,
    recipe: &'a Recipe,
    sgd: Sgd,
    scaler: Option<GradScaler>,
    /// float16 autocast (mixed precision on CUDA).
    autocast: bool,
    /// Mini-batches per epoch.
    iters: usize,
    /// Mini-batches precise BN statistics are computed over.
    bn_iters: usize,
}

/// How an epoch of steps ended.
enum Trained {
    Epoch(EpochTotals),
    /// The loss became NaN or infinite.
    Diverged,
    /// The observer stopped the run mid-epoch.
    Stopped,
}

/// Sums over one epoch's mini-batches.
struct EpochTotals {
    loss: f64,
    wrong: f64,
    seen: usize,
    /// Seconds the training steps took (not the evaluation or precise BN):
    /// what images/s measures.
    seconds: f64,
}

/// 0..n in the order a generator seeded by `seed` shuffles them: the
/// trainer's own draw, never libtorch's process-wide generator.
fn shuffled(n: usize, seed: u64) -> Tensor {
    let mut order: Vec<i64> = (0..n as i64).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    Tensor::from_slice(&order)
}

impl<'a> Trainer<'a> {
    fn new(
        model: &'a mut BuiltModel,
        train: &'a TensorSet,
        recipe: &'a Recipe,
        iters: usize,
    ) -> Result<Self> {
        let sgd = Sgd::new(&model.vs, recipe);
        if recipe.ema_on() && model.ema.is_none() {
            model.ema = Some(Box::new(model.twin()?));
        }
        // Loss scaling whenever mixed precision is asked for; float16 autocast
        // only on CUDA (on CPU the scaling is exact in float32 and changes nothing).
        let scaler = recipe.mixed_precision.then(GradScaler::default);
        let autocast = scaler.is_some() && train.device().is_cuda();
        let bn_iters = precise_bn_iters(recipe.precise_bn_samples, recipe.batch_size, train.len());
        Ok(Trainer {
            model,
            train,
            recipe,
            sgd,
            scaler,
            autocast,
            iters,
            bn_iters,
        })
    }

    /// The seed of epoch `epoch`'s augmentation (and of the streams derived from it).
    fn aug_seed(&self, epoch: usize) -> u64 {
        self.recipe.seed ^ ((epoch as u64) << 32)
    }

    /// One epoch of SGD steps in a seeded order. A stop mid-epoch drops the
    /// prefetching iterator, which joins its thread.
    fn train_epoch(&mut self, epoch: usize, observer: &mut impl Observer) -> Result<Trained> {
        let aug_seed = self.aug_seed(epoch);
        let order =
            shuffled(self.train.len(), aug_seed ^ SHUFFLE_STREAM).to_device(self.train.device());
        self.model.model.reseed_noise(aug_seed ^ DROPOUT_STREAM);
        let batches = prefetched_batches(self.train, &order, self.recipe.batch_size, aug_seed)
            .take(self.iters);
        let mut mix_rng = ChaCha8Rng::seed_from_u64(aug_seed ^ MIXUP_STREAM);
        let start = Instant::now();
        let mut totals = EpochTotals {
            loss: 0.0,
            wrong: 0.0,
            seen: 0,
            seconds: 0.0,
        };
        for (i, batch) in batches.enumerate() {
            let (x, y) = batch?;
            let (x, y, targets) = mixup(x, y, self.recipe, self.train.num_classes, &mut mix_rng);
            let Some((loss, wrong)) = self.step(epoch, i, &x, &y, targets.as_ref()) else {
                return Ok(Trained::Diverged);
            };
            if observer.traces_steps() {
                observer.step(self.trace(epoch, i, loss));
            }
            let b = y.size()[0] as usize;
            totals.loss += loss * b as f64;
            totals.wrong += wrong;
            totals.seen += b;
            let flow = observer.batch(BatchProgress {
                epoch,
                done: i + 1,
                total: self.iters,
                loss: totals.loss / totals.seen as f64,
            });
            if flow.is_break() {
                return Ok(Trained::Stopped);
            }
        }
        totals.seconds = start.elapsed().as_secs_f64();
        Ok(Trained::Epoch(totals))
    }

    /// Mini-batch `i`: forward, loss, backward, SGD step and EMA update;
    /// returns the loss and the count of top-1 mistakes (`None`: diverged).
    fn step(
        &mut self,
        epoch: usize,
        i: usize,
        x: &Tensor,
        y: &Tensor,
        targets: Option<&Tensor>,
    ) -> Option<(f64, f64)> {
        let r = self.recipe;
        let logits = tch::autocast(self.autocast, || self.model.model.forward_t(x, true));
        let logits = match logits.kind() {
            Kind::Float => logits,
            _ => logits.to_kind(Kind::Float),
        };
        let loss = match targets {
            Some(t) => soft_cross_entropy(&logits, t),
            None => logits.cross_entropy_loss(
                y,
                None::<Tensor>,
                Reduction::Mean,
                -100,
                r.label_smoothing,
            ),
        };
        let loss_v = loss.double_value(&[]);
        if !loss_v.is_finite() {
            return None;
        }
        let lr = r.lr_for(epoch, i, self.iters);
        backward_step(&loss, &mut self.sgd, self.scaler.as_mut(), lr);
        if let Some(ema) = &self.model.ema {
            if i % r.ema_update_period == 0 {
                update_ema(ema, &self.model.vs, r.ema_rate(epoch));
            }
        }
        Some((loss_v, top_k_wrong(&logits, y, 1)))
    }

    /// The step just taken, from the gradients it left.
    fn trace(&self, epoch: usize, step: usize, loss: f64) -> StepTrace {
        let norms = self.sgd.grad_norms();
        let applied = norms.iter().map(|(_, n)| n * n).sum::<f64>().sqrt();
        StepTrace {
            epoch,
            step,
            lr: self.recipe.lr_for(epoch, step, self.iters),
            loss,
            grad_norm: self.sgd.last_norm().unwrap_or(applied),
            norms,
        }
    }

    /// After an epoch's steps: precise BN statistics, evaluation of the model
    /// (and its EMA) on `test`, and the epoch's record.
    fn end_epoch(
        &mut self,
        epoch: usize,
        totals: &EpochTotals,
        test: &TensorSet,
        start: Instant,
    ) -> Result<EpochRecord> {
        let r = self.recipe;
        let bn_seed = self.aug_seed(epoch) ^ PRECISE_BN_STREAM;
        precise_bn(self.model, self.train, r.batch_size, self.bn_iters, bn_seed)?;
        if let Some(ema) = self.model.ema.as_deref_mut() {
            precise_bn(ema, self.train, r.batch_size, self.bn_iters, bn_seed)?;
        }
        let (top1, top5) = evaluate(self.model, test, r.test_batch_size)?;
        let ema_errs = match &self.model.ema {
            Some(ema) => Some(evaluate(ema, test, r.test_batch_size)?),
            None => None,
        };
        let seconds = start.elapsed().as_secs_f64();
        Ok(EpochRecord {
            lr: Some(r.lr_for(epoch, 0, self.iters)),
            lr_end: Some(r.lr_for(epoch, self.iters - 1, self.iters)),
            train_loss: Some(totals.loss / totals.seen as f64),
            train_top1_err: Some(100.0 * totals.wrong / totals.seen as f64),
            test_top5_err: Some(top5),
            test_ema_top1_err: ema_errs.map(|e| e.0),
            test_ema_top5_err: ema_errs.map(|e| e.1),
            images_per_s: Some(totals.seen as f64 / totals.seconds),
            ..EpochRecord::new(epoch as u32 + 1, top1, seconds)
        })
    }
}

/// Gradients of `loss` and one SGD step; under loss scaling the step is
/// skipped when a gradient overflowed (and the scale backs off).
pub fn backward_step(loss: &Tensor, sgd: &mut Sgd, scaler: Option<&mut GradScaler>, lr: f64) {
    sgd.zero_grad();
    let Some(s) = scaler else {
        loss.backward();
        sgd.step(lr);
        return;
    };
    s.scale_loss(loss).backward();
    let finite = s.unscale(&sgd.grads());
    if finite {
        sgd.step(lr);
    }
    s.update(finite);
}

/// ema ← ema · (1 − rate) + model · rate for every variable (weights and BN
/// statistics), as pycls updates its EMA model.
fn update_ema(ema: &BuiltModel, model: &tch::nn::VarStore, rate: f64) {
    let src = model.variables();
    tch::no_grad(|| {
        for (name, mut v) in ema.vs.variables() {
            if let Some(m) = src.get(&name) {
                let mixed = &v * (1.0 - rate) + m * rate;
                v.copy_(&mixed);
            }
        }
    });
}

/// Separate the epoch's shuffle, dropout masks and mixup draws from the
/// augmentation stream of the same seed.
const SHUFFLE_STREAM: u64 = 0x7368_7566_666c_6505;
const DROPOUT_STREAM: u64 = 0x6472_6f70_6f75_7406;
const MIXUP_STREAM: u64 = 0x6d69_7875_7000_0001;
/// Separates the precise-BN batch order and augmentation from training's.
const PRECISE_BN_STREAM: u64 = 0x7072_6563_6973_6502;

/// pycls mixup (`TRAIN.MIXUP_ALPHA` > 0): each batch is mixed with a
/// permutation of itself by λ ~ Beta(α, α), and so are its (label-smoothed)
/// one-hot targets. Returns the inputs, the dominant labels (for the train
/// error, as pycls counts it) and the soft targets; without mixup, the batch
/// as it is and no soft targets.
pub fn mixup(
    x: Tensor,
    y: Tensor,
    recipe: &Recipe,
    classes: usize,
    rng: &mut ChaCha8Rng,
) -> (Tensor, Tensor, Option<Tensor>) {
    if recipe.mixup_alpha <= 0.0 {
        return (x, y, None);
    }
    let beta =
        Beta::new(recipe.mixup_alpha, recipe.mixup_alpha).expect("alpha > 0 checked by the recipe");
    let lam: f64 = beta.sample(rng);
    let n = y.size()[0] as usize;
    let mut perm: Vec<i64> = (0..n as i64).collect();
    perm.shuffle(rng);
    let perm = Tensor::from_slice(&perm).to_device(x.device());
    let (x2, y2) = (x.index_select(0, &perm), y.index_select(0, &perm));
    let mixed = &x * lam + x2 * (1.0 - lam);
    let targets = soft_targets(&y, &y2, lam, classes, recipe.label_smoothing);
    let dominant = if lam >= 0.5 { y } else { y2 };
    (mixed, dominant, Some(targets))
}

/// λ · smooth(one_hot(y)) + (1 − λ) · smooth(one_hot(y2)), where smoothing
/// spreads ε uniformly over the classes (PyTorch's label smoothing).
pub fn soft_targets(y: &Tensor, y2: &Tensor, lam: f64, classes: usize, eps: f64) -> Tensor {
    let k = classes as i64;
    let smooth = |t: &Tensor| t.one_hot(k).to_kind(Kind::Float) * (1.0 - eps) + eps / k as f64;
    smooth(y) * lam + smooth(y2) * (1.0 - lam)
}

/// Mean over the batch of −Σ_c target_c · log softmax(logits)_c.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> Tensor {
    -(targets * logits.log_softmax(1, Kind::Float))
        .sum_dim_intlist(1, false, Kind::Float)
        .mean(Kind::Float)
}

/// Writes weights, BN statistics, momentum buffers and the epoch count to
/// `path` through a temporary file, so a crash never leaves half a checkpoint.
fn save_checkpoint(
    path: &Path,
    model: &BuiltModel,
    sgd: &Sgd,
    scaler: Option<&GradScaler>,
    epochs_done: usize,
) -> Result<()> {
    let mut named: Vec<(String, Tensor)> = model
        .vs
        .variables()
        .into_iter()
        .map(|(k, v)| (format!("model.{k}"), v))
        .collect();
    named.extend(
        sgd.state()
            .into_iter()
            .map(|(k, v)| (format!("optim.{k}"), v)),
    );
    if let Some(ema) = &model.ema {
        named.extend(
            ema.vs
                .variables()
                .into_iter()
                .map(|(k, v)| (format!("ema.{k}"), v)),
        );
    }
    named.extend(scaler.map(GradScaler::state).unwrap_or_default());
    named.push(("epoch".into(), Tensor::from_slice(&[epochs_done as i64])));
    // Standard layout on the host, whatever the layout in memory (channels-last).
    let named: Vec<(String, Tensor)> = named
        .into_iter()
        .map(|(k, v)| (k, v.to_device(Device::Cpu).contiguous()))
        .collect();
    regnet_record::atomic::write_atomically(path, |tmp| {
        Tensor::write_safetensors(&named, tmp).map_err(|e| match e {
            // The file system's refusal (a full disk) stays an I/O error.
            tch::TchError::SafeTensorError {
                err: safetensors::SafeTensorError::IoError(io),
                ..
            } => EngineError::io("write checkpoint", path, io),
            e => EngineError::bad_file(path, format!("cannot write the checkpoint: {e}")),
        })
    })
}

fn read_checkpoint(path: &Path) -> Result<Vec<(String, Tensor)>> {
    Tensor::read_safetensors(path).map_err(|e| EngineError::bad_file(path, e.to_string()))
}

/// Number of epochs a checkpoint file has completed.
pub fn checkpoint_epoch(path: &Path) -> Result<usize> {
    read_checkpoint(path)?
        .into_iter()
        .find(|(k, _)| k == "epoch")
        .map(|(_, t)| t.int64_value(&[0]) as usize)
        .ok_or_else(|| EngineError::bad_file(path, "not a regnet checkpoint (no epoch)"))
}

/// Restores a checkpoint; returns the number of epochs it had completed.
fn load_checkpoint(
    path: &Path,
    model: &mut BuiltModel,
    sgd: &mut Sgd,
    scaler: Option<&mut GradScaler>,
) -> Result<usize> {
    let named = read_checkpoint(path)?;
    let vars = model.vs.variables();
    let mismatch = |what: String| EngineError::bad_file(path, what);
    for (name, v) in &vars {
        let saved = named
            .iter()
            .find(|(k, _)| k.strip_prefix("model.") == Some(name.as_str()));
        match saved {
            Some((_, t)) if t.size() == v.size() => {}
            Some((_, t)) => {
                return Err(mismatch(format!(
                    "{name} has shape {:?}, the model {:?}",
                    t.size(),
                    v.size()
                )))
            }
            None => {
                return Err(mismatch(format!(
                    "{name} is missing; the checkpoint is of another model"
                )))
            }
        }
    }
    let ema_vars = model
        .ema
        .as_ref()
        .map(|e| e.vs.variables())
        .unwrap_or_default();
    let mut state = Vec::new();
    let mut epoch = None;
    tch::no_grad(|| {
        for (k, t) in &named {
            if let Some(name) = k.strip_prefix("model.") {
                if let Some(v) = vars.get(name) {
                    v.shallow_clone().copy_(t);
                }
            } else if let Some(name) = k.strip_prefix("ema.") {
                if let Some(v) = ema_vars.get(name) {
                    v.shallow_clone().copy_(t);
                }
            } else if let Some(name) = k.strip_prefix("optim.") {
                state.push((name.to_string(), t.shallow_clone()));
            } else if k == "epoch" {
                epoch = Some(t.int64_value(&[0]) as usize);
            }
        }
    });
    sgd.load_state(&state);
    if let Some(s) = scaler {
        s.load_state(&named);
    }
    epoch.ok_or_else(|| EngineError::bad_file(path, "not a regnet checkpoint (no epoch)"))
}

/// Top-1 and top-5 error in percent (eval mode, no gradients).
pub fn evaluate(model: &BuiltModel, set: &TensorSet, batch: usize) -> Result<(f64, f64)> {
    let order = Tensor::arange(set.len() as i64, (Kind::Int64, set.device()));
    let k = 5.min(set.num_classes as i64);
    let (mut w1, mut w5) = (0.0, 0.0);
    tch::no_grad(|| -> Result<()> {
        for b in set.batches(&order, batch) {
            let (x, y) = b?;
            let logits = model.model.forward_t(&x, false);
            w1 += top_k_wrong(&logits, &y, 1);
            w5 += top_k_wrong(&logits, &y, k);
        }
        Ok(())
    })?;
    let n = set.len().max(1) as f64;
    Ok((100.0 * w1 / n, 100.0 * w5 / n))
}

/// Number of samples whose label is not among the `k` highest logits.
fn top_k_wrong(logits: &Tensor, labels: &Tensor, k: i64) -> f64 {
    let (_, top) = logits.topk(k, 1, true, true);
    let hit = top.eq_tensor(&labels.unsqueeze(1)).any_dim(1, false);
    (labels.size()[0] - hit.sum(Kind::Int64).int64_value(&[])) as f64
}
