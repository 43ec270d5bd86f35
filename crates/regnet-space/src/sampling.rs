//! Rejection sampling of distinct models under constraints (docs/method.md §6).

use crate::constraints::{Constraints, Rejection};
use crate::space::{Space, Target};
use crate::{Result, SpaceError};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use regnet_spec::{Compat, Complexity, ModelSpec, RegNetWidths};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// What to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleOptions {
    /// Number of distinct models wanted.
    pub n: usize,
    /// Seed of the deterministic generator (ChaCha8).
    pub seed: u64,
    /// Give up after this many candidates.
    pub max_tries: u64,
    /// Or after this long: an impossible constraint with a large
    /// `max_tries` must not run for hours unseen ([`MAX_TIME`]).
    pub max_time: Duration,
    pub constraints: Constraints,
    pub target: Target,
}

/// One kept model: its pycls config and exact complexity (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sampled {
    pub config: serde_json::Value,
    pub flops: u64,
    pub params: u64,
    pub acts: u64,
    /// Total number of blocks.
    #[serde(skip)]
    pub depth: u64,
}

/// The result of sampling: the models and what it took to find them.
#[derive(Debug, Clone, PartialEq)]
pub struct Population {
    pub models: Vec<Sampled>,
    /// Candidates drawn.
    pub tries: u64,
    /// Candidates rejected, by reason.
    pub rejected: BTreeMap<&'static str, u64>,
}

impl Population {
    /// Share of candidates kept.
    pub fn acceptance_rate(&self) -> f64 {
        self.models.len() as f64 / self.tries.max(1) as f64
    }
}

/// The usual bound on one sampling's time (10 minutes: about 10^8
/// candidates of a typical space).
pub const MAX_TIME: Duration = Duration::from_secs(600);

/// Draws candidates until `n` distinct ones satisfy every constraint.
/// Deterministic for a seed. Fails, saying how many were found, the share
/// accepted and which constraint rejected most, when `max_tries`
/// candidates or `max_time` do not suffice.
pub fn sample(space: &Space, opts: &SampleOptions) -> Result<Population> {
    if opts.n as u64 > opts.max_tries {
        return Err(SpaceError(format!(
            "{} models cannot be found in at most {} tries (each try gives at most one); ask for fewer or allow more tries",
            opts.n, opts.max_tries
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut seen = HashSet::new();
    // Grown as models are found: a count asked for is no reason to allocate.
    let mut models = Vec::with_capacity(opts.n.min(1 << 12));
    let mut rejected: BTreeMap<Rejection, u64> = BTreeMap::new();
    let mut tries = 0;
    let start = Instant::now();
    while models.len() < opts.n && tries < opts.max_tries {
        tries += 1;
        match consider(space, &mut rng, opts, &mut seen) {
            Ok(m) => models.push(m),
            Err(r) => *rejected.entry(r).or_default() += 1,
        }
        if tries % 1024 == 0 && start.elapsed() > opts.max_time {
            break;
        }
    }
    if models.len() < opts.n {
        let out_of_time = tries < opts.max_tries;
        return Err(exhausted(models.len(), opts, tries, out_of_time, &rejected));
    }
    Ok(Population {
        models,
        tries,
        rejected: rejected.into_iter().map(|(r, c)| (r.name(), c)).collect(),
    })
}

fn consider(
    space: &Space,
    rng: &mut ChaCha8Rng,
    opts: &SampleOptions,
    seen: &mut HashSet<String>,
) -> std::result::Result<Sampled, Rejection> {
    let (config, cx, depth) = build(space, rng, &opts.target, &opts.constraints)?;
    opts.constraints.check(&cx)?;
    if !space.admits(&config, &cx) {
        return Err(Rejection::Refined);
    }
    if !seen.insert(config.to_string()) {
        return Err(Rejection::Duplicate);
    }
    Ok(Sampled {
        config,
        flops: cx.flops,
        params: cx.params,
        acts: cx.acts,
        depth,
    })
}

/// Draws one candidate and builds it: its pycls config, its complexity and
/// its depth (a RegNet sample must also give a stage count `constraints`
/// allows).
pub(crate) fn build(
    space: &Space,
    rng: &mut ChaCha8Rng,
    target: &Target,
    constraints: &Constraints,
) -> std::result::Result<(serde_json::Value, Complexity, u64), Rejection> {
    let cand = space.draw(rng, target)?;
    let net = match &cand.spec {
        ModelSpec::RegNet(r) => {
            let rw = r.widths().map_err(|_| Rejection::Invalid)?;
            check_stages(&rw, constraints)?;
            r.expand(rw, Compat::Pycls).and_then(|a| a.build())
        }
        spec => spec.build(),
    }
    .map_err(|_| Rejection::Invalid)?;
    let cx: Complexity = net
        .complexity(cand.im_size)
        .map_err(|_| Rejection::Invalid)?;
    let config = serde_json::to_value(cand.config()).map_err(|_| Rejection::Invalid)?;
    Ok((config, cx, net.stages.iter().map(|s| s.depth()).sum()))
}

/// pycls `check_regnet_constraints`: the stage count is in range and no
/// quantization exponent was skipped.
fn check_stages(rw: &RegNetWidths, c: &Constraints) -> std::result::Result<(), Rejection> {
    let Some((lo, hi)) = c.num_stages else {
        return Ok(());
    };
    let n = rw.num_stages() as u64;
    if n != rw.total_stages || n < lo || n > hi {
        return Err(Rejection::NumStages);
    }
    Ok(())
}

fn exhausted(
    found: usize,
    opts: &SampleOptions,
    tries: u64,
    out_of_time: bool,
    rejected: &BTreeMap<Rejection, u64>,
) -> SpaceError {
    let worst = rejected.iter().max_by_key(|(_, &c)| c);
    let why = match worst {
        Some((r, c)) => format!(
            "the {} constraint ({}) rejected most candidates ({c} of {tries})",
            r.name(),
            opts.constraints.describe(*r)
        ),
        None => "no candidate was drawn".into(),
    };
    let stopped = if out_of_time {
        format!(
            "in the {} s time bound, {tries} of {} tries",
            opts.max_time.as_secs_f64(),
            opts.max_tries
        )
    } else {
        format!("after {tries} tries")
    };
    SpaceError(format!(
        "found only {found} of {} models {stopped} (accepted {}); {why}",
        opts.n,
        share(found, tries)
    ))
}

/// `found` of `tries` as a percentage with enough digits to be nonzero
/// when anything was found.
fn share(found: usize, tries: u64) -> String {
    let p = 100.0 * found as f64 / tries.max(1) as f64;
    match p {
        0.0 => "0%".into(),
        p if p >= 0.1 => format!("{p:.1}%"),
        p => format!("{p:.1e}%"),
    }
}
