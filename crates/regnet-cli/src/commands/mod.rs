//! One module per subcommand.

pub mod describe;
pub mod zoo;
