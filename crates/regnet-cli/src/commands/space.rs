//! `regnet space`: list, describe, sample and profile design spaces.

use crate::format::{short, table, thousands};
use crate::CliError;
use regnet_space::space::Target;
use regnet_space::{sample, Band, Population, SampleOptions, Space, TimeBand};
use regnet_spec::time_model::TimeModel;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// The built-in design spaces.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Parameters, ranges, constraints and exact size of a space.
    Info {
        /// Built-in space name (see `regnet space list`) or sweep config (pycls or short form).
        space: String,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a derived space: a parent space plus restrictions (shared_b,
    /// shared_g, non_decreasing_w, non_decreasing_d, METRIC<=VALUE, ...),
    /// itself a space every command taking one reads.
    Derive {
        /// Parent: built-in name, sweep config or derived-space file.
        parent: String,
        /// A restriction; repeatable.
        #[arg(long = "constraint", value_name = "C", required = true)]
        constraints: Vec<String>,
        /// Name of the derived space (default: parent+constraints).
        #[arg(long)]
        name: Option<String>,
        /// The file to write.
        #[arg(short = 'o', long = "out", value_name = "FILE")]
        out: PathBuf,
    },
    /// Sample distinct models inside complexity constraints (JSON Lines).
    Sample {
        #[command(flatten)]
        draw: DrawArgs,
        /// Write the JSON Lines here instead of to standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Complexity distribution of a space and the constraints' acceptance rate.
    Stats {
        #[command(flatten)]
        draw: DrawArgs,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// What to draw and under which constraints.
#[derive(clap::Args)]
struct DrawArgs {
    /// Built-in space name (see `regnet space list`) or sweep config (pycls or short form).
    space: String,
    /// Number of distinct models (default: the sweep config's SETUP.NUM_CONFIGS).
    #[arg(short = 'n', long = "num", value_name = "N")]
    n: Option<usize>,
    /// Random seed (default: the sweep config's SEED / SETUP.RNG_SEED, else 0).
    #[arg(long)]
    seed: Option<u64>,
    /// Flops band LO:HI, e.g. 360M:400M (either side may be empty).
    #[arg(long, value_name = "LO:HI", value_parser = Band::parse)]
    flops: Option<Band>,
    /// Params band LO:HI.
    #[arg(long, value_name = "LO:HI", value_parser = Band::parse)]
    params: Option<Band>,
    /// Acts band LO:HI.
    #[arg(long, value_name = "LO:HI", value_parser = Band::parse)]
    acts: Option<Band>,
    /// Resolution complexity is counted at (default 224, or the sweep config's
    /// IM_SIZE / BASE_CFG.TRAIN.IM_SIZE).
    #[arg(long, value_name = "N")]
    im_size: Option<u64>,
    /// Classifier classes (default 1000, or the sweep's MODEL.NUM_CLASSES).
    #[arg(long, value_name = "N")]
    num_classes: Option<u64>,
    /// Give up after this many candidates (default: SETUP.NUM_SAMPLES, else 1000000).
    #[arg(long, value_name = "N")]
    max_tries: Option<u64>,
    /// Or after this many minutes (default 10).
    #[arg(long, value_name = "M")]
    max_minutes: Option<f64>,
    /// A run-time model of some machine (`regnet time-model fit`): `stats`
    /// adds predicted times, `--time-ms` samples by them.
    #[arg(long, value_name = "FILE")]
    time_model: Option<PathBuf>,
    /// Predicted inference milliseconds per image, LO:HI (either side may
    /// be empty), by --time-model.
    #[arg(long, value_name = "LO:HI", requires = "time_model")]
    time_ms: Option<String>,
}

impl DrawArgs {
    /// --max-minutes as a duration: positive and finite.
    fn max_time(&self) -> Result<std::time::Duration, CliError> {
        let Some(m) = self.max_minutes else {
            return Ok(regnet_space::MAX_TIME);
        };
        std::time::Duration::try_from_secs_f64(m * 60.0)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                CliError::new(format!(
                    "--max-minutes {m}: give a positive number of minutes"
                ))
            })
    }

    /// The time model named by --time-model, if any.
    fn time_model(&self) -> Result<Option<TimeModel>, CliError> {
        self.time_model
            .as_deref()
            .map(|p| TimeModel::load(p).map_err(CliError::new))
            .transpose()
    }

    /// `--time-ms LO:HI` on the time model's inference fit.
    fn time_band(&self, band: &str) -> Result<TimeBand, CliError> {
        let model = self.time_model()?.expect("clap requires --time-model");
        let (lo, hi) = band.split_once(':').ok_or_else(|| {
            CliError::new(format!(
                "--time-ms '{band}': give LO:HI milliseconds, e.g. 5:10 or :8"
            ))
        })?;
        let end = |s: &str| -> Result<Option<f64>, CliError> {
            match s.trim() {
                "" => Ok(None),
                t => t
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .map(Some)
                    .ok_or_else(|| {
                        CliError::new(format!(
                            "--time-ms '{band}': '{t}' is not a number of milliseconds"
                        ))
                    }),
            }
        };
        let (lo_ms, hi_ms) = (end(lo)?, end(hi)?);
        if let (Some(l), Some(h)) = (lo_ms, hi_ms) {
            if l > h {
                return Err(CliError::new(format!("--time-ms '{band}': LO is above HI")));
            }
        }
        Ok(TimeBand {
            fit: model.infer,
            lo_ms,
            hi_ms,
        })
    }

    /// The space and sampling options: flags first, then the sweep config's
    /// values (read as `sweep init` reads it), then the defaults.
    fn resolve(&self) -> Result<(Space, SampleOptions), CliError> {
        let (space, cfg) = regnet_sweep::open_space(&self.space)?;
        let cfg = cfg.as_ref();
        let n = self
            .n
            .or(cfg.and_then(|c| c.num_configs))
            .ok_or_else(|| CliError::new("give the number of models with -n N".into()))?;
        if n == 0 {
            return Err(CliError::new("-n must be at least 1".into()));
        }
        let mut constraints =
            cfg.map_or_else(|| space.default_constraints(), |c| c.constraints.clone());
        for (band, slot) in [
            (self.flops, &mut constraints.flops),
            (self.params, &mut constraints.params),
            (self.acts, &mut constraints.acts),
        ] {
            if let Some(b) = band {
                *slot = b;
            }
        }
        if let Some(band) = &self.time_ms {
            constraints.time = Some(self.time_band(band)?);
        }
        let opts = SampleOptions {
            n,
            seed: self.seed.or(cfg.map(|c| c.seed)).unwrap_or(0),
            max_tries: self
                .max_tries
                .or(cfg.map(|c| c.max_tries))
                .unwrap_or(1_000_000),
            max_time: self.max_time()?,
            constraints,
            target: Target {
                im_size: self.im_size.or(cfg.map(|c| c.im_size)),
                num_classes: self.num_classes.or(cfg.and_then(|c| c.num_classes)),
            },
        };
        Ok((space, opts))
    }
}

pub fn run(args: &Args) -> Result<(), CliError> {
    match &args.command {
        Command::List { json } => list(*json),
        Command::Info { space, json } => info(space, *json),
        Command::Derive {
            parent,
            constraints,
            name,
            out,
        } => derive(parent, constraints, name.as_deref(), out),
        Command::Sample { draw, out } => sample_cmd(draw, out.as_ref()),
        Command::Stats { draw, json } => stats(draw, *json),
    }
}

fn list(as_json: bool) -> Result<(), CliError> {
    let infos: Vec<_> = Space::BUILTIN
        .iter()
        .map(|n| Space::builtin(n).expect("built-in").info())
        .collect();
    if as_json {
        let v: Vec<_> = infos
            .iter()
            .map(|i| json!({"name": i.name, "description": i.description, "size": i.size, "size_log10": i.size_log10}))
            .collect();
        crate::format::print(&serde_json::Value::Array(v).to_string());
    } else {
        let rows: Vec<Vec<String>> = infos
            .iter()
            .map(|i| {
                vec![
                    i.name.clone(),
                    format!("10^{:.1}", i.size_log10),
                    i.description.clone(),
                ]
            })
            .collect();
        crate::format::print(&table(&["space", "size", "description"], &rows, 1));
    }
    Ok(())
}

/// Writes a derived-space file after reading it back as a space (so a bad
/// parent or restriction fails here, and nothing is written).
fn derive(
    parent: &str,
    constraints: &[String],
    name: Option<&str>,
    out: &std::path::Path,
) -> Result<(), CliError> {
    let restrictions = constraints
        .iter()
        .map(|c| c.parse())
        .collect::<Result<Vec<regnet_space::Restriction>, String>>()
        .map_err(|e| CliError::new(format!("--constraint {e}")))?;
    let (parent_space, _) = regnet_sweep::open_space(parent)?;
    let list: Vec<String> = restrictions.iter().map(ToString::to_string).collect();
    let name = name.map_or_else(
        || format!("{}+{}", parent_space.name(), list.join(",")),
        str::to_string,
    );
    let desc = format!("{} restricted to {}", parent_space.name(), list.join(", "));
    let parent_ref = parent_reference(parent);
    let text = regnet_sweep::derived::write(&name, &desc, &parent_ref, &restrictions);
    regnet_sweep::derived::read(out, &text)?;
    crate::session::write_text(out, &text)?;
    eprintln!(
        "wrote {} ({name}); see it with `regnet space info {}`",
        out.display(),
        out.display()
    );
    Ok(())
}

/// `parent` as the derived file will find it wherever it is written: a
/// built-in name as is, a path made absolute.
fn parent_reference(parent: &str) -> String {
    match std::fs::canonicalize(parent) {
        Ok(a) if Space::builtin(parent).is_none() => a.display().to_string(),
        _ => parent.to_string(),
    }
}

fn info(name: &str, as_json: bool) -> Result<(), CliError> {
    let (space, cfg) = regnet_sweep::open_space(name)?;
    let mut info = space.info();
    if let Some(c) = cfg {
        info.constraints = c.constraints;
    }
    if as_json {
        crate::format::print(&crate::format::to_json(&info, false)?);
        return Ok(());
    }
    say!("{}: {}", info.name, info.description);
    match info.derived.as_ref().map(|d| &d.size) {
        Some(regnet_space::SizeEstimate::Estimated { share, lo, hi, draws }) => say!(
            "size: about {} (10^{:.2}) parameter tuples, estimated: the parent's size times the share of its samples kept, {:.4} [{:.4}, {:.4}] (95%, {draws} draws)",
            info.size, info.size_log10, share, lo, hi
        ),
        _ => say!(
            "size: {} (10^{:.2}) distinct parameter tuples (exact)",
            info.size, info.size_log10
        ),
    }
    if let Some(d) = &info.derived {
        say!("derived from {}: {}", d.parent, d.restrictions.join(", "));
    }
    say!();
    let rows: Vec<Vec<String>> = info
        .parameters
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.tying.unwrap_or("-").to_string(),
                p.count.clone(),
                p.values.clone(),
            ]
        })
        .collect();
    say!(
        "{}",
        table(&["parameter", "tying", "count", "values"], &rows, 2)
    );
    say!();
    say!("fixed: {}", info.fixed);
    let c = &info.constraints;
    let mut cs: Vec<String> = [("flops", c.flops), ("params", c.params), ("acts", c.acts)]
        .iter()
        .filter(|(_, b)| b.is_active())
        .map(|(k, b)| format!("{k} in {b}"))
        .collect();
    if let Some((lo, hi)) = c.num_stages {
        cs.push(format!("RegNet stages in [{lo}, {hi}], none skipped"));
    }
    say!(
        "constraints: {}",
        if cs.is_empty() {
            "none".into()
        } else {
            cs.join("; ")
        }
    );
    Ok(())
}

fn sample_cmd(draw: &DrawArgs, out: Option<&PathBuf>) -> Result<(), CliError> {
    let (space, opts) = draw.resolve()?;
    let pop = sample(&space, &opts)?;
    let mut text = String::new();
    for m in &pop.models {
        text.push_str(&crate::format::to_json(m, false)?);
        text.push('\n');
    }
    match out {
        Some(path) => crate::session::write_text(path, &text)?,
        None if text.is_empty() => {}
        None => crate::format::print(text.strip_suffix('\n').unwrap_or(&text)),
    }
    eprintln!(
        "sampled {} models from {} in {} tries (acceptance {:.2}%)",
        pop.models.len(),
        space.name(),
        thousands(pop.tries),
        100.0 * pop.acceptance_rate()
    );
    Ok(())
}

fn stats(draw: &DrawArgs, as_json: bool) -> Result<(), CliError> {
    let (space, opts) = draw.resolve()?;
    let pop = sample(&space, &opts)?;
    let mut metrics = metric_quantiles(&pop);
    let time = draw.time_model()?;
    if let Some(tm) = &time {
        metrics.extend(time_quantiles(&pop, tm));
    }
    if as_json {
        let q: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(k, v)| {
                let per: serde_json::Map<String, serde_json::Value> = QUANTILES
                    .iter()
                    .zip(v)
                    .map(|(p, x)| (format!("p{p}"), json!(x)))
                    .collect();
                (k.to_string(), serde_json::Value::Object(per))
            })
            .collect();
        say!(
            "{}",
            json!({
                "space": space.name(), "n": pop.models.len(), "tries": pop.tries,
                "acceptance_rate": pop.acceptance_rate(), "rejected": pop.rejected,
                "quantiles": q,
                "time_model": time.as_ref().map(|t| t.setting()),
            })
        );
        return Ok(());
    }
    say!(
        "{}: {} models in {} tries, acceptance {:.3}%",
        space.name(),
        pop.models.len(),
        thousands(pop.tries),
        100.0 * pop.acceptance_rate()
    );
    let rejected: Vec<String> = pop
        .rejected
        .iter()
        .map(|(k, v)| format!("{k} {}", thousands(*v)))
        .collect();
    say!(
        "rejected: {}",
        if rejected.is_empty() {
            "none".into()
        } else {
            rejected.join(", ")
        }
    );
    say!();
    let mut header = vec!["metric"];
    let labels: Vec<String> = QUANTILES.iter().map(|p| format!("p{p}")).collect();
    header.extend(labels.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .map(|(k, v)| {
            let cells = v.iter().map(|&x| {
                if *k == "depth" || k.ends_with("_ms") {
                    format!("{x:.1}")
                } else {
                    short(x.round() as u64)
                }
            });
            std::iter::once(k.to_string()).chain(cells).collect()
        })
        .collect();
    crate::format::print(&table(&header, &rows, 1));
    if let Some(tm) = &time {
        say!();
        say!(
            "times (ms/image) predicted for {}; inference {} error on held-out models: median {:.0}%, 90th percentile {:.0}%",
            tm.setting(),
            fit_terms(&tm.infer),
            100.0 * tm.infer.median_error,
            100.0 * tm.infer.p90_error
        );
    }
    Ok(())
}

/// `flops + acts`.
fn fit_terms(f: &regnet_spec::time_model::TimeFit) -> String {
    f.terms
        .iter()
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Percentiles of the predicted inference (and training) time.
fn time_quantiles(pop: &Population, tm: &TimeModel) -> Vec<(&'static str, Vec<f64>)> {
    let fits = [
        ("infer_ms", Some(&tm.infer)),
        ("train_ms", tm.train.as_ref()),
    ];
    fits.into_iter()
        .filter_map(|(k, f)| Some((k, f?)))
        .map(|(k, f)| {
            let mut v: Vec<f64> = pop
                .models
                .iter()
                .map(|m| {
                    f.predict_ms(&regnet_spec::Complexity {
                        flops: m.flops,
                        params: m.params,
                        acts: m.acts,
                    })
                })
                .collect();
            v.sort_by(f64::total_cmp);
            let q = QUANTILES
                .iter()
                .map(|&p| regnet_stats::bootstrap::percentile(&v, p as f64))
                .collect();
            (k, q)
        })
        .collect()
}

/// Reads one metric of a sampled model.
type Metric = fn(&regnet_space::Sampled) -> u64;

/// Percentiles reported by `space stats`.
const QUANTILES: [u32; 7] = [0, 5, 25, 50, 75, 95, 100];

fn metric_quantiles(pop: &Population) -> Vec<(&'static str, Vec<f64>)> {
    let pick: [(&str, Metric); 4] = [
        ("flops", |m| m.flops),
        ("params", |m| m.params),
        ("acts", |m| m.acts),
        ("depth", |m| m.depth),
    ];
    pick.iter()
        .map(|(k, f)| {
            let mut v: Vec<f64> = pop.models.iter().map(|m| f(m) as f64).collect();
            v.sort_by(f64::total_cmp);
            (
                *k,
                QUANTILES
                    .iter()
                    .map(|&p| regnet_stats::bootstrap::percentile(&v, p as f64))
                    .collect(),
            )
        })
        .collect()
}
