//! The command line's one-line errors. The libraries' errors convert as
//! they are (each names its input); anything else, an I/O error above all,
//! is given its context where it happens ([`CliError::io`]), so that no
//! message reaches the user without the file or value it is about.

use std::path::Path;

/// A user-facing failure: printed as one line, exit code 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl CliError {
    /// An I/O failure: what was being done, to which path, and why.
    pub fn io(action: &str, path: &Path, e: impl std::fmt::Display) -> Self {
        CliError(format!("cannot {action} '{}': {e}", path.display()))
    }
}

/// Library errors that already say what they are about.
macro_rules! from_library {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CliError {
            fn from(e: $t) -> Self {
                CliError(e.to_string())
            }
        }
    )*};
}

from_library!(
    regnet_spec::SpecError,
    regnet_config::ConfigError,
    regnet_data::DataError,
    regnet_space::SpaceError,
    regnet_store::StoreError,
    regnet_sweep::SweepError,
    regnet_engine::EngineError,
    regnet_engine::import::ImportError,
    regnet_export::ExportError,
);
