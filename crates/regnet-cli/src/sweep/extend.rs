//! `regnet sweep extend`: grow a population by more samples of the same
//! space from the same seed stream, so it can be compared in rounds.

use crate::CliError;
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
        return Err(CliError("-n 0: extend a sweep by at least 1 model".into()));
    }
    grow(&a.sweep, a.more)
}

/// Adds `more` models to the sweep at `location` (the design loop grows
/// its populations this way, a round at a time).
pub fn grow(location: &str, more: usize) -> Result<(), CliError> {
    let sweep = Sweep::named(location)?;
    let mut info = sweep.store.info()?;
    let jobs = sweep.store.jobs()?;
    let config = SweepConfig::parse(&info.config_text)
        .map_err(|e| CliError(format!("{location}: the stored sweep config: {}", e.0)))?;
    let s = &info.settings;
    let overrides = Overrides {
        data: Some(s.data.clone()),
        num_configs: Some(jobs.len() + more),
        // The jobs' epochs, which `sweep init --epochs` may have set.
        epochs: jobs.first().map(|j| j.spec.epochs as usize),
        seed: Some(s.seed),
        max_attempts: None,
        // Stores older than the setting trained per epoch.
        lr_update: match s.lr_update.as_str() {
            "" => Default::default(),
            name => name.parse().map_err(CliError)?,
        },
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
        return Err(CliError(format!(
            "{location}: {}: the stored config no longer samples this sweep's jobs (the sampler or its settings changed); start a new sweep instead",
            old.0.spec.name
        )));
    }
    info.settings.num_configs = p.jobs.len();
    sweep.store.extend(&info, &p.jobs[jobs.len()..])?;
    eprintln!(
        "sweep {}: {} more models sampled from {} ({} in all); train them with `regnet sweep run '{}'`",
        info.name,
        more,
        info.settings.space,
        p.jobs.len(),
        sweep.location
    );
    Ok(())
}
