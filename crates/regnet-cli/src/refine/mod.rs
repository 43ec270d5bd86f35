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

mod step;

use crate::sweep::run as sweep_run;
use crate::CliError;
use regnet_analysis::Boundary;
use regnet_loop::{write_record, Budget, Loop, Order, Settings, SETTINGS_FILE};
use regnet_space::{Restriction, Space};
use regnet_store::PgUrl;
use serde_yaml::Mapping;
use std::path::PathBuf;
use step::{SweepSteps, LOOP_KEYS};

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
    /// Which candidate is tested next: shrink (the method's: structural
    /// simplifications first, whether or not the screening models satisfy
    /// them, largest size reduction first; then the screening's ranges
    /// within the margin, by size reduction) or gain (by the screening's
    /// mean-error gain; the policy of loops started before --order)
    /// [default: shrink].
    #[arg(long)]
    order: Option<Order>,
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
    // The URL as given (it may hold a password), else the one stored.
    let store = match (&a.store, &s.store) {
        (Some(url), _) => Some(PgUrl::parse(url)?),
        (None, Some(url)) => Some(PgUrl::parse(url)?),
        (None, None) => None,
    };
    let steps = SweepSteps::new(&a.dir, s.clone(), store, a.run.args());
    // Checked before anything is written: a refused setting leaves no
    // refine.yaml behind to refuse its correction.
    let mut l = Loop::new(s.clone(), steps)?;
    std::fs::create_dir_all(&a.dir)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", a.dir.display())))?;
    s.write(&a.dir)?;
    let status = l.drive(|l| write_record(&a.dir, l, &l.chain().status.clone()))?;
    write_record(&a.dir, &mut l, &status)?;
    say_chain(&l, &status, &a.dir);
    Ok(())
}

/// The chain on the terminal.
fn say_chain(l: &Loop<SweepSteps>, status: &str, dir: &std::path::Path) {
    for s in &l.chain().steps {
        let margin = l.chain().margin;
        let decision = match (s.decision, &s.comparison) {
            (Some(d), Some(c)) => format!("{}: {}", d.label(margin), c.verdict()),
            (None, Some(c)) => format!("needs more models: {}", c.verdict()),
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
    say!("report: {}", dir.join("report.html").display());
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
            order: a.order.unwrap_or(Order::Shrink),
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
        order: a.order.unwrap_or(old.order),
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
