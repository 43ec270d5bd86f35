//! `regnet sweep`: sample a population into a store, train it crash-safely
//! in parallel (on one machine, or on many sharing a PostgreSQL store, e.g.
//! as a Slurm job array), watch it, export it.

pub mod extend;
pub mod init;
pub mod job;
mod launch;
mod migrate;
pub mod run;
mod status;

use crate::CliError;
use regnet_sweep::scheduler::Mode;
use regnet_sweep::Sweep;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Sample a sweep config's models and store them as jobs.
    Init(init::Args),
    /// Add more models of the same space to a sweep, from the same seed
    /// stream (a population grown in rounds for a sequential comparison).
    Extend(extend::Args),
    /// Train pending jobs in parallel worker processes (resumable).
    Run(run::Args),
    /// Like `run`, for one of many workers sharing a store (a Slurm task,
    /// a process started by hand on another machine): ends when no job is
    /// pending instead of waiting for jobs that other workers hold.
    Worker(run::Args),
    /// Submit workers for a sweep as a Slurm job array.
    Launch(launch::Args),
    /// Jobs by state, running jobs' progress and node, failures, ETA.
    Status(status::Args),
    /// Write the results as pycls sweep.json records or CSV.
    Export(status::ExportArgs),
    /// The analysis report (HTML) of a sweep or a pycls sweep.json.
    Analyze(crate::commands::analyze::AnalyzeArgs),
    /// Queue the failed jobs again.
    RetryFailed {
        /// Sweep directory or store URL.
        sweep: String,
    },
    /// Check the store's invariants (exit 1 listing the problems).
    Check {
        /// Sweep directory or store URL.
        sweep: String,
    },
    /// Copy a sweep between a directory (SQLite) and a PostgreSQL database.
    MigrateStore(migrate::Args),
    /// Train one claimed job (started by `sweep run`).
    #[command(hide = true)]
    Job(job::Args),
}

/// Runs a sweep subcommand; returns the process exit code.
pub fn run(args: &Args) -> Result<u8, CliError> {
    match &args.command {
        Command::Init(a) => init::run(a).map(|_| 0),
        Command::Extend(a) => extend::run(a).map(|_| 0),
        Command::Run(a) => run::run(a, Mode::Run).map(|_| 0),
        Command::Worker(a) => run::run(a, Mode::Worker).map(|_| 0),
        Command::Launch(a) => launch::run(a).map(|_| 0),
        Command::Status(a) => status::status(a).map(|_| 0),
        Command::Export(a) => status::export(a).map(|_| 0),
        Command::Analyze(a) => crate::commands::analyze::analyze_one(a).map(|_| 0),
        Command::RetryFailed { sweep } => {
            let n = Sweep::named(sweep)?.store.retry_failed()?;
            eprintln!("{n} failed jobs queued again; run them with `regnet sweep run '{sweep}'`");
            Ok(0)
        }
        Command::Check { sweep } => {
            let store = Sweep::named(sweep)?.store;
            let mut problems = store.check_integrity()?;
            // What `status` and `analyze` would refuse is a problem too.
            if let Err(e) = regnet_analysis::Population::from_store("check", store.as_ref()) {
                problems.push(e.message);
            }
            if problems.is_empty() {
                say!("{sweep}: sound");
                return Ok(0);
            }
            Err(CliError::new(format!("{sweep}: {}", problems.join("; "))))
        }
        Command::MigrateStore(a) => migrate::run(a).map(|_| 0),
        Command::Job(a) => job::run(a),
    }
}

/// Records `dir`, made absolute, as the work directory of a database sweep
/// (job files live there, on a disk every worker host shares).
pub(crate) fn record_work_dir(
    settings: &mut regnet_store::SweepSettings,
    dir: &std::path::Path,
) -> Result<(), CliError> {
    let work = std::path::absolute(dir)
        .map_err(|e| CliError::new(format!("--dir '{}': {e}", dir.display())))?;
    settings.work_dir = Some(work.display().to_string());
    Ok(())
}
