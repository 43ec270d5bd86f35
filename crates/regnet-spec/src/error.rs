//! The one error type of the spec crate.

/// A spec that cannot describe a network. The message is one line naming the
/// offending key (pycls key names where there is one) and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A parameter value is out of its allowed range or inconsistent with another.
    #[error("{0}")]
    Invalid(String),
    /// The counts do not fit in 64 bits (absurdly large widths or resolution).
    #[error(
        "complexity of this model overflows 64-bit counters; reduce widths, depths or im_size"
    )]
    Overflow,
}

impl SpecError {
    /// Shorthand for an [`SpecError::Invalid`] built from anything printable.
    pub fn invalid(msg: impl Into<String>) -> Self {
        SpecError::Invalid(msg.into())
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, SpecError>;
