//! `regnet sweep`: sample a population into a store, train it crash-safely
//! in parallel, watch it, export it.

pub mod init;
pub mod job;
pub mod plan;
pub mod run;
mod status;

use crate::CliError;
use regnet_store::{SqliteStore, SweepStore};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Sample a sweep config's models and store them as jobs.
    Init(init::Args),
    /// Train pending jobs in parallel worker processes (resumable).
    Run(run::Args),
    /// Jobs by state, running jobs' progress, failures, ETA.
    Status(status::Args),
    /// Write the results as pycls sweep.json records or CSV.
    Export(status::ExportArgs),
    /// The analysis report (HTML) of a sweep or a pycls sweep.json.
    Analyze(crate::commands::analyze::AnalyzeArgs),
    /// Queue the failed jobs again.
    RetryFailed {
        /// Sweep directory.
        dir: PathBuf,
    },
    /// Check the store's invariants (exit 1 listing the problems).
    Check {
        /// Sweep directory.
        dir: PathBuf,
    },
    /// Train one claimed job (started by `sweep run`).
    #[command(hide = true)]
    Job(job::Args),
}

/// Runs a sweep subcommand; returns the process exit code.
pub fn run(args: &Args) -> Result<u8, CliError> {
    match &args.command {
        Command::Init(a) => init::run(a).map(|_| 0),
        Command::Run(a) => run::run(a).map(|_| 0),
        Command::Status(a) => status::status(a).map(|_| 0),
        Command::Export(a) => status::export(a).map(|_| 0),
        Command::Analyze(a) => crate::commands::analyze::analyze_one(a).map(|_| 0),
        Command::RetryFailed { dir } => {
            let store = SqliteStore::open(&job::store_path(dir))?;
            let n = store.retry_failed()?;
            eprintln!(
                "{n} failed jobs queued again; run them with `regnet sweep run {}`",
                dir.display()
            );
            Ok(0)
        }
        Command::Check { dir } => {
            let problems = SqliteStore::open(&job::store_path(dir))?.check_integrity()?;
            if problems.is_empty() {
                println!("{}: sound", dir.display());
                return Ok(0);
            }
            Err(CliError(format!(
                "{}: {}",
                dir.display(),
                problems.join("; ")
            )))
        }
        Command::Job(a) => job::run(a),
    }
}
