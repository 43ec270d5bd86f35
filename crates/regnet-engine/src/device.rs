//! Devices by the engine's own name, so that callers choose one without
//! knowing libtorch's types.

use crate::error::{EngineError, Result};
use std::fmt;

/// Where a model trains: the CPU or one CUDA device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

impl Device {
    /// `auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`.
    pub fn pick(choice: &str) -> Result<Device> {
        let unusable = |why: String| EngineError::Device {
            asked: choice.to_string(),
            why,
        };
        let visible = crate::cuda_device_count();
        match choice {
            "cpu" => Ok(Device::Cpu),
            "auto" if visible > 0 => Ok(Device::Cuda(0)),
            "auto" => Ok(Device::Cpu),
            "cuda" if visible > 0 => Ok(Device::Cuda(0)),
            "cuda" => Err(unusable("no CUDA device is available".into())),
            c if c.starts_with("cuda:") => match c[5..].parse::<usize>() {
                Ok(i) if i < visible => Ok(Device::Cuda(i)),
                _ => Err(unusable(format!("{visible} CUDA devices are visible"))),
            },
            _ => Err(unusable(
                "unknown device (allowed: auto, cpu, cuda, cuda:N)".into(),
            )),
        }
    }

    pub fn is_cuda(self) -> bool {
        matches!(self, Device::Cuda(_))
    }

    /// Waits for the device's queued work (a no-op on CPU), so a timing
    /// measures the work, not its launch.
    pub fn synchronize(self) {
        if let Device::Cuda(i) = self {
            tch::Cuda::synchronize(i as i64);
        }
    }

    /// libtorch's name for it (inside the engine only).
    pub(crate) fn tch(self) -> tch::Device {
        match self {
            Device::Cpu => tch::Device::Cpu,
            Device::Cuda(i) => tch::Device::Cuda(i),
        }
    }
}

/// `cpu` or `cuda:N`, as `--device` takes them.
impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Device::Cpu => write!(f, "cpu"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
        }
    }
}
