//! `regnet export`: trained weights handed to the tools their users live
//! in. Every format is written to a temporary file and renamed into place,
//! so a failed export leaves nothing at `--out`.

use super::eval::{load_model, recipe_of, WeightsArgs};
use crate::{resolve, CliError};
use regnet_data::weights::{self as torch_save, Value};
use regnet_engine::data::{IMAGENET_MEAN, IMAGENET_STD};
use regnet_engine::export::{state_dict, write_torchscript};
use regnet_engine::Device;
use regnet_export::{onnx, torchvision, with_bn_counters, write_safetensors};
use regnet_record::atomic::write_atomically;
use regnet_record::Preprocess;
use std::path::Path;

/// The formats, by their `--to` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// safetensors in pycls/regnet names.
    Safetensors,
    /// torchvision's names and layout: `.safetensors`, or a torch.save `.pth`/`.pt`.
    Torchvision,
    /// A pycls checkpoint (`.pyth`, torch.save format with `model_state`).
    Pycls,
    /// A TorchScript module for `torch.jit.load` (eval mode).
    Torchscript,
    /// An ONNX model (opset 17, dynamic batch, BN folded).
    Onnx,
}

impl Format {
    const ALL: [(&'static str, Format); 5] = [
        ("safetensors", Format::Safetensors),
        ("torchvision", Format::Torchvision),
        ("pycls", Format::Pycls),
        ("torchscript", Format::Torchscript),
        ("onnx", Format::Onnx),
    ];
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let names: Vec<&str> = Format::ALL.iter().map(|(n, _)| *n).collect();
        Format::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!(
                    "unknown export format '{s}' (allowed: {})",
                    names.join(", ")
                )
            })
    }
}

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: WeightsArgs,
    /// The format to write: safetensors (pycls names), torchvision (.pth,
    /// .pt or .safetensors), pycls (.pyth checkpoint), torchscript, onnx.
    #[arg(long, default_value = "safetensors")]
    to: Format,
    /// Where to write it.
    #[arg(long, value_name = "FILE")]
    out: std::path::PathBuf,
    /// Input resolution of the TorchScript trace and the ONNX graph
    /// (default: the model's).
    #[arg(long, value_name = "PX")]
    im_size: Option<u64>,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let w = &a.model;
    // Arguments are checked before any work is done.
    let torch_save = match a.to {
        Format::Torchvision => torch_save_extension(&a.out)?,
        _ => false,
    };
    let resolved = resolve::model(&w.model, a.im_size, w.num_classes)?;
    let recipe = recipe_of(&resolved)?;
    let weights = resolved.weights(w.weights.as_deref())?;
    let mut m = load_model(&resolved, &recipe, &weights, Device::Cpu)?;
    let (im_size, bn_eps) = (resolved.im_size, recipe.bn_eps);
    let net = m.network().clone();
    let pre = preprocess(&resolved, im_size);
    match a.to {
        Format::Safetensors => {
            let state = state_dict(&m)?;
            write_atomically::<CliError>(&a.out, |tmp| Ok(write_safetensors(&state, tmp)?))?;
        }
        Format::Torchvision => {
            let tv = torchvision::model(&net, bn_eps)?;
            let state = torchvision::state_dict(&net, tv.naming, state_dict(&m)?)?;
            write_atomically::<CliError>(&a.out, |tmp| match torch_save {
                true => Ok(torch_save::write_state_dict(&state, tmp)?),
                false => Ok(write_safetensors(&state, tmp)?),
            })?;
            say!("import torch, torchvision, functools");
            say!("model = {}", tv.python);
            say!("{}", normalize_line(&pre));
        }
        Format::Pycls => {
            let state = with_bn_counters(state_dict(&m)?);
            let cfg = serde_yaml::to_string(&pycls_cfg(&resolved, &recipe, im_size))
                .map_err(|e| CliError::new(format!("the model's config as YAML: {e}")))?;
            let entries = [
                ("epoch", Value::Int(0)),
                ("model_state", Value::StateDict(&state)),
                ("cfg", Value::Str(&cfg)),
            ];
            write_atomically::<CliError>(&a.out, |tmp| Ok(torch_save::write_dict(&entries, tmp)?))?;
            say!("{}", normalize_line(&pre));
        }
        Format::Torchscript => write_atomically::<CliError>(&a.out, |tmp| {
            Ok(write_torchscript(&mut m, im_size, tmp)?)
        })?,
        Format::Onnx => {
            let state = state_dict(&m)?;
            write_atomically::<CliError>(&a.out, |tmp| {
                Ok(onnx::write(
                    &net,
                    &state,
                    im_size,
                    bn_eps,
                    &onnx_metadata(&pre),
                    tmp,
                )?)
            })?;
        }
    }
    Ok(())
}

/// How the model's inputs are prepared: the run's record, else pycls's
/// ImageNet normalization (what zoo and imported weights expect).
fn preprocess(m: &resolve::Resolved, im_size: u64) -> Preprocess {
    match &m.run {
        Some((_, r)) => Preprocess {
            im_size,
            ..r.preprocess.clone()
        },
        None => Preprocess {
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            im_size,
            num_classes: m.spec.num_classes(),
        },
    }
}

/// The preprocessing as ONNX metadata_props (values are JSON).
fn onnx_metadata(p: &Preprocess) -> Vec<(String, String)> {
    let json = |v: serde_json::Value| v.to_string();
    vec![
        ("mean".into(), json(serde_json::json!(p.mean))),
        ("std".into(), json(serde_json::json!(p.std))),
        ("input_size".into(), p.im_size.to_string()),
        ("num_classes".into(), p.num_classes.to_string()),
        (
            "input".into(),
            "RGB in [0, 1], minus mean, divided by std, N x 3 x H x W".into(),
        ),
    ]
}

/// The torchvision transform that prepares inputs as the model was trained.
fn normalize_line(p: &Preprocess) -> String {
    let list = |v: [f64; 3]| format!("[{}, {}, {}]", v[0], v[1], v[2]);
    format!(
        "# inputs: RGB in [0, 1] at {0}x{0}, {1} classes\npreprocess = torchvision.transforms.Normalize(mean={2}, std={3})",
        p.im_size,
        p.num_classes,
        list(p.mean),
        list(p.std)
    )
}

/// The config a pycls checkpoint embeds: the complete config without this
/// toolkit's own section, which pycls's config would refuse.
fn pycls_cfg(
    m: &resolve::Resolved,
    recipe: &regnet_config::Recipe,
    im_size: u64,
) -> serde_yaml::Value {
    let mut cfg = regnet_config::complete(&m.spec, im_size, recipe);
    if let Some(map) = cfg.as_mapping_mut() {
        map.remove(regnet_config::TOOLKIT);
    }
    cfg
}

/// Whether a torchvision export goes to a torch.save file (`.pth`, `.pt`)
/// rather than safetensors (`.safetensors`).
fn torch_save_extension(out: &Path) -> Result<bool, CliError> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("pth" | "pt") => Ok(true),
        Some("safetensors") => Ok(false),
        _ => Err(CliError::new(format!(
            "--out '{}': a torchvision export is written as .pth, .pt (torch.save) or .safetensors",
            out.display()
        ))),
    }
}
