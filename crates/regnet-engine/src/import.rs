//! Loading weights saved by us, by pycls or by torchvision.
//!
//! torchvision's RegNet and ResNe(X)t have the same architecture as the zoo
//! models they alias, with different module names; the key functions below
//! translate one key, returning `None` for keys with no counterpart
//! (`num_batches_tracked`). [`load_weights`] detects the naming of a
//! weights file (safetensors or a `torch.save` zip) and loads it, refusing any missing, extra or mis-shaped
//! tensor with a message that lists them.

use crate::model::BuiltModel;
use std::collections::BTreeMap;
use std::path::Path;
use tch::Tensor;

/// Weights that do not fit a model, or a file that cannot be read; one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ImportError(pub String);

/// Which library's names a state dict uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// pycls's module names, which this toolkit uses too.
    Pycls,
    TorchvisionRegNet,
    TorchvisionResNet,
    TorchvisionEfficientNet,
}

impl Naming {
    /// Guesses the naming from the keys.
    pub fn detect<'a>(mut keys: impl Iterator<Item = &'a str>) -> Naming {
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

    /// Our keys for all keys of a state dict in this naming (`None`: no
    /// counterpart). The whole dict is needed for EfficientNet, whose block
    /// layout depends on whether the block has an expansion conv.
    pub fn map_all(self, keys: &[&str]) -> Vec<Option<String>> {
        let expanded: std::collections::HashSet<&str> = keys
            .iter()
            .filter_map(|k| k.split_once(".block.3.").map(|(block, _)| block))
            .collect();
        keys.iter()
            .map(|key| match self {
                Naming::Pycls => {
                    let k = key.strip_prefix("module.").unwrap_or(key);
                    (!k.ends_with("num_batches_tracked")).then(|| k.to_string())
                }
                Naming::TorchvisionRegNet => torchvision_regnet_key(key),
                Naming::TorchvisionResNet => torchvision_resnet_key(key),
                Naming::TorchvisionEfficientNet => {
                    let block = key.split_once(".block.").map_or("", |(b, _)| b);
                    torchvision_effnet_key(key, expanded.contains(block))
                }
            })
            .collect()
    }
}

/// The named tensors of a weights file: safetensors, or a `torch.save` zip
/// (`.pth`, `.pt`, pycls `.pyth` checkpoints), told apart by content.
pub fn read_weights(path: &Path) -> Result<Vec<(String, Tensor)>, ImportError> {
    let mut magic = [0u8; 4];
    let is_zip = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && magic == *b"PK\x03\x04";
    if is_zip {
        return crate::pth::read_state_dict(path);
    }
    Tensor::read_safetensors(path)
        .map_err(|e| ImportError(format!("cannot read weights '{}': {e}", path.display())))
}

/// Loads a state dict (safetensors or torch.save) into `model`, all tensors
/// or nothing.
pub fn load_weights(model: &mut BuiltModel, path: &Path) -> Result<Naming, ImportError> {
    let named = read_weights(path)?;
    let keys: Vec<&str> = named.iter().map(|(k, _)| k.as_str()).collect();
    let naming = Naming::detect(keys.iter().copied());
    let mapped: BTreeMap<String, &Tensor> = naming
        .map_all(&keys)
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

/// torchvision `RegNet` key → pycls key, e.g.
/// `trunk_output.block2.block2-0.f.se.fc1.weight` → `s2.b1.f.se.f_ex.0.weight`.
pub fn torchvision_regnet_key(key: &str) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    let (module, tensor) = key.rsplit_once('.')?;
    let parts: Vec<&str> = module.split('.').collect();
    let ours = match parts.as_slice() {
        ["stem", "0"] => "stem.conv".to_string(),
        ["stem", "1"] => "stem.bn".to_string(),
        ["fc"] => "head.fc".to_string(),
        ["trunk_output", stage, block, rest @ ..] => {
            let s = stage.strip_prefix("block")?;
            let b: u32 = block.rsplit_once('-')?.1.parse().ok()?;
            format!("s{s}.b{}.{}", b + 1, regnet_block_part(rest)?)
        }
        _ => return None,
    };
    Some(format!("{ours}.{tensor}"))
}

fn regnet_block_part(rest: &[&str]) -> Option<String> {
    Some(
        match rest {
            ["proj", "0"] => "proj",
            ["proj", "1"] => "bn",
            ["f", "se", "fc1"] => "f.se.f_ex.0",
            ["f", "se", "fc2"] => "f.se.f_ex.2",
            ["f", conv @ ("a" | "b" | "c"), "0"] => return Some(format!("f.{conv}")),
            ["f", conv @ ("a" | "b" | "c"), "1"] => return Some(format!("f.{conv}_bn")),
            _ => return None,
        }
        .to_string(),
    )
}

/// torchvision `EfficientNet` key → pycls key, e.g.
/// `features.2.1.block.0.1.weight` → `s2.b2.exp_bn.weight`; `expanded` says
/// whether that block has an expansion conv (`block.3` exists), which shifts
/// the indices of the depthwise conv, SE and projection.
pub fn torchvision_effnet_key(key: &str, expanded: bool) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    let (module, tensor) = key.rsplit_once('.')?;
    let parts: Vec<&str> = module.split('.').collect();
    let ours = match parts.as_slice() {
        ["features", "0", "0"] => "stem.conv".to_string(),
        ["features", "0", "1"] => "stem.bn".to_string(),
        ["classifier", "1"] => "head.fc".to_string(),
        // The head conv follows the 7 stages of every EfficientNet B0-B7.
        ["features", "8", "0"] => "head.conv".to_string(),
        ["features", "8", "1"] => "head.conv_bn".to_string(),
        ["features", s, b, "block", i, rest @ ..] => {
            let b: u32 = b.parse().ok()?;
            let i: u32 = i.parse().ok()?;
            let layer = if expanded { i } else { i + 1 };
            let part = match (layer, rest) {
                (0, ["0"]) => "exp",
                (0, ["1"]) => "exp_bn",
                (1, ["0"]) => "dwise",
                (1, ["1"]) => "dwise_bn",
                (2, ["fc1"]) => "se.f_ex.0",
                (2, ["fc2"]) => "se.f_ex.2",
                (3, ["0"]) => "lin_proj",
                (3, ["1"]) => "lin_proj_bn",
                _ => return None,
            };
            format!("s{s}.b{}.{part}", b + 1)
        }
        _ => return None,
    };
    Some(format!("{ours}.{tensor}"))
}

/// torchvision `ResNet` key → pycls key, e.g. `layer3.0.downsample.1.weight`
/// → `s3.b1.bn.weight`, `layer1.2.conv2.weight` → `s1.b3.f.b.weight`.
pub fn torchvision_resnet_key(key: &str) -> Option<String> {
    if key.ends_with("num_batches_tracked") {
        return None;
    }
    let (module, tensor) = key.rsplit_once('.')?;
    let parts: Vec<&str> = module.split('.').collect();
    let ours = match parts.as_slice() {
        ["conv1"] => "stem.conv".to_string(),
        ["bn1"] => "stem.bn".to_string(),
        ["fc"] => "head.fc".to_string(),
        [layer, block, rest @ ..] => {
            let s = layer.strip_prefix("layer")?;
            let b: u32 = block.parse().ok()?;
            let part = match rest {
                ["conv1"] => "f.a",
                ["bn1"] => "f.a_bn",
                ["conv2"] => "f.b",
                ["bn2"] => "f.b_bn",
                ["conv3"] => "f.c",
                ["bn3"] => "f.c_bn",
                ["downsample", "0"] => "proj",
                ["downsample", "1"] => "bn",
                _ => return None,
            };
            format!("s{s}.b{}.{part}", b + 1)
        }
        _ => return None,
    };
    Some(format!("{ours}.{tensor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regnet_keys() {
        let k = |s| torchvision_regnet_key(s);
        assert_eq!(k("stem.0.weight").as_deref(), Some("stem.conv.weight"));
        assert_eq!(
            k("stem.1.running_var").as_deref(),
            Some("stem.bn.running_var")
        );
        assert_eq!(
            k("trunk_output.block1.block1-0.proj.0.weight").as_deref(),
            Some("s1.b1.proj.weight")
        );
        assert_eq!(
            k("trunk_output.block4.block4-5.f.c.1.bias").as_deref(),
            Some("s4.b6.f.c_bn.bias")
        );
        assert_eq!(
            k("trunk_output.block2.block2-0.f.se.fc2.bias").as_deref(),
            Some("s2.b1.f.se.f_ex.2.bias")
        );
        assert_eq!(k("fc.weight").as_deref(), Some("head.fc.weight"));
        assert_eq!(k("stem.1.num_batches_tracked"), None);
        assert_eq!(k("trunk_output.block1.block1-0.f.zz.0.weight"), None);
    }

    #[test]
    fn effnet_keys() {
        let k = torchvision_effnet_key;
        assert_eq!(
            k("features.0.0.weight", false).as_deref(),
            Some("stem.conv.weight")
        );
        // Stage 1 has no expansion: block.0 is the depthwise conv.
        assert_eq!(
            k("features.1.0.block.0.0.weight", false).as_deref(),
            Some("s1.b1.dwise.weight")
        );
        assert_eq!(
            k("features.1.0.block.1.fc2.bias", false).as_deref(),
            Some("s1.b1.se.f_ex.2.bias")
        );
        assert_eq!(
            k("features.1.0.block.2.1.weight", false).as_deref(),
            Some("s1.b1.lin_proj_bn.weight")
        );
        // Later stages expand first.
        assert_eq!(
            k("features.2.1.block.0.1.weight", true).as_deref(),
            Some("s2.b2.exp_bn.weight")
        );
        assert_eq!(
            k("features.6.3.block.3.0.weight", true).as_deref(),
            Some("s6.b4.lin_proj.weight")
        );
        assert_eq!(
            k("features.8.1.running_var", true).as_deref(),
            Some("head.conv_bn.running_var")
        );
        assert_eq!(
            k("classifier.1.weight", true).as_deref(),
            Some("head.fc.weight")
        );
    }

    #[test]
    fn resnet_keys() {
        let k = |s| torchvision_resnet_key(s);
        assert_eq!(k("conv1.weight").as_deref(), Some("stem.conv.weight"));
        assert_eq!(
            k("layer3.0.downsample.1.weight").as_deref(),
            Some("s3.b1.bn.weight")
        );
        assert_eq!(
            k("layer1.2.conv2.weight").as_deref(),
            Some("s1.b3.f.b.weight")
        );
        assert_eq!(
            k("layer4.2.bn3.running_mean").as_deref(),
            Some("s4.b3.f.c_bn.running_mean")
        );
        assert_eq!(k("fc.bias").as_deref(), Some("head.fc.bias"));
    }
}
