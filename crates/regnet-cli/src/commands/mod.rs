//! One module per subcommand.

pub mod describe;
pub mod fit;
pub mod space;
pub mod train;
pub mod zoo;
