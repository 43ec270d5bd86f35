//! One module per subcommand.

pub mod analyze;
pub mod demo;
pub mod describe;
pub mod eval;
pub mod export;
pub mod fit;
pub mod space;
pub mod time_model;
pub mod train;
pub mod zoo;
