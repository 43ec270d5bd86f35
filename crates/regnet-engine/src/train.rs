//! The training loop: SGD with momentum, pycls learning-rate schedules,
//! cross-entropy with label smoothing, top-1/top-5 evaluation.

use crate::data::TensorSet;
use crate::model::BuiltModel;
use crate::sgd::Sgd;
use regnet_config::Recipe;
use serde::Serialize;
use std::time::Instant;
use tch::nn::ModuleT;
use tch::{Device, Kind, Reduction, Tensor};

/// One epoch's record (a line of the JSON Lines log).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Learning rate at the start of the epoch.
    pub lr: f64,
    pub train_loss: f64,
    /// Train top-1 error in percent, over the epoch's mini-batches.
    pub train_top1_err: f64,
    pub test_top1_err: f64,
    pub test_top5_err: f64,
    pub images_per_s: f64,
    pub seconds: f64,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    /// The loss became NaN or infinite.
    Diverged,
}

/// Trains `model` on `train` for `recipe.epochs` epochs, evaluating on `test`
/// after each; `on_epoch` sees every record as it is made.
pub fn train(
    model: &mut BuiltModel,
    train: &TensorSet,
    test: &TensorSet,
    recipe: &Recipe,
    mut on_epoch: impl FnMut(&EpochLog),
) -> (Status, Vec<EpochLog>) {
    let mut sgd = Sgd::new(&model.vs, recipe);
    let mut logs = Vec::with_capacity(recipe.epochs);
    let iters = train.len().div_ceil(recipe.batch_size) as f64;
    for epoch in 0..recipe.epochs {
        let start = Instant::now();
        tch::manual_seed(recipe.seed as i64 + epoch as i64);
        let order = Tensor::randperm(train.len() as i64, (Kind::Int64, train.images.device()));
        let (mut loss_sum, mut wrong, mut seen) = (0.0, 0.0, 0usize);
        for (i, (x, y)) in train.batches(&order, recipe.batch_size).enumerate() {
            let lr = recipe.lr_at(epoch as f64 + i as f64 / iters);
            let logits = model.model.forward_t(&x, true);
            let loss = logits.cross_entropy_loss(
                &y,
                None::<Tensor>,
                Reduction::Mean,
                -100,
                recipe.label_smoothing,
            );
            let loss_v = loss.double_value(&[]);
            if !loss_v.is_finite() {
                return (Status::Diverged, logs);
            }
            sgd.zero_grad();
            loss.backward();
            sgd.step(lr);
            let b = y.size()[0] as usize;
            loss_sum += loss_v * b as f64;
            wrong += top_k_wrong(&logits, &y, 1);
            seen += b;
        }
        let (top1, top5) = evaluate(model, test, recipe.test_batch_size);
        let seconds = start.elapsed().as_secs_f64();
        let log = EpochLog {
            epoch: epoch + 1,
            lr: recipe.lr_at(epoch as f64),
            train_loss: loss_sum / seen as f64,
            train_top1_err: 100.0 * wrong / seen as f64,
            test_top1_err: top1,
            test_top5_err: top5,
            images_per_s: seen as f64 / seconds,
            seconds,
        };
        on_epoch(&log);
        logs.push(log);
    }
    (Status::Done, logs)
}

/// Top-1 and top-5 error in percent (eval mode, no gradients).
pub fn evaluate(model: &BuiltModel, set: &TensorSet, batch: usize) -> (f64, f64) {
    let order = Tensor::arange(set.len() as i64, (Kind::Int64, set.images.device()));
    let k = 5.min(set.num_classes as i64);
    let (mut w1, mut w5) = (0.0, 0.0);
    tch::no_grad(|| {
        for (x, y) in set.batches(&order, batch) {
            let logits = model.model.forward_t(&x, false);
            w1 += top_k_wrong(&logits, &y, 1);
            w5 += top_k_wrong(&logits, &y, k);
        }
    });
    let n = set.len().max(1) as f64;
    (100.0 * w1 / n, 100.0 * w5 / n)
}

/// Number of samples whose label is not among the `k` highest logits.
fn top_k_wrong(logits: &Tensor, labels: &Tensor, k: i64) -> f64 {
    let (_, top) = logits.topk(k, 1, true, true);
    let hit = top.eq_tensor(&labels.unsqueeze(1)).any_dim(1, false);
    (labels.size()[0] - hit.sum(Kind::Int64).int64_value(&[])) as f64
}

/// The device to train on: CUDA when asked or, for `auto`, when present.
pub fn pick_device(choice: &str) -> Result<Device, String> {
    match choice {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err("--device cuda: no CUDA device is available".into()),
        "auto" => Ok(Device::cuda_if_available()),
        other => Err(format!(
            "unknown device '{other}' (allowed: auto, cpu, cuda)"
        )),
    }
}
