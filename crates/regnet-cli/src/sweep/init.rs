//! `regnet sweep init`: sample the jobs and store them, all or nothing.

use crate::datasource::DataSource;
use crate::CliError;
use regnet_store::{JobRecord, Location, PgUrl};
use regnet_sweep::plan::{plan, DataShape, Overrides, Plan};
use regnet_sweep::SweepConfig;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Sweep config: pycls form (SETUP...) or short form (SPACE...).
    config: PathBuf,
    /// Where the sweep lives (default: sweeps/<NAME>); with --store, where its
    /// job files go (logs, checkpoints, weights: put it on a disk that every
    /// worker host shares).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the sweep in a PostgreSQL database instead of DIR/sweep.db
    /// (postgres://USER@HOST:PORT/DB; the sweep is named by the config's NAME
    /// unless the URL says ?sweep=NAME).
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Replace a sweep already in --dir or --store (its results are deleted).
    #[arg(long)]
    force: bool,
    /// Dataset, as for `regnet train` (overrides the config's DATA).
    #[arg(long)]
    data: Option<String>,
    /// Number of models (overrides NUM_CONFIGS).
    #[arg(short = 'n', long = "num", value_name = "N")]
    num_configs: Option<usize>,
    /// Epochs per job (overrides OPTIM.MAX_EPOCH).
    #[arg(long)]
    epochs: Option<usize>,
    /// Sampling seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Failures before a job is given up (default 3).
    #[arg(long)]
    max_attempts: Option<u32>,
    /// When every job's learning rate changes: `epoch` (pycls, the default)
    /// or `iter`; recorded in the sweep's settings.
    #[arg(long, value_name = "WHEN", default_value = "epoch")]
    lr_update: regnet_config::LrUpdate,
    /// Train every job with this command of your own instead of the built-in
    /// engine (a shell-quoted line, run without a shell; may name {config},
    /// {out_dir}, {job}, {data}, {epochs}); overrides the config's TRAINER.
    #[arg(long, value_name = "COMMAND")]
    trainer: Option<String>,
    /// How --trainer reports its epochs: jsonl (one JSON object per line) or
    /// pycls (its json_stats lines).
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "jsonl",
        requires = "trainer"
    )]
    trainer_format: regnet_store::TrainerFormat,
    /// A jsonl --trainer's record file (in the job's directory), read as it
    /// grows instead of the trainer's standard output.
    #[arg(long, value_name = "FILE", requires = "trainer")]
    trainer_file: Option<String>,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let config = SweepConfig::load(&a.config)?;
    let overrides = Overrides {
        data: a.data.clone(),
        num_configs: a.num_configs,
        epochs: a.epochs,
        seed: a.seed,
        max_attempts: a.max_attempts,
        lr_update: a.lr_update,
        trainer: a
            .trainer
            .as_deref()
            .map(|line| trainer(line, a))
            .transpose()?,
    };
    let mut p = plan_with_data(&config, &overrides)
        .map_err(|e| CliError::new(format!("{}: {}", a.config.display(), e.message)))?;
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(|| Path::new("sweeps").join(&p.info.name));
    let location = match &a.store {
        None => Location::Dir(dir.clone()),
        Some(url) => {
            // Job files of a database sweep go to the work directory, recorded.
            super::record_work_dir(&mut p.info.settings, &dir)?;
            Location::Url(Box::new(PgUrl::parse(url)?))
        }
    };
    let location = create(&location, &dir, &p, a.force)?;
    eprintln!(
        "sweep {}: {} models sampled from {} in {} tries, stored in {location}",
        p.info.name,
        p.jobs.len(),
        p.info.settings.space,
        p.tries,
    );
    eprintln!("train them with `regnet sweep run '{location}'`");
    Ok(())
}

/// `--trainer LINE --trainer-format F --trainer-file FILE`, checked.
fn trainer(line: &str, a: &Args) -> Result<regnet_store::TrainerCommand, CliError> {
    let command = regnet_sweep::config::split_command(line)
        .map_err(|e| CliError::new(format!("--trainer: {}", e.message)))?;
    let t = regnet_store::TrainerCommand {
        command,
        format: a.trainer_format,
        file: a.trainer_file.clone(),
    };
    t.validate()
        .map_err(|e| CliError::new(format!("--trainer: {e}")))?;
    Ok(t)
}

/// Plans the sweep on its dataset (`--data` or the config's `DATA`), read
/// for its resolution and classes.
pub fn plan_with_data(config: &SweepConfig, o: &Overrides) -> Result<Plan, CliError> {
    let data = config.data(o)?;
    let shape = DataSource::parse(&data)?.shape(config.im_size)?;
    let shape = DataShape {
        num_classes: shape.num_classes as u64,
        size: shape.size as u64,
    };
    Ok(plan(config, o, data, shape)?)
}

/// Writes the store at `location` (with a copy of the config and the job
/// directory in `dir`), all or nothing; refuses to replace a sweep unless
/// `force`. Prints the plan's warnings; returns the location naming the sweep.
pub fn create(
    location: &Location,
    dir: &Path,
    p: &Plan,
    force: bool,
) -> Result<Location, CliError> {
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    let existed = dir.exists();
    let jobs: Vec<JobRecord> = p.jobs.iter().cloned().map(JobRecord::new).collect();
    let store = location.create(&p.info, &jobs, force)?;
    if force {
        let _ = std::fs::remove_dir_all(dir.join("jobs"));
    }
    let written = std::fs::create_dir_all(dir).and_then(|_| match location {
        Location::Dir(_) => std::fs::write(dir.join("sweep.yaml"), &p.info.config_text),
        Location::Url(_) => Ok(()),
    });
    if let Err(e) = written {
        drop(store);
        if let Location::Dir(_) = location {
            let _ = std::fs::remove_file(regnet_store::store_path(dir));
            if !existed {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        return Err(CliError::new(format!(
            "cannot write '{}': {e}",
            dir.display()
        )));
    }
    Ok(match location {
        Location::Url(u) => {
            Location::Url(Box::new(u.with_sweep(u.sweep().unwrap_or(&p.info.name))))
        }
        Location::Dir(_) => location.clone(),
    })
}
