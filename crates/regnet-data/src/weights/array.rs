//! The weights of a state dict as plain arrays: what the engine hands out
//! and the writers (torch.save here, safetensors, ONNX and torchvision in
//! regnet-export) take.

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
