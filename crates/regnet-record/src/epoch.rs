//! One epoch of training, as the trainer reports it and the store keeps it.

use serde::{Deserialize, Serialize};

/// One epoch's record (a line of a run's `log.jsonl`, a row of the store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: u32,
    /// Learning rate of the epoch's first mini-batch.
    pub lr: f64,
    /// Learning rate of its last mini-batch: the same as `lr` when the lr is
    /// set once per epoch (pycls), lower under a decaying per-iteration schedule.
    pub lr_end: f64,
    pub train_loss: f64,
    /// Train top-1 error in percent, over the epoch's mini-batches.
    pub train_top1_err: f64,
    pub test_top1_err: f64,
    pub test_top5_err: f64,
    /// Errors of the weight EMA (pycls `test_ema_epoch`), when kept.
    pub test_ema_top1_err: Option<f64>,
    pub test_ema_top5_err: Option<f64>,
    pub images_per_s: f64,
    pub seconds: f64,
}
