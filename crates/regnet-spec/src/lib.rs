//! Model specifications and exact complexity for network design-space work.
//!
//! Data flows one way: a *spec* (what a pycls config or a design-space sample
//! says: [`AnyNetSpec`], [`RegNetSpec`], [`EffNetSpec`]) is validated and
//! resolved into a [`Network`]: the concrete stem, blocks and head with every
//! derived width (bottleneck width, groups, SE width) computed once. The
//! complexity counter walks that same structure, and the training engine builds
//! its modules from it, so counting and construction cannot drift apart
//! (pycls's habit of keeping `complexity` next to `__init__`).
//!
//! Nothing here depends on a deep-learning engine.

pub mod anynet;
pub mod blocks;
pub mod cx;
pub mod effnet;
pub mod error;
pub mod head;
pub mod layers;
pub mod model;
pub mod names;
pub mod network;
pub mod pyround;
pub mod regnet;
pub mod stem;
pub mod time_model;
pub mod zoo;

pub use anynet::{AnyNetSpec, BlockType};
pub use cx::{Complexity, Cx};
pub use effnet::EffNetSpec;
pub use error::SpecError;
pub use model::ModelSpec;
pub use names::{Names, Naming};
pub use network::{Activation, Network, Profile, Stage, StageParams};
pub use regnet::{adjust_block_compatibility, generate_regnet, Compat, RegNetSpec, RegNetWidths};
pub use stem::StemType;
