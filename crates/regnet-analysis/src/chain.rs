//! The design loop's record: every space `regnet refine` trained, the
//! restriction each tested against its parent, the sequential comparison
//! that decided it, and the screening that proposed the next. The loop
//! (which trains) fills it in; the report and `chain.json` read it.

use crate::refine::Refinement;
use crate::sequential::{Outcome, Sequential};
use regnet_space::SizeEstimate;
use regnet_stats::sequential::Decision;
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
    /// What the loop decided about its restriction (None for the start,
    /// or while its comparison needs more models).
    pub decision: Option<StepDecision>,
    /// The candidates screened in this population, when it served as a parent.
    pub screening: Vec<Refinement>,
}

/// The four things a loop can conclude about a restriction, kept apart
/// because they mean different things: "shown worse" is evidence against
/// it, "undecided" is only a lack of evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepDecision {
    /// Kept: the restricted space is better (its interval lies below 0).
    KeptBetter,
    /// Kept: not worse by more than the margin (the interval's upper end
    /// lies below it), which is all the loop asks of a simplification.
    KeptNotWorse,
    /// Dropped: the restricted space is shown worse (the interval lies
    /// above 0).
    DroppedWorse,
    /// Not kept: every look of the plan was spent and the interval still
    /// reaches past the margin; it is neither shown worse nor not worse.
    UndecidedLooksSpent,
}

impl StepDecision {
    /// The decision a comparison's outcome gives (None: more models needed).
    pub fn of(outcome: &Outcome) -> Option<StepDecision> {
        match outcome {
            Outcome::Decided { decision } => Some(match decision {
                Decision::Better => StepDecision::KeptBetter,
                Decision::NotWorse => StepDecision::KeptNotWorse,
                Decision::Worse => StepDecision::DroppedWorse,
                Decision::Continue => StepDecision::UndecidedLooksSpent,
            }),
            Outcome::Undecided => Some(StepDecision::UndecidedLooksSpent),
            Outcome::NeedsMore { .. } => None,
        }
    }

    /// Whether the loop keeps the restriction (its space becomes the parent).
    pub fn kept(self) -> bool {
        matches!(self, StepDecision::KeptBetter | StepDecision::KeptNotWorse)
    }

    /// In words, for the terminal and the report.
    pub fn label(self, margin: f64) -> String {
        match self {
            StepDecision::KeptBetter => "kept (better)".into(),
            StepDecision::KeptNotWorse => {
                format!("kept (not worse by more than {margin} points)")
            }
            StepDecision::DroppedWorse => "dropped (shown worse)".into(),
            StepDecision::UndecidedLooksSpent => "undecided (looks spent)".into(),
        }
    }
}

impl Step {
    /// Whether its restriction was kept.
    pub fn kept(&self) -> bool {
        self.decision.is_some_and(StepDecision::kept)
    }
}
