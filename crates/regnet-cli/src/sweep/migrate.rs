//! `regnet sweep migrate-store FROM TO`: copy a whole sweep between a sweep
//! directory (SQLite) and a PostgreSQL database, either way: every job with
//! its state, attempts, failures, messages, times and per-epoch metrics.
//! Job files (logs, checkpoints, weights) stay where they are: a sweep copied
//! into a database records the source directory as its work directory.

use crate::CliError;
use regnet_store::{snapshot, JobState, Location};
use regnet_sweep::Sweep;
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
    let from = Sweep::named(&a.from)?;
    let (mut info, jobs) = snapshot(from.store.as_ref())?;
    let to = Location::parse(&a.to)?;
    if let Location::Url(_) = to {
        // Job files stay where they are: the copy records them as its work directory.
        let work = a.dir.as_ref().unwrap_or(&from.dir);
        super::record_work_dir(&mut info.settings, work)?;
    }
    to.create(&info, &jobs, a.force)?;
    let count = |s: JobState| jobs.iter().filter(|j| j.state == s).count();
    let epochs: usize = jobs.iter().map(|j| j.epochs.len()).sum();
    eprintln!(
        "copied sweep {}: {} jobs ({} done, {} failed, {} pending), {epochs} epoch records, from {} to {to}",
        info.name,
        jobs.len(),
        count(JobState::Done),
        count(JobState::Failed),
        count(JobState::Pending),
        from.location,
    );
    if matches!(to, Location::Dir(ref d) if *d != from.dir) {
        eprintln!(
            "job files (logs, checkpoints, weights) stay in {}",
            from.dir.display()
        );
    }
    Ok(())
}
