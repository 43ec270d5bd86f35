//! Running inputs through a target and checking what must hold for each.

use crate::alloc;
use crate::{Mutator, Target};
use std::time::{Duration, Instant};

/// The most one input may take (reading a file of a few kilobytes).
pub const TIME_LIMIT: Duration = Duration::from_secs(2);

/// An input that broke a property, and which one.
#[derive(Debug)]
pub struct Failure {
    pub input: Vec<u8>,
    pub why: String,
}

/// What a fuzz run did.
#[derive(Debug, Default)]
pub struct Report {
    pub inputs: u64,
    /// Inputs read without error (the rest gave one-line errors).
    pub accepted: u64,
    pub failures: Vec<Failure>,
    pub seconds: f64,
}

/// Reads `input` with `target` and checks it: no panic, a one-line error,
/// within [`TIME_LIMIT`] and the allocation budget (which needs the
/// counting allocator installed; without it nothing is counted). Returns
/// whether it was accepted and its peak allocation.
pub fn check(target: Target, input: &[u8]) -> Result<(bool, usize), String> {
    let baseline = alloc::live();
    alloc::start(target.budget(input.len()));
    let t = Instant::now();
    let out = std::panic::catch_unwind(|| target.read(input));
    let took = t.elapsed();
    let peak = alloc::finish(baseline);
    let accepted = match out {
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return Err(format!("panic: {msg}"));
        }
        Ok(Ok(())) => true,
        Ok(Err(e)) if e.contains('\n') || e.trim().is_empty() => {
            return Err(format!("not a one-line error: {e:?}"));
        }
        Ok(Err(_)) => false,
    };
    if took > TIME_LIMIT {
        return Err(format!("took {:.1} s", took.as_secs_f64()));
    }
    Ok((accepted, peak))
}

/// Runs `inputs` mutated seed files through `target` (or until `time`
/// passes), calling `before` with each input first (the binary keeps the
/// last one on disk, in case the process aborts).
pub fn fuzz(
    target: Target,
    seeds: &[Vec<u8>],
    inputs: u64,
    time: Duration,
    seed: u64,
    mut before: impl FnMut(&[u8]),
) -> Report {
    assert!(!seeds.is_empty(), "no seed files for {}", target.name());
    let mut m = Mutator::new(seed);
    let mut r = Report::default();
    let start = Instant::now();
    while r.inputs < inputs && start.elapsed() < time {
        let i = r.inputs as usize;
        let (a, b) = (
            &seeds[i % seeds.len()],
            &seeds[(i / seeds.len()) % seeds.len()],
        );
        let input = m.mutate(a, b, target.is_text());
        before(&input);
        r.inputs += 1;
        match check(target, &input) {
            Ok((accepted, _)) => r.accepted += accepted as u64,
            Err(why) => r.failures.push(Failure { input, why }),
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    r
}

/// The files in `dir`, sorted (none when it does not exist).
pub fn files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            std::fs::read(e.path()).ok().map(|b| (name, b))
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    out.sort();
    out
}
