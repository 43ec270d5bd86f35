//! The design loop's record: every space `regnet refine` trained, the
//! restriction each tested against its parent, the sequential comparison
//! that decided it, and the screening that proposed the next. The loop
//! (which trains) fills it in; the report and `chain.json` read it.

use crate::refine::Refinement;
use crate::sequential::Sequential;
use regnet_space::SizeEstimate;
use serde::Serialize;

/// The chain of refinements so far.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub name: String,
    /// What every population shares (band, dataset, recipe), in words.
    pub setting: String,
    /// The not-worse margin, points of error.
    pub margin: f64,
    pub steps: Vec<Step>,
    /// Why the loop ended, or what it waits for.
    pub status: String,
    /// Models trained in all populations, and their training time.
    pub models: usize,
    pub train_hours: f64,
}

/// One population of the chain: the start, or a restriction tested.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Position in the chain (0: the starting space).
    pub index: usize,
    pub space: String,
    /// The step whose space this one restricts (None for the start).
    pub parent: Option<usize>,
    /// The restriction added to the parent's (None for the start), and
    /// all of the space's, relative to the starting space.
    pub tested: Option<String>,
    pub restrictions: Vec<String>,
    /// log10 of the space's size, and whether it is exact or estimated.
    pub size_log10: f64,
    pub size: SizeEstimate,
    /// The population's name in the analysis, and where its sweep lives.
    pub population: String,
    pub sweep: String,
    /// Trained models, their training time.
    pub models: usize,
    pub train_seconds: f64,
    /// Against the parent (None for the start or while untested).
    pub comparison: Option<Sequential>,
    /// Kept (true), dropped (false), or undecided so far.
    pub kept: Option<bool>,
    /// The candidates screened in this population, when it served as a parent.
    pub screening: Vec<Refinement>,
}
