//! What every training run sets up the same way, whether `regnet train` or a
//! sweep job: the dataset as tensors, the spec fitted to it, the network.

use crate::datasource::DataSource;
use crate::CliError;
use regnet_config::Recipe;
use regnet_engine::data::TensorSet;
use regnet_engine::tch::Device;
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
}

/// Loads the data, fits the classifier to its classes (saying so), and builds
/// the network with pycls initialization from the recipe's seed.
pub fn prepare(
    spec: ModelSpec,
    recipe: &Recipe,
    source: &DataSource,
    device: Device,
) -> Result<Session, CliError> {
    let (train_set, test_set) = source.load(recipe.seed)?;
    let spec = if spec.num_classes() != train_set.num_classes as u64 {
        eprintln!(
            "note: {} classes -> {} to match the dataset",
            spec.num_classes(),
            train_set.num_classes
        );
        spec.with_num_classes(train_set.num_classes as u64)
    } else {
        spec
    };
    let net = spec.build()?;
    let im_size = train_set.size as u64;
    let cx = net.complexity(im_size)?;
    let (mean, std) = train_set.channel_stats();
    let train = TensorSet::new(&train_set, mean, std, device).with_augment(source.augment());
    let test = TensorSet::new(&test_set, mean, std, device);
    regnet_engine::seed(recipe.seed);
    let init = InitConfig {
        zero_init_final_gamma: recipe.zero_init_final_gamma,
    };
    let model = BuiltModel::new(&net, device, init);
    Ok(Session {
        spec,
        cx,
        im_size,
        model,
        train,
        test,
        train_len: train_set.len(),
    })
}
