//! Design spaces: populations of models to sample, count and refine.
//!
//! A design space is a set of parameter tuples plus the distribution they are
//! sampled from (docs/method.md §6, §4, §5). This crate provides the paper's
//! spaces (AnyNetX_A–E, RegNet, RegNetX, RegNetY), user-defined spaces written
//! as pycls sweep configs, their exact sizes, rejection sampling under
//! complexity constraints, derived spaces (a parent plus restrictions, the
//! design loop's unit), and the RegNet fit of per-block widths.
//! Framework-free: sampling only builds specs and counts their complexity.

pub mod anynetx;
pub mod constraints;
pub mod decimal;
pub mod derived;
pub mod fit;
pub mod random;
pub mod regnet_space;
pub mod restriction;
pub mod sampling;
pub mod space;
pub mod sweep;

pub use constraints::{Band, Constraints, Rejection, TimeBand};
pub use derived::{DerivedSpace, SizeEstimate};
pub use fit::{fit_regnet, RegNetFit};
pub use restriction::{design_metrics, Restriction};
pub use sampling::{sample, Population, SampleOptions, Sampled, MAX_TIME};
pub use space::{Candidate, DerivedInfo, ParamInfo, Space, SpaceInfo};

/// A space definition or a sampling request that cannot be used; one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SpaceError(pub String);

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SpaceError>;
