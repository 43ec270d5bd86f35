//! One epoch of training, as the trainer reports it and the store keeps it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One epoch's record (a line of a run's `log.jsonl`, a row of the store).
///
/// Only the epoch, its test error and its duration are required: the
/// built-in engine reports every field, a user's own trainer may report
/// less, and what it does not report stays unknown (`None`), never a made-up
/// zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: u32,
    /// Learning rate of the epoch's first mini-batch.
    #[serde(default)]
    pub lr: Option<f64>,
    /// Learning rate of its last mini-batch: the same as `lr` when the lr is
    /// set once per epoch (pycls), lower under a decaying per-iteration schedule.
    #[serde(default)]
    pub lr_end: Option<f64>,
    #[serde(default)]
    pub train_loss: Option<f64>,
    /// Train top-1 error in percent, over the epoch's mini-batches.
    #[serde(default)]
    pub train_top1_err: Option<f64>,
    pub test_top1_err: f64,
    #[serde(default)]
    pub test_top5_err: Option<f64>,
    /// Errors of the weight EMA (pycls `test_ema_epoch`), when kept.
    #[serde(default)]
    pub test_ema_top1_err: Option<f64>,
    #[serde(default)]
    pub test_ema_top5_err: Option<f64>,
    #[serde(default)]
    pub images_per_s: Option<f64>,
    /// Seconds the epoch took (training and testing).
    pub seconds: f64,
    /// Whatever else a trainer reported for the epoch, kept as it came.
    #[serde(flatten, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// The names of [`EpochRecord::values`], as `log.jsonl`, the stores'
/// columns and a jsonl trainer's report spell them.
pub const VALUES: [&str; 10] = [
    "lr",
    "lr_end",
    "train_loss",
    "train_top1_err",
    "test_top1_err",
    "test_top5_err",
    "test_ema_top1_err",
    "test_ema_top5_err",
    "images_per_s",
    "seconds",
];

impl EpochRecord {
    /// An epoch known only by its test error and duration (what a trainer
    /// must report at least); the other fields are filled as reported.
    pub fn new(epoch: u32, test_top1_err: f64, seconds: f64) -> Self {
        EpochRecord {
            epoch,
            lr: None,
            lr_end: None,
            train_loss: None,
            train_top1_err: None,
            test_top1_err,
            test_top5_err: None,
            test_ema_top1_err: None,
            test_ema_top5_err: None,
            images_per_s: None,
            seconds,
            extra: BTreeMap::new(),
        }
    }

    /// The numeric fields after `epoch`, by their names in [`VALUES`]'s
    /// order: what stores keep as columns and trainers report by name.
    pub fn values(&self) -> [Option<f64>; 10] {
        [
            self.lr,
            self.lr_end,
            self.train_loss,
            self.train_top1_err,
            Some(self.test_top1_err),
            self.test_top5_err,
            self.test_ema_top1_err,
            self.test_ema_top5_err,
            self.images_per_s,
            Some(self.seconds),
        ]
    }

    /// The record of epoch `epoch` with [`EpochRecord::values`] `v`; None
    /// without its test error or duration. A missing `lr_end` reads as
    /// `lr` (pycls sets the lr once per epoch).
    pub fn from_values(epoch: u32, v: [Option<f64>; 10]) -> Option<EpochRecord> {
        let [lr, lr_end, train_loss, train_top1_err, top1, top5, ema1, ema5, ips, secs] = v;
        Some(EpochRecord {
            lr,
            lr_end: lr_end.or(lr),
            train_loss,
            train_top1_err,
            test_top5_err: top5,
            test_ema_top1_err: ema1,
            test_ema_top5_err: ema5,
            images_per_s: ips,
            ..EpochRecord::new(epoch, top1?, secs?)
        })
    }

    /// The extra fields as one JSON object's text (how the stores keep
    /// them), or None when there are none.
    pub fn extra_json(&self) -> Option<String> {
        (!self.extra.is_empty()).then(|| serde_json::to_string(&self.extra).unwrap_or_default())
    }

    /// Sets the extra fields from [`EpochRecord::extra_json`]'s text; text
    /// that is not a JSON object is kept under `"extra"`, not lost.
    pub fn set_extra_json(&mut self, text: Option<&str>) {
        self.extra = match text.map(serde_json::from_str::<BTreeMap<String, serde_json::Value>>) {
            None => BTreeMap::new(),
            Some(Ok(m)) => m,
            Some(Err(_)) => BTreeMap::from([(
                "extra".to_string(),
                serde_json::Value::from(text.unwrap_or_default()),
            )]),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// VALUES are the serialized names of values(), in order, and
    /// from_values inverts values().
    #[test]
    fn values_are_named_as_log_jsonl_names_them() {
        let mut e = EpochRecord::new(3, 41.5, 12.0);
        e.lr = Some(0.1);
        e.lr_end = Some(0.05);
        e.train_loss = Some(1.25);
        e.test_top5_err = Some(9.0);
        e.images_per_s = Some(300.0);
        e.extra.insert("val_loss".into(), serde_json::json!(0.5));
        let json = serde_json::to_value(&e).unwrap();
        for (name, v) in VALUES.iter().zip(e.values()) {
            assert_eq!(json[name].as_f64(), v, "{name}");
        }
        assert_eq!(json["val_loss"], 0.5);
        let mut back = EpochRecord::from_values(3, e.values()).unwrap();
        back.extra = e.extra.clone();
        assert_eq!(back, e);
        let read: EpochRecord = serde_json::from_value(json).unwrap();
        assert_eq!(read, e);
        let mut no_err = e.values();
        no_err[4] = None;
        assert!(EpochRecord::from_values(3, no_err).is_none());
    }
}
