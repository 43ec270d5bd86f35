//! Fuzzing on stable Rust for the readers of files other people make.
//!
//! Each [`Target`] is one reader (pickle, `.npy`, pycls YAML, sweep
//! config, pycls `sweep.json`). Inputs are valid seed files (`seeds/`)
//! mutated by [`Mutator`]: byte edits for binary formats, with the integers
//! a length or shape field is most likely to mishandle, and token edits for
//! text formats (numbers made huge, NaN or negative, nesting deepened, keys
//! and lines repeated). Every input must end in a value or a one-line
//! error, without a panic, within a time limit, and allocating at most
//! [`alloc::budget`] bytes for its size; an input that breaks one is a
//! [`Failure`], saved under `corpus/` to be replayed by the tests forever.
//!
//! The tests run every corpus file and a short fuzz of each target; the
//! `regnet-fuzz` binary runs the long ones (docs/fuzzing.md).

pub mod alloc;
mod mutate;
mod run;
mod target;

pub use mutate::Mutator;
pub use run::{check, files, fuzz, Failure, Report, TIME_LIMIT};
pub use target::Target;
