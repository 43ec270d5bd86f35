//! The command line's one-line errors. The libraries' errors convert as
//! they are (each names its input); anything else, an I/O error above all,
//! is given its context where it happens ([`CliError::io`]), so that no
//! message reaches the user without the file or value it is about.

use regnet_record::Fault;
use std::path::Path;

/// A user-facing failure: printed as one line, exit code 1. Its kind says
/// whether a sweep job met it outside the job (an unreachable store, a
/// full disk) and should keep its checkpoint and resume later.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub fault: Fault,
}

impl CliError {
    /// A failure of the input or the run itself ([`Fault::Final`]).
    pub fn new(message: String) -> Self {
        CliError {
            message,
            fault: Fault::Final,
        }
    }

    /// An I/O failure: what was being done, to which path, and why.
    pub fn io(action: &str, path: &Path, e: std::io::Error) -> Self {
        CliError {
            message: format!("cannot {action} '{}': {e}", path.display()),
            fault: Fault::of_io(&e),
        }
    }
}

/// Library errors that already say what they are about.
macro_rules! from_library {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError::new(e.to_string())
            }
        }
    )*};
}

from_library!(
    regnet_spec::SpecError,
    regnet_config::ConfigError,
    regnet_data::DataError,
    regnet_space::SpaceError,
    regnet_engine::import::ImportError,
    regnet_export::ExportError,
);

/// Library errors that carry their kind.
macro_rules! from_faulted {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError {
                    message: e.message,
                    fault: e.fault,
                }
            }
        }
    )*};
}

from_faulted!(
    regnet_store::StoreError,
    regnet_sweep::SweepError,
    regnet_loop::LoopError
);

/// Errors that tell their kind by a `fault()` of their variant.
macro_rules! from_told {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError {
                    fault: e.fault(),
                    message: e.to_string(),
                }
            }
        }
    )*};
}

from_told!(
    regnet_engine::EngineError,
    regnet_record::atomic::ReplaceError
);
