//! Population statistics of design spaces (docs/method.md §6): error EDFs and
//! their summaries, normalized EDFs that equalize complexity distributions,
//! the KS comparison of two EDFs, empirical bootstraps (the best models'
//! range of a metric, confidence intervals of differences), Spearman
//! rank correlation, and least squares (what run-time models are fitted with). Plain numbers in, plain numbers out; seeded randomness.

pub mod bootstrap;
pub mod edf;
pub mod ks;
pub mod normalize;
pub mod rank;
pub mod regress;
pub mod sequential;

pub use bootstrap::{best_range, diff_interval, BestRange, Interval, Statistic};
pub use edf::{Edf, Summary};
pub use ks::{ks_test, KsTest};
pub use normalize::normalized_weights;
pub use rank::spearman;
pub use regress::{ols, pearson, Ols};
pub use sequential::{dkw_half_width, models_needed, Boundary, Decision, Design, Look};
