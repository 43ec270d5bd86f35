//! What every training run sets up the same way, whether `regnet train` or a
//! sweep job: the dataset as tensors, the spec fitted to it, the network.

use crate::datasource::{DataOptions, DataSource};
use crate::CliError;
use regnet_config::Recipe;
use regnet_engine::data::TensorSet;
use regnet_engine::layout::{Layout, LayoutUsed};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use regnet_spec::{Complexity, ModelSpec};

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
    /// Training images.
    pub train_len: usize,
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
        return Err(CliError(format!(
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
    })
}

/// The device `--device CHOICE` names.
pub fn pick_device(choice: &str) -> Result<Device, CliError> {
    Device::pick(choice).map_err(|e| match e {
        regnet_engine::EngineError::Device { why, .. } => {
            CliError(format!("--device {choice}: {why}"))
        }
        other => other.into(),
    })
}
