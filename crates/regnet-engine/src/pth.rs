//! Weights files as libtorch tensors: the file is read and checked without
//! libtorch ([`regnet_data::weights`]: safetensors or a `torch.save` zip,
//! every view bounded by its storage), then each tensor is materialized
//! here with the fallible calls, so a bad file ends in one line.

use crate::import::ImportError;
use regnet_data::weights::{Dtype, SavedTensor};
use std::path::Path;
use tch::{Kind, Tensor};

/// The named tensors of a weights file (safetensors, or a `torch.save`
/// zip's state dict: the saved dict itself, or its `model_state`,
/// `state_dict` or `model` entry).
pub fn read_weights(path: &Path) -> Result<Vec<(String, Tensor)>, ImportError> {
    let fail =
        |why: String| ImportError(format!("cannot read weights '{}': {why}", path.display()));
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    regnet_data::weights::read(&bytes)
        .map_err(&fail)?
        .into_iter()
        .map(|(name, t)| {
            let tensor = materialize(&t).map_err(|e| fail(format!("{name:?}: {e}")))?;
            Ok((name, tensor))
        })
        .collect()
}

/// The contiguous tensor a checked view describes.
fn materialize(t: &SavedTensor) -> Result<Tensor, String> {
    let layout = format!(
        "size {:?} stride {:?} offset {}",
        t.size, t.stride, t.offset
    );
    let flat = Tensor::f_from_data_size(&t.storage, &[t.storage_len()], kind(t.dtype))
        .map_err(|e| crate::error::first_line(&e.to_string()))?;
    flat.f_as_strided(&t.size, &t.stride, Some(t.offset))
        .and_then(|v| v.f_contiguous())
        .map_err(|e| {
            format!(
                "{layout} outside its storage: {}",
                crate::error::first_line(&e.to_string())
            )
        })
}

fn kind(d: Dtype) -> Kind {
    match d {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::I16 => Kind::Int16,
        Dtype::I8 => Kind::Int8,
        Dtype::U8 => Kind::Uint8,
        Dtype::Bool => Kind::Bool,
    }
}
