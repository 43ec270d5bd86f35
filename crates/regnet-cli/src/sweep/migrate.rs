//! `regnet sweep migrate-store FROM TO`: copy a whole sweep between a sweep
//! directory (SQLite) and a PostgreSQL database, either way: every job with
//! its state, attempts, failures, messages, times and per-epoch metrics.
//! Job files (logs, checkpoints, weights) stay where they are: a sweep copied
//! into a database records the source directory as its work directory.

use super::location::{open, store_path, Target, WORK_DIR};
use crate::CliError;
use regnet_store::{snapshot, JobState, PgStore, SqliteStore};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The sweep to copy: a sweep directory or a store URL.
    from: String,
    /// Where to: a new sweep directory, or a store URL (the sweep keeps its
    /// name unless the URL says ?sweep=NAME).
    to: String,
    /// Replace a sweep already at the destination.
    #[arg(long)]
    force: bool,
    /// Work directory recorded for a copy into a database (default: where
    /// the source's job files are).
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    let from = open(&a.from)?;
    let (mut info, jobs) = snapshot(from.store.as_ref())?;
    let to = Target::parse(&a.to)?;
    match &to {
        Target::Dir(d) => {
            let db = store_path(d);
            if db.exists() && !a.force {
                return Err(CliError(format!(
                    "{} already holds a sweep; pass --force to replace it",
                    d.display()
                )));
            }
            std::fs::create_dir_all(d)
                .map_err(|e| CliError(format!("cannot create '{}': {e}", d.display())))?;
            if a.force {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
            }
            SqliteStore::create(&db, &info, &jobs)?;
        }
        Target::Url(url) => {
            let work = a.dir.clone().unwrap_or_else(|| from.dir.clone());
            let work = std::path::absolute(&work)
                .map_err(|e| CliError(format!("--dir '{}': {e}", work.display())))?;
            info.settings[WORK_DIR] = work.display().to_string().into();
            PgStore::create(url, &info, &jobs, a.force)?;
        }
    }
    let count = |s: JobState| jobs.iter().filter(|j| j.state == s).count();
    let epochs: usize = jobs.iter().map(|j| j.epochs.len()).sum();
    eprintln!(
        "copied sweep {}: {} jobs ({} done, {} failed, {} pending), {epochs} epoch records, from {} to {to}",
        info.name,
        jobs.len(),
        count(JobState::Done),
        count(JobState::Failed),
        count(JobState::Pending),
        from.target,
    );
    if matches!(to, Target::Dir(ref d) if *d != from.dir) {
        eprintln!(
            "job files (logs, checkpoints, weights) stay in {}",
            from.dir.display()
        );
    }
    Ok(())
}
