//! The engine boundary: everything that touches libtorch lives in this crate.
//! Upstream crates (spec, config, spaces) never see a tensor; this crate only
//! reads their resolved [`regnet_spec::Network`].

pub mod amp;
pub mod data;
pub mod import;
pub mod layout;
pub mod model;
pub mod precise_bn;
pub mod pth;
pub mod sgd;
pub mod train;

pub use model::{channels_last, BuiltModel, InitConfig, Model};
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

/// Number of visible CUDA devices (0 without CUDA).
pub fn cuda_device_count() -> usize {
    tch::Cuda::device_count().max(0) as usize
}

/// Eval-mode logits for an N × 3 × H × W float32 `.npy` array.
pub fn predict(model: &BuiltModel, input: &std::path::Path) -> Result<tch::Tensor, String> {
    use tch::nn::ModuleT;
    let x = tch::Tensor::read_npy(input)
        .map_err(|e| format!("cannot read '{}': {e}", input.display()))?;
    let size = x.size();
    if size.len() != 4 || size[1] != 3 || x.kind() != tch::Kind::Float {
        return Err(format!(
            "'{}' must be an N x 3 x H x W float32 array (got shape {size:?}, {:?})",
            input.display(),
            x.kind()
        ));
    }
    Ok(tch::no_grad(|| {
        model
            .model
            .forward_t(&x.to_device(model.vs.device()), false)
            .to_device(tch::Device::Cpu)
    }))
}

/// Writes a tensor as `.npy`.
pub fn write_npy(t: &tch::Tensor, path: &std::path::Path) -> Result<(), String> {
    t.write_npy(path)
        .map_err(|e| format!("cannot write '{}': {e}", path.display()))
}
