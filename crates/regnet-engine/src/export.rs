//! A trained model's weights handed to [`regnet_export`] (state dicts,
//! checkpoints, ONNX), and TorchScript, the one format that needs libtorch:
//! the eval-mode forward pass traced into a module `torch.jit.load` runs
//! with no code of this project.

use crate::error::{EngineError, Result};
use crate::model::BuiltModel;
use regnet_export::{Array, StateDict};
use std::path::Path;
use tch::nn::ModuleT;
use tch::{CModule, Kind, Tensor};

/// The tensors a PyTorch module of each kind holds, in its order.
const TENSORS: [&str; 4] = ["weight", "bias", "running_mean", "running_var"];

/// The model's weights and BN statistics in pycls names, in network order
/// (the order PyTorch's `state_dict()` lists them), standard layout, float32.
pub fn state_dict(model: &BuiltModel) -> Result<StateDict> {
    let vars = model.vs.variables();
    let modules = model
        .network()
        .module_names(regnet_spec::Naming::Pycls)
        .map_err(EngineError::Setup)?;
    let mut out = Vec::with_capacity(vars.len());
    for (module, _) in modules {
        for t in TENSORS {
            let name = format!("{module}.{t}");
            if let Some(v) = vars.get(&name) {
                out.push(array(name, v)?);
            }
        }
    }
    Ok(out)
}

fn array(name: String, v: &Tensor) -> Result<Array> {
    let v = v
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous();
    let shape = v.size().iter().map(|&d| d as usize).collect();
    let values = Vec::<f32>::try_from(v.flatten(0, -1))?;
    Ok(Array::f32(name, shape, values))
}

/// Traces the eval-mode forward pass on a 1 x 3 x `im_size` x `im_size`
/// input and saves it as TorchScript at `path`. The weights become the
/// module's constants (the variables are frozen first: the tracer refuses
/// tensors that require gradients). The traced graph takes any batch size.
pub fn write_torchscript(model: &mut BuiltModel, im_size: u64, path: &Path) -> Result<()> {
    model.vs.freeze();
    let x = Tensor::zeros(
        [1, 3, im_size as i64, im_size as i64],
        (Kind::Float, model.vs.device()),
    );
    let net = &model.model;
    let mut forward = |inputs: &[Tensor]| vec![net.forward_t(&inputs[0], false)];
    let module = CModule::create_by_tracing("RegNetModel", "forward", &[x], &mut forward)?;
    module
        .save(path)
        .map_err(|e| EngineError::bad_file(path, format!("cannot write TorchScript: {e}")))
}
