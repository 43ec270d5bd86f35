//! `regnet demo`: the paper's first comparison in miniature. Two design
//! spaces, AnyNetX_A and RegNetX (adapted to 32x32 inputs and one small
//! flops band), n models each, trained briefly on the built-in synthetic
//! dataset through the sweep store, then their error distributions compared.

use crate::sweep::init::create;
use crate::sweep::job::store_path;
use crate::sweep::plan::{plan, Overrides};
use crate::sweep::run as sweep_run;
use crate::CliError;
use regnet_stats::normalize::default_bins;
use regnet_stats::{diff_interval, ks_test, normalized_weights, Edf, Statistic};
use regnet_store::{JobState, SqliteStore, SweepStore};
use std::path::{Path, PathBuf};

/// The two spaces, as pycls sweep configs (also usable with `sweep init`).
const SPACES: [(&str, &str); 2] = [
    (
        "anynetx_a",
        include_str!("../../../../configs/sweeps/demo_anynetx_a.yaml"),
    ),
    (
        "regnetx",
        include_str!("../../../../configs/sweeps/demo_regnetx.yaml"),
    ),
];

#[derive(clap::Args)]
pub struct Args {
    /// Where the two sweeps live; an existing demo there is continued.
    #[arg(long, default_value = "runs/demo")]
    dir: PathBuf,
    /// Models per design space.
    #[arg(short = 'n', long = "num", default_value_t = 8)]
    n: usize,
    /// Epochs per model.
    #[arg(long, default_value_t = 6)]
    epochs: usize,
    /// Dataset, as for `regnet train`.
    #[arg(long, default_value = "synthetic:1500")]
    data: String,
    /// Start over: replace an existing demo in --dir.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    run: RunOptions,
}

/// The `sweep run` options the demo passes on.
#[derive(clap::Args)]
struct RunOptions {
    /// Jobs trained at once (default: one per CPU core, two per GPU).
    #[arg(long)]
    workers: Option<usize>,
    /// libtorch CPU threads per worker.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let overrides = Overrides {
        data: Some(a.data.clone()),
        num_configs: Some(a.n),
        epochs: Some(a.epochs),
        ..Overrides::default()
    };
    let dirs: Vec<PathBuf> = SPACES.iter().map(|(name, _)| a.dir.join(name)).collect();
    for ((name, text), dir) in SPACES.iter().zip(&dirs) {
        if store_path(dir).exists() && !a.force {
            eprintln!(
                "continuing the {name} sweep in {} (--force starts over)",
                dir.display()
            );
            continue;
        }
        let p =
            plan(text, &overrides).map_err(|e| CliError(format!("demo space {name}: {}", e.0)))?;
        create(dir, &p, a.force)?;
    }
    let run_args = sweep_run::Args {
        dir: PathBuf::new(),
        workers: a.run.workers,
        threads: a.run.threads,
        device: a.run.device.clone(),
        max_jobs: None,
        lease_seconds: 60.0,
        quiet: false,
    };
    for dir in &dirs {
        sweep_run::run_dir(&run_args, dir)?;
    }
    summarize(&dirs)
}

/// Error summaries of both spaces (plain and flops-normalized EDFs), their
/// KS comparison, and a bootstrap interval of the mean error difference.
fn summarize(dirs: &[PathBuf]) -> Result<(), CliError> {
    let pops: Vec<(String, Vec<(f64, f64)>)> = dirs
        .iter()
        .map(|d| Ok((space_name(d), done_models(d)?)))
        .collect::<Result<_, CliError>>()?;
    let errs: Vec<Vec<f64>> = pops
        .iter()
        .map(|p| p.1.iter().map(|m| m.0).collect())
        .collect();
    let flops: Vec<Vec<f64>> = pops
        .iter()
        .map(|p| p.1.iter().map(|m| m.1).collect())
        .collect();
    let flop_refs: Vec<&[f64]> = flops.iter().map(Vec::as_slice).collect();
    let bins = default_bins(&errs.iter().map(Vec::len).collect::<Vec<_>>());
    let weights = normalized_weights(&flop_refs, bins);
    let plain: Vec<Edf> = errs.iter().map(|e| Edf::new(e)).collect();
    let normed: Vec<Edf> = errs
        .iter()
        .zip(&weights)
        .map(|(e, w)| Edf::weighted(e, w))
        .collect();
    println!("\ntest top-1 error (%) of the trained models (normalized: flops distributions equalized over {bins} bins):");
    let cell = |v: f64| {
        if v.is_finite() {
            format!("{v:.2}")
        } else {
            "-".into()
        }
    };
    let rows: Vec<Vec<String>> = pops
        .iter()
        .zip(plain.iter().zip(&normed))
        .map(|((name, _), (p, n))| {
            let (s, ns) = (p.summary(), n.summary());
            vec![
                name.clone(),
                s.n.to_string(),
                cell(s.min),
                cell(s.mean),
                cell(s.median),
                cell(ns.mean),
            ]
        })
        .collect();
    let header = ["space", "n", "min", "mean", "median", "normalized mean"];
    println!("{}", crate::format::table(&header, &rows, 1));
    if let ([a, b], [na, nb]) = (&plain[..], &normed[..]) {
        if !a.is_empty() && !b.is_empty() {
            let ks = ks_test(na, nb);
            let diff = diff_interval(&errs[0], &errs[1], Statistic::Mean, 2500, 0.95, 0);
            let (first, second) = (&pops[0].0, &pops[1].0);
            let better = if na.summary().mean <= nb.summary().mean {
                first
            } else {
                second
            };
            println!(
                "{better} has the lower normalized mean error; normalized EDFs differ by KS D = {:.3} (p = {:.3}); \
                 mean error {first} - {second} = {:.2} points, 95% bootstrap interval [{:.2}, {:.2}]",
                ks.d, ks.p_value, diff.estimate, diff.lo, diff.hi
            );
            println!("the paper finds RegNetX better than AnyNetX_A at equal flops (with n = 500 models of 10 ImageNet epochs each)");
        }
    }
    println!(
        "sweeps: {}",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn space_name(dir: &Path) -> String {
    dir.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}

/// (final test error, flops) of a sweep's finished jobs.
fn done_models(dir: &Path) -> Result<Vec<(f64, f64)>, CliError> {
    let store = SqliteStore::open(&store_path(dir))?;
    Ok(store
        .jobs()?
        .into_iter()
        .filter(|j| j.state == JobState::Done)
        .filter_map(|j| Some((j.top1_err?, j.spec.flops as f64)))
        .collect())
}
