//! `regnet sweep init`: sample the jobs and store them, all or nothing.

use super::job::store_path;
use super::plan::{plan, Overrides, Plan};
use crate::CliError;
use regnet_store::SqliteStore;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Sweep config: pycls form (SETUP...) or short form (SPACE...).
    config: PathBuf,
    /// Where the sweep lives (default: sweeps/<NAME>).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Replace a sweep already in --dir (its results are deleted).
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
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&a.config).map_err(|e| {
        CliError(format!(
            "cannot read sweep config '{}': {e}",
            a.config.display()
        ))
    })?;
    let overrides = Overrides {
        data: a.data.clone(),
        num_configs: a.num_configs,
        epochs: a.epochs,
        seed: a.seed,
        max_attempts: a.max_attempts,
    };
    let p = plan(&text, &overrides)
        .map_err(|e| CliError(format!("{}: {}", a.config.display(), e.0)))?;
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(|| Path::new("sweeps").join(&p.info.name));
    create(&dir, &p, a.force)?;
    eprintln!(
        "sweep {}: {} models sampled from {} in {} tries, stored in {}",
        p.info.name,
        p.jobs.len(),
        p.info.settings["space"].as_str().unwrap_or_default(),
        p.tries,
        store_path(&dir).display()
    );
    eprintln!("train them with `regnet sweep run {}`", dir.display());
    Ok(())
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
    let created = SqliteStore::create(&db, &p.info, &p.jobs).and_then(|_| {
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
