//! What every training run sets up the same way, whether `regnet train` or a
//! sweep job: the dataset as tensors, the spec fitted to it, the network.

use crate::datasource::{DataOptions, DataSource, Normalization};
use crate::CliError;
use regnet_config::Recipe;
use regnet_engine::data::TensorSet;
use regnet_engine::layout::{Layout, LayoutUsed};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use regnet_record::{Preprocess, RunRecord, RUN_RECORD};
use regnet_spec::{Complexity, ModelSpec};
use std::path::Path;

/// A model ready to train on its data.
pub struct Session {
    /// The spec, with its classifier sized to the dataset's classes.
    pub spec: ModelSpec,
    /// Complexity at the dataset's resolution.
    pub cx: Complexity,
    pub im_size: u64,
    pub model: BuiltModel,
    pub train: TensorSet,
    pub test: TensorSet,
    /// Training and test images.
    pub train_len: usize,
    pub test_len: usize,
    /// The normalization both splits were given.
    pub normalize: Normalization,
    /// The memory layout the model trains in.
    pub layout: LayoutUsed,
}

/// Loads the data, fits the classifier to its classes (saying so), and builds
/// the network with pycls initialization from the recipe's seed, in `layout`.
/// `im_size` is the model's resolution (image folders are viewed at it;
/// in-memory sets keep their own).
pub fn prepare(
    spec: ModelSpec,
    recipe: &Recipe,
    source: &DataSource,
    im_size: u64,
    device: Device,
    layout: Layout,
    skip_bad: bool,
) -> Result<Session, CliError> {
    if recipe.mixed_precision && !device.is_cuda() {
        eprintln!("note: mixed precision casts to float16 on CUDA only; on {device:?} training stays float32");
    }
    let data = source.tensors(&DataOptions::of(recipe, im_size, skip_bad), device)?;
    let batches = data.train_len / recipe.batch_size;
    if batches == 0 {
        return Err(CliError::new(format!(
            "the training set has {} images, fewer than TRAIN.BATCH_SIZE {}: as in pycls, the last partial batch of an epoch is dropped, so nothing would be trained",
            data.train_len, recipe.batch_size
        )));
    }
    let classes = data.shape.num_classes as u64;
    let spec = if spec.num_classes() != classes {
        eprintln!(
            "note: {} classes -> {classes} to match the dataset",
            spec.num_classes()
        );
        spec.with_num_classes(classes)
    } else {
        spec
    };
    let net = spec.build()?;
    let im_size = data.shape.size as u64;
    let cx = net.complexity(im_size)?;
    if let Some(note) = net.small_input_note(im_size) {
        eprintln!("note: {note}");
    }
    let mut model = BuiltModel::new(&net, device, InitConfig::of(recipe));
    // On CPU, oneDNN's channels-last kernels train these models about 1.4-1.5x
    // faster (bench/RESULTS.md), except convs libtorch crashes on.
    let layout = model.set_layout(layout, device);
    if !layout.nchw_convs.is_empty() {
        eprintln!(
            "note: {} run in NCHW inside the channels-last model: PyTorch 2.11 crashes training 1x1 stride-2 convs with 2 to 15 input channels in channels-last (docs/engine.md, memory layouts)",
            layout.nchw_convs.join(", ")
        );
    }
    Ok(Session {
        layout,
        spec,
        cx,
        im_size,
        model,
        train: data.train,
        test: data.test,
        train_len: data.train_len,
        test_len: data.test_len,
        normalize: data.normalize,
    })
}

/// The source commit this binary was built from (`-dirty` with uncommitted
/// changes; `unknown` outside a git checkout), set by build.rs.
pub const SOURCE_COMMIT: &str = env!("REGNET_SOURCE_COMMIT");

impl Session {
    /// Writes the trained weights into the run's directory: the model's
    /// (what `eval`, `predict` and `export` read) and its EMA's, when kept.
    pub fn save_weights(&self, dir: &Path) -> Result<(), CliError> {
        self.model.save(&dir.join(crate::resolve::RUN_WEIGHTS))?;
        if let Some(ema) = &self.model.ema {
            ema.save(&dir.join(RUN_EMA_WEIGHTS))?;
        }
        Ok(())
    }

    /// How this run is made, beyond its config.
    pub fn record(&self, source: &DataSource, device: Device, threads: usize) -> RunRecord {
        let (mean, std) = self.normalize;
        RunRecord {
            data: source.spec().to_string(),
            train_images: self.train_len,
            test_images: self.test_len,
            preprocess: Preprocess {
                mean,
                std,
                im_size: self.im_size,
                num_classes: self.spec.num_classes(),
            },
            layout: self.layout.to_string(),
            device: format!("{device:?}"),
            threads,
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: SOURCE_COMMIT.to_string(),
        }
    }

    /// Writes the run's complete config (`config.yaml`: model, resolution and
    /// every recipe key, in pycls's names) and its record (`run.json`) into
    /// `dir`, each atomically: what `eval`, `predict`, `export` and
    /// `--resume` read back.
    pub fn write_run_files(
        &self,
        dir: &Path,
        recipe: &Recipe,
        record: &RunRecord,
    ) -> Result<(), CliError> {
        let config =
            serde_yaml::to_string(&regnet_config::complete(&self.spec, self.im_size, recipe))
                .map_err(|e| CliError::new(format!("the run's config: {e}")))?;
        let record = serde_json::to_string_pretty(record)
            .map_err(|e| CliError::new(format!("the run's record: {e}")))?;
        write_text(&dir.join(RUN_CONFIG), &config)?;
        write_text(&dir.join(RUN_RECORD), &format!("{record}\n"))
    }
}

/// The complete config inside a run (or sweep job) directory.
pub const RUN_CONFIG: &str = "config.yaml";

/// The weight EMA's weights in a run directory.
pub const RUN_EMA_WEIGHTS: &str = "model_ema.safetensors";

/// Writes `text` to `path` through a temporary file, so a failure never
/// leaves half a file.
pub fn write_text(path: &Path, text: &str) -> Result<(), CliError> {
    Ok(regnet_record::atomic::write_file(path, text.as_bytes())?)
}

/// The device `--device CHOICE` names.
pub fn pick_device(choice: &str) -> Result<Device, CliError> {
    Device::pick(choice).map_err(|e| match e {
        regnet_engine::EngineError::Device { why, .. } => {
            CliError::new(format!("--device {choice}: {why}"))
        }
        other => other.into(),
    })
}

/// The record of the run in `dir` (`run.json`), as [`Session::record`] wrote it.
pub fn read_record(dir: &Path) -> Result<RunRecord, CliError> {
    let path = dir.join(RUN_RECORD);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::io("read the run's record", &path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::new(format!("'{}': not a run record: {e}", path.display())))
}
