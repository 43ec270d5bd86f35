//! Turning a command-line model argument into a spec: a zoo name, a config
//! file, or a run directory (its complete `config.yaml` and `run.json`).

use crate::session::{read_record, RUN_CONFIG};
use crate::CliError;
use regnet_record::{RunRecord, RUN_RECORD};
use regnet_spec::{zoo, ModelSpec};
use std::path::{Path, PathBuf};

/// A model named on the command line, with the resolution it is counted at.
pub struct Resolved {
    /// Zoo name, or the config file's stem.
    pub name: String,
    pub spec: ModelSpec,
    pub im_size: u64,
    /// The whole config document, for configs read from a file.
    pub doc: Option<serde_yaml::Mapping>,
    /// The run that made this config, when it is a run's (a run directory,
    /// or a config file with a `run.json` beside it): its directory and record.
    pub run: Option<(PathBuf, RunRecord)>,
}

/// The weights in a run directory after training.
pub const RUN_WEIGHTS: &str = "model.safetensors";

impl Resolved {
    /// The weights to load: `given`, else the run's final weights.
    pub fn weights(&self, given: Option<&Path>) -> Result<PathBuf, CliError> {
        match (given, &self.run) {
            (Some(w), _) => Ok(w.to_path_buf()),
            (None, Some((dir, _))) => Ok(dir.join(RUN_WEIGHTS)),
            (None, None) => Err(CliError::new(format!(
                "--weights FILE is needed: '{}' is not a run directory",
                self.name
            ))),
        }
    }
}

/// Resolves `arg` (zoo name or alias, any case; a pycls YAML config path; or
/// a run directory) and applies `--im-size` / `--num-classes` overrides.
pub fn model(
    arg: &str,
    im_size: Option<u64>,
    num_classes: Option<u64>,
) -> Result<Resolved, CliError> {
    let mut resolved = if let Some(entry) = zoo::find(arg) {
        Resolved {
            name: entry.name.to_string(),
            spec: entry.spec(),
            im_size: entry.im_size,
            doc: None,
            run: None,
        }
    } else if Path::new(arg).is_dir() {
        let dir = Path::new(arg);
        if !dir.join(RUN_CONFIG).is_file() {
            return Err(CliError::new(format!(
                "'{arg}' is a directory without a run's {RUN_CONFIG} (give a run directory of `regnet train` or a sweep job)"
            )));
        }
        let mut r = from_file(&dir.join(RUN_CONFIG))?;
        r.name = dir
            .file_name()
            .map_or(arg.to_string(), |s| s.to_string_lossy().into_owned());
        r
    } else if looks_like_file(arg) {
        from_file(Path::new(arg))?
    } else {
        return Err(CliError::new(format!(
            "'{arg}' is neither a zoo model (see `regnet zoo`) nor a config file (.yaml, .yml or .json)"
        )));
    };
    if let Some(n) = num_classes {
        resolved.spec = resolved.spec.with_num_classes(n);
    }
    if let Some(s) = im_size {
        resolved.im_size = s;
    }
    Ok(resolved)
}

/// A config file, with the record of its run when `run.json` lies beside it.
fn from_file(path: &Path) -> Result<Resolved, CliError> {
    let cfg = regnet_config::load(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let run = match dir.join(RUN_RECORD).is_file() {
        true => Some((dir.to_path_buf(), read_record(dir)?)),
        false => None,
    };
    Ok(Resolved {
        name: path.file_stem().map_or(path.display().to_string(), |s| {
            s.to_string_lossy().into_owned()
        }),
        spec: cfg.model,
        im_size: cfg.im_size,
        doc: Some(cfg.doc),
        run,
    })
}

fn looks_like_file(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    Path::new(arg).exists()
        || [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
}
