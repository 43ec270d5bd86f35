//! From a sweep config to the list of jobs to train: the config's space is
//! sampled at the dataset's resolution and classes, each sample merged with
//! the recipe, and every job's config read back as a model and a recipe (so
//! a bad one fails at `sweep init`, not hours later). Every stored job config
//! is a complete pycls config: model, recipe and resolution.

use crate::config::SweepConfig;
use crate::{Result, SweepError};
use regnet_config::{LrUpdate, Recipe};
use regnet_space::space::Target;
use regnet_space::{sample, SampleOptions};
use regnet_store::{NewJob, SweepInfo, SweepSettings, TrainerCommand};
use serde_json::{json, Value as Json};
use serde_yaml::{Mapping, Value};

/// Failures before a job is given up, unless the config says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Command-line values that replace the config's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub data: Option<String>,
    pub num_configs: Option<usize>,
    pub epochs: Option<usize>,
    pub seed: Option<u64>,
    pub max_attempts: Option<u32>,
    pub lr_update: LrUpdate,
    /// A training command of the user's own (replaces the config's TRAINER).
    pub trainer: Option<TrainerCommand>,
}

/// A sweep ready to be stored.
pub struct Plan {
    pub info: SweepInfo,
    pub jobs: Vec<NewJob>,
    /// Options read but not applied, each said once.
    pub warnings: Vec<String>,
    /// Candidates drawn to find the jobs.
    pub tries: u64,
}

/// Options of a job's pycls config that a sweep here does not use, and why.
const JOB_OPTIONS_NOT_USED: &[(&str, &str, &str)] = &[
    (
        "NUM_GPUS",
        "",
        "`sweep run --workers/--device` place the jobs",
    ),
    (
        "DATA_LOADER",
        "",
        "batches are prepared on a prefetching thread",
    ),
    ("LOG_PERIOD", "", "every epoch is recorded in the store"),
    ("OUT_DIR", "", "each job's files live in DIR/jobs/<job>"),
    ("TRAIN", "DATASET", "the data comes from the sweep's DATA"),
    ("TEST", "DATASET", "the data comes from the sweep's DATA"),
    ("TRAIN", "SPLIT", "the dataset's own train split is used"),
    ("TEST", "SPLIT", "the dataset's own test split is used"),
];

/// What the dataset a sweep trains on gives its models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataShape {
    pub num_classes: u64,
    /// Square input side.
    pub size: u64,
}

impl SweepConfig {
    /// The dataset: `--data`, else the config's `DATA`.
    pub fn data(&self, o: &Overrides) -> Result<String> {
        o.data.clone().or(self.data.clone()).ok_or_else(|| {
            SweepError::new(
                "the sweep has no dataset: add `DATA: fashion-mnist` (or synthetic:2000, cifar10:DIR...) \
                 to the config, or pass --data"
                    .into(),
            )
        })
    }
}

/// Samples the config's jobs for a dataset `data` of shape `shape` and
/// checks every job's recipe.
pub fn plan(r: &SweepConfig, o: &Overrides, data: String, shape: DataShape) -> Result<Plan> {
    let mut warnings = r.warnings.clone();
    let n = o.num_configs.or(r.num_configs).ok_or_else(|| {
        SweepError::new("the sweep says no NUM_CONFIGS (SETUP.NUM_CONFIGS); pass -n N".into())
    })?;
    if n == 0 {
        return Err(SweepError::new(
            "the number of configs must be at least 1".into(),
        ));
    }
    if let Some(stated) = r.num_classes.filter(|&c| c != shape.num_classes) {
        warnings.push(format!(
            "the config counts models with {stated} classes; the dataset has {}, so the jobs \
             are sampled and trained with {}",
            shape.num_classes, shape.num_classes
        ));
    }
    let seed = o.seed.unwrap_or(r.seed);
    let trainer = o.trainer.clone().or(r.trainer.clone());
    let opts = SampleOptions {
        n,
        seed,
        max_tries: r.max_tries,
        max_time: regnet_space::MAX_TIME,
        constraints: r.constraints.clone(),
        target: Target {
            im_size: Some(shape.size),
            num_classes: Some(shape.num_classes),
        },
    };
    let population = sample(&r.space, &opts)?;
    let mut jobs = Vec::with_capacity(population.models.len());
    for (i, m) in population.models.into_iter().enumerate() {
        let mut config = m.config;
        merge(&mut config, &r.recipe_base);
        if let Some(e) = o.epochs {
            config["OPTIM"]["MAX_EPOCH"] = json!(e);
        }
        let (config, epochs) = check_job(&config, o.lr_update, trainer.is_some(), &mut warnings)?;
        jobs.push(NewJob {
            name: format!("job-{i:04}"),
            config,
            flops: m.flops,
            params: m.params,
            acts: m.acts,
            epochs,
        });
    }
    let max_attempts = o
        .max_attempts
        .or(r.max_attempts)
        .unwrap_or(DEFAULT_MAX_ATTEMPTS)
        .max(1);
    let info = SweepInfo {
        name: r.name.clone(),
        description: r.description.clone(),
        config_text: r.text.clone(),
        settings: SweepSettings {
            data,
            space: r.space.name().to_string(),
            num_configs: n,
            seed,
            im_size: shape.size,
            num_classes: shape.num_classes,
            constraints: serde_json::to_value(&r.constraints).unwrap_or_default(),
            lr_update: o.lr_update.name().to_string(),
            warnings: warnings.clone(),
            work_dir: None,
            trainer,
        },
        max_attempts,
    };
    Ok(Plan {
        info,
        jobs,
        warnings,
        tries: population.tries,
    })
}

/// Reads a job's config as a model and a recipe (so a bad one fails at
/// `init`, not hours later); returns the job's complete config (every
/// recipe key written out, as a run records it) and its epochs. For a
/// trainer of the user's own (`external`), the keys this toolkit does not
/// use (TRAIN.DATASET, NUM_GPUS...) stay in the config: that trainer may.
fn check_job(
    config: &Json,
    lr_update: LrUpdate,
    external: bool,
    warnings: &mut Vec<String>,
) -> Result<(Json, u32)> {
    let value: Value =
        serde_yaml::to_value(config).map_err(|e| SweepError::new(format!("a job config: {e}")))?;
    let cfg = regnet_config::from_value(&value)?;
    let (mut recipe, mut w) = Recipe::from_doc(&cfg.doc)?;
    recipe.lr_update = lr_update;
    let complete = regnet_config::complete(&cfg.model, cfg.im_size, &recipe);
    let mut complete = serde_json::to_value(&complete)
        .map_err(|e| SweepError::new(format!("a job config: {e}")))?;
    if external {
        let mut kept = config.clone();
        merge(&mut kept, &complete);
        complete = kept;
    } else {
        w.extend(not_used(&cfg.doc));
    }
    for w in w {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok((complete, recipe.epochs as u32))
}

/// Warnings for the options of `JOB_OPTIONS_NOT_USED` that a config sets.
fn not_used(doc: &Mapping) -> Vec<String> {
    JOB_OPTIONS_NOT_USED
        .iter()
        .filter(
            |(section, key, _)| match (doc.get(*section), key.is_empty()) {
                (Some(_), true) => true,
                (Some(Value::Mapping(m)), false) => m.contains_key(*key),
                _ => false,
            },
        )
        .map(|(section, key, why)| {
            let name = if key.is_empty() {
                section.to_string()
            } else {
                format!("{section}.{key}")
            };
            format!("{name} is not used: {why}")
        })
        .collect()
}

/// Sets `over`'s keys in `base` (`over` wins), recursing into objects.
fn merge(base: &mut Json, over: &Json) {
    let (Json::Object(b), Json::Object(o)) = (base, over) else {
        return;
    };
    for (k, v) in o {
        match b.get_mut(k) {
            Some(slot @ Json::Object(_)) if v.is_object() => merge(slot, v),
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}
