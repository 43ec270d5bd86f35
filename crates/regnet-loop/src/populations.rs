//! What the loop drives: the populations it samples and trains. The loop
//! decides; an implementation of [`Populations`] samples, trains and reads
//! back results (sweeps in a store for `regnet refine`, a simulation in the
//! tests), so every rule of the loop runs without a process or a GPU.

use crate::Result;
use regnet_analysis::Population;
use regnet_space::{Restriction, SizeEstimate};
use regnet_store::Counts;

/// Which population of the chain: its index and the restriction it added
/// to its parent's (None for the start), which together name it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepId {
    pub index: usize,
    pub tested: Option<String>,
}

/// A population as opened: the size of its space and where it lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// log10 of the space's size, and whether that is exact or estimated.
    pub size_log10: f64,
    pub size: SizeEstimate,
    /// Where its results are kept, in words a user can give to other
    /// commands (a sweep directory or store URL).
    pub location: String,
}

/// The loop's populations. Step indexes are those of [`Populations::open`];
/// every call may fail with a [`crate::LoopError`] that keeps its fault kind.
pub trait Populations {
    /// Whether population `id` was sampled before (by this loop or by
    /// another sharing its store).
    fn exists(&mut self, id: &StepId) -> Result<bool>;
    /// Opens population `id`, of the starting space plus `restrictions`
    /// (all of them, relative to the start), sampling its first `n` models
    /// when it is new.
    fn open(&mut self, id: &StepId, restrictions: &[Restriction], n: usize) -> Result<Opened>;
    /// log10 of the size of the starting space plus `restrictions` (all of
    /// them, relative to the start): exact where it can be counted,
    /// estimated otherwise. The loop orders its candidates by it.
    fn size_log10(&mut self, restrictions: &[Restriction]) -> Result<f64>;
    /// Its models by state.
    fn counts(&mut self, index: usize) -> Result<Counts>;
    /// Queues again the models whose trainers are gone; returns how many.
    fn recover(&mut self, index: usize) -> Result<usize>;
    /// Samples more models (from the same seed stream) until it has `total`.
    fn grow_to(&mut self, index: usize, total: usize) -> Result<()>;
    /// Trains what is pending (returns when nothing is left to claim).
    fn train(&mut self, index: usize) -> Result<()>;
    /// Its finished models, in sampling order, under the name `name`.
    fn population(&mut self, index: usize, name: &str) -> Result<Population>;
    /// Waits a while for models that others are training.
    fn wait(&mut self) {
        std::thread::sleep(std::time::Duration::from_secs(5));
    }
    /// A line of progress for whoever watches the loop.
    fn say(&mut self, _line: &str) {}
}
