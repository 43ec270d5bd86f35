//! Sweep configs, both forms, read in one place.
//!
//! A pycls sweep config (`NAME`, `DESC`, `SETUP` with `SAMPLERS`,
//! `CONSTRAINTS`, `BASE_CFG`; `LAUNCH`, `COLLECT`, `ANALYZE` are reported as
//! not used), or a short form naming a built-in space:
//!
//! ```yaml
//! NAME: my-study
//! SPACE: anynetx-a        # see `regnet space list`
//! NUM_CONFIGS: 32
//! SEED: 0                 # sampling seed
//! FLOPS: 2M:6M            # bands, also PARAMS and ACTS
//! DATA: synthetic:2000
//! IM_SIZE: 224            # resolution models are counted (and folders viewed) at
//! NUM_CLASSES: 10         # classes models are counted with (default 1000)
//! STEM_TYPE: simple_stem_in   # the stem of every model (with STEM_W, default 32)
//! NUM_STAGES: 4           # stride-2 stages (default: the paper's 4)
//! OPTIM: {MAX_EPOCH: 6}   # recipe sections as in a pycls config
//! ```
//!
//! Both may say `DATA` (the dataset, as `regnet train --data`),
//! `MAX_ATTEMPTS` (failures before a job is given up) and `TRAINER` (a
//! training command of the user's own instead of the built-in engine):
//!
//! ```yaml
//! TRAINER:
//!   COMMAND: [python, train.py, --cfg, "{config}", --out, "{out_dir}"]
//!   FORMAT: jsonl           # or pycls (its json_stats lines)
//!   FILE: metrics.jsonl     # jsonl only: records in this file, not stdout
//! ```

use crate::{Result, SweepError};
use regnet_config::section::{describe, display_key, Section};
use regnet_space::space::StemChoice;
use regnet_space::sweep::SweepSpace;
use regnet_space::{Band, Constraints, Space};
use regnet_store::{TrainerCommand, TrainerFormat};
use serde_json::Value as Json;
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// Keys of the short form.
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
    "NUM_CLASSES",
    "STEM_TYPE",
    "STEM_W",
    "NUM_STAGES",
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

/// A sweep config, read.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    pub name: String,
    pub description: String,
    pub space: Space,
    /// Complexity bands (and RegNet stage counts) samples must meet.
    pub constraints: Constraints,
    /// `NUM_CONFIGS` / `SETUP.NUM_CONFIGS`, when set.
    pub num_configs: Option<usize>,
    /// Sampling seed: `SEED` / `SETUP.RNG_SEED`, default 0.
    pub seed: u64,
    /// Candidates to draw at most (`SETUP.NUM_SAMPLES`, default 1,000,000).
    pub max_tries: u64,
    /// Recipe sections merged into every sampled config (short form; null
    /// for the pycls form, whose `BASE_CFG` carries them).
    pub recipe_base: Json,
    /// Resolution models are counted at: `IM_SIZE` or
    /// `BASE_CFG.TRAIN.IM_SIZE`, default 224.
    pub im_size: u64,
    /// Classes models are counted with: `NUM_CLASSES` or
    /// `BASE_CFG.MODEL.NUM_CLASSES`, when set (a sweep trains with its
    /// dataset's classes, and says so when they differ).
    pub num_classes: Option<u64>,
    /// `DATA`: the dataset, as `regnet train --data` takes it.
    pub data: Option<String>,
    /// `MAX_ATTEMPTS`: failures before a job is given up.
    pub max_attempts: Option<u32>,
    /// `TRAINER`: the user's own training command, if any.
    pub trainer: Option<TrainerCommand>,
    /// Sections read but not used here, each said once.
    pub warnings: Vec<String>,
    /// The file's text, kept with the sweep.
    pub text: String,
}

impl SweepConfig {
    /// Reads a sweep config file; errors are prefixed with the file name.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            SweepError::new(format!(
                "cannot read sweep config '{}': {e}",
                path.display()
            ))
        })?;
        Self::parse(&text)
            .map_err(|e| SweepError::new(format!("{}: {}", path.display(), e.message)))
    }

    /// Parses sweep config YAML of either form.
    pub fn parse(text: &str) -> Result<Self> {
        let mut doc: Mapping = match regnet_config::yaml::from_str(text) {
            Ok(Value::Mapping(m)) => m,
            Ok(v) => {
                return Err(SweepError::new(format!(
                    "a sweep config must be a mapping (NAME, SETUP... or SPACE, NUM_CONFIGS...), got {}",
                    describe(&v)
                )))
            }
            Err(e) => return Err(SweepError::new(format!("malformed YAML: {e}"))),
        };
        let data = take_string(&mut doc, "DATA")?;
        let max_attempts =
            take_u64(&mut doc, "MAX_ATTEMPTS")?.map(|a| a.min(u32::MAX as u64) as u32);
        let trainer = doc.remove("TRAINER").map(|v| trainer(&v)).transpose()?;
        let mut cfg = if doc.contains_key("SPACE") {
            short_form(&doc)?
        } else {
            pycls_form(&doc)?
        };
        cfg.data = data;
        cfg.max_attempts = max_attempts;
        cfg.trainer = trainer;
        cfg.text = text.to_string();
        Ok(cfg)
    }
}

/// A design space named on the command line: a built-in space's name, or a
/// sweep config file of either form (returned too, for its options).
pub fn open_space(arg: &str) -> Result<(Space, Option<SweepConfig>)> {
    if let Some(s) = Space::builtin(arg) {
        return Ok((s, None));
    }
    let lower = arg.to_ascii_lowercase();
    let path = Path::new(arg);
    if path.exists() || lower.ends_with(".yaml") || lower.ends_with(".yml") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SweepError::new(format!("cannot read sweep config '{arg}': {e}")))?;
        if let Ok(Value::Mapping(doc)) = regnet_config::yaml::from_str::<Value>(&text) {
            if crate::derived::is_derived(&doc) {
                return crate::derived::read(path, &text);
            }
        }
        let cfg = SweepConfig::parse(&text)
            .map_err(|e| SweepError::new(format!("{arg}: {}", e.message)))?;
        return Ok((cfg.space.clone(), Some(cfg)));
    }
    Err(SweepError::new(format!(
        "unknown design space '{arg}' (built-in: {}; or a sweep config or derived-space .yaml)",
        Space::BUILTIN.join(", ")
    )))
}

/// `SPACE: name` with bands and recipe sections.
fn short_form(doc: &Mapping) -> Result<SweepConfig> {
    let root = Section::root(doc, SHORT_KEYS)?;
    let name = root.string("SPACE", "")?;
    let stem = StemChoice {
        kind: root
            .string("STEM_TYPE", StemChoice::default().kind.name())?
            .parse()
            .map_err(|e: String| SweepError::new(format!("STEM_TYPE: {e}")))?,
        width: root.u64("STEM_W", StemChoice::default().width)?,
    };
    if stem.width == 0 {
        return Err(SweepError::new("STEM_W must be at least 1".into()));
    }
    let space = match Space::builtin(&name) {
        Some(s) => s,
        // A derived-space file (relative to the working directory).
        None if Path::new(&name).is_file() => open_space(&name)?.0,
        None => {
            return Err(SweepError::new(format!(
                "SPACE: unknown design space '{name}' (built-in: {}; or a derived-space file)",
                Space::BUILTIN.join(", ")
            )))
        }
    }
    .with_stem(stem)?;
    let (space, mut constraints) = match root.value("NUM_STAGES") {
        None => {
            let c = space.default_constraints();
            (space, c)
        }
        Some(_) => space.with_stages(root.u64("NUM_STAGES", 4)? as usize)?,
    };
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
            *slot = Band::parse(&text).map_err(|e| SweepError::new(format!("{key}: {e}")))?;
        }
    }
    let mut base = Mapping::new();
    for key in RECIPE_KEYS {
        if let Some(v) = doc.get(*key) {
            base.insert(Value::from(*key), v.clone());
        }
    }
    let num = root.u64("NUM_CONFIGS", 0)?;
    Ok(SweepConfig {
        name: root.string("NAME", space.name())?,
        description: root.string("DESC", "")?,
        recipe_base: serde_json::to_value(&base).map_err(|e| SweepError::new(e.to_string()))?,
        num_configs: (num > 0).then_some(num as usize),
        seed: root.u64("SEED", 0)?,
        max_tries: 1_000_000,
        constraints,
        im_size: root.u64("IM_SIZE", regnet_config::DEFAULT_IM_SIZE)?,
        num_classes: num_classes(&root)?,
        space,
        data: None,
        max_attempts: None,
        trainer: None,
        warnings: Vec::new(),
        text: String::new(),
    })
}

/// A pycls sweep config; its sections that have no effect here are reported.
fn pycls_form(doc: &Mapping) -> Result<SweepConfig> {
    let warnings = NOT_USED
        .iter()
        .filter(|(key, _)| doc.contains_key(*key))
        .map(|(key, why)| format!("{key} is not used: {why}"))
        .collect();
    let sweep = SweepSpace::parse_doc(doc)?;
    let base_value = |section: &str, key: &str| {
        sweep
            .base
            .get(section)
            .and_then(|t| t.get(key))
            .and_then(Value::as_u64)
    };
    Ok(SweepConfig {
        name: sweep.name.clone(),
        description: sweep.description.clone(),
        recipe_base: Json::Null,
        num_configs: sweep.num_configs,
        seed: sweep.seed,
        max_tries: sweep.num_samples,
        constraints: sweep.constraints.clone(),
        im_size: base_value("TRAIN", "IM_SIZE").unwrap_or(regnet_config::DEFAULT_IM_SIZE),
        num_classes: base_value("MODEL", "NUM_CLASSES"),
        space: Space::Sweep(sweep),
        data: None,
        max_attempts: None,
        trainer: None,
        warnings,
        text: String::new(),
    })
}

/// The short form's `NUM_CLASSES`, at least 1 when given.
fn num_classes(root: &Section) -> Result<Option<u64>> {
    match root.value("NUM_CLASSES") {
        None => Ok(None),
        Some(_) => match root.u64("NUM_CLASSES", 0)? {
            0 => Err(SweepError::new("NUM_CLASSES must be at least 1".into())),
            n => Ok(Some(n)),
        },
    }
}

fn take_string(doc: &mut Mapping, key: &str) -> Result<Option<String>> {
    match doc.remove(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(SweepError::new(format!(
            "{}: expected a string such as synthetic:2000, got {}",
            display_key(&Value::from(key)),
            describe(&v)
        ))),
    }
}

fn take_u64(doc: &mut Mapping, key: &str) -> Result<Option<u64>> {
    match doc.remove(key) {
        None => Ok(None),
        Some(v) => v.as_u64().filter(|&n| n > 0).map(Some).ok_or_else(|| {
            SweepError::new(format!(
                "{key}: expected a whole number of at least 1, got {}",
                describe(&v)
            ))
        }),
    }
}

/// `TRAINER: {COMMAND: [...] or "a shell-quoted line", FORMAT: jsonl|pycls}`.
fn trainer(v: &Value) -> Result<TrainerCommand> {
    let Value::Mapping(m) = v else {
        return Err(SweepError::new(format!(
            "TRAINER: expected a mapping with COMMAND and FORMAT, got {}",
            describe(v)
        )));
    };
    let t = Section::root(m, &["COMMAND", "FORMAT", "FILE"])
        .map_err(|e| SweepError::new(format!("TRAINER: {}", e.0)))?;
    let command = match t.value("COMMAND") {
        Some(Value::Sequence(args)) => args
            .iter()
            .map(|a| match a {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(SweepError::new(format!(
                    "TRAINER.COMMAND: expected strings, got {}",
                    describe(other)
                ))),
            })
            .collect::<Result<Vec<_>>>()?,
        Some(Value::String(line)) => split_command(line)?,
        Some(other) => {
            return Err(SweepError::new(format!(
                "TRAINER.COMMAND: expected a list of arguments or a command line, got {}",
                describe(other)
            )))
        }
        None => return Err(SweepError::new("TRAINER: COMMAND is missing".into())),
    };
    let format = t
        .string("FORMAT", TrainerFormat::Jsonl.name())
        .map_err(|e| SweepError::new(format!("TRAINER: {}", e.0)))?
        .parse::<TrainerFormat>()
        .map_err(|e| SweepError::new(format!("TRAINER.FORMAT: {e}")))?;
    let file = match t.value("FILE") {
        None => None,
        Some(_) => Some(
            t.string("FILE", "")
                .map_err(|e| SweepError::new(format!("TRAINER: {}", e.0)))?,
        ),
    };
    let cmd = TrainerCommand {
        command,
        format,
        file,
    };
    cmd.validate().map_err(SweepError::new)?;
    Ok(cmd)
}

/// A command line split as a POSIX shell would (quotes, escapes), without
/// running a shell.
pub fn split_command(line: &str) -> Result<Vec<String>> {
    shlex::split(line).ok_or_else(|| {
        SweepError::new(format!(
            "TRAINER.COMMAND: cannot split '{line}' into arguments (an unclosed quote?)"
        ))
    })
}
