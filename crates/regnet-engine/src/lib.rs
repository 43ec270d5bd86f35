//! The engine boundary: everything that touches libtorch lives in this crate.
//! Upstream crates (spec, config, spaces) never see a tensor; this crate only
//! reads their resolved [`regnet_spec::Network`].

pub mod amp;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod import;
pub mod layout;
pub mod model;
pub mod precise_bn;
pub mod pth;
pub mod sgd;
pub mod timing;
pub mod train;

pub use device::Device;
pub use error::{EngineError, Result};
pub use model::{channels_last, BuiltModel, InitConfig, Model};
use std::path::Path;

/// Sets libtorch's CPU thread count.
pub fn set_threads(n: usize) {
    tch::set_num_threads(n as i32);
}

/// libtorch's CPU thread count (what a run record states).
pub fn threads() -> usize {
    tch::get_num_threads().max(1) as usize
}

/// Keeps large allocations (decoded images, batch tensors) on glibc's heap
/// instead of fresh `mmap`s that the kernel zeroes page by page on every
/// batch: the image-folder pipeline runs 1.4x faster (bench/RESULTS.md).
/// Call once at start-up, before other threads allocate.
pub fn keep_large_allocations_on_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocation thresholds; it is
    // called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}

/// Whether a CUDA device is usable (libtorch_cuda loaded and a GPU present).
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

/// Number of visible CUDA devices (0 without CUDA).
pub fn cuda_device_count() -> usize {
    tch::Cuda::device_count().max(0) as usize
}

/// Writes the eval-mode logits of `model` for an N × 3 × H × W float32
/// `.npy` array `input` to the `.npy` file `output` (N × classes).
pub fn predict(model: &BuiltModel, input: &Path, output: &Path) -> Result<()> {
    use tch::nn::ModuleT;
    let a = regnet_data::npy::read_f32(input).map_err(|e| EngineError::Data(e.0))?;
    let size: Vec<i64> = a.shape.iter().map(|&d| d as i64).collect();
    if size.len() != 4 || size[1] != 3 || size.contains(&0) {
        return Err(EngineError::bad_file(
            input,
            format!("must be an N x 3 x H x W float32 array with N, H, W at least 1 (got shape {size:?})"),
        ));
    }
    let x = tch::Tensor::from_slice(&a.data).f_view(size.as_slice())?;
    let logits = crate::error::guarded(|| {
        tch::no_grad(|| {
            model
                .model
                .forward_t(&x.to_device(model.vs.device()), false)
                .to_device(tch::Device::Cpu)
        })
    })?;
    logits
        .write_npy(output)
        .map_err(|e| EngineError::bad_file(output, format!("cannot write: {e}")))
}
