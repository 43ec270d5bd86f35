//! One population of a design loop: an ordinary sweep (`DIR/NN-slug/`) of
//! the starting space plus the step's restrictions, sampled in the loop's
//! band with the step's own seed, grown a round at a time.

use super::settings::Settings;
use crate::sweep::init::{create, plan_with_data};
use crate::sweep::record_work_dir;
use crate::CliError;
use regnet_analysis::Population;
use regnet_space::{Restriction, SpaceInfo};
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

/// A population of the chain.
pub struct StepSweep {
    /// All restrictions of its space, relative to the starting space.
    pub restrictions: Vec<Restriction>,
    /// Where its store is: its directory's SQLite file, or the loop's
    /// database (its job files stay in the directory).
    pub location: Location,
    /// The space as the sweep samples it (stages and stem of the recipe).
    pub info: SpaceInfo,
}

/// Where step `index` lives (`tested` names it: the restriction added to
/// its parent's): `DIR/NN-slug/`, with its store there or, with a database,
/// in sweep `LOOP/NN-slug` (LOOP: the loop directory's name).
fn place(
    root: &Path,
    s: &Settings,
    store: Option<&PgUrl>,
    index: usize,
    tested: Option<&str>,
) -> (PathBuf, Location) {
    let name = format!("{index:02}-{}", tested.map_or(s.start.clone(), slug));
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

impl StepSweep {
    /// Whether step `index` was sampled already.
    pub fn exists(
        root: &Path,
        s: &Settings,
        store: Option<&PgUrl>,
        index: usize,
        tested: Option<&str>,
    ) -> Result<bool, CliError> {
        Ok(place(root, s, store, index, tested).1.holds_sweep()?)
    }

    /// Opens step `index` in `root`, or samples its first `n` models. Loops
    /// sharing a database may race to create it: the first one does, the
    /// others open it.
    pub fn open_or_create(
        root: &Path,
        s: &Settings,
        store: Option<&PgUrl>,
        index: usize,
        restrictions: Vec<Restriction>,
        tested: Option<&str>,
        n: usize,
    ) -> Result<StepSweep, CliError> {
        let (dir, location) = place(root, s, store, index, tested);
        let text = config_text(root, s, index, &restrictions, n)?;
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
        Ok(StepSweep {
            restrictions,
            location,
            info: config.space.info(),
        })
    }

    /// The sweep's location, as `sweep run` and `sweep extend` take it.
    pub fn location(&self) -> String {
        self.location.arg()
    }

    pub fn counts(&self) -> Result<Counts, CliError> {
        Ok(Sweep::named(&self.location())?.store.counts()?)
    }

    /// Queues again the models whose trainers are gone (a dead process of
    /// this machine, an expired lease); returns how many.
    pub fn recover(&self) -> Result<usize, CliError> {
        let sweep = Sweep::named(&self.location())?;
        Ok(regnet_sweep::scheduler::recover(sweep.store.as_ref())?)
    }

    /// Its finished models, in sampling order, named `name`.
    pub fn population(&self, name: &str) -> Result<Population, CliError> {
        let sweep = Sweep::named(&self.location())?;
        Ok(Population::from_store(name, sweep.store.as_ref())?)
    }
}

/// The sweep config of step `index`: the recipe with the loop's keys.
fn config_text(
    root: &Path,
    s: &Settings,
    index: usize,
    restrictions: &[Restriction],
    n: usize,
) -> Result<String, CliError> {
    let mut doc: Mapping = serde_yaml::from_str(&s.recipe)
        .map_err(|e| CliError::new(format!("--recipe: not a YAML mapping: {e}")))?;
    let space = if restrictions.is_empty() {
        s.start.clone()
    } else {
        derived_file(root, s, index, restrictions)?
    };
    let set = |doc: &mut Mapping, k: &str, v: Value| {
        doc.insert(k.into(), v);
    };
    set(&mut doc, "NAME", format!("refine/{index:02}").into());
    set(&mut doc, "DESC", space_name(s, restrictions).into());
    set(&mut doc, "SPACE", space.into());
    set(&mut doc, "FLOPS", s.flops.clone().into());
    set(&mut doc, "DATA", s.data.clone().into());
    set(&mut doc, "NUM_CONFIGS", (n as u64).into());
    set(&mut doc, "SEED", (s.seed + index as u64).into());
    serde_yaml::to_string(&doc).map_err(|e| CliError::new(e.to_string()))
}

/// Writes step `index`'s derived-space file (`DIR/spaces/NN.yaml`, which
/// `regnet space info` reads too); returns its absolute path, which the
/// step's sweep config names (a sweep re-reads it when it is extended).
fn derived_file(
    root: &Path,
    s: &Settings,
    index: usize,
    restrictions: &[Restriction],
) -> Result<String, CliError> {
    let dir = root.join("spaces");
    let path = dir.join(format!("{index:02}.yaml"));
    let text = regnet_sweep::derived::write(
        &space_name(s, restrictions),
        &format!("step {index} of the design loop from {}", s.start),
        &s.start,
        restrictions,
    );
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", dir.display())))?;
    crate::session::write_text(&path, &text)?;
    let abs = std::path::absolute(&path)
        .map_err(|e| CliError::new(format!("'{}': {e}", path.display())))?;
    Ok(abs.display().to_string())
}

/// The starting space's name with the restrictions appended.
pub fn space_name(s: &Settings, restrictions: &[Restriction]) -> String {
    restrictions
        .iter()
        .fold(s.start.clone(), |n, r| format!("{n}+{r}"))
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
