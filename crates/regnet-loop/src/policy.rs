//! Which restriction the loop tests next. The method's restrictions are
//! simplifications: each was proposed from insight and kept because it
//! shrank the space by orders of magnitude while the error distribution
//! did not get worse, judged on a fresh population of the restricted space.
//! How many of the parent's models happen to satisfy one says nothing about
//! it (in AnyNetX_A few models share b or g across stages), and ranking by
//! the apparent gain in the parent's models picks the winners of noise.

use regnet_analysis::{next_candidate, Refinement, MIN_KEPT};
use regnet_space::Restriction;
use serde::{Deserialize, Serialize};

/// How the loop orders the candidates it tests (`--order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// The method's: the structural simplifications (shared b, shared g,
    /// non-decreasing widths, non-decreasing depths) first, whether or not
    /// the screening models satisfy them, largest exact size reduction
    /// first; then the screening's ranges that look no worse than the
    /// margin there, again by size reduction.
    Shrink,
    /// By the screening's mean-error gain among candidates that at least
    /// 3 screening models satisfy: the first loops' policy, kept so that
    /// their runs replay; prone to the winner's curse.
    Gain,
}

impl Order {
    /// The order of a loop whose settings file predates `--order`.
    pub fn legacy() -> Order {
        Order::Gain
    }

    pub fn name(self) -> &'static str {
        match self {
            Order::Shrink => "shrink",
            Order::Gain => "gain",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shrink" => Ok(Order::Shrink),
            "gain" => Ok(Order::Gain),
            _ => Err(format!("--order '{s}': allowed: shrink, gain")),
        }
    }
}

impl std::fmt::Display for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A candidate with how much it shrinks its parent's space.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub refinement: Refinement,
    /// log10 of the parent's size minus log10 of the restricted space's.
    pub reduction: f64,
}

/// The structural simplifications, in the paper's order.
pub const STRUCTURAL: [Restriction; 4] = [
    Restriction::SharedB,
    Restriction::SharedG,
    Restriction::NonDecreasingW,
    Restriction::NonDecreasingD,
];

/// The candidates in the order `order` tests them, `tried` ones left out.
/// `reduction` gives a candidate's log10 size reduction of the parent's
/// space (None where it cannot be sized); only candidates that shrink the
/// space are kept.
pub fn ordered(
    order: Order,
    screening: &[Refinement],
    tried: &[Vec<Restriction>],
    margin: f64,
    mut reduction: impl FnMut(&[Restriction]) -> Option<f64>,
) -> Vec<Ranked> {
    let fresh = |r: &&Refinement| !tried.contains(&r.restrictions);
    if order == Order::Gain {
        return next_candidate(screening, tried, margin)
            .map(|r| Ranked {
                reduction: reduction(&r.restrictions).unwrap_or(f64::NAN),
                refinement: r.clone(),
            })
            .into_iter()
            .collect();
    }
    let structural = |r: &Refinement| r.restrictions.iter().all(Restriction::is_structural);
    let range_ok = |r: &Refinement| r.kept >= MIN_KEPT && r.share < 1.0 && r.mean_change < margin;
    let mut rank = |keep: &dyn Fn(&Refinement) -> bool| -> Vec<Ranked> {
        let mut out: Vec<Ranked> = screening
            .iter()
            .filter(fresh)
            .filter(|r| keep(r))
            .filter_map(|r| {
                let reduction = reduction(&r.restrictions)?;
                (reduction > 0.0).then(|| Ranked {
                    refinement: r.clone(),
                    reduction,
                })
            })
            .collect();
        out.sort_by(|a, b| b.reduction.total_cmp(&a.reduction));
        out
    };
    let mut out = rank(&structural);
    out.extend(rank(&|r| !structural(r) && range_ok(r)));
    out
}
