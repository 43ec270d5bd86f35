//! The loop's one-line errors, with the kind of fault that caused them so a
//! caller can tell "the store is away, rerun later" from "this input is wrong".

use regnet_record::Fault;

/// A failure of the loop or of the populations it drives.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopError {
    pub message: String,
    pub fault: Fault,
}

impl LoopError {
    /// A failure of the input or of the loop itself ([`Fault::Final`]).
    pub fn new(message: impl Into<String>) -> Self {
        LoopError {
            message: message.into(),
            fault: Fault::Final,
        }
    }
}

impl std::fmt::Display for LoopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LoopError {}

impl From<regnet_store::StoreError> for LoopError {
    fn from(e: regnet_store::StoreError) -> Self {
        LoopError {
            message: e.message,
            fault: e.fault,
        }
    }
}

impl From<regnet_record::atomic::ReplaceError> for LoopError {
    fn from(e: regnet_record::atomic::ReplaceError) -> Self {
        LoopError {
            fault: e.fault(),
            message: e.to_string(),
        }
    }
}

/// Results of the loop.
pub type Result<T> = std::result::Result<T, LoopError>;
