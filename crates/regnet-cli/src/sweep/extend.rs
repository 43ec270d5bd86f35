//! `regnet sweep extend`: grow a population by more samples of the same
//! space from the same seed stream, so it can be compared in rounds.

use crate::CliError;
use regnet_store::Job;
use regnet_sweep::plan::{plan, DataShape, Overrides};
use regnet_sweep::{Sweep, SweepConfig};

#[derive(clap::Args)]
pub struct Args {
    /// Sweep directory or store URL.
    sweep: String,
    /// Models to add.
    #[arg(short = 'n', long = "num", value_name = "N")]
    more: usize,
}

/// Samples the sweep's stored config again for `more` models beyond its
/// jobs, checks that the stream still gives the stored jobs first (the same
/// config, seed, data shape and sampler), and adds the new ones pending.
pub fn run(a: &Args) -> Result<(), CliError> {
    if a.more == 0 {
        return Err(CliError::new(
            "-n 0: extend a sweep by at least 1 model".into(),
        ));
    }
    grow(&a.sweep, a.more)
}

/// Adds `more` models to the sweep at `location`.
pub fn grow(location: &str, more: usize) -> Result<(), CliError> {
    let have = Sweep::named(location)?.store.counts()?.total();
    grow_to(location, have + more)
}

/// Grows the sweep at `location` to `total` models (the design loop grows
/// its populations this way, a round at a time). Several processes may grow
/// it to the same total at once: the seed stream gives each the same
/// models, the store takes them once, and the others find them there.
pub fn grow_to(location: &str, total: usize) -> Result<(), CliError> {
    let sweep = Sweep::named(location)?;
    let jobs = sweep.store.jobs()?;
    if jobs.len() >= total {
        return Ok(());
    }
    match add_jobs(&sweep, &jobs, total) {
        Err(e) if sweep.store.counts()?.total() < total => Err(e),
        _ => Ok(()),
    }
}

/// Samples the stored config for `total` models and adds those beyond `jobs`.
fn add_jobs(sweep: &Sweep, jobs: &[Job], total: usize) -> Result<(), CliError> {
    let location = &sweep.location;
    let mut info = sweep.store.info()?;
    let config = SweepConfig::parse(&info.config_text).map_err(|e| {
        CliError::new(format!(
            "{location}: the stored sweep config: {}",
            e.message
        ))
    })?;
    let s = &info.settings;
    let overrides = Overrides {
        data: Some(s.data.clone()),
        num_configs: Some(total),
        // The jobs' epochs, which `sweep init --epochs` may have set.
        epochs: jobs.first().map(|j| j.spec.epochs as usize),
        seed: Some(s.seed),
        max_attempts: None,
        // Stores older than the setting trained per epoch.
        lr_update: match s.lr_update.as_str() {
            "" => Default::default(),
            name => name.parse().map_err(CliError::new)?,
        },
        // `sweep init --trainer` may have set it.
        trainer: s.trainer.clone(),
    };
    let shape = DataShape {
        num_classes: s.num_classes,
        size: s.im_size,
    };
    let p = plan(&config, &overrides, s.data.clone(), shape)?;
    if let Some(old) = jobs
        .iter()
        .zip(&p.jobs)
        .find(|(old, new)| old.spec.config != new.config)
    {
        return Err(CliError::new(format!(
            "{location}: {}: the stored config no longer samples this sweep's jobs (the sampler or its settings changed); start a new sweep instead",
            old.0.spec.name
        )));
    }
    info.settings.num_configs = p.jobs.len();
    sweep.store.extend(&info, &p.jobs[jobs.len()..])?;
    eprintln!(
        "sweep {}: {} more models sampled from {} ({} in all); train them with `regnet sweep run '{}'`",
        info.name,
        total - jobs.len(),
        info.settings.space,
        p.jobs.len(),
        sweep.location
    );
    Ok(())
}
