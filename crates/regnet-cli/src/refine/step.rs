//! One population of a design loop: an ordinary sweep (`DIR/NN-slug/`) of
//! the starting space plus the step's restrictions, sampled in the loop's
//! band with the step's own seed, grown a round at a time.

use crate::sweep::extend::grow_to;
use crate::sweep::init::{create, plan_with_data};
use crate::sweep::record_work_dir;
use crate::sweep::run as sweep_run;
use crate::CliError;
use regnet_analysis::{Population, SizeEstimate};
use regnet_loop::{space_name, LoopError, Opened, Populations, Settings, StepId};
use regnet_space::Restriction;
use regnet_store::{Counts, Location, PgUrl};
use regnet_sweep::{Sweep, SweepConfig};
use serde_yaml::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Keys of the recipe that the loop sets for every population.
pub const LOOP_KEYS: [&str; 7] = [
    "SPACE",
    "NAME",
    "DESC",
    "FLOPS",
    "DATA",
    "NUM_CONFIGS",
    "SEED",
];

/// The loop's populations as sweeps: `DIR/NN-slug/`, each with its store
/// there or in the loop's database, trained by `sweep run`'s scheduler.
pub struct SweepSteps {
    root: PathBuf,
    s: Settings,
    /// The database holding the stores, if not the step directories.
    store: Option<PgUrl>,
    run: sweep_run::Args,
    /// Where each opened step's store is: its directory's SQLite file, or
    /// the loop's database (its job files stay in the directory).
    steps: Vec<Location>,
}

impl SweepSteps {
    pub fn new(root: &Path, s: Settings, store: Option<PgUrl>, run: sweep_run::Args) -> Self {
        SweepSteps {
            root: root.to_path_buf(),
            s,
            store,
            run,
            steps: Vec::new(),
        }
    }

    /// Step `i`'s sweep, as `sweep run` and `sweep extend` name it.
    fn location(&self, i: usize) -> String {
        self.steps[i].arg()
    }

    fn sweep(&self, i: usize) -> Result<Sweep, CliError> {
        Ok(Sweep::named(&self.location(i))?)
    }
}

impl From<CliError> for LoopError {
    fn from(e: CliError) -> Self {
        LoopError {
            message: e.message,
            fault: e.fault,
        }
    }
}

impl Populations for SweepSteps {
    fn exists(&mut self, id: &StepId) -> regnet_loop::Result<bool> {
        let (_, location) = place(&self.root, &self.s, self.store.as_ref(), id);
        Ok(location.holds_sweep()?)
    }

    fn open(
        &mut self,
        id: &StepId,
        restrictions: &[Restriction],
        n: usize,
    ) -> regnet_loop::Result<Opened> {
        let (location, info) = open_or_create(
            &self.root,
            &self.s,
            self.store.as_ref(),
            id,
            restrictions,
            n,
        )?;
        let size = info
            .derived
            .as_ref()
            .map_or(SizeEstimate::Exact, |d| d.size.clone());
        let opened = Opened {
            size_log10: info.size_log10,
            size,
            location: location.to_string(),
        };
        self.steps.push(location);
        Ok(opened)
    }

    /// The size of the recipe's form of the space (its stages and stem),
    /// from a derived-space file `DIR/spaces/candidates/SLUG.yaml`.
    fn size_log10(&mut self, restrictions: &[Restriction]) -> regnet_loop::Result<f64> {
        let list: Vec<String> = restrictions.iter().map(ToString::to_string).collect();
        let file = format!("candidates/{}", slug(&list.join(", ")));
        let what = format!("a candidate of the design loop from {}", self.s.start);
        let space = derived_file(&self.root, &self.s, &file, &what, restrictions)?;
        let text = recipe_with(&self.s, &space, &what, 0, 1)?;
        let config = SweepConfig::parse(&text).map_err(|e| {
            CliError::new(format!(
                "--recipe: candidate {}: {}",
                list.join(", "),
                e.message
            ))
        })?;
        Ok(config.space.info().size_log10)
    }

    fn counts(&mut self, i: usize) -> regnet_loop::Result<Counts> {
        Ok(self.sweep(i)?.store.counts()?)
    }

    fn recover(&mut self, i: usize) -> regnet_loop::Result<usize> {
        let sweep = self.sweep(i)?;
        Ok(regnet_sweep::scheduler::recover(sweep.store.as_ref()).map_err(CliError::from)?)
    }

    fn grow_to(&mut self, i: usize, total: usize) -> regnet_loop::Result<()> {
        Ok(grow_to(&self.location(i), total)?)
    }

    fn train(&mut self, i: usize) -> regnet_loop::Result<()> {
        Ok(sweep_run::run_at(&self.run, &self.location(i))?)
    }

    fn population(&mut self, i: usize, name: &str) -> regnet_loop::Result<Population> {
        let sweep = self.sweep(i)?;
        Ok(Population::from_store(name, sweep.store.as_ref())?)
    }

    fn say(&mut self, line: &str) {
        eprintln!("{line}");
    }
}

/// Where step `index` lives (`tested` names it: the restriction added to
/// its parent's): `DIR/NN-slug/`, with its store there or, with a database,
/// in sweep `LOOP/NN-slug` (LOOP: the loop directory's name).
fn place(root: &Path, s: &Settings, store: Option<&PgUrl>, id: &StepId) -> (PathBuf, Location) {
    let name = format!(
        "{:02}-{}",
        id.index,
        id.tested.as_deref().map_or(s.start.clone(), slug)
    );
    let dir = root.join(&name);
    let location = match store {
        None => Location::Dir(dir.clone()),
        Some(url) => {
            let lp = root
                .file_name()
                .map_or("refine".into(), |n| n.to_string_lossy());
            Location::Url(Box::new(url.with_sweep(&format!("{lp}/{name}"))))
        }
    };
    (dir, location)
}

/// Opens step `id` in `root`, or samples its first `n` models. Loops
/// sharing a database may race to create it: the first one does, the
/// others open it.
fn open_or_create(
    root: &Path,
    s: &Settings,
    store: Option<&PgUrl>,
    id: &StepId,
    restrictions: &[Restriction],
    n: usize,
) -> Result<(Location, regnet_space::SpaceInfo), CliError> {
    let index = id.index;
    let (dir, location) = place(root, s, store, id);
    let text = config_text(root, s, index, restrictions, n)?;
    let config = SweepConfig::parse(&text)
        .map_err(|e| CliError::new(format!("--recipe: step {index}: {}", e.message)))?;
    if !location.holds_sweep()? {
        let mut p = plan_with_data(&config, &Default::default()).map_err(|e| {
            CliError::new(format!("step {index} ({}): {}", dir.display(), e.message))
        })?;
        if let Location::Url(_) = location {
            record_work_dir(&mut p.info.settings, &dir)?;
        }
        if let Err(e) = create(&location, &dir, &p, false) {
            if !location.holds_sweep()? {
                return Err(e);
            }
        }
    }
    let stored = Sweep::open(&location, None)?.store.info()?;
    if stored.config_text != text {
        return Err(CliError::new(format!(
            "{location}: this step's sweep was sampled with other settings; start over with --force"
        )));
    }
    Ok((location, config.space.info()))
}

/// The sweep config of step `index`: the recipe with the loop's keys.
fn config_text(
    root: &Path,
    s: &Settings,
    index: usize,
    restrictions: &[Restriction],
    n: usize,
) -> Result<String, CliError> {
    let space = if restrictions.is_empty() {
        s.start.clone()
    } else {
        let what = format!("step {index} of the design loop from {}", s.start);
        derived_file(root, s, &format!("{index:02}"), &what, restrictions)?
    };
    recipe_with(s, &space, &space_name(s, restrictions), index, n)
}

/// The recipe with the loop's keys for `space` (a built-in name or a
/// derived-space file) as the `index`th population of `n` models.
fn recipe_with(
    s: &Settings,
    space: &str,
    desc: &str,
    index: usize,
    n: usize,
) -> Result<String, CliError> {
    let mut doc: Mapping = serde_yaml::from_str(&s.recipe)
        .map_err(|e| CliError::new(format!("--recipe: not a YAML mapping: {e}")))?;
    let set = |doc: &mut Mapping, k: &str, v: Value| {
        doc.insert(k.into(), v);
    };
    set(&mut doc, "NAME", format!("refine/{index:02}").into());
    set(&mut doc, "DESC", desc.into());
    set(&mut doc, "SPACE", space.into());
    set(&mut doc, "FLOPS", s.flops.clone().into());
    set(&mut doc, "DATA", s.data.clone().into());
    set(&mut doc, "NUM_CONFIGS", (n as u64).into());
    set(&mut doc, "SEED", (s.seed + index as u64).into());
    serde_yaml::to_string(&doc).map_err(|e| CliError::new(e.to_string()))
}

/// Writes a derived-space file `DIR/spaces/FILE.yaml` (step NN's, which
/// `regnet space info` reads too, or a candidate's); returns its absolute
/// path, which the step's sweep config names (a sweep re-reads it when it
/// is extended).
fn derived_file(
    root: &Path,
    s: &Settings,
    file: &str,
    what: &str,
    restrictions: &[Restriction],
) -> Result<String, CliError> {
    let path = root.join("spaces").join(format!("{file}.yaml"));
    let dir = path.parent().unwrap_or(root);
    let text =
        regnet_sweep::derived::write(&space_name(s, restrictions), what, &s.start, restrictions);
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", dir.display())))?;
    crate::session::write_text(&path, &text)?;
    let abs = std::path::absolute(&path)
        .map_err(|e| CliError::new(format!("'{}': {e}", path.display())))?;
    Ok(abs.display().to_string())
}

/// A file-name form of a restriction list: `d3<=3, w1>=16` → `d3le3_w1ge16`.
fn slug(tested: &str) -> String {
    tested
        .replace("<=", "le")
        .replace(">=", "ge")
        .replace("==", "eq")
        .replace('<', "lt")
        .replace('>', "gt")
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '.' => 'p',
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => c,
            _ => '_',
        })
        .collect()
}
