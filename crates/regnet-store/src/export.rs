//! Exports of a sweep's results: pycls `sweep.json` records, so pycls's own
//! analysis (and ours) read the same data, and a flat CSV for spreadsheets.

use crate::{EpochRecord, Job, Result, StoreError, SweepStore};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The sweep as pycls `sweep_collect.py` writes `sweep.json`: one record per
/// job that has trained at least one epoch, with `cfg`, `complexity`,
/// `train_epoch`, `test_epoch` and `test_ema_epoch` (metric → list over
/// epochs), `log_file`, `err_file` and `err`, and `extra_epoch` with what
/// else a trainer of the user's own reported. Without an EMA model (the
/// recipe sets no `OPTIM.EMA_ALPHA`), `test_ema_epoch` repeats `test_epoch`,
/// since pycls's analysis requires it.
pub fn to_pycls_json(store: &dyn SweepStore, dir: &Path) -> Result<Value> {
    let mut records = Vec::new();
    for job in store.jobs()? {
        let epochs = store.epochs(job.id)?;
        if epochs.is_empty() {
            continue;
        }
        records.push(pycls_record(&job, &epochs, dir));
    }
    Ok(Value::Array(records))
}

fn pycls_record(job: &Job, epochs: &[EpochRecord], dir: &Path) -> Value {
    let max = job.spec.epochs;
    let series = |f: &dyn Fn(&EpochRecord) -> Value| -> Value {
        Value::Array(epochs.iter().map(f).collect())
    };
    let mut common = Map::new();
    common.insert(
        "epoch".into(),
        series(&|e| json!(format!("{}/{max}", e.epoch))),
    );
    common.insert("epoch_ind".into(), series(&|e| json!(e.epoch)));
    common.insert("epoch_max".into(), series(&|_| json!(max)));
    common.insert("time_epoch".into(), series(&|e| json!(e.seconds)));
    let mut train = common.clone();
    train.insert("loss".into(), series(&|e| json!(e.train_loss)));
    train.insert("lr".into(), series(&|e| json!(e.lr)));
    train.insert("top1_err".into(), series(&|e| json!(e.train_top1_err)));
    let test = test_series(&common, epochs, |e| {
        Some((e.test_top1_err, e.test_top5_err))
    })
    .unwrap_or_default();
    let ema = test_series(&common, epochs, |e| {
        Some((e.test_ema_top1_err?, e.test_ema_top5_err))
    });
    let log_dir = dir.join("jobs").join(&job.spec.name);
    let mut record = json!({
        "cfg": job.spec.config,
        "complexity": {"flops": job.spec.flops, "params": job.spec.params, "acts": job.spec.acts},
        "train_epoch": train,
        "test_ema_epoch": ema.unwrap_or_else(|| test.clone()),
        "test_epoch": test,
        "log_file": log_dir.join("stdout.log").display().to_string(),
        "err_file": log_dir.join("stderr.log").display().to_string(),
        "err": job.error.clone().unwrap_or_default(),
        "regnet": {
            "job": job.spec.name, "state": job.state, "failures": job.failures,
            "claims": job.claims, "layout": job.layout,
        },
    });
    if let Some(extra) = extra_series(epochs) {
        record["extra_epoch"] = extra;
    }
    record
}

/// What else a trainer of the user's own reported, field by field over the
/// epochs (null where an epoch lacks it); None when nothing else was.
fn extra_series(epochs: &[EpochRecord]) -> Option<Value> {
    let keys: std::collections::BTreeSet<&String> =
        epochs.iter().flat_map(|e| e.extra.keys()).collect();
    if keys.is_empty() {
        return None;
    }
    let series = keys
        .into_iter()
        .map(|k| {
            let values = epochs
                .iter()
                .map(|e| e.extra.get(k).cloned().unwrap_or(Value::Null));
            (k.clone(), Value::Array(values.collect()))
        })
        .collect::<Map<String, Value>>();
    Some(Value::Object(series))
}

/// A pycls test series (top1/top5 and their running minima) from `errs` of
/// each epoch; `None` when an epoch lacks them (no EMA was kept). A top-5
/// error the trainer did not report is null, as are minima before one.
fn test_series(
    common: &Map<String, Value>,
    epochs: &[EpochRecord],
    errs: impl Fn(&EpochRecord) -> Option<(f64, Option<f64>)>,
) -> Option<Map<String, Value>> {
    let e: Vec<(f64, Option<f64>)> = epochs.iter().map(errs).collect::<Option<_>>()?;
    let top1: Vec<Option<f64>> = e.iter().map(|x| Some(x.0)).collect();
    let top5: Vec<Option<f64>> = e.iter().map(|x| x.1).collect();
    let mut m = common.clone();
    m.insert("min_top1_err".into(), running_min(&top1));
    m.insert("min_top5_err".into(), running_min(&top5));
    m.insert("top1_err".into(), json!(top1));
    m.insert("top5_err".into(), json!(top5));
    Some(m)
}

/// pycls's `min_top1_err` series: the best error up to each epoch (null
/// until a value is known).
fn running_min(values: &[Option<f64>]) -> Value {
    let mut best: Option<f64> = None;
    Value::Array(
        values
            .iter()
            .map(|&v| {
                best = match (best, v) {
                    (Some(b), Some(v)) => Some(b.min(v)),
                    (b, v) => b.or(v),
                };
                json!(best)
            })
            .collect(),
    )
}

/// Seconds from a job's first claim to its end (training plus start-up, data
/// loading and store writes; plus waits if it was interrupted).
fn wall(j: &Job) -> Option<f64> {
    Some(j.finished_at? - j.started_at?)
}

/// One row per job: name, state, complexity, errors, timings, failed
/// attempts and claims (a resumed job was claimed more than once) and the
/// config as JSON.
pub fn to_csv(store: &dyn SweepStore) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| StoreError::new(format!("writing CSV: {e}"));
    w.write_record([
        "job",
        "state",
        "flops",
        "params",
        "acts",
        "epochs",
        "epochs_done",
        "top1_err",
        "top5_err",
        "min_top1_err",
        "train_seconds",
        "wall_seconds",
        "failures",
        "claims",
        "layout",
        "error",
        "config",
    ])
    .map_err(fail)?;
    let opt = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for j in store.jobs()? {
        w.write_record([
            j.spec.name.clone(),
            j.state.as_str().to_string(),
            j.spec.flops.to_string(),
            j.spec.params.to_string(),
            j.spec.acts.to_string(),
            j.spec.epochs.to_string(),
            j.epochs_done.to_string(),
            opt(j.top1_err),
            opt(j.top5_err),
            opt(j.min_top1_err),
            j.train_seconds.to_string(),
            wall(&j).map_or(String::new(), |w| w.to_string()),
            j.failures.to_string(),
            j.claims.to_string(),
            j.layout.clone().unwrap_or_default(),
            j.error.clone().unwrap_or_default(),
            j.spec.config.to_string(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| StoreError::new(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| StoreError::new(format!("writing CSV: {e}")))
}
