//! Loading weights saved by us, by pycls or by torchvision.
//!
//! torchvision's RegNet, ResNe(X)t and EfficientNet have the architectures
//! of the specs they alias, with other module names. Every spec layer
//! carries its names in both libraries ([`regnet_spec::names`]), so a state
//! dict is translated through the network's own module table rather than by
//! parsing keys. [`load_weights`] detects the naming of a weights file
//! (safetensors or a `torch.save` zip) and loads it, refusing any missing,
//! extra or mis-shaped tensor with a message that lists them.

use crate::model::BuiltModel;
pub use regnet_spec::Naming;
use regnet_spec::Network;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tch::Tensor;

/// Weights that do not fit a model, or a file that cannot be read; one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// Guesses the naming of a state dict from its keys.
pub fn detect_naming<'a>(mut keys: impl Iterator<Item = &'a str>) -> Naming {
    keys.find_map(|k| {
        if k.starts_with("trunk_output.") {
            Some(Naming::TorchvisionRegNet)
        } else if k.starts_with("features.") {
            Some(Naming::TorchvisionEfficientNet)
        } else if k.starts_with("layer1.") {
            Some(Naming::TorchvisionResNet)
        } else {
            None
        }
    })
    .unwrap_or(Naming::Pycls)
}

/// Our key for each key of a state dict in `naming`, for the network `net`:
/// `None` for tensors with no counterpart (`num_batches_tracked`), the key
/// itself for a module the network does not have (so the loader reports it
/// as unexpected). An error when `naming` cannot express `net` at all.
pub fn translate(
    net: &Network,
    naming: Naming,
    keys: &[&str],
) -> Result<Vec<Option<String>>, ImportError> {
    let modules: HashMap<String, String> = net
        .module_names(naming)
        .map_err(ImportError)?
        .into_iter()
        .map(|(ours, theirs)| (theirs, ours))
        .collect();
    let ours = |key: &str| -> Option<String> {
        let key = match naming {
            Naming::Pycls => key.strip_prefix("module.").unwrap_or(key),
            _ => key,
        };
        if key.ends_with("num_batches_tracked") {
            return None;
        }
        let mapped = key
            .rsplit_once('.')
            .and_then(|(module, tensor)| Some(format!("{}.{tensor}", modules.get(module)?)));
        Some(mapped.unwrap_or_else(|| key.to_string()))
    };
    Ok(keys.iter().map(|k| ours(k)).collect())
}

pub use crate::pth::read_weights;

/// Loads a state dict (safetensors or torch.save) into `model`, all tensors
/// or nothing.
pub fn load_weights(model: &mut BuiltModel, path: &Path) -> Result<Naming, ImportError> {
    let named = read_weights(path)?;
    let keys: Vec<&str> = named.iter().map(|(k, _)| k.as_str()).collect();
    let naming = detect_naming(keys.iter().copied());
    let translated = translate(model.network(), naming, &keys).map_err(|e| {
        ImportError(format!(
            "weights '{}' use {naming:?} names: {e}",
            path.display()
        ))
    })?;
    let mapped: BTreeMap<String, &Tensor> = translated
        .into_iter()
        .zip(&named)
        .filter_map(|(m, (_, t))| m.map(|m| (m, t)))
        .collect();
    let vars = model.vs.variables();
    let missing: Vec<&String> = vars.keys().filter(|k| !mapped.contains_key(*k)).collect();
    let extra: Vec<&String> = mapped.keys().filter(|k| !vars.contains_key(*k)).collect();
    let shapes: Vec<String> = mapped
        .iter()
        .filter_map(|(k, t)| {
            let v = vars.get(k)?;
            (v.size() != t.size()).then(|| format!("{k} {:?} vs model {:?}", t.size(), v.size()))
        })
        .collect();
    if !missing.is_empty() || !extra.is_empty() || !shapes.is_empty() {
        return Err(ImportError(format!(
            "weights '{}' ({naming:?} names) do not fit the model: missing {}; unexpected {}; mis-shaped {}",
            path.display(),
            listing(&missing),
            listing(&extra),
            listing(&shapes)
        )));
    }
    tch::no_grad(|| {
        for (k, t) in &mapped {
            vars[k].shallow_clone().copy_(t);
        }
    });
    Ok(naming)
}

fn listing<T: std::fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = items.iter().take(8).map(|i| i.to_string()).collect();
    let more = items.len().saturating_sub(8);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("{} ({}{tail})", items.len(), shown.join(", "))
}
