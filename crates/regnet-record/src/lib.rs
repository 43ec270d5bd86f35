//! What a training run reports: each epoch's numbers ([`EpochRecord`]),
//! and how the run was made ([`RunRecord`]). Plain data in a crate that the
//! trainer (regnet-engine), the sweep store (regnet-store) and their readers
//! all depend on: the store stays free of the engine, and a field added to a
//! record reaches every reader instead of being dropped on the way. Also
//! the kind of a failure ([`Fault`]), which every one of them reports and
//! a sweep acts on, and the one way files are replaced whole ([`atomic`]).

pub mod atomic;
mod epoch;
mod fault;
mod run;

pub use epoch::{EpochRecord, VALUES};
pub use fault::Fault;
pub use run::{Preprocess, RunRecord, RUN_RECORD};
