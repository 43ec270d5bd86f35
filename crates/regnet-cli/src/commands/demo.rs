//! `regnet demo`: the paper's first comparison in miniature. Two design
//! spaces, AnyNetX_A and RegNetX (adapted to 32x32 inputs, one narrow flops
//! band), up to n models each in two rounds, trained briefly on
//! Fashion-MNIST (the built-in synthetic data where it is not installed)
//! through the sweep store, then their error distributions compared; a
//! sequential comparison skips the second round when the first decides,
//! and a better space is named only when the data can tell.

use crate::commands::analyze::{load, write, Extras, ReportArgs};
use crate::format::short;
use crate::sweep::extend::grow;
use crate::sweep::init::{create, plan_with_data};
use crate::sweep::run as sweep_run;
use crate::CliError;
use regnet_analysis::{sequential, Boundary, Design, Outcome, Population, SequentialOptions};
use regnet_data::idx::FASHION_MNIST_DIR;
use regnet_store::{store_path, Location};
use regnet_sweep::plan::Overrides;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// Models per design space (default: the demo configs' 20).
    #[arg(short = 'n', long = "num")]
    n: Option<usize>,
    /// Epochs per model (default: the demo configs' 4).
    #[arg(long)]
    epochs: Option<usize>,
    /// Dataset, as for `regnet train` (default: 2,000 Fashion-MNIST training
    /// images and 1,000 test images, or synthetic:2000 where Fashion-MNIST
    /// is not installed).
    #[arg(long)]
    data: Option<String>,
    /// Start over: replace an existing demo in --dir.
    #[arg(long)]
    force: bool,
    /// This run's time bound in minutes, checked between rounds: a round
    /// starts only when the last one's time says it ends within it (run
    /// the demo again to train the rounds a bound left out).
    #[arg(long, default_value_t = 10.0, value_parser = positive_minutes)]
    minutes: f64,
    #[command(flatten)]
    run: sweep_run::RunOptions,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let n = a.n.unwrap_or(DEFAULT_N);
    let design = Design::new(0.05, 2, n.div_ceil(2).max(2), Boundary::Pocock)
        .map_err(|e| CliError::new(format!("-n {n}: {e}")))?;
    let overrides = Overrides {
        data: a.data.clone().or_else(fallback_data),
        num_configs: Some(design.round),
        epochs: a.epochs,
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
        let p = regnet_sweep::SweepConfig::parse(text)
            .map_err(|e| CliError::new(e.message))
            .and_then(|cfg| plan_with_data(&cfg, &overrides))
            .map_err(|e| CliError::new(format!("demo space {name}: {}", e.message)))?;
        create(&Location::Dir(dir.clone()), dir, &p, a.force)?;
    }
    say_plan(&dirs, &design, a.minutes)?;
    let run_args = a.run.args();
    let o = SequentialOptions {
        design,
        margin: None,
    };
    let bound = Duration::from_secs_f64(a.minutes * 60.0);
    let started = Instant::now();
    for look in 1..=o.design.looks {
        let round = Instant::now();
        for dir in &dirs {
            train_round(&run_args, dir, look * o.design.round)?;
        }
        let pops = populations(&dirs)?;
        let s = sequential(&pops[0], &pops[1], &o);
        if look == o.design.looks {
            break;
        }
        if matches!(s.outcome, Outcome::Decided { .. }) {
            let n = s.looks.last().map_or(0, |l| l.n);
            eprintln!("demo: decided after {n} models of each; no further round");
            break;
        }
        let next = started.elapsed() + round.elapsed();
        if next > bound {
            eprintln!(
                "demo: round {} would end after about {:.1} min, past the bound of {} minutes (--minutes); run the demo again to train it",
                look + 1,
                next.as_secs_f64() / 60.0,
                a.minutes
            );
            break;
        }
    }
    summarize(&dirs, &a.dir, o)
}

/// Grows the sweep in `dir` to `total` jobs and trains what is pending.
fn train_round(run_args: &sweep_run::Args, dir: &Path, total: usize) -> Result<(), CliError> {
    let name = dir.display().to_string();
    let jobs = regnet_sweep::Sweep::named(&name)?.store.counts()?.total();
    if jobs < total {
        grow(&name, total - jobs)?;
    }
    sweep_run::run_at(run_args, &name)
}

/// --minutes: a positive, finite number of minutes.
fn positive_minutes(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(m) if m.is_finite() && m > 0.0 && m <= 1e6 => Ok(m),
        _ => Err(format!(
            "{s:?} is not a time bound: give minutes, a number above 0 (at most 1e6)"
        )),
    }
}

/// Models per space at most (the demo configs' NUM_CONFIGS), in two
/// rounds: the comparison stops after the first when it decides.
const DEFAULT_N: usize = 20;

fn populations(dirs: &[PathBuf]) -> Result<Vec<Population>, CliError> {
    dirs.iter().map(|d| load(d, Some(&space_name(d)))).collect()
}

/// What the demo trains, read from its stores and said before it starts
/// (a continued demo says it too, so every run names its data).
fn say_plan(dirs: &[PathBuf], d: &Design, minutes: f64) -> Result<(), CliError> {
    for dir in dirs {
        let sweep = regnet_sweep::Sweep::named(&dir.display().to_string())?;
        let s = sweep.store.info()?.settings;
        let epochs = sweep.store.jobs()?.first().map_or(0, |j| j.spec.epochs);
        let band = &s.constraints["flops"];
        let flops = match (band["lo"].as_u64(), band["hi"].as_u64()) {
            (Some(lo), Some(hi)) => format!("{}–{} flops", short(lo), short(hi)),
            _ => "any flops".into(),
        };
        eprintln!(
            "demo: up to {} models from {} ({flops} at {}x{}, {} classes), {epochs} epochs each on {}",
            d.max_n(), s.space, s.im_size, s.im_size, s.num_classes, s.data
        );
    }
    eprintln!(
        "demo: in {} rounds of {} models each; a sequential comparison stops after a round that decides, and a round starts only when it should end within {minutes} minutes",
        d.looks, d.round
    );
    Ok(())
}

/// The built-in synthetic data, said so, when Fashion-MNIST (the configs'
/// data) is not installed; None keeps the configs' own.
fn fallback_data() -> Option<String> {
    if Path::new(FASHION_MNIST_DIR).is_dir() {
        return None;
    }
    eprintln!(
        "note: Fashion-MNIST is not installed ({FASHION_MNIST_DIR}: Debian's dataset-fashion-mnist); the demo uses the built-in synthetic data (synthetic:2000)"
    );
    Some("synthetic:2000".into())
}

/// The analysis report of both spaces, and their summaries on the terminal.
fn summarize(dirs: &[PathBuf], out: &Path, o: SequentialOptions) -> Result<(), CliError> {
    let pops = populations(dirs)?;
    let report = ReportArgs::to(out.join("report.html"));
    let a = write(
        &pops,
        &report,
        "regnet demo: AnyNetX_A vs RegNetX",
        Extras::sequential(o),
    )?;
    say!(
        "\ntest top-1 error (%) of the trained models (normalized: {} distributions equalized over {} bins):",
        a.normalized_by, a.bins
    );
    let rows: Vec<Vec<String>> = a
        .populations
        .iter()
        .map(|p| {
            let (s, n) = (p.summary, p.normalized_summary);
            let f = |v: f64| format!("{v:.2}");
            vec![
                p.name.clone(),
                s.n.to_string(),
                f(s.min),
                f(s.mean),
                f(s.median),
                f(n.mean),
            ]
        })
        .collect();
    let header = ["space", "n", "min", "mean", "median", "normalized mean"];
    say!("{}", crate::format::table(&header, &rows, 1));
    for c in &a.comparisons {
        say!(
            "verdict: {}; the normalized EDFs differ by KS D = {:.3} (p = {:.3})",
            c.verdict(),
            c.ks.d,
            c.ks.p_value,
        );
    }
    let decided = a
        .sequential
        .as_ref()
        .is_some_and(|s| matches!(s.outcome, Outcome::Decided { .. }));
    if let Some(s) = &a.sequential {
        say!("sequential: {}", s.verdict());
    }
    if let (Some(c), [pa, pb], false) = (a.comparisons.first(), pops.as_slice(), decided) {
        say_models_needed(c, pa, pb);
    }
    say!("the paper finds RegNetX better than AnyNetX_A at equal flops (n = 500 models, 10 ImageNet epochs each)");
    say!("report: {}", report.out.display());
    Ok(())
}

/// When the sequential comparison could not decide: how many models per space a
/// fixed-n comparison would need to detect the observed difference (80%
/// power), and what that costs at the measured training time.
fn say_models_needed(
    c: &regnet_analysis::Comparison,
    a: &regnet_analysis::Population,
    b: &regnet_analysis::Population,
) {
    let d = c.mean_diff.estimate.abs();
    if d.is_nan() || d <= 0.0 {
        return;
    }
    let o = regnet_analysis::PlanOptions {
        difference: d,
        power: 0.8,
        alpha: 0.05,
    };
    if let Ok(p) = regnet_analysis::plan(a, b, o) {
        say!("planner: {}", p.verdict());
    }
}

fn space_name(dir: &Path) -> String {
    dir.file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned())
}
