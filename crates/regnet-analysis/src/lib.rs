//! Analysis of trained populations (docs/method.md §6, §4, §5): reads a sweep
//! store or a pycls `sweep.json`, and computes everything the report shows
//! (and `--json` exports): EDFs and normalized EDFs with their summaries,
//! pairwise comparisons, the best models' range of each design metric, rank
//! correlations with error, the top and bottom models with their training
//! curves, RegNet fits of AnyNet models, the refinement assistant, the
//! sequential comparison and the fixed-n planner, and the design loop's chain.

mod analyze;
mod chain;
mod metric;
mod population;
mod refine;
mod sequential;

pub use analyze::{
    analyze, Analysis, Comparison, FitRow, MetricStats, Options, PopulationAnalysis,
    RegNetFitSummary,
};
pub use chain::{Chain, Step, StepDecision};
pub use metric::ComplexityMetric;
pub use population::{MissingModel, ModelResult, Population};
pub use refine::{next_candidate, refine, RangeOptions, Refinement, MIN_KEPT};
pub use regnet_space::restriction::block_widths;
pub use regnet_space::SizeEstimate;
pub use regnet_stats::sequential::{Boundary, Decision, Design, Look};
pub use regnet_stats::Interval;
pub use sequential::{plan, sequential, Outcome, Plan, PlanOptions, Sequential, SequentialOptions};
