//! From a sweep config to the list of jobs to train.
//!
//! Two forms are read. A pycls sweep config (`NAME`, `DESC`, `SETUP` with
//! `SAMPLERS`, `CONSTRAINTS`, `BASE_CFG`; `LAUNCH`, `COLLECT`, `ANALYZE` are
//! reported as not used), and a short form naming a built-in space:
//!
//! ```yaml
//! NAME: my-study
//! SPACE: anynetx-a        # see `regnet space list`
//! NUM_CONFIGS: 32
//! SEED: 0                 # sampling seed
//! FLOPS: 2M:6M            # bands, also PARAMS and ACTS
//! DATA: synthetic:2000
//! IM_SIZE: 224            # resolution for image folders (in-memory sets keep theirs)
//! OPTIM: {MAX_EPOCH: 6}   # recipe sections as in a pycls config
//! ```
//!
//! Both may say `DATA` (the dataset, as `regnet train --data`) and
//! `MAX_ATTEMPTS` (failures before a job is given up). Every job's stored
//! config is a complete pycls config: model, recipe and resolution.

use crate::datasource::DataSource;
use crate::CliError;
use regnet_config::section::{describe, display_key, Section};
use regnet_config::{LrUpdate, Recipe};
use regnet_space::space::Target;
use regnet_space::{sample, Band, Constraints, SampleOptions, Space};
use regnet_store::{NewJob, SweepInfo};
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

const SHORT_KEYS: &[&str] = &[
    "NAME",
    "DESC",
    "SPACE",
    "NUM_CONFIGS",
    "SEED",
    "FLOPS",
    "PARAMS",
    "ACTS",
    "OPTIM",
    "TRAIN",
    "TEST",
    "BN",
    "RNG_SEED",
    "IM_SIZE",
];

/// Recipe sections a short-form config passes to every job.
const RECIPE_KEYS: &[&str] = &["OPTIM", "TRAIN", "TEST", "BN", "RNG_SEED"];

/// pycls sweep sections with no effect here, and why.
const NOT_USED: &[(&str, &str)] = &[
    (
        "LAUNCH",
        "jobs run on this machine with `regnet sweep run --workers N`",
    ),
    (
        "COLLECT",
        "results are collected in the sweep store as jobs run",
    ),
    (
        "ANALYZE",
        "the analysis takes its options on its command line",
    ),
    (
        "ROOT_DIR",
        "the sweep lives in the directory given to `sweep init --dir`",
    ),
    ("NUM_PROC", "not needed"),
];

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

/// What the space, its options and the dataset resolve to.
struct Resolved {
    name: String,
    description: String,
    space: Space,
    /// Sections merged into every sampled config (short form).
    recipe_base: Json,
    num_configs: Option<usize>,
    seed: u64,
    max_tries: u64,
    constraints: Constraints,
    /// Model resolution (image folders are viewed at it): `IM_SIZE` or
    /// `BASE_CFG.TRAIN.IM_SIZE`, default 224.
    im_size: u64,
}

/// Reads the config text, samples its jobs and checks every job's recipe.
pub fn plan(text: &str, o: &Overrides) -> Result<Plan, CliError> {
    let mut doc: Mapping = match serde_yaml::from_str(text) {
        Ok(Value::Mapping(m)) => m,
        Ok(v) => {
            return Err(CliError(format!(
            "a sweep config must be a mapping (NAME, SETUP... or SPACE, NUM_CONFIGS...), got {}",
            describe(&v)
        )))
        }
        Err(e) => return Err(CliError(format!("malformed YAML: {e}"))),
    };
    let data_key = take_string(&mut doc, "DATA")?;
    let attempts_key = take_u64(&mut doc, "MAX_ATTEMPTS")?;
    let mut warnings = Vec::new();
    let r = if doc.contains_key("SPACE") {
        short_form(&doc)?
    } else {
        pycls_form(&mut doc, &mut warnings)?
    };
    let data = o.data.clone().or(data_key).ok_or_else(|| {
        CliError(
            "the sweep has no dataset: add `DATA: synthetic:2000` (or cifar10:DIR, cifar100:DIR) \
             to the config, or pass --data"
                .into(),
        )
    })?;
    let source = DataSource::parse(&data)?;
    let train_set = source.shape(r.im_size)?;
    let n = o.num_configs.or(r.num_configs).ok_or_else(|| {
        CliError("the sweep says no NUM_CONFIGS (SETUP.NUM_CONFIGS); pass -n N".into())
    })?;
    if n == 0 {
        return Err(CliError("the number of configs must be at least 1".into()));
    }
    let seed = o.seed.unwrap_or(r.seed);
    let opts = SampleOptions {
        n,
        seed,
        max_tries: r.max_tries,
        constraints: r.constraints.clone(),
        target: Target {
            im_size: Some(train_set.size as u64),
            num_classes: Some(train_set.num_classes as u64),
        },
    };
    let population = sample(&r.space, &opts)?;
    let mut jobs = Vec::with_capacity(n);
    for (i, m) in population.models.into_iter().enumerate() {
        let mut config = m.config;
        merge(&mut config, &r.recipe_base);
        if let Some(e) = o.epochs {
            config["OPTIM"]["MAX_EPOCH"] = json!(e);
        }
        let epochs = check_job(&config, &mut warnings)?;
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
        .or(attempts_key.map(|a| a as u32))
        .unwrap_or(DEFAULT_MAX_ATTEMPTS)
        .max(1);
    let info = SweepInfo {
        name: r.name,
        description: r.description,
        config_text: text.to_string(),
        settings: json!({
            "data": data,
            "space": r.space.name(),
            "num_configs": n,
            "seed": seed,
            "im_size": train_set.size,
            "num_classes": train_set.num_classes,
            "constraints": r.constraints,
            "lr_update": o.lr_update.name(),
            "warnings": warnings,
        }),
        max_attempts,
    };
    Ok(Plan {
        info,
        jobs,
        warnings,
        tries: population.tries,
    })
}

/// `SPACE: name` with bands and recipe sections.
fn short_form(doc: &Mapping) -> Result<Resolved, CliError> {
    let root = Section::root(doc, SHORT_KEYS)?;
    let name = root.string("SPACE", "")?;
    let space = Space::builtin(&name).ok_or_else(|| {
        CliError(format!(
            "SPACE: unknown design space '{name}' (built-in: {})",
            Space::BUILTIN.join(", ")
        ))
    })?;
    let mut constraints = space.default_constraints();
    for (key, slot) in [
        ("FLOPS", &mut constraints.flops),
        ("PARAMS", &mut constraints.params),
        ("ACTS", &mut constraints.acts),
    ] {
        if let Some(v) = root.value(key) {
            let text = match v {
                Value::String(s) => s.clone(),
                other => describe(other),
            };
            *slot = Band::parse(&text).map_err(|e| CliError(format!("{key}: {e}")))?;
        }
    }
    let mut base = Mapping::new();
    for key in RECIPE_KEYS {
        if let Some(v) = doc.get(*key) {
            base.insert(Value::from(*key), v.clone());
        }
    }
    let num = root.u64("NUM_CONFIGS", 0)?;
    Ok(Resolved {
        name: root.string("NAME", space.name())?,
        description: root.string("DESC", "")?,
        recipe_base: serde_json::to_value(&base)?,
        num_configs: (num > 0).then_some(num as usize),
        seed: root.u64("SEED", 0)?,
        max_tries: 1_000_000,
        constraints,
        im_size: root.u64("IM_SIZE", 224)?,
        space,
    })
}

/// A pycls sweep config; its sections that have no effect here are reported.
fn pycls_form(doc: &mut Mapping, warnings: &mut Vec<String>) -> Result<Resolved, CliError> {
    for (key, why) in NOT_USED {
        if doc.contains_key(*key) {
            warnings.push(format!("{key} is not used: {why}"));
        }
    }
    let sweep = regnet_space::sweep::SweepSpace::parse_doc(doc)?;
    Ok(Resolved {
        name: sweep.name.clone(),
        description: sweep.description.clone(),
        recipe_base: Json::Null,
        num_configs: sweep.num_configs,
        seed: sweep.seed,
        max_tries: sweep.num_samples,
        constraints: sweep.constraints.clone(),
        im_size: sweep
            .base
            .get("TRAIN")
            .and_then(|t| t.get("IM_SIZE"))
            .and_then(Value::as_u64)
            .unwrap_or(224),
        space: Space::Sweep(sweep),
    })
}

/// Reads a job's config as a model and a recipe (so a bad one fails at
/// `init`, not hours later); returns its epochs.
fn check_job(config: &Json, warnings: &mut Vec<String>) -> Result<u32, CliError> {
    let value: Value = serde_yaml::to_value(config)?;
    let cfg = regnet_config::from_value(&value)?;
    let (recipe, mut w) = Recipe::from_doc(&cfg.doc)?;
    w.extend(not_used(&cfg.doc));
    for w in w {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok(recipe.epochs as u32)
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

/// Adds `over`'s keys to `base`, recursing into objects.
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

fn take_string(doc: &mut Mapping, key: &str) -> Result<Option<String>, CliError> {
    match doc.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(CliError(format!(
            "{}: expected a string such as synthetic:2000, got {}",
            display_key(&Value::from(key)),
            describe(&v)
        ))),
    }
}

fn take_u64(doc: &mut Mapping, key: &str) -> Result<Option<u64>, CliError> {
    match doc.remove(key) {
        None => Ok(None),
        Some(v) => v.as_u64().filter(|&n| n > 0).map(Some).ok_or_else(|| {
            CliError(format!(
                "{key}: expected a whole number of at least 1, got {}",
                describe(&v)
            ))
        }),
    }
}
