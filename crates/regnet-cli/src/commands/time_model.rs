//! `regnet time-model fit`: what predicts a network's run time on this
//! machine. Times zoo models and models sampled from RegNetX, RegNetY and
//! AnyNetX_E across a flops range (inference for all, a training step for
//! every k-th), fits time against flops, params, activations and flops +
//! activations on three quarters of them, measures each fit's error on the
//! quarter it was not fitted on, and writes the best as a time model that
//! `describe --time-model` and `space stats|sample --time-model` read.

use crate::CliError;
use regnet_engine::timing::{seconds_per_image, Mode, Timing};
use regnet_space::{sample, Band, SampleOptions, Space};
use regnet_spec::cx::Complexity;
use regnet_spec::time_model::{Term, TimeFit, TimeModel};
use regnet_spec::{zoo, Network};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Time models on this machine and fit a run-time model (resumable).
    Fit(FitArgs),
}

#[derive(clap::Args)]
pub struct FitArgs {
    /// Where the time model goes (JSON).
    #[arg(short, long)]
    output: PathBuf,
    /// Every measurement, one JSON line per model; a rerun skips the models
    /// it holds (default: OUTPUT with .samples.jsonl).
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Design spaces to sample from.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "regnetx,regnety,anynetx-e"
    )]
    spaces: Vec<String>,
    /// Sampled models in all (split evenly over spaces and log-spaced flops bins).
    #[arg(short = 'n', long, default_value_t = 200)]
    num: usize,
    /// Flops range of the sampled models, LO:HI at --im-size.
    #[arg(long, default_value = "50M:1600M")]
    flops: String,
    /// Time a training step for every K-th model (0: none).
    #[arg(long, value_name = "K", default_value_t = 4)]
    train_every: usize,
    /// Also time the zoo's RegNetX/Y up to 1.6GF, EN-B0-B3, ResNet-50 and ResNeXt-50.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    zoo: bool,
    #[arg(long, default_value_t = 224)]
    im_size: u64,
    #[arg(long, default_value_t = 8)]
    batch: u64,
    /// Timed steps per model (after 2 warm-up steps).
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// libtorch CPU threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write charts of time against flops, params and activations here
    /// (self-contained SVG files, one per mode and measure).
    #[arg(long, value_name = "DIR")]
    charts: Option<PathBuf>,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    match &a.command {
        Command::Fit(f) => fit(f),
    }
}

/// One timed model.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Measured {
    name: String,
    family: String,
    flops: u64,
    params: u64,
    acts: u64,
    infer_ms: f64,
    train_ms: Option<f64>,
}

impl Measured {
    fn cx(&self) -> Complexity {
        Complexity {
            flops: self.flops,
            params: self.params,
            acts: self.acts,
        }
    }
}

fn fit(a: &FitArgs) -> Result<(), CliError> {
    if a.batch == 0 || a.steps == 0 || a.threads == 0 || a.im_size == 0 {
        return Err(CliError::new(
            "--batch, --steps, --threads and --im-size must be at least 1".into(),
        ));
    }
    regnet_engine::set_threads(a.threads);
    let device = crate::session::pick_device(&a.device)?;
    let samples = a
        .samples
        .clone()
        .unwrap_or_else(|| a.output.with_extension("samples.jsonl"));
    let mut done = read_samples(&samples)?;
    let todo = models(a)?;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&samples)
        .map_err(|e| CliError::io("open", &samples, e))?;
    let timing = |mode| Timing {
        mode,
        batch: a.batch as i64,
        im_size: a.im_size as i64,
        warmup: 2,
        steps: a.steps,
        channels_last: device == regnet_engine::Device::Cpu,
        fold_bn: mode == Mode::Infer,
        amp: false,
    };
    for (i, (name, family, net)) in todo.iter().enumerate() {
        if done.iter().any(|m| &m.name == name) {
            continue;
        }
        let cx = net.profile(a.im_size)?.total;
        let infer = seconds_per_image(net, &timing(Mode::Infer), device)?;
        let train = match a.train_every {
            k if k > 0 && i % k == 0 => {
                Some(1e3 * seconds_per_image(net, &timing(Mode::Train), device)?)
            }
            _ => None,
        };
        let m = Measured {
            name: name.clone(),
            family: family.clone(),
            flops: cx.flops,
            params: cx.params,
            acts: cx.acts,
            infer_ms: 1e3 * infer,
            train_ms: train,
        };
        let line = serde_json::to_string(&m).map_err(|e| CliError::new(e.to_string()))?;
        writeln!(out, "{line}").map_err(|e| CliError::io("write", &samples, e))?;
        eprintln!(
            "[{}/{}] {name}: {:.2} GF, {:.1} M acts: infer {:.2} ms/image{}",
            i + 1,
            todo.len(),
            cx.flops as f64 / 1e9,
            cx.acts as f64 / 1e6,
            m.infer_ms,
            train.map_or(String::new(), |t| format!(", train {t:.2} ms/image"))
        );
        done.push(m);
    }
    let model = time_model(a, device, &done)?;
    if let Some(dir) = &a.charts {
        write_charts(dir, &done)?;
    }
    let text = serde_json::to_string_pretty(&model).map_err(|e| CliError::new(e.to_string()))?;
    crate::session::write_text(&a.output, &format!("{text}\n"))?;
    eprintln!(
        "wrote {} ({} models; {})",
        a.output.display(),
        done.len(),
        model.setting()
    );
    Ok(())
}

/// The models to time: the zoo's (when asked) and samples of each space
/// in log-spaced flops bins.
fn models(a: &FitArgs) -> Result<Vec<(String, String, Network)>, CliError> {
    let mut out = Vec::new();
    if a.zoo {
        for e in zoo::zoo() {
            let keep = ["RegNetX-", "RegNetY-"]
                .iter()
                .any(|p| e.name.starts_with(p))
                || [
                    "EN-B0",
                    "EN-B1",
                    "EN-B2",
                    "EN-B3",
                    "ResNet-50",
                    "ResNeXt-50",
                ]
                .contains(&e.name);
            let net = e.spec().build()?;
            if keep && net.profile(a.im_size)?.total.flops <= 1_700_000_000 {
                out.push((e.name.to_string(), family_of(e.name), net));
            }
        }
    }
    let band = Band::parse(&a.flops).map_err(|e| CliError::new(format!("--flops: {e}")))?;
    let (Some(lo), Some(hi)) = (band.lo, band.hi) else {
        return Err(CliError::new(
            "--flops: give both ends, e.g. 50M:1600M".into(),
        ));
    };
    const BINS: usize = 8;
    let per = a.num.div_ceil(BINS * a.spaces.len().max(1));
    for name in &a.spaces {
        let space = Space::builtin(name).ok_or_else(|| {
            CliError::new(format!(
                "--spaces: unknown space '{name}' (built-in: {})",
                Space::BUILTIN.join(", ")
            ))
        })?;
        for bin in 0..BINS {
            let edge = |i: usize| {
                (lo as f64 * (hi as f64 / lo as f64).powf(i as f64 / BINS as f64)) as u64
            };
            let mut constraints = space.default_constraints();
            constraints.flops = Band {
                lo: Some(edge(bin)),
                hi: Some(edge(bin + 1)),
            };
            let opts = SampleOptions {
                n: per,
                seed: a.seed + bin as u64,
                max_tries: 1_000_000,
                max_time: regnet_space::MAX_TIME,
                constraints,
                target: regnet_space::space::Target {
                    im_size: Some(a.im_size),
                    num_classes: Some(1000),
                },
            };
            let pop = sample(&space, &opts)?;
            for (j, m) in pop.models.iter().enumerate() {
                let value: serde_yaml::Value =
                    serde_yaml::to_value(&m.config).map_err(|e| CliError::new(e.to_string()))?;
                let net = regnet_config::from_value(&value)?.model.build()?;
                out.push((format!("{name}/{bin}/{j}"), name.clone(), net));
            }
        }
    }
    Ok(out)
}

fn family_of(name: &str) -> String {
    match name {
        n if n.starts_with("RegNetX") => "zoo-regnetx",
        n if n.starts_with("RegNetY") => "zoo-regnety",
        n if n.starts_with("EN-") => "zoo-effnet",
        _ => "zoo-resnet",
    }
    .into()
}

fn read_samples(path: &Path) -> Result<Vec<Measured>, CliError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                CliError::new(format!(
                    "{} line {}: not a timing record: {e}",
                    path.display(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// The candidate fits, each on the same three quarters of the models.
const CANDIDATES: [&[Term]; 4] = [
    &[Term::Flops],
    &[Term::Params],
    &[Term::Acts],
    &[Term::Flops, Term::Acts],
];

/// Fits every candidate to inference (and training) times, prints the
/// correlations and held-out errors, and keeps the best of each.
fn time_model(
    a: &FitArgs,
    device: regnet_engine::Device,
    m: &[Measured],
) -> Result<TimeModel, CliError> {
    let infer: Vec<(Complexity, f64)> = m.iter().map(|x| (x.cx(), x.infer_ms)).collect();
    let train: Vec<(Complexity, f64)> = m
        .iter()
        .filter_map(|x| Some((x.cx(), x.train_ms?)))
        .collect();
    let infer = best_fit("inference", &infer)?
        .ok_or_else(|| CliError::new("too few models to fit inference time (at least 8)".into()))?;
    let train = best_fit("training", &train)?;
    Ok(TimeModel {
        device: device_name(device),
        threads: a.threads,
        batch: a.batch,
        im_size: a.im_size,
        infer,
        train,
    })
}

/// Prints each term's correlation with time and each candidate's error on
/// the held-out quarter (every 4th model); returns the candidate with the
/// lowest median held-out error. None with fewer than 8 points.
fn best_fit(what: &str, points: &[(Complexity, f64)]) -> Result<Option<TimeFit>, CliError> {
    if points.len() < 8 {
        return Ok(None);
    }
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    for t in Term::ALL {
        let xs: Vec<f64> = points.iter().map(|p| t.of(&p.0)).collect();
        let r = regnet_stats::pearson(&xs, &ys).unwrap_or(f64::NAN);
        let rl = regnet_stats::pearson(
            &xs.iter().map(|x| x.ln()).collect::<Vec<_>>(),
            &ys.iter().map(|y| y.ln()).collect::<Vec<_>>(),
        )
        .unwrap_or(f64::NAN);
        say!(
            "{what}: correlation of time with {}: r = {r:.3} (log-log {rl:.3}), {} models",
            t.name(),
            points.len()
        );
    }
    let (held, fitted): (Vec<_>, Vec<_>) = points.iter().enumerate().partition(|(i, _)| i % 4 == 3);
    let mut best: Option<TimeFit> = None;
    for terms in CANDIDATES {
        let row = |cx: &Complexity| terms.iter().map(|t| t.of(cx)).collect::<Vec<f64>>();
        let xs: Vec<Vec<f64>> = fitted.iter().map(|(_, p)| row(&p.0)).collect();
        let ys: Vec<f64> = fitted.iter().map(|(_, p)| p.1).collect();
        let Some(ols) = regnet_stats::ols(&xs, &ys) else {
            continue;
        };
        let mut errors: Vec<f64> = held
            .iter()
            .map(|(_, p)| ((ols.predict(&row(&p.0)).max(0.0) / p.1) - 1.0).abs())
            .collect();
        errors.sort_by(f64::total_cmp);
        let q = |f: f64| regnet_stats::bootstrap::percentile(&errors, 100.0 * f);
        let fit = TimeFit {
            terms: terms.to_vec(),
            intercept_ms: ols.intercept,
            coef_ms: ols.coef.clone(),
            fitted_on: fitted.len(),
            held_out: held.len(),
            median_error: q(0.5),
            p90_error: q(0.9),
        };
        let names: Vec<&str> = terms.iter().map(|t| t.name()).collect();
        say!(
            "{what}: ms/image ~ {}: R² {:.3} on {} models; held-out error median {:.1}%, 90th percentile {:.1}% ({} models)",
            names.join(" + "),
            ols.r2,
            fit.fitted_on,
            100.0 * fit.median_error,
            100.0 * fit.p90_error,
            fit.held_out
        );
        if best
            .as_ref()
            .is_none_or(|b| fit.median_error < b.median_error)
        {
            best = Some(fit);
        }
    }
    Ok(best)
}

/// `cpu (AMD EPYC 7B13)` or `cuda:0`.
fn device_name(d: regnet_engine::Device) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    match d {
        regnet_engine::Device::Cpu => format!("cpu ({cpu})"),
        other => other.to_string(),
    }
}

/// A measured time of one mode, when it was timed.
type TimeOf = fn(&Measured) -> Option<f64>;

/// One chart per mode and measure: ms/image against the measure, a colour
/// per family, Pearson's r in the title.
fn write_charts(dir: &Path, m: &[Measured]) -> Result<(), CliError> {
    use regnet_report::svg::{color, Axis, Chart};
    std::fs::create_dir_all(dir).map_err(|e| CliError::io("create", dir, e))?;
    let families: Vec<&str> = {
        let mut f: Vec<&str> = m.iter().map(|x| x.family.as_str()).collect();
        f.sort();
        f.dedup();
        f
    };
    let modes: [(&str, TimeOf); 2] = [("infer", |x| Some(x.infer_ms)), ("train", |x| x.train_ms)];
    for (mode, time) in modes {
        let pts: Vec<(&Measured, f64)> = m.iter().filter_map(|x| Some((x, time(x)?))).collect();
        if pts.len() < 2 {
            continue;
        }
        for t in Term::ALL {
            let xs: Vec<f64> = pts.iter().map(|(x, _)| t.of(&x.cx())).collect();
            let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
            let r = regnet_stats::pearson(&xs, &ys).unwrap_or(f64::NAN);
            let unit = match t {
                Term::Flops => "GF",
                _ => "M",
            };
            let mut c = Chart::new(
                &format!(
                    "{mode} time vs {} (r = {r:.3}, {} models)",
                    t.name(),
                    pts.len()
                ),
                Axis::fit(&format!("{} ({unit})", t.name()), xs.iter().copied()),
                Axis::fit("ms / image", ys.iter().copied()),
                560.0,
                360.0,
            );
            let dots: Vec<(f64, f64, String)> = pts
                .iter()
                .zip(&xs)
                .map(|((x, y), v)| {
                    let i = families.iter().position(|f| *f == x.family).unwrap_or(0);
                    (*v, *y, color(i).to_string())
                })
                .collect();
            c.points(&dots, 3.0);
            for (i, f) in families.iter().enumerate() {
                c.legend(color(i), f, false);
            }
            c.legend_low = true;
            let path = dir.join(format!("{mode}_vs_{}.svg", t.name()));
            std::fs::write(&path, c.finish()).map_err(|e| CliError::io("write", &path, e))?;
        }
    }
    Ok(())
}
