//! Turning a command-line model argument into a spec: a zoo name or a config file.

use crate::CliError;
use regnet_spec::{zoo, ModelSpec};
use std::path::Path;

/// A model named on the command line, with the resolution it is counted at.
pub struct Resolved {
    /// Zoo name, or the config file's stem.
    pub name: String,
    pub spec: ModelSpec,
    pub im_size: u64,
    /// The whole config document, for configs read from a file.
    pub doc: Option<serde_yaml::Mapping>,
}

/// Resolves `arg` (zoo name or alias, any case; or a pycls YAML config path)
/// and applies `--im-size` / `--num-classes` overrides.
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
        }
    } else if looks_like_file(arg) {
        let path = Path::new(arg);
        let cfg = regnet_config::load(path)?;
        Resolved {
            name: path
                .file_stem()
                .map_or(arg.to_string(), |s| s.to_string_lossy().into_owned()),
            spec: cfg.model,
            im_size: cfg.im_size,
            doc: Some(cfg.doc),
        }
    } else {
        return Err(CliError(format!(
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

fn looks_like_file(arg: &str) -> bool {
    let lower = arg.to_ascii_lowercase();
    Path::new(arg).exists()
        || [".yaml", ".yml", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
}
