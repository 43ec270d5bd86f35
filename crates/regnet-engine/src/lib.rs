//! The engine boundary: everything that touches libtorch lives in this crate.
//! Upstream crates (spec, config, spaces) never see a tensor; this crate only
//! reads their resolved [`regnet_spec::Network`].

pub mod data;
pub mod import;
pub mod model;
pub mod sgd;
pub mod train;

pub use model::{BuiltModel, InitConfig, Model};
pub use tch;

/// Whether a CUDA device is usable (libtorch_cuda loaded and a GPU present).
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
