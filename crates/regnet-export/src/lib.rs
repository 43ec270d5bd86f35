//! Trained models out, in the formats their next users read: torchvision
//! state dicts, pycls checkpoints (written by `regnet_data::weights`, next
//! to the reader) and ONNX graphs. Framework-free: the
//! engine hands over its weights as plain arrays in pycls names, and the
//! network's spec says how they are laid out and what other libraries call
//! them ([`regnet_spec::Network::module_names`]). TorchScript, which needs
//! libtorch to trace the model, is written by the engine.

pub mod onnx;
pub mod proto;
pub mod torchvision;

use std::path::Path;

/// An export that cannot be made; one line naming the cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

pub type Result<T> = std::result::Result<T, ExportError>;

pub use regnet_data::weights::{Array, Data, StateDict};

/// Looks up `name` in `state`, as float32 values.
pub fn values<'a>(state: &'a [Array], name: &str) -> Result<&'a [f32]> {
    match state.iter().find(|a| a.name == name).map(|a| &a.data) {
        Some(Data::F32(v)) => Ok(v),
        Some(Data::I64(_)) => Err(ExportError(format!("{name} is not a float tensor"))),
        None => Err(ExportError(format!("the weights have no {name}"))),
    }
}

/// Adds a zero `num_batches_tracked` counter after every BN's running
/// variance: PyTorch's `BatchNorm2d` has one, and `load_state_dict(strict=True)`
/// (torchvision, pycls) refuses a state dict without it.
pub fn with_bn_counters(state: StateDict) -> StateDict {
    let mut out = Vec::with_capacity(state.len() * 5 / 4);
    for a in state {
        let counter = a
            .name
            .strip_suffix(".running_var")
            .map(|bn| format!("{bn}.num_batches_tracked"));
        out.push(a);
        if let Some(name) = counter {
            out.push(Array {
                name,
                shape: vec![],
                data: Data::I64(vec![0]),
            });
        }
    }
    out
}

/// Writes a state dict as safetensors.
pub fn write_safetensors(state: &[Array], path: &Path) -> Result<()> {
    use safetensors::tensor::{Dtype, TensorView};
    let bytes: Vec<Vec<u8>> = state.iter().map(Array::le_bytes).collect();
    let views = state
        .iter()
        .zip(&bytes)
        .map(|(a, b)| {
            let dtype = match a.data {
                Data::F32(_) => Dtype::F32,
                Data::I64(_) => Dtype::I64,
            };
            let view = TensorView::new(dtype, a.shape.clone(), b)
                .map_err(|e| ExportError(format!("{}: {e:?}", a.name)))?;
            Ok((a.name.clone(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize_to_file(views, &None, path)
        .map_err(|e| ExportError(format!("cannot write '{}': {e:?}", path.display())))
}
