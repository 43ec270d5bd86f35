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

/// Sets libtorch's CPU thread count.
pub fn set_threads(n: usize) {
    tch::set_num_threads(n as i32);
}

/// Seeds libtorch's generators (initialization, shuffles, dropout).
pub fn seed(s: u64) {
    tch::manual_seed(s as i64);
}

/// Whether a CUDA device is usable (libtorch_cuda loaded and a GPU present).
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}
