//! How a run was made, beyond its config: what the config cannot say
//! (the data it read, the normalization that data gave, the machine and the
//! build). Written into the run's directory before training, beside the
//! complete config, so the run's numbers can be reproduced from its own files.

use serde::{Deserialize, Serialize};

/// The file name of the record inside a run (or sweep job) directory.
pub const RUN_RECORD: &str = "run.json";

/// What a model expects of its inputs: anyone who feeds it images (an
/// evaluation, an exported ONNX graph, a torchvision user) must prepare
/// them this way to get the numbers the run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Per-channel mean subtracted from RGB inputs in [0, 1] units.
    pub mean: [f64; 3],
    /// Per-channel std the centred inputs are divided by.
    pub std: [f64; 3],
    /// Square input side the model was trained at.
    pub im_size: u64,
    /// Classifier outputs.
    pub num_classes: u64,
}

/// The run's provenance (`run.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The dataset spec as given (`--data`, a sweep's `DATA`).
    pub data: String,
    /// Training and test images actually used.
    pub train_images: usize,
    pub test_images: usize,
    pub preprocess: Preprocess,
    /// The memory layout the model trained in (`nchw`, `channels-last`, ...).
    pub layout: String,
    /// The device it trained on.
    pub device: String,
    /// libtorch CPU threads.
    pub threads: usize,
    /// The toolkit's version and the source commit it was built from
    /// (`-dirty` when the tree had uncommitted changes).
    pub version: String,
    pub commit: String,
}
