//! pycls-style configuration files.
//!
//! A pycls user describes a model with a YACS YAML file: `MODEL.TYPE` picks
//! `anynet`, `regnet` or `effnet`, and the `ANYNET` / `REGNET` / `EN` section
//! holds its parameters, with pycls's key names and defaults. This crate reads
//! such files into a [`regnet_spec::ModelSpec`] (strictly: an unknown key, a
//! wrong type or an impossible value is an error naming the key) and writes a
//! spec back as a pycls config dict. Sections that do not describe the model
//! (`OPTIM`, `TRAIN`, `TEST`, `BN`, ...) are kept as given for later stages.

mod diff;
mod read;
pub mod recipe;
pub mod section;
mod write;
pub mod yaml;

pub use diff::{first_difference, Difference};
pub use read::{from_value, load, parse_str, PyclsConfig};
pub use recipe::{LrPolicy, LrUpdate, Recipe, TOOLKIT};
pub use write::{complete, to_value};

/// A config that cannot be used, with a one-line message naming the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<regnet_spec::SpecError> for ConfigError {
    fn from(e: regnet_spec::SpecError) -> Self {
        ConfigError(e.to_string())
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ConfigError>;

/// pycls default of `MODEL.NUM_CLASSES`.
pub const DEFAULT_NUM_CLASSES: u64 = 10;
/// pycls default of `TRAIN.IM_SIZE`.
pub const DEFAULT_IM_SIZE: u64 = 224;
