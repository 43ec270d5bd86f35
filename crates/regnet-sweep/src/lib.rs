//! Sweeps: population studies of a design space, as a library. It reads
//! sweep configs (pycls's form and a short form naming a built-in space)
//! once for every command that takes one; plans a sweep's jobs; and runs
//! them: the scheduler claims jobs from the store, hands each to a worker
//! behind the [`scheduler::Workers`] trait (`regnet sweep run` starts one
//! process per job; tests use fakes), renews live workers' leases, reaps dead
//! owners, kills hung workers, and records how every attempt ended, per the
//! job-process protocol ([`protocol`]). The command line only parses
//! arguments and prints.

pub mod config;
pub mod derived;
pub mod plan;
pub mod protocol;
pub mod scheduler;
pub mod sweep;
pub mod trainer;

pub use config::{open_space, SweepConfig};
pub use sweep::{job_dir, Sweep};

/// A sweep that cannot be read, planned or run, as one line for the user,
/// and its kind (a store's unreachable or storage fault stays what it was).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SweepError {
    pub message: String,
    pub fault: Fault,
}

impl SweepError {
    /// A failure of the input or the sweep itself ([`Fault::Final`]).
    pub fn new(message: String) -> Self {
        SweepError::of(Fault::Final, message)
    }

    pub fn of(fault: Fault, message: impl Into<String>) -> Self {
        SweepError {
            message: message.into(),
            fault,
        }
    }
}

impl From<regnet_config::ConfigError> for SweepError {
    fn from(e: regnet_config::ConfigError) -> Self {
        SweepError::new(e.0)
    }
}

impl From<regnet_space::SpaceError> for SweepError {
    fn from(e: regnet_space::SpaceError) -> Self {
        SweepError::new(e.0)
    }
}

impl From<regnet_store::StoreError> for SweepError {
    fn from(e: regnet_store::StoreError) -> Self {
        SweepError::of(e.fault, e.message)
    }
}

use regnet_record::Fault;

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SweepError>;
