//! The engine's errors: each says what failed and on which file or device,
//! in the engine's own words; the command line adds which option or
//! command it came from.

use crate::import::ImportError;
use std::path::{Path, PathBuf};
use tch::TchError;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// libtorch refused an operation (out of memory, a bad tensor file...).
    #[error("libtorch: {0}")]
    Torch(#[from] TchError),
    /// A file could not be read or written.
    #[error("cannot {action} '{}': {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file was read but is not what it must be (a checkpoint of another
    /// model, an array of the wrong shape, an undecodable image).
    #[error("'{}': {why}", path.display())]
    BadFile { path: PathBuf, why: String },
    /// Images that could not be loaded (a folder's undecodable file...).
    #[error("{0}")]
    Data(String),
    /// The device asked for is not usable here.
    #[error("device '{asked}': {why}")]
    Device { asked: String, why: String },
    /// The run cannot start as set up (e.g. fewer images than one batch).
    #[error("{0}")]
    Setup(String),
    /// Weights that do not fit the model.
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// The engine's results.
pub type Result<T> = std::result::Result<T, EngineError>;

impl EngineError {
    /// A file that is not what it must be.
    pub fn bad_file(path: &Path, why: impl Into<String>) -> Self {
        EngineError::BadFile {
            path: path.to_path_buf(),
            why: why.into(),
        }
    }

    /// A file that could not be read or written.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        EngineError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}
