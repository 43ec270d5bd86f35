//! `regnet eval` and `regnet predict`: use trained or imported weights.

use crate::datasource::{DataOptions, DataSource};
use crate::session::pick_device;
use crate::{resolve, CliError};
use regnet_config::Recipe;
use regnet_engine::import::load_weights;
use regnet_engine::train::evaluate;
use regnet_engine::{BuiltModel, Device, InitConfig};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A run directory (of `regnet train` or a sweep job: its config, record
    /// and weights), a zoo model name, or a config.
    model: String,
    /// Weights: safetensors with pycls/regnet names or torchvision names
    /// (default: the run directory's model.safetensors).
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Dataset whose test split to evaluate (see `regnet train --help`;
    /// default: the run's, else synthetic). A run's model is fed inputs
    /// normalized as in its training, whatever the dataset.
    #[arg(long, value_name = "DATA")]
    data: Option<String>,
    #[arg(long, default_value_t = 200)]
    batch_size: usize,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

/// A model and the weights to load into it (`predict`, `export`).
#[derive(clap::Args)]
pub struct WeightsArgs {
    /// A run directory, zoo model name or config.
    #[arg(long)]
    pub model: String,
    /// Weights: safetensors or torch.save files, in pycls/regnet, torchvision
    /// names (default: the run directory's model.safetensors).
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Classifier classes when not the model's (e.g. 10 for weights trained on CIFAR).
    #[arg(long, value_name = "N")]
    pub num_classes: Option<u64>,
}

#[derive(clap::Args)]
pub struct PredictArgs {
    #[command(flatten)]
    model: WeightsArgs,
    /// N x 3 x H x W float32 array (.npy).
    #[arg(long, value_name = "X.npy")]
    input: PathBuf,
    /// Where to write the N x classes eval-mode logits (.npy).
    #[arg(long, value_name = "Y.npy")]
    output: PathBuf,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

/// The resolved model `m` on `device`, holding `weights`; its config's BN
/// settings come from `recipe`.
pub(crate) fn load_model(
    m: &resolve::Resolved,
    recipe: &Recipe,
    weights: &Path,
    device: Device,
) -> Result<BuiltModel, CliError> {
    let net = m.spec.build()?;
    let mut built = BuiltModel::new(&net, device, InitConfig::of(recipe));
    load_weights(&mut built, weights)?;
    Ok(built)
}

/// The recipe of a config file (BN settings, test views), pycls's defaults for zoo models.
pub(crate) fn recipe_of(m: &resolve::Resolved) -> Result<Recipe, CliError> {
    Ok(match &m.doc {
        Some(doc) => Recipe::from_doc(doc)?.0,
        None => Recipe::default(),
    })
}

pub fn eval(a: &EvalArgs) -> Result<(), CliError> {
    let mut resolved = resolve::model(&a.model, None, None)?;
    let record = resolved.run.as_ref().map(|(_, r)| r);
    let data = match (&a.data, record) {
        (Some(d), _) => d.as_str(),
        (None, Some(r)) => r.data.as_str(),
        (None, None) => "synthetic",
    };
    let source = DataSource::parse(data)?;
    let weights = resolved.weights(a.weights.as_deref())?;
    let im_size = resolved.im_size;
    let recipe = recipe_of(&resolved)?;
    let mut options = DataOptions::of(&recipe, im_size, false);
    options.normalize = record.map(|r| (r.preprocess.mean, r.preprocess.std));
    // The data first: its class count sizes the classifier.
    let device = pick_device(&a.device)?;
    let data = source.tensors(&options, device)?;
    resolved.spec = resolved
        .spec
        .with_num_classes(data.shape.num_classes as u64);
    let m = load_model(&resolved, &recipe, &weights, device)?;
    let (top1, top5) = evaluate(&m, &data.test, a.batch_size.max(1))?;
    say!(
        "{}",
        json!({"n": data.test_len, "test_top1_err": top1, "test_top5_err": top5})
    );
    Ok(())
}

pub fn predict(a: &PredictArgs) -> Result<(), CliError> {
    let w = &a.model;
    let resolved = resolve::model(&w.model, None, w.num_classes)?;
    let recipe = recipe_of(&resolved)?;
    let weights = resolved.weights(w.weights.as_deref())?;
    let m = load_model(&resolved, &recipe, &weights, pick_device(&a.device)?)?;
    regnet_engine::predict(&m, &a.input, &a.output)?;
    Ok(())
}
