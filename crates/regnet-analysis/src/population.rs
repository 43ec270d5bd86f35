//! A population of trained models, from a sweep store or a pycls sweep.json.

use regnet_store::{JobState, SweepStore};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One trained model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelResult {
    pub name: String,
    /// Its pycls config.
    pub config: Value,
    /// Final test top-1 error (%).
    pub error: f64,
    /// Test top-1 error after each epoch.
    pub curve: Vec<f64>,
    /// Training wall time (s), where recorded: what the planner prices.
    pub seconds: Option<f64>,
    /// Design metrics: flops, params, acts and the space's parameters
    /// (pycls analysis names: regnet_depth, regnet_w0, anynet_d, ...).
    pub metrics: BTreeMap<String, f64>,
}

/// A sampled model that is not in the population: it failed, or was not
/// (fully) trained. A population that lost models is not the sampled one; if
/// they were lost for a reason tied to their architecture, its EDF is biased.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingModel {
    pub name: String,
    /// `failed`, `pending`, `running` or `unfinished` (a sweep.json record
    /// short of its epochs).
    pub state: String,
    /// The failure message, or what is known of its progress.
    pub reason: String,
}

/// A named population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Population {
    pub name: String,
    pub models: Vec<ModelResult>,
    /// Sampled models absent from `models`.
    pub missing: Vec<MissingModel>,
}

impl Population {
    /// The finished jobs of a sweep store; every other job is listed as missing.
    pub fn from_store(name: &str, store: &dyn SweepStore) -> regnet_store::Result<Self> {
        let (mut models, mut missing) = (Vec::new(), Vec::new());
        for job in store.jobs()? {
            let Some(error) = job.top1_err.filter(|_| job.state == JobState::Done) else {
                missing.push(missing_job(&job));
                continue;
            };
            let epochs = store.epochs(job.id)?;
            let curve: Vec<f64> = epochs.iter().map(|e| e.test_top1_err).collect();
            let name = &job.spec.name;
            for (k, &e) in curve.iter().chain([&error]).enumerate() {
                check_error(e).map_err(|why| {
                    let at = if k < curve.len() {
                        format!("epoch {}", k + 1)
                    } else {
                        "final".into()
                    };
                    regnet_store::StoreError::new(format!("{name}: {at} test error {why}"))
                })?;
            }
            let seconds = Some(epochs.iter().map(|e| e.seconds).sum());
            let cx = [job.spec.flops, job.spec.params, job.spec.acts].map(|v| v as f64);
            let m = model(job.spec.name, job.spec.config, error, curve, cx);
            models.push(ModelResult { seconds, ..m });
        }
        Ok(Population {
            name: name.to_string(),
            models,
            missing,
        })
    }

    /// Records of a pycls `sweep.json` (ours or pycls's own): every record
    /// that finished its epochs; error = the last epoch's test top-1 error.
    /// Records short of their epochs are listed as missing (jobs that never
    /// trained an epoch have no record in a sweep.json).
    pub fn from_pycls_json(name: &str, sweep: &Value) -> Result<Self, String> {
        let records = sweep
            .as_array()
            .ok_or("a pycls sweep.json is a list of job records")?;
        let (mut models, mut missing) = (Vec::new(), Vec::new());
        for (i, r) in records.iter().enumerate() {
            let test = &r["test_epoch"];
            let job = r["regnet"]["job"]
                .as_str()
                .map_or_else(|| format!("job-{i:04}"), str::to_string);
            let curve: Vec<f64> = match test["top1_err"].as_array() {
                None => Vec::new(),
                Some(a) => a
                    .iter()
                    .enumerate()
                    .map(|(k, v)| {
                        v.as_f64()
                            .ok_or_else(|| format!("{v} is not a number"))
                            .and_then(|e| check_error(e).map(|_| e))
                            .map_err(|why| {
                                format!("record {i} ({job}): test_epoch.top1_err[{k}] {why}")
                            })
                    })
                    .collect::<Result<_, _>>()?,
            };
            let ends = (
                curve.last(),
                last_u64(&test["epoch_ind"]),
                last_u64(&test["epoch_max"]),
            );
            let (Some(&error), Some(ind), Some(max)) = ends else {
                missing.push(unfinished(job, r, "no test epochs recorded".into()));
                continue;
            };
            if ind < max {
                missing.push(unfinished(job, r, format!("trained {ind} of {max} epochs")));
                continue;
            }
            let cx = ["flops", "params", "acts"]
                .map(|k| r["complexity"][k].as_f64().unwrap_or(f64::NAN));
            let seconds = r["train_epoch"]["time_epoch"]
                .as_array()
                .and_then(|t| t.iter().map(Value::as_f64).sum::<Option<f64>>());
            let m = model(job, r["cfg"].clone(), error, curve, cx);
            models.push(ModelResult { seconds, ..m });
        }
        Ok(Population {
            name: name.to_string(),
            models,
            missing,
        })
    }

    /// Models sampled for the population, trained or not.
    pub fn sampled(&self) -> usize {
        self.models.len() + self.missing.len()
    }

    pub fn errors(&self) -> Vec<f64> {
        self.models.iter().map(|m| m.error).collect()
    }

    /// A metric's values (NaN where a model lacks it).
    pub fn metric(&self, name: &str) -> Vec<f64> {
        self.models
            .iter()
            .map(|m| m.metrics.get(name).copied().unwrap_or(f64::NAN))
            .collect()
    }

    /// Metric names every model has.
    pub fn metric_names(&self) -> Vec<String> {
        let Some(first) = self.models.first() else {
            return Vec::new();
        };
        first
            .metrics
            .keys()
            .filter(|k| self.models.iter().all(|m| m.metrics.contains_key(*k)))
            .cloned()
            .collect()
    }
}

/// Why a store's job is not in the population.
fn missing_job(job: &regnet_store::Job) -> MissingModel {
    let progress = format!("trained {} of {} epochs", job.epochs_done, job.spec.epochs);
    let reason = match (job.state, &job.error) {
        (JobState::Failed, Some(e)) => format!("{e} ({} attempts)", job.failures),
        (_, Some(e)) => format!("{progress}; last attempt: {e}"),
        _ => progress,
    };
    MissingModel {
        name: job.spec.name.clone(),
        state: job.state.as_str().to_string(),
        reason,
    }
}

/// A sweep.json record short of its epochs, with its `err` when it has one.
fn unfinished(name: String, record: &Value, progress: String) -> MissingModel {
    let reason = match record["err"].as_str().filter(|e| !e.is_empty()) {
        Some(e) => format!("{progress}; {e}"),
        None => progress,
    };
    MissingModel {
        name,
        state: "unfinished".into(),
        reason,
    }
}

/// A top-1 error must be a percentage: finite, in [0, 100].
fn check_error(e: f64) -> Result<(), String> {
    if (0.0..=100.0).contains(&e) {
        Ok(())
    } else {
        // JSON's spelling (1.7e+308), not 309 digits.
        let shown = serde_json::Number::from_f64(e).map_or(e.to_string(), |n| n.to_string());
        Err(format!("{shown}: an error must be a number in [0, 100]"))
    }
}

fn last_u64(v: &Value) -> Option<u64> {
    v.as_array()?.last()?.as_u64()
}

fn model(name: String, config: Value, error: f64, curve: Vec<f64>, cx: [f64; 3]) -> ModelResult {
    let mut metrics = regnet_space::design_metrics(&config, false);
    for (k, v) in ["flops", "params", "acts"].iter().zip(cx) {
        metrics.insert(k.to_string(), v);
    }
    ModelResult {
        name,
        config,
        error,
        curve,
        seconds: None,
        metrics,
    }
}
