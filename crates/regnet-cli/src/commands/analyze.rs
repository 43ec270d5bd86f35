//! `regnet sweep analyze` and `regnet compare`: the analysis report of one
//! or more populations (sweep directories or pycls sweep.json files).

use crate::format::plain;
use crate::CliError;
use regnet_analysis::{analyze, Analysis, Options, PlanOptions, Population, SequentialOptions};
use regnet_store::PgUrl;
use std::path::{Path, PathBuf};

/// What to compute and where to write it.
#[derive(clap::Args, Clone)]
pub struct ReportArgs {
    /// Report file (self-contained HTML).
    #[arg(
        short = 'o',
        long = "out",
        value_name = "FILE",
        default_value = "report.html"
    )]
    pub out: PathBuf,
    /// Also write every computed number as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Metrics to plot error against (default: all the models have), e.g.
    /// flops,params,regnet_wm.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    /// Complexity the normalized EDFs equalize: flops, params or acts.
    #[arg(long, default_value = "flops")]
    pub normalize_by: regnet_analysis::ComplexityMetric,
    /// Bins of log-complexity for normalization (default about √n, at most 10).
    #[arg(long)]
    pub bins: Option<usize>,
    /// Extra refinement constraint METRIC<=VALUE (also >=, <, >, ==); repeatable.
    #[arg(long = "constraint", value_name = "C")]
    pub constraints: Vec<regnet_space::Restriction>,
    /// Bootstrap samples (pycls: 2500) and seed.
    #[arg(long, default_value_t = 2500)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl ReportArgs {
    /// Defaults, writing to `out`.
    pub fn to(out: PathBuf) -> Self {
        ReportArgs {
            out,
            json: None,
            metrics: None,
            normalize_by: regnet_analysis::ComplexityMetric::Flops,
            bins: None,
            constraints: Vec::new(),
            bootstrap: 2500,
            seed: 0,
        }
    }
}

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// Sweep directory, store URL (postgres://…?sweep=NAME) or pycls sweep.json.
    source: PathBuf,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(clap::Args)]
pub struct CompareArgs {
    /// Two or more sweep directories, store URLs or pycls sweep.json files.
    #[arg(required = true, num_args = 2..)]
    sources: Vec<PathBuf>,
    /// Names for the populations, in order (default: the sweeps' names).
    #[arg(long, value_delimiter = ',')]
    names: Option<Vec<String>>,
    #[command(flatten)]
    sequential: SequentialArgs,
    #[command(flatten)]
    report: ReportArgs,
}

/// The sequential comparison and the fixed-n planner of `regnet compare`:
/// the first population is the baseline, the second the candidate.
#[derive(clap::Args, Clone)]
pub struct SequentialArgs {
    /// Read the two populations in rounds (in their models' sampling order)
    /// and stop at the first look whose repeated interval decides.
    #[arg(long)]
    pub sequential: bool,
    /// Models of each population per look.
    #[arg(long, default_value_t = 8)]
    pub round: usize,
    /// Looks at most (round x looks models of each in all).
    #[arg(long, default_value_t = 6)]
    pub looks: usize,
    /// Group-sequential boundary: pocock (stops early on large
    /// differences) or obrien-fleming.
    #[arg(long, default_value = "pocock")]
    pub boundary: regnet_analysis::Boundary,
    /// Points of error: also decide "not worse by more than this".
    #[arg(long, value_name = "POINTS")]
    pub margin: Option<f64>,
    /// Plan a fixed-n comparison: models per space to detect this many
    /// points, the two populations serving as pilots.
    #[arg(long, value_name = "POINTS")]
    pub plan: Option<f64>,
    /// Power the plan asks for.
    #[arg(long, default_value_t = 0.8)]
    pub power: f64,
    /// Error rate of the sequential comparison and of the plan.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
}

impl SequentialArgs {
    /// The options, validated; none when neither was asked for.
    fn options(&self, pops: &[Population]) -> Result<Extras, CliError> {
        if (self.sequential || self.plan.is_some()) && pops.len() != 2 {
            return Err(CliError::new(format!(
                "--sequential and --plan compare two populations (baseline, candidate); {} were given",
                pops.len()
            )));
        }
        if let Some(m) = self.margin.filter(|m| !(m.is_finite() && *m > 0.0)) {
            return Err(CliError::new(format!(
                "--margin {m}: must be a positive number of points"
            )));
        }
        let sequential = self
            .sequential
            .then(|| {
                regnet_analysis::Design::new(self.alpha, self.looks, self.round, self.boundary)
            })
            .transpose()
            .map_err(|e| CliError::new(format!("--sequential: {e}")))?
            .map(|design| SequentialOptions {
                design,
                margin: self.margin,
            });
        let plan = match self.plan {
            Some(difference) => {
                let o = PlanOptions {
                    difference,
                    power: self.power,
                    alpha: self.alpha,
                };
                Some(
                    regnet_analysis::plan(&pops[0], &pops[1], o)
                        .map_err(|e| CliError::new(format!("--plan: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Extras { sequential, plan })
    }
}

/// What a comparison adds to the analysis beyond the defaults.
#[derive(Default)]
pub struct Extras {
    sequential: Option<SequentialOptions>,
    plan: Option<regnet_analysis::Plan>,
}

impl Extras {
    /// A sequential comparison of the first two populations.
    pub fn sequential(o: SequentialOptions) -> Self {
        Extras {
            sequential: Some(o),
            plan: None,
        }
    }
}

pub fn analyze_one(a: &AnalyzeArgs) -> Result<(), CliError> {
    let pop = load(&a.source, None)?;
    let title = format!("Design space analysis: {}", pop.name);
    write(&[pop], &a.report, &title, Extras::default()).map(|_| ())
}

pub fn compare(a: &CompareArgs) -> Result<(), CliError> {
    if let Some(n) = &a.names {
        if n.len() != a.sources.len() {
            return Err(CliError::new(format!(
                "--names gives {} names for {} populations",
                n.len(),
                a.sources.len()
            )));
        }
    }
    let pops = a
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| load(s, a.names.as_ref().map(|n| n[i].as_str())))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = pops.iter().map(|p| p.name.as_str()).collect();
    let title = format!("Design space comparison: {}", names.join(" vs "));
    let extras = a.sequential.options(&pops)?;
    say_comparisons(&write(&pops, &a.report, &title, extras)?);
    Ok(())
}

/// A population from a sweep directory (its finished jobs) or a sweep.json.
pub fn load(source: &Path, name: Option<&str>) -> Result<Population, CliError> {
    let text = source.to_string_lossy();
    let pop = if source.is_dir() || PgUrl::is_url(&text) {
        let sweep = regnet_sweep::Sweep::named(&text)?;
        let default = sweep.store.info()?.name;
        Population::from_store(name.unwrap_or(&default), sweep.store.as_ref())?
    } else {
        let text = std::fs::read_to_string(source)
            .map_err(|e| CliError::new(format!("cannot read '{}': {e}", source.display())))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| CliError::new(format!("{}: not JSON: {e}", source.display())))?;
        let stem = source
            .file_stem()
            .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
        Population::from_pycls_json(name.unwrap_or(&stem), &v)
            .map_err(|e| CliError::new(format!("{}: {e}", source.display())))?
    };
    if pop.models.is_empty() {
        return Err(CliError::new(format!(
            "{}: no finished models to analyse yet",
            source.display()
        )));
    }
    Ok(pop)
}

/// Analyses `pops` and writes the report (and the JSON when asked).
pub fn write(
    pops: &[Population],
    r: &ReportArgs,
    title: &str,
    extras: Extras,
) -> Result<Analysis, CliError> {
    if let Some(ms) = &r.metrics {
        for m in ms {
            if pops.iter().all(|p| !p.metric_names().contains(m)) {
                return Err(CliError::new(format!(
                    "--metrics: no population has '{m}' (they have: {})",
                    pops[0].metric_names().join(", ")
                )));
            }
        }
    }
    let o = Options {
        metrics: r.metrics.clone(),
        normalize_by: r.normalize_by,
        bins: r.bins,
        bootstrap: r.bootstrap,
        seed: r.seed,
        constraints: r.constraints.clone(),
        ..Options::default()
    };
    let mut analysis = analyze(pops, &o);
    analysis.sequential = extras
        .sequential
        .map(|s| regnet_analysis::sequential(&pops[0], &pops[1], &s));
    analysis.plan = extras.plan;
    let html = regnet_report::render(&analysis, title);
    std::fs::write(&r.out, html)
        .map_err(|e| CliError::new(format!("cannot write '{}': {e}", r.out.display())))?;
    if let Some(j) = &r.json {
        std::fs::write(j, crate::format::to_json(&analysis, true)?)
            .map_err(|e| CliError::new(format!("cannot write '{}': {e}", j.display())))?;
    }
    say_missing(&analysis);
    eprintln!("wrote {}", r.out.display());
    Ok(analysis)
}

/// Each comparison's verdict, one line each; then the sequential one's
/// looks and the plan.
fn say_comparisons(a: &Analysis) {
    if let Some(s) = &a.sequential {
        for l in &s.looks {
            eprintln!(
                "look {} ({} models each): {} − {} = {:.2} [{:.2}, {:.2}]: {}",
                l.look, l.n, s.candidate, s.baseline, l.estimate, l.lo, l.hi, l.decision
            );
        }
        eprintln!("sequential: {}", s.verdict());
    }
    if let Some(p) = &a.plan {
        eprintln!("plan: {}", p.verdict());
    }
    for c in &a.comparisons {
        eprintln!(
            "{} vs {}: {}; normalized EDFs KS D = {:.3}, p = {:.3}",
            c.a,
            c.b,
            c.verdict(),
            c.ks.d,
            c.ks.p_value
        );
    }
}

/// Names, per population, the sampled models that are not in the analysis
/// and why: a population that lost models is not the sampled one.
fn say_missing(a: &Analysis) {
    for p in a.populations.iter().filter(|p| !p.missing.is_empty()) {
        eprintln!(
            "warning: {}: {} of {} sampled models are missing from the analysis:",
            p.name,
            p.missing.len(),
            p.sampled
        );
        for m in &p.missing {
            eprintln!("  {} ({}): {}", plain(&m.name), m.state, plain(&m.reason));
        }
    }
}
