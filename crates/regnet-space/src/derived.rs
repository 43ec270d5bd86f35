//! Derived spaces: a parent space plus restrictions is itself a space, the
//! unit of the paper's design loop (AnyNetX_A plus "shared b" is
//! AnyNetX_B). Structural restrictions on an AnyNetX parent tie its stage
//! parameters, so the derived space is counted exactly and sampled directly;
//! any other restriction is checked on each sample (rejection from the
//! parent), and the space's size is estimated from the share of the
//! parent's samples it keeps.

use crate::anynetx::{AnyNetXSpace, StageParam, Tying};
use crate::restriction::{restriction_metrics, Restriction};
use crate::space::{Space, Target};
use crate::{Result, SpaceError};
use num_bigint::BigUint;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regnet_spec::Complexity;
use serde::Serialize;

/// A parent space refined by restrictions.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedSpace {
    pub name: String,
    pub description: String,
    /// The parent's name (a built-in space or a config's).
    pub parent: String,
    /// The parent with the structural restrictions it can take exactly.
    pub base: Box<Space>,
    /// Every restriction, as given.
    pub restrictions: Vec<Restriction>,
    /// Those checked on each sample (not folded into `base`).
    pub checked: Vec<Restriction>,
}

/// A derived space's size: exact, or estimated from the share of the
/// parent's samples its checked restrictions keep.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SizeEstimate {
    Exact,
    Estimated {
        /// Share kept, its 95% Wilson interval, and the draws it rests on.
        share: f64,
        lo: f64,
        hi: f64,
        draws: u64,
    },
}

/// Draws of the parent behind a size estimate.
pub const SHARE_DRAWS: u64 = 4000;

impl DerivedSpace {
    /// `parent` refined by `restrictions`; at least one is needed.
    pub fn new(
        name: &str,
        description: &str,
        parent: Space,
        restrictions: Vec<Restriction>,
    ) -> Result<Self> {
        if restrictions.is_empty() {
            return Err(SpaceError(format!(
                "derived space '{name}': CONSTRAINTS lists no restriction"
            )));
        }
        let parent_name = parent.name().to_string();
        let (base, checked) = match parent {
            Space::AnyNetX(s) => {
                let (s, checked) = tie(s, &restrictions);
                (Space::AnyNetX(s), checked)
            }
            other => (other, restrictions.clone()),
        };
        Ok(DerivedSpace {
            name: name.to_string(),
            description: description.to_string(),
            parent: parent_name,
            base: Box::new(base),
            restrictions,
            checked,
        })
    }

    /// Whether a sampled model (its config, and its complexity) satisfies
    /// the restrictions checked per sample.
    pub fn admits(&self, config: &serde_json::Value, cx: &Complexity) -> bool {
        let cx = [cx.flops, cx.params, cx.acts].map(|v| v as f64);
        let metrics = restriction_metrics(&self.checked, config, cx);
        self.checked
            .iter()
            .all(|r| r.holds(config, &metrics) == Some(true))
    }

    /// The base's exact size, and whether it is the derived space's.
    pub fn estimate(&self, target: &Target) -> (BigUint, SizeEstimate) {
        let size = self.base.size();
        if self.checked.is_empty() {
            return (size, SizeEstimate::Exact);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (mut valid, mut kept) = (0u64, 0u64);
        for _ in 0..SHARE_DRAWS {
            let drawn = crate::sampling::build(
                &self.base,
                &mut rng,
                target,
                &self.base.default_constraints(),
            );
            let Ok((config, cx, _)) = drawn else {
                continue;
            };
            valid += 1;
            kept += u64::from(self.admits(&config, &cx));
        }
        let (share, lo, hi) = wilson(kept, valid);
        (
            size,
            SizeEstimate::Estimated {
                share,
                lo,
                hi,
                draws: valid,
            },
        )
    }
}

/// Folds the structural restrictions into an AnyNetX space's tyings;
/// returns the space and the restrictions left to check per sample.
fn tie(mut s: AnyNetXSpace, restrictions: &[Restriction]) -> (AnyNetXSpace, Vec<Restriction>) {
    let mut checked = Vec::new();
    for r in restrictions {
        let (param, tying): (&mut StageParam, Tying) = match r {
            Restriction::SharedB => (&mut s.bottleneck, Tying::Shared),
            Restriction::SharedG => (&mut s.group_w, Tying::Shared),
            Restriction::NonDecreasingW => (&mut s.width, Tying::NonDecreasing),
            Restriction::NonDecreasingD => (&mut s.depth, Tying::NonDecreasing),
            Restriction::Range { .. } => {
                checked.push(r.clone());
                continue;
            }
        };
        // Shared is the stronger tie: a shared parameter is already non-decreasing.
        if param.tying != Tying::Shared {
            param.tying = tying;
        }
    }
    (s, checked)
}

/// A binomial share and its 95% Wilson score interval.
pub fn wilson(k: u64, n: u64) -> (f64, f64, f64) {
    if n == 0 {
        return (0.0, 0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.959964);
    let p = k / n;
    let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
    let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    (p, (centre - half).max(0.0), (centre + half).min(1.0))
}
