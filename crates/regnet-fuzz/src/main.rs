//! `regnet-fuzz`: the long fuzz runs (docs/fuzzing.md).
//!
//! ```text
//! cargo run --release -p regnet-fuzz -- all -n 1000000
//! cargo run --release -p regnet-fuzz -- pickle -n 5000000 --seed 7
//! ```
//!
//! Each target runs in a worker process that keeps its current input on
//! disk (`corpus/TARGET/.last`): an input that aborts the worker (an
//! allocation refused, a stack overflow) is saved to the corpus like one
//! that fails a check, and the worker is restarted for the rest.

use regnet_fuzz::{alloc, files, fuzz, Target};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--worker") => worker(&args[1..]),
        Some(_) => supervise(&args),
        None => Err("usage: regnet-fuzz TARGET|all [-n INPUTS] [--seed K] [--minutes M]".into()),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

struct Plan {
    targets: Vec<Target>,
    inputs: u64,
    seed: u64,
    minutes: f64,
}

fn plan(args: &[String]) -> Result<Plan, String> {
    let targets = match args[0].as_str() {
        "all" => Target::ALL.to_vec(),
        name => vec![Target::parse(name)?],
    };
    let mut p = Plan {
        targets,
        inputs: 100_000,
        seed: 1,
        minutes: f64::INFINITY,
    };
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = || format!("{flag} {value}: not a number");
        match flag.as_str() {
            "-n" => p.inputs = value.parse().map_err(|_| bad())?,
            "--seed" => p.seed = value.parse().map_err(|_| bad())?,
            "--minutes" => p.minutes = value.parse().map_err(|_| bad())?,
            _ => {
                return Err(format!(
                    "unknown option '{flag}' (allowed: -n, --seed, --minutes)"
                ))
            }
        }
    }
    Ok(p)
}

/// Runs each target in worker processes until its inputs are done.
fn supervise(args: &[String]) -> Result<(), String> {
    let p = plan(args)?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    println!("target        inputs   accepted  failures  aborts  seconds  inputs/s");
    for t in &p.targets {
        let dir = t.corpus_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (mut done, mut accepted, mut failures, mut aborts, mut seed) =
            (0u64, 0u64, 0u64, 0u64, p.seed);
        let start = Instant::now();
        while done < p.inputs && start.elapsed().as_secs_f64() < p.minutes * 60.0 {
            let left_min = p.minutes - start.elapsed().as_secs_f64() / 60.0;
            let out = Command::new(&exe)
                .args([
                    "--worker",
                    t.name(),
                    &(p.inputs - done).to_string(),
                    &seed.to_string(),
                ])
                .arg(left_min.to_string())
                .output()
                .map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout);
            let counts: Vec<u64> = text
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if out.status.code() == Some(1) {
                // The worker's own error (its arguments, the corpus folder).
                return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
            }
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            if out.status.success() && counts.len() == 3 {
                done += counts[0];
                accepted += counts[1];
                failures += counts[2];
            } else {
                // The worker died on its current input (an abort, a stack
                // overflow, a panic the reader let out): keep it, go on.
                aborts += 1;
                let last = dir.join(".last");
                let input = std::fs::read(&last).unwrap_or_default();
                save(&dir, "abort", &input)?;
                done += progress(&dir);
            }
            seed += 1_000_003;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{:<12} {done:>8} {accepted:>10} {failures:>9} {aborts:>7} {secs:>8.1} {:>9.0}",
            t.name(),
            done as f64 / secs
        );
    }
    Ok(())
}

/// How far a worker that died had come (it writes its count as it goes).
fn progress(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join(".count"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// One worker: fuzzes `target` for `n` inputs from `seed`, saving each
/// failure; prints `inputs accepted failures`.
fn worker(args: &[String]) -> Result<(), String> {
    let [name, n, seed, minutes] = args else {
        return Err("--worker TARGET N SEED MINUTES".into());
    };
    let t = Target::parse(name)?;
    let parse = |s: &str| s.parse::<f64>().map_err(|e| e.to_string());
    let seeds: Vec<Vec<u8>> = files(&t.seeds_dir()).into_iter().map(|(_, b)| b).collect();
    let dir = t.corpus_dir();
    let last = std::fs::File::create(dir.join(".last")).map_err(|e| e.to_string())?;
    let count = std::fs::File::create(dir.join(".count")).map_err(|e| e.to_string())?;
    std::panic::set_hook(Box::new(|_| {}));
    let mut k = 0u64;
    let r = fuzz(
        t,
        &seeds,
        parse(n)? as u64,
        Duration::try_from_secs_f64(parse(minutes)? * 60.0).unwrap_or(Duration::MAX),
        parse(seed)? as u64,
        |input| {
            k += 1;
            let _ = last.set_len(0).and_then(|_| last.write_all_at(input, 0));
            if k % 1024 == 0 {
                let _ = count
                    .set_len(0)
                    .and_then(|_| count.write_all_at(k.to_string().as_bytes(), 0));
            }
        },
    );
    for f in &r.failures {
        save(&dir, "fail", &f.input)?;
        eprintln!("{}: {}", t.name(), f.why);
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{} {} {}", r.inputs, r.accepted, r.failures.len()).map_err(|e| e.to_string())
}

/// Saves `input` to the corpus under a name from its content.
fn save(dir: &Path, kind: &str, input: &[u8]) -> Result<(), String> {
    // FNV-1a: a stable name, so the same input is kept once.
    let h = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("{kind}-{h:016x}"));
    std::fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))
}
