//! `regnet refine`: the design loop as one command. Train a population of
//! the starting space, screen candidate restrictions in it, sample and
//! train a fresh population of the best candidate's space in the same band,
//! compare it with its parent sequentially, keep the restriction when the
//! refined space is not worse by more than the margin, and go on until the
//! budget is spent or no candidate is left.
//!
//! Every population is an ordinary sweep in the loop's directory and every
//! decision is recomputed from the sweeps' results, so a killed loop rerun
//! continues where it was and retrains nothing.

mod settings;
mod step;

use crate::session::write_text;
use crate::sweep::extend::grow_to;
use crate::sweep::run as sweep_run;
use crate::CliError;
use regnet_analysis::{
    analyze, next_candidate, refine, sequential, Boundary, Chain, Design, Options, Population,
    Refinement, SequentialOptions, SizeEstimate, Step,
};
use regnet_space::{Restriction, Space};
use regnet_stats::normalize::default_bins;
use regnet_store::PgUrl;
use serde_yaml::Mapping;
use settings::{Budget, Settings, SETTINGS_FILE};
use std::path::{Path, PathBuf};
use step::{space_name, StepSweep, LOOP_KEYS};

/// The built-in recipe: the regime docs/refine.md picked by its pilot.
const RECIPE: &str = include_str!("../../../../configs/refine/recipe.yaml");

#[derive(clap::Args)]
pub struct Args {
    /// Starting space: a built-in space (`regnet space list`) or a
    /// derived-space file of one. Omit it to continue the loop in --dir.
    space: Option<String>,
    /// Flops band of every population, LO:HI (e.g. 10M:11M).
    #[arg(long)]
    flops: Option<String>,
    /// Dataset, as for `regnet train` (default: the recipe's DATA).
    #[arg(long)]
    data: Option<String>,
    /// Recipe: a short-form sweep config without SPACE (stem, stages,
    /// resolution, OPTIM, TRAIN...); default: configs/refine/recipe.yaml.
    #[arg(long, value_name = "CFG")]
    recipe: Option<PathBuf>,
    /// What the loop may train: a number of models (e.g. 120), or training
    /// time summed over models (e.g. 6h, 90m: one worker's time).
    #[arg(long)]
    budget: Option<Budget>,
    /// Points of mean error a restriction may cost and still be kept
    /// [default: 2].
    #[arg(long, value_name = "POINTS")]
    margin: Option<f64>,
    /// Models of each population per look of a comparison [default: 8].
    #[arg(long)]
    round: Option<usize>,
    /// Looks per comparison at most [default: 4].
    #[arg(long)]
    looks: Option<usize>,
    /// Group-sequential boundary: pocock or obrien-fleming [default: pocock].
    #[arg(long)]
    boundary: Option<Boundary>,
    /// Error rate of each comparison [default: 0.05].
    #[arg(long)]
    alpha: Option<f64>,
    /// Models of a parent the candidates are screened on [default: 16].
    #[arg(long, value_name = "N")]
    screen: Option<usize>,
    /// Sampling seed of the first population [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Where the loop lives; a loop there is continued.
    #[arg(long, default_value = "runs/refine")]
    dir: PathBuf,
    /// Keep every population's store in this PostgreSQL database
    /// (postgres://USER@HOST/DB; a password in PGPASSWORD), as sweep
    /// LOOP/NN-slug, LOOP being --dir's name. Several `regnet refine` runs
    /// with the same --dir (shared, at the same path) and --store, on
    /// several machines or as a Slurm array, then train one loop together.
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Start over: delete the loop in --dir.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    run: sweep_run::RunOptions,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    if a.force && a.dir.join(SETTINGS_FILE).exists() {
        std::fs::remove_dir_all(&a.dir).map_err(|e| {
            CliError::new(format!("--force: cannot delete '{}': {e}", a.dir.display()))
        })?;
    }
    let s = settings(a)?;
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", a.dir.display())))?;
    s.write(&a.dir)?;
    let design = Design::new(s.alpha, s.looks, s.round, s.boundary)
        .map_err(|e| CliError::new(format!("--round/--looks/--alpha: {e}")))?;
    let start = parse(&s.restrictions)?;
    // The URL as given (it may hold a password), else the one stored.
    let store = match (&a.store, &s.store) {
        (Some(url), _) => Some(PgUrl::parse(url)?),
        (None, Some(url)) => Some(PgUrl::parse(url)?),
        (None, None) => None,
    };
    let mut l = Loop::new(&a.dir, s, store, &start, design, a.run.args());
    let status = l.drive()?;
    l.write(&status)?;
    l.say(&status);
    Ok(())
}

/// The loop's settings: those given, checked against a loop already in
/// --dir (only the budget may change), with defaults for the rest.
fn settings(a: &Args) -> Result<Settings, CliError> {
    let stored = Settings::read(&a.dir)?;
    let recipe =
        match &a.recipe {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                CliError::new(format!("--recipe: cannot read '{}': {e}", p.display()))
            })?),
            None => None,
        };
    let recipe = recipe.map(|t| strip_recipe(&t)).transpose()?;
    let start = a.space.as_deref().map(start_space).transpose()?;
    let store = a.store.as_deref().map(shown_url).transpose()?;
    let Some(old) = stored else {
        let need = |what: &str| {
            CliError::new(format!(
                "{what} is needed to start a loop in '{}' (regnet refine SPACE --flops LO:HI --budget N)",
                a.dir.display()
            ))
        };
        let (start, restrictions) = start.ok_or_else(|| need("SPACE"))?;
        let (recipe, recipe_data) = recipe.unwrap_or(strip_recipe(RECIPE)?);
        let data = a.data.clone().or(recipe_data).ok_or_else(|| {
            CliError::new("--data: give a dataset (the recipe has no DATA)".into())
        })?;
        return Ok(Settings {
            start,
            restrictions,
            flops: a.flops.clone().ok_or_else(|| need("--flops"))?,
            data,
            recipe,
            budget: a.budget.ok_or_else(|| need("--budget"))?,
            margin: positive("--margin", a.margin.unwrap_or(2.0))?,
            round: a.round.unwrap_or(8),
            looks: a.looks.unwrap_or(4),
            boundary: a.boundary.unwrap_or(Boundary::Pocock),
            alpha: a.alpha.unwrap_or(0.05),
            screen: a.screen.unwrap_or(16).max(regnet_analysis::MIN_KEPT + 1),
            seed: a.seed.unwrap_or(0),
            store,
        });
    };
    let (start, restrictions) = start.unwrap_or((old.start.clone(), old.restrictions.clone()));
    let given = Settings {
        start,
        restrictions,
        flops: a.flops.clone().unwrap_or(old.flops.clone()),
        data: a.data.clone().unwrap_or(old.data.clone()),
        recipe: recipe.map_or(old.recipe.clone(), |r| r.0),
        budget: a.budget.unwrap_or(old.budget),
        margin: a.margin.unwrap_or(old.margin),
        round: a.round.unwrap_or(old.round),
        looks: a.looks.unwrap_or(old.looks),
        boundary: a.boundary.unwrap_or(old.boundary),
        alpha: a.alpha.unwrap_or(old.alpha),
        screen: a.screen.unwrap_or(old.screen),
        seed: a.seed.unwrap_or(old.seed),
        store: store.or(old.store.clone()),
    };
    if let Some(name) = old.differs(&given) {
        return Err(CliError::new(format!(
            "'{}' holds a loop with another {name}; continue it without {name}, or start over with --force",
            a.dir.display()
        )));
    }
    Ok(given)
}

/// A --store URL as the settings keep it: checked, without its password.
fn shown_url(url: &str) -> Result<String, CliError> {
    if !PgUrl::is_url(url) {
        return Err(CliError::new(format!(
            "--store '{url}': a postgres://USER@HOST/DB URL (without --store the stores are SQLite files in --dir)"
        )));
    }
    let u = PgUrl::parse(url)?;
    if u.sweep().is_some() {
        return Err(CliError::new(format!(
            "--store '{u}': name the database only; the loop names its sweeps"
        )));
    }
    Ok(u.without_password())
}

fn positive(flag: &str, v: f64) -> Result<f64, CliError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CliError::new(format!(
            "{flag} {v}: must be a positive number of points"
        )))
    }
}

/// The built-in space and the restrictions on it that a SPACE argument
/// names.
fn start_space(arg: &str) -> Result<(String, Vec<String>), CliError> {
    let (space, cfg) =
        regnet_sweep::config::open_space(arg).map_err(|e| CliError::new(e.message))?;
    let list = |rs: &[Restriction]| rs.iter().map(ToString::to_string).collect();
    match (space, cfg) {
        (Space::Derived(d), _) if Space::builtin(&d.parent).is_some() => {
            Ok((d.parent.clone(), list(&d.restrictions)))
        }
        (s, None) if Space::builtin(s.name()).is_some() => Ok((s.name().to_string(), Vec::new())),
        _ => Err(CliError::new(format!(
            "SPACE '{arg}': a built-in space or a derived-space file of one (a sweep config's stem, stages and training go in --recipe)"
        ))),
    }
}

/// The recipe's text without the keys the loop sets, and its DATA.
fn strip_recipe(text: &str) -> Result<(String, Option<String>), CliError> {
    let mut doc: Mapping = regnet_config::yaml::from_str(text)
        .map_err(|e| CliError::new(format!("--recipe: not a YAML mapping: {e}")))?;
    if doc.contains_key("SETUP") {
        return Err(CliError::new(
            "--recipe: a short-form sweep config (STEM_TYPE, NUM_STAGES, OPTIM...), not a pycls SETUP".into(),
        ));
    }
    let data = doc.get("DATA").and_then(|v| v.as_str()).map(str::to_string);
    for k in LOOP_KEYS {
        doc.remove(k);
    }
    let text = serde_yaml::to_string(&doc).map_err(|e| CliError::new(e.to_string()))?;
    Ok((text, data))
}

/// How often a loop looks again at models other loops are training.
const WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a loop could not go on: the budget ended.
struct Spent;

/// The loop's state: its populations so far and their record.
struct Loop {
    root: PathBuf,
    s: Settings,
    design: Design,
    run: sweep_run::Args,
    /// The database holding the stores, if not the step directories.
    store: Option<PgUrl>,
    steps: Vec<StepSweep>,
    chain: Chain,
}

impl Loop {
    fn new(
        root: &Path,
        s: Settings,
        store: Option<PgUrl>,
        start: &[Restriction],
        design: Design,
        run: sweep_run::Args,
    ) -> Loop {
        let chain = Chain {
            name: format!("{} in {} flops", s.start, s.flops),
            setting: format!(
                "{} in a {} flops band on {}; rounds of {} models, at most {} looks ({} boundary, alpha {}); candidates screened on {} models of each parent",
                space_name(&s, start),
                s.flops,
                s.data,
                s.round,
                s.looks,
                s.boundary,
                s.alpha,
                s.screen
            ),
            margin: s.margin,
            steps: Vec::new(),
            status: "started".into(),
            models: 0,
            train_hours: 0.0,
        };
        Loop {
            root: root.to_path_buf(),
            s,
            design,
            run,
            store,
            steps: Vec::new(),
            chain,
        }
    }

    /// Runs the loop from its start (replaying what its sweeps already
    /// hold) until the budget ends or no candidate is left; says which.
    fn drive(&mut self) -> Result<String, CliError> {
        let start = parse(&self.s.restrictions)?;
        if self.add_step(start, None, None, self.s.screen)?.is_err() {
            return Ok(self.spent());
        }
        let (mut parent, mut tried) = (0, Vec::new());
        loop {
            if self.ensure(parent, self.s.screen)?.is_err() {
                return Ok(self.spent());
            }
            let screening = self.screen(parent)?;
            let Some(c) = next_candidate(&screening, &tried, self.s.margin).cloned() else {
                return Ok(format!(
                    "no candidate left: every restriction screened in step {parent} keeps all of it, looks worse than the margin there, or was tried"
                ));
            };
            let mut rs = self.steps[parent].restrictions.clone();
            rs.extend(c.restrictions.iter().cloned());
            let child = self.steps.len();
            if self
                .add_step(rs, Some(&c), Some(parent), self.s.round)?
                .is_err()
            {
                return Ok(self.spent());
            }
            let Ok(kept) = self.compare(parent, child)? else {
                return Ok(self.spent());
            };
            self.write(&format!("running: step {child} decided"))?;
            if kept {
                (parent, tried) = (child, Vec::new());
            } else {
                tried.push(c.restrictions);
            }
        }
    }

    /// Opens (or samples, budget permitting) the next step's population.
    fn add_step(
        &mut self,
        restrictions: Vec<Restriction>,
        tested: Option<&Refinement>,
        parent: Option<usize>,
        n: usize,
    ) -> Result<Result<(), Spent>, CliError> {
        let index = self.steps.len();
        let label = tested.map(|c| c.constraint.clone());
        let store = self.store.as_ref();
        let exists = StepSweep::exists(&self.root, &self.s, store, index, label.as_deref())?;
        if !exists && !self.affords(n)? {
            return Ok(Err(Spent));
        }
        let step = StepSweep::open_or_create(
            &self.root,
            &self.s,
            store,
            index,
            restrictions.clone(),
            label.as_deref(),
            n,
        )?;
        let size = step
            .info
            .derived
            .as_ref()
            .map_or(SizeEstimate::Exact, |d| d.size.clone());
        self.chain.steps.push(Step {
            index,
            space: space_name(&self.s, &restrictions),
            parent,
            tested: label,
            restrictions: restrictions.iter().map(ToString::to_string).collect(),
            size_log10: step.info.size_log10,
            size,
            population: population_name(index, tested),
            sweep: step.location.to_string(),
            models: 0,
            train_seconds: 0.0,
            comparison: None,
            kept: None,
            screening: Vec::new(),
        });
        self.steps.push(step);
        Ok(Ok(()))
    }

    /// Trains step `i` until it has `n` finished models, adding models
    /// (and replacing failed ones) while the budget allows. Models that
    /// other loops sharing the store train are waited for.
    fn ensure(&mut self, i: usize, n: usize) -> Result<Result<(), Spent>, CliError> {
        let mut waited = false;
        loop {
            let c = self.steps[i].counts()?;
            if c.done >= n {
                return Ok(Ok(()));
            }
            let short = n.saturating_sub(c.done + c.pending + c.running);
            if short == 0 && c.pending == 0 {
                // Models of a loop that died are queued again, and trained here.
                if self.steps[i].recover()? > 0 {
                    continue;
                }
                if !waited {
                    eprintln!(
                        "refine: step {i}: waiting for {} models trained elsewhere",
                        c.running
                    );
                    waited = true;
                }
                std::thread::sleep(WAIT);
                continue;
            }
            if short > 0 {
                if c.failed > n {
                    return Err(CliError::new(format!(
                        "step {i}: {} of its models failed (`regnet sweep status {}`)",
                        c.failed,
                        self.steps[i].location()
                    )));
                }
                if !self.affords(short)? {
                    return Ok(Err(Spent));
                }
                grow_to(&self.steps[i].location(), c.total() + short)?;
            }
            sweep_run::run_at(&self.run, &self.steps[i].location())?;
        }
    }

    /// Whether the budget allows `more` models beyond those sampled.
    fn affords(&self, more: usize) -> Result<bool, CliError> {
        Ok(match self.s.budget {
            Budget::Models(b) => self.sampled()? + more <= b,
            Budget::Time(d) => self.train_seconds()? < d.as_secs_f64(),
        })
    }

    fn sampled(&self) -> Result<usize, CliError> {
        self.steps
            .iter()
            .map(|s| s.counts().map(|c| c.total()))
            .sum()
    }

    fn train_seconds(&self) -> Result<f64, CliError> {
        Ok(self.populations()?.iter().map(seconds).sum::<f64>())
    }

    fn populations(&self) -> Result<Vec<Population>, CliError> {
        self.steps
            .iter()
            .zip(&self.chain.steps)
            .map(|(s, c)| s.population(&c.population))
            .collect()
    }

    /// The candidates, screened on the first `screen` models of step `i`.
    fn screen(&mut self, i: usize) -> Result<Vec<Refinement>, CliError> {
        let mut p = self.steps[i].population(&self.chain.steps[i].population)?;
        p.models.truncate(self.s.screen);
        let o = Options::default();
        let bins = default_bins(&[p.models.len()]);
        let screening = refine(&p, &[], o.ranges(), o.normalize_by, bins);
        self.chain.steps[i].screening = screening.clone();
        Ok(screening)
    }

    /// The sequential comparison of step `child` against `parent`, a round
    /// of each at a time: Ok(kept), or Err when the budget ends first.
    fn compare(&mut self, parent: usize, child: usize) -> Result<Result<bool, Spent>, CliError> {
        let o = SequentialOptions {
            design: self.design.clone(),
            margin: Some(self.s.margin),
        };
        for look in 1..=self.design.looks {
            let n = look * self.design.round;
            for i in [parent, child] {
                if self.ensure(i, n)?.is_err() {
                    return Ok(Err(Spent));
                }
            }
            let (p, c) = (
                self.steps[parent].population(&self.chain.steps[parent].population)?,
                self.steps[child].population(&self.chain.steps[child].population)?,
            );
            let seq = sequential(&p, &c, &o);
            let keeps = seq.outcome.keeps();
            eprintln!("refine: step {child} look {look}: {}", seq.verdict());
            self.chain.steps[child].comparison = Some(seq);
            if let Some(kept) = keeps {
                self.chain.steps[child].kept = Some(kept);
                return Ok(Ok(kept));
            }
        }
        Ok(Ok(false))
    }

    fn spent(&self) -> String {
        format!("budget spent ({})", self.budget_text())
    }

    fn budget_text(&self) -> String {
        match self.s.budget {
            Budget::Models(b) => format!("{b} models"),
            Budget::Time(d) => format!("{:.2} worker-hours", d.as_secs_f64() / 3600.0),
        }
    }

    /// Writes chain.json, analysis.json and report.html for the chain so far.
    fn write(&mut self, status: &str) -> Result<(), CliError> {
        let pops = self.populations()?;
        for (step, p) in self.chain.steps.iter_mut().zip(&pops) {
            step.models = p.models.len();
            step.train_seconds = seconds(p);
        }
        self.chain.status = status.to_string();
        self.chain.models = pops.iter().map(|p| p.models.len()).sum();
        self.chain.train_hours = pops.iter().map(seconds).sum::<f64>() / 3600.0;
        let trained: Vec<Population> = pops.into_iter().filter(|p| !p.models.is_empty()).collect();
        let analysis = analyze(&trained, &Options::default());
        let title = format!("Design loop: {}", self.chain.name);
        let html = regnet_report::render_chain(&self.chain, &analysis, &title);
        let files = [
            ("chain.json", crate::format::to_json(&self.chain, true)?),
            ("analysis.json", crate::format::to_json(&analysis, true)?),
            ("report.html", html),
        ];
        for (name, text) in files {
            // Loops sharing a directory never read half-written files.
            write_text(&self.root.join(name), &text)?;
        }
        Ok(())
    }

    /// The chain on the terminal.
    fn say(&self, status: &str) {
        for s in &self.chain.steps {
            let decision = match (s.kept, &s.comparison) {
                (Some(true), Some(c)) => format!("kept: {}", c.verdict()),
                (Some(false), Some(c)) => format!("dropped: {}", c.verdict()),
                (None, Some(c)) => format!("undecided: {}", c.verdict()),
                _ => "the start".into(),
            };
            say!(
                "step {} {} (log10 size {:.2}, {} models): {decision}",
                s.index,
                s.space,
                s.size_log10,
                s.models
            );
        }
        say!("{status}");
        say!("report: {}", self.root.join("report.html").display());
    }
}

/// A step's name in the analysis: its index and what it added.
fn population_name(index: usize, tested: Option<&Refinement>) -> String {
    match tested {
        None => format!("{index}: start"),
        Some(c) => format!("{index}: +{}", c.constraint),
    }
}

fn seconds(p: &Population) -> f64 {
    p.models.iter().filter_map(|m| m.seconds).sum()
}

/// The starting space's restrictions, stored as text.
fn parse(list: &[String]) -> Result<Vec<Restriction>, CliError> {
    list.iter()
        .map(|r| {
            r.parse()
                .map_err(|e| CliError::new(format!("{SETTINGS_FILE}: restrictions: {e}")))
        })
        .collect()
}
