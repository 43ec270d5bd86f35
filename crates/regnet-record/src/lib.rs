//! What a training run reports: each epoch's numbers ([`EpochRecord`]),
//! and how the run was made ([`RunRecord`]). Plain data in a crate that the
//! trainer (regnet-engine), the sweep store (regnet-store) and their readers
//! all depend on: the store stays free of the engine, and a field added to a
//! record reaches every reader instead of being dropped on the way.

mod epoch;
mod run;

pub use epoch::{EpochRecord, VALUES};
pub use run::{Preprocess, RunRecord, RUN_RECORD};
