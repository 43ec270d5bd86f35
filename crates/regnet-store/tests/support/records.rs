//! The sweep info and fake jobs the store tests create stores with.
#![allow(dead_code)] // each test file uses a subset

use regnet_store::*;
use serde_json::json;

/// A sweep named `name` on synthetic data, failing a job after
/// `max_attempts` failures.
pub fn info(name: &str, max_attempts: u32) -> SweepInfo {
    SweepInfo {
        name: name.into(),
        description: String::new(),
        config_text: format!("NAME: {name}\n"),
        settings: SweepSettings {
            data: "synthetic:100".into(),
            ..SweepSettings::default()
        },
        max_attempts,
    }
}

/// `n` fake jobs of `epochs` epochs: job-0000, job-0001, ...
pub fn jobs_of(n: usize, epochs: u32) -> Vec<JobRecord> {
    (0..n)
        .map(|i| {
            JobRecord::new(NewJob {
                name: format!("job-{i:04}"),
                config: json!({"MODEL": {"TYPE": "anynet"}, "i": i}),
                flops: 1000 + i as u64,
                params: 10,
                acts: 5,
                epochs,
            })
        })
        .collect()
}

/// A fake epoch `e` with test errors `top1` and `top1 / 2` and every field
/// the built-in trainer reports set.
pub fn epoch(e: u32, top1: f64, seconds: f64) -> EpochRecord {
    EpochRecord {
        lr: Some(0.1),
        lr_end: Some(0.09),
        train_loss: Some(1.0),
        train_top1_err: Some(50.0),
        test_top5_err: Some(top1 / 2.0),
        images_per_s: Some(100.0),
        ..EpochRecord::new(e, top1, seconds)
    }
}
