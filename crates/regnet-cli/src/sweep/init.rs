//! `regnet sweep init`: sample the jobs and store them, all or nothing.

use super::location::{store_path, Target, WORK_DIR};
use super::plan::{plan, Overrides, Plan};
use crate::CliError;
use regnet_store::{JobRecord, PgStore, PgUrl, SqliteStore};
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
    };
    let mut p = plan(&config, &overrides)
        .map_err(|e| CliError(format!("{}: {}", a.config.display(), e.0)))?;
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(|| Path::new("sweeps").join(&p.info.name));
    let target = match &a.store {
        None => {
            create(&dir, &p, a.force)?;
            Target::Dir(dir)
        }
        Some(url) => Target::Url(Box::new(create_in_database(
            &PgUrl::parse(url)?,
            &dir,
            &mut p,
            a.force,
        )?)),
    };
    eprintln!(
        "sweep {}: {} models sampled from {} in {} tries, stored in {target}",
        p.info.name,
        p.jobs.len(),
        p.info.settings["space"].as_str().unwrap_or_default(),
        p.tries,
    );
    eprintln!("train them with `regnet sweep run '{target}'`");
    Ok(())
}

/// Stores the plan as a sweep of a PostgreSQL database (all or nothing),
/// its work directory `dir` recorded for the workers; returns the URL
/// naming the sweep.
fn create_in_database(
    url: &PgUrl,
    dir: &Path,
    p: &mut Plan,
    force: bool,
) -> Result<PgUrl, CliError> {
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    let work = std::path::absolute(dir)
        .map_err(|e| CliError(format!("--dir '{}': {e}", dir.display())))?;
    p.info.settings[WORK_DIR] = work.display().to_string().into();
    let jobs: Vec<JobRecord> = p.jobs.iter().cloned().map(JobRecord::new).collect();
    let store = PgStore::create(url, &p.info, &jobs, force)?;
    if force {
        let _ = std::fs::remove_dir_all(work.join("jobs"));
    }
    std::fs::create_dir_all(&work)
        .map_err(|e| CliError(format!("cannot create '{}': {e}", work.display())))?;
    Ok(store.url().clone())
}

/// Writes the store (and a copy of the config) into `dir`; refuses to
/// replace a sweep unless `force`. Prints the plan's warnings.
pub fn create(dir: &Path, p: &Plan, force: bool) -> Result<(), CliError> {
    for w in &p.warnings {
        eprintln!("warning: {w}");
    }
    let db = store_path(dir);
    if db.exists() && !force {
        return Err(CliError(format!(
            "{} already holds a sweep; continue it with `regnet sweep run {}`, or pass --force to replace it",
            dir.display(),
            dir.display()
        )));
    }
    if force {
        for f in [
            db.clone(),
            dir.join("sweep.db-wal"),
            dir.join("sweep.db-shm"),
        ] {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir_all(dir.join("jobs"));
    }
    let existed = dir.exists();
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError(format!("cannot create '{}': {e}", dir.display())))?;
    let jobs: Vec<JobRecord> = p.jobs.iter().cloned().map(JobRecord::new).collect();
    let created = SqliteStore::create(&db, &p.info, &jobs).and_then(|_| {
        std::fs::write(dir.join("sweep.yaml"), &p.info.config_text)
            .map_err(|e| regnet_store::StoreError(format!("{}: {e}", dir.display())))
    });
    if let Err(e) = created {
        let _ = std::fs::remove_file(&db);
        if !existed {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(e.into());
    }
    Ok(())
}
