//! `regnet sweep launch SWEEP --slurm`: submit a Slurm job array whose tasks
//! each run `regnet sweep worker` against the sweep's store, as pycls's
//! `sweep_launch` does, but with workers that claim jobs from a shared store
//! rather than owning fixed ones.
//!
//! Requeue-safe by construction: a task that is preempted, cancelled or runs
//! out of time leaves its job under a lease that expires, and the job goes
//! back to the queue for any worker that asks (the array is submitted with
//! `--requeue`, and launching again starts fresh workers for what is left).

use crate::CliError;
use regnet_store::{Counts, Location};
use regnet_sweep::scheduler::requeue_dead;
use regnet_sweep::Sweep;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct Args {
    /// Sweep directory or store URL (a PostgreSQL store when the tasks may
    /// land on several nodes).
    sweep: String,
    /// Submit to Slurm (the only launcher so far; required).
    #[arg(long)]
    slurm: bool,
    /// Slurm partition.
    #[arg(long)]
    partition: Option<String>,
    /// GPUs per array task (0: train on CPU).
    #[arg(long, default_value_t = 0)]
    gpus_per_job: usize,
    /// CPU cores per array task.
    #[arg(long, default_value_t = 1)]
    cpus_per_job: usize,
    /// Jobs trained at once on each of a task's GPUs.
    #[arg(long, value_name = "K", default_value_t = 1)]
    jobs_per_gpu: usize,
    /// Array tasks (workers) at once (default: one per pending job, at most 64).
    #[arg(long, value_name = "K")]
    parallel_jobs: Option<usize>,
    /// Time limit per task, in minutes.
    #[arg(long, value_name = "M", default_value_t = 720)]
    time_limit: u64,
    /// Work directory of a URL sweep (default: the one recorded at init).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print the sbatch script instead of submitting it.
    #[arg(long)]
    dry_run: bool,
    /// Seconds a worker's lease lasts without a heartbeat.
    #[arg(long, default_value_t = 60.0, hide = true)]
    lease_seconds: f64,
}

pub fn run(a: &Args) -> Result<(), CliError> {
    if !a.slurm {
        return Err(CliError::new(
            "sweep launch needs --slurm (the only launcher); on plain machines start `regnet sweep worker` by hand".into(),
        ));
    }
    if a.cpus_per_job == 0 || a.parallel_jobs == Some(0) || a.time_limit == 0 || a.jobs_per_gpu == 0
    {
        return Err(CliError::new(
            "--cpus-per-job, --parallel-jobs, --time-limit and --jobs-per-gpu must be at least 1"
                .into(),
        ));
    }
    let sweep = Sweep::open(&Location::parse(&a.sweep)?, a.dir.as_deref())?;
    // Jobs of workers that are gone come back first (a cancelled array's):
    // at once when they ran on this host, else when their lease expires.
    requeue_dead(sweep.store.as_ref())?;
    sweep.store.requeue_expired()?;
    let counts = sweep.store.counts()?;
    if counts.pending == 0 {
        return Err(CliError::new(format!(
            "{}: no pending jobs to launch ({}; a running job whose worker is gone returns to the queue when its lease expires)",
            sweep.location,
            describe(&counts)
        )));
    }
    if matches!(sweep.location, Location::Dir(_)) {
        eprintln!("warning: a sweep directory's SQLite store is safe only when every task runs on one node (or one local disk); use `sweep init --store postgres://…` for a cluster");
    }
    let tasks = a.parallel_jobs.unwrap_or(counts.pending.min(64));
    let script = script(a, &sweep, tasks)?;
    if a.dry_run {
        say!("{}", script.strip_suffix('\n').unwrap_or(&script));
        return Ok(());
    }
    submit(&sweep, &script, tasks)
}

fn describe(c: &Counts) -> String {
    format!(
        "{} done, {} failed, {} running",
        c.done, c.failed, c.running
    )
}

/// Quotes `s` for a POSIX shell.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sbatch script: an array of `tasks` workers, logs in `DIR/slurm/`.
fn script(a: &Args, sweep: &Sweep, tasks: usize) -> Result<String, CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::new(format!("cannot find the regnet binary's path: {e}")))?;
    let dir =
        std::path::absolute(&sweep.dir).map_err(|e| CliError::io("resolve", &sweep.dir, e))?;
    let name = sweep.store.info()?.name;
    let logs = dir.join("slurm");
    let mut s = String::from("#!/bin/bash\n");
    let mut opt = |line: String| s.push_str(&format!("#SBATCH {line}\n"));
    opt(format!("--job-name=regnet-{name}"));
    opt(format!("--array=0-{}", tasks - 1));
    opt("--ntasks=1".into());
    opt(format!("--cpus-per-task={}", a.cpus_per_job));
    if a.gpus_per_job > 0 {
        opt(format!("--gres=gpu:{}", a.gpus_per_job));
    }
    opt(format!("--time={}", a.time_limit));
    if let Some(p) = &a.partition {
        opt(format!("--partition={p}"));
    }
    opt(format!("--output={}/%A_%a.log", logs.display()));
    opt("--open-mode=append".into());
    opt("--requeue".into());
    let placement = if a.gpus_per_job > 0 {
        // The task's GPUs as Slurm numbers them for it (CUDA_VISIBLE_DEVICES).
        let gpus: Vec<String> = (0..a.gpus_per_job).map(|g| g.to_string()).collect();
        format!(
            "--gpus {} --jobs-per-gpu {}",
            gpus.join(","),
            a.jobs_per_gpu
        )
    } else {
        // Small models train faster as single-thread workers (bench/RESULTS.md).
        format!("--device cpu --workers {}", a.cpus_per_job)
    };
    s.push_str(&format!(
        "\n# Each task is one worker: it claims jobs from the store until none is pending.\n\
         echo \"task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname)\"\n\
         exec {} sweep worker {} --dir {} {placement} --threads 1 --lease-seconds {}\n",
        quote(&exe.display().to_string()),
        quote(&sweep.location.arg()),
        quote(&dir.display().to_string()),
        a.lease_seconds
    ));
    Ok(s)
}

/// Writes the script next to the logs (owner-only: a store URL may hold a
/// password) and submits it.
fn submit(sweep: &Sweep, script: &str, tasks: usize) -> Result<(), CliError> {
    let logs = sweep.dir.join("slurm");
    let logs = std::path::absolute(&logs).map_err(|e| CliError::io("resolve", &logs, e))?;
    std::fs::create_dir_all(&logs)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", logs.display())))?;
    let path = logs.join(format!(
        "launch-{}.sbatch",
        (regnet_store::now() * 1000.0) as u64
    ));
    write_private(&path, script)?;
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(&path)
        .output()
        .map_err(|e| {
            CliError::new(format!(
                "cannot run sbatch ({e}): is this a Slurm submit host? (--dry-run prints the script)"
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(CliError::new(format!(
            "sbatch refused {}: {}",
            path.display(),
            err.trim().replace('\n', "; ")
        )));
    }
    let id = String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    eprintln!(
        "submitted Slurm array job {id}: {tasks} workers; task logs in {}/{id}_<task>.log, job logs in {}/jobs/<job>/",
        logs.display(),
        sweep.dir.display()
    );
    eprintln!("watch it with `regnet sweep status '{}'`", sweep.location);
    Ok(())
}

fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CliError::new(format!("cannot write '{}': {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| CliError::new(format!("cannot write '{}': {e}", path.display())))
}
