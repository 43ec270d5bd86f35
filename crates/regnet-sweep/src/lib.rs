//! Sweeps: population studies of a design space. This crate reads sweep
//! configs, in pycls's form and in a short form naming a built-in space,
//! once for every command that takes one (`space sample`, `space stats`,
//! `space info`, `sweep init`, the demo), so all of them accept the same files.

pub mod config;

pub use config::{open_space, SweepConfig};

/// A sweep config that cannot be used, with a one-line message naming the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SweepError(pub String);

impl From<regnet_config::ConfigError> for SweepError {
    fn from(e: regnet_config::ConfigError) -> Self {
        SweepError(e.0)
    }
}

impl From<regnet_space::SpaceError> for SweepError {
    fn from(e: regnet_space::SpaceError) -> Self {
        SweepError(e.0)
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SweepError>;
