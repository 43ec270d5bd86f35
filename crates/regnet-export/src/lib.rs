//! Trained models out, in the formats their next users read: torchvision
//! state dicts, pycls checkpoints and ONNX graphs. Framework-free: the
//! engine hands over its weights as plain arrays in pycls names, and the
//! network's spec says how they are laid out and what other libraries call
//! them ([`regnet_spec::Network::module_names`]). TorchScript, which needs
//! libtorch to trace the model, is written by the engine.

pub mod onnx;
pub mod proto;
pub mod torch_save;
pub mod torchvision;

use std::path::Path;

/// An export that cannot be made; one line naming the cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ExportError(pub String);

pub type Result<T> = std::result::Result<T, ExportError>;

/// The values of one named tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    /// BN's `num_batches_tracked` counters.
    I64(Vec<i64>),
}

/// A named tensor of a state dict: name, shape and values.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Data,
}

impl Array {
    /// A float32 tensor.
    pub fn f32(name: impl Into<String>, shape: Vec<usize>, values: Vec<f32>) -> Self {
        Array {
            name: name.into(),
            shape,
            data: Data::F32(values),
        }
    }

    /// The values as little-endian bytes (the layout of torch storages,
    /// safetensors and ONNX raw data).
    pub fn le_bytes(&self) -> Vec<u8> {
        match &self.data {
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A state dict: the named tensors in order.
pub type StateDict = Vec<Array>;

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

/// Runs `write` on a temporary file in `out`'s directory, then renames it
/// to `out`, so a failed export leaves nothing half-written at `out`.
pub fn write_atomically<E: From<ExportError>>(
    out: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let name = out
        .file_name()
        .ok_or_else(|| ExportError(format!("--out '{}' is not a file path", out.display())))?;
    let tmp = out.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write(&tmp).and_then(|()| {
        std::fs::rename(&tmp, out)
            .map_err(|e| ExportError(format!("cannot write '{}': {e}", out.display())).into())
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
