//! `regnet sweep run` and `sweep worker`: the library scheduler
//! (`regnet_sweep::scheduler`) with one worker process per job
//! (`regnet sweep job`) and a progress display.

use crate::session::pick_device;
use crate::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use regnet_engine::Device;
use regnet_store::{Job, JobState, Lease, Location};
use regnet_sweep::protocol::{storage_fault, Exit, SWEEP_ENV};
use regnet_sweep::scheduler::{self, Mode, Observer, Options, Owner, WorkerId, Workers};
use regnet_sweep::{job_dir, Sweep};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[derive(clap::Args, Clone)]
pub struct Args {
    /// Sweep directory or store URL (postgres://USER@HOST/DB?sweep=NAME).
    pub sweep: String,
    /// Work directory for job files of a URL sweep (default: the one
    /// recorded at `sweep init`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Jobs trained at once, each in its own process (default: one per CPU
    /// core with --threads 1 on CPU; two per GPU with CUDA).
    #[arg(long)]
    pub workers: Option<usize>,
    /// libtorch CPU threads per worker.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// auto (CUDA when present), cpu or cuda (workers spread over the visible GPUs).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Stop after starting this many jobs.
    #[arg(long, value_name = "K")]
    pub max_jobs: Option<usize>,
    /// Seconds a worker's lease lasts without a heartbeat.
    #[arg(long, default_value_t = 60.0, hide = true)]
    pub lease_seconds: f64,
    /// Kill a worker whose job has shown no progress for this many minutes
    /// (hung: alive but stuck); the attempt fails and is retried. Progress
    /// moves every few seconds while training; an evaluation pass must fit.
    #[arg(long, value_name = "M", default_value_t = 60.0)]
    pub stall_minutes: f64,
    /// No progress bar (one line per finished job).
    #[arg(long)]
    pub quiet: bool,
}

/// The `sweep run` options a command that trains sweeps of its own
/// (`demo`, `refine`) passes on.
#[derive(clap::Args)]
pub struct RunOptions {
    /// Jobs trained at once (default: one per CPU core, two per GPU).
    #[arg(long)]
    workers: Option<usize>,
    /// libtorch CPU threads per worker.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// auto, cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
}

impl RunOptions {
    /// `sweep run`'s arguments with these options (the sweep set per run).
    pub fn args(&self) -> Args {
        Args {
            sweep: String::new(),
            dir: None,
            workers: self.workers,
            threads: self.threads,
            device: self.device.clone(),
            max_jobs: None,
            lease_seconds: 60.0,
            stall_minutes: 60.0,
            quiet: false,
        }
    }
}

/// Runs pending jobs until none is left (or `--max-jobs` were started).
pub fn run(a: &Args, mode: Mode) -> Result<(), CliError> {
    let stall = positive_seconds("--stall-minutes", a.stall_minutes, 60.0)?;
    let lease = positive_seconds("--lease-seconds", a.lease_seconds, 1.0)?;
    let sweep = Sweep::open(&Location::parse(&a.sweep)?, a.dir.as_deref())?;
    let store = sweep.store.as_ref();
    let devices = worker_devices(&a.device)?;
    let workers = a.workers.unwrap_or(default_workers(&devices, a.threads));
    if workers == 0 || a.threads == 0 {
        return Err(CliError(
            "--workers and --threads must be at least 1".into(),
        ));
    }
    let requeued = scheduler::recover(store)?;
    if requeued > 0 {
        eprintln!("re-queued {requeued} jobs of workers that are gone (they resume from their checkpoints)");
    }
    let counts = store.counts()?;
    let todo = a.max_jobs.map_or(counts.open(), |k| k.min(counts.open()));
    eprintln!(
        "sweep {}: {} done, {} failed, {} to run; {workers} workers x {} threads on {}",
        store.info()?.name,
        counts.done,
        counts.failed,
        counts.open(),
        a.threads,
        devices.join(", ")
    );
    let options = Options {
        workers,
        max_jobs: a.max_jobs,
        lease,
        stall,
        mode,
        owner: Owner::this_process(),
        poll: Duration::from_millis(200),
    };
    let mut processes = Processes {
        sweep: &sweep,
        args: a,
        devices,
        children: Vec::new(),
    };
    let mut display = Display {
        bar: progress_bar(todo as u64, a.quiet || mode == Mode::Worker),
    };
    let c = scheduler::run(store, &mut processes, &options, &mut display).map_err(|e| {
        display.bar.abandon();
        // The scheduler's own writes (the store) failing for want of space.
        if storage_fault(&e.0) && !e.0.starts_with("stopping the sweep") {
            CliError(format!(
                "stopping the sweep: {}; free space or make it writable, then run the sweep again: it resumes",
                e.0
            ))
        } else {
            CliError(e.0)
        }
    })?;
    display.bar.finish_and_clear();
    eprintln!(
        "{} done, {} failed, {} pending, {} running elsewhere",
        c.done, c.failed, c.pending, c.running
    );
    if c.failed > 0 {
        eprintln!("failed jobs keep their messages (`regnet sweep status`); `regnet sweep retry-failed` queues them again");
    }
    Ok(())
}

/// Runs the sweep at `location` with `a`'s options: `regnet demo` and
/// `regnet refine` run several sweeps with one set of options.
pub fn run_at(a: &Args, location: &str) -> Result<(), CliError> {
    let mut a = a.clone();
    a.sweep = location.to_string();
    run(&a, Mode::Run)
}

/// `value` × `unit` seconds, or an error naming `flag` unless it is a
/// positive, finite duration.
fn positive_seconds(flag: &str, value: f64, unit: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(value * unit)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError(format!("{flag} must be a positive number (got {value})")))
}

/// One `regnet sweep job` process per job, its output appended to the job's logs.
struct Processes<'a> {
    sweep: &'a Sweep,
    args: &'a Args,
    /// The device of each worker slot, cycling over the visible GPUs.
    devices: Vec<String>,
    /// By worker id: the process and its standard error file.
    children: Vec<(Child, PathBuf)>,
}

impl Workers for Processes<'_> {
    fn start(&mut self, job: &Job, lease: &Lease, slot: usize) -> regnet_sweep::Result<WorkerId> {
        let fail = |e: std::io::Error| {
            regnet_sweep::SweepError(format!("cannot start a worker for {}: {e}", job.spec.name))
        };
        let dir = job_dir(&self.sweep.dir, &job.spec.name);
        std::fs::create_dir_all(&dir).map_err(fail)?;
        let log = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
        };
        let a = self.args;
        let child = Command::new(std::env::current_exe().map_err(fail)?)
            .args(["sweep", "job", "--dir"])
            .arg(&self.sweep.dir)
            // The sweep (a URL may hold a password) by environment, not in `ps`.
            .env(SWEEP_ENV, self.sweep.location.arg())
            .args(["--job", &lease.job_id.to_string()])
            .args(["--token", &lease.token.to_string()])
            .args(["--threads", &a.threads.to_string()])
            .args(["--device", &self.devices[slot % self.devices.len()]])
            .args(["--lease-seconds", &a.lease_seconds.to_string()])
            .stdin(Stdio::null())
            .stdout(log("stdout.log").map_err(fail)?)
            .stderr(log("stderr.log").map_err(fail)?)
            .spawn()
            .map_err(fail)?;
        self.children.push((child, dir.join("stderr.log")));
        Ok(self.children.len() - 1)
    }

    fn poll(&mut self, id: WorkerId) -> regnet_sweep::Result<Option<Exit>> {
        let status = self.children[id]
            .0
            .try_wait()
            .map_err(|e| regnet_sweep::SweepError(format!("cannot watch a worker process: {e}")))?;
        Ok(status.map(Exit::of))
    }

    fn kill(&mut self, id: WorkerId) {
        let _ = self.children[id].0.kill();
    }

    fn log(&self, id: WorkerId) -> String {
        self.children[id].1.display().to_string()
    }
}

/// The progress bar: jobs done, the running jobs' epochs, one line per end.
struct Display {
    bar: ProgressBar,
}

impl Display {
    /// A line above the progress bar, or on stderr when there is no bar.
    fn line(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }
}

impl Observer for Display {
    fn say(&mut self, line: &str) {
        self.line(line);
    }

    fn ended(&mut self, job: &Job, took: Duration, counted: bool) {
        self.line(&finished_line(job, took));
        if counted {
            self.bar.inc(1);
        }
    }

    fn tick(&mut self, jobs: &[Job], running: &[i64]) {
        if self.bar.is_hidden() {
            return;
        }
        let parts: Vec<String> = running
            .iter()
            .filter_map(|id| jobs.iter().find(|j| j.id == *id))
            .map(|j| format!("{} {:.1}/{}", j.spec.name, j.progress, j.spec.epochs))
            .collect();
        self.bar.set_message(parts.join("  "));
    }
}

fn finished_line(job: &Job, took: Duration) -> String {
    let name = &crate::format::plain(&job.spec.name);
    let error = &crate::format::plain(job.error.as_deref().unwrap_or(""));
    match (job.state, job.top1_err) {
        (JobState::Done, Some(e)) => format!(
            "{name} done: top-1 error {e:.2}%  ({:.0} s)",
            took.as_secs_f64()
        ),
        (JobState::Failed, _) => format!(
            "{name} failed ({} attempts, given up): {error}",
            job.failures
        ),
        (JobState::Pending, _) if job.failures == 0 => {
            format!("{name} will be retried: {error}")
        }
        (JobState::Pending, _) => {
            format!("{name} will be retried (failure {}): {error}", job.failures)
        }
        (state, _) => format!("{name}: {}", state.as_str()),
    }
}

fn progress_bar(len: u64, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} jobs  eta {eta}  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    )
}

/// The device each worker slot uses, cycling over the visible GPUs.
fn worker_devices(choice: &str) -> Result<Vec<String>, CliError> {
    let device = pick_device(choice)?;
    Ok(match device {
        Device::Cuda(_) if choice == "auto" || choice == "cuda" => (0
            ..regnet_engine::cuda_device_count())
            .map(|i| format!("cuda:{i}"))
            .collect(),
        d => vec![d.to_string()],
    })
}

/// One worker per core on CPU (small models scale poorly over threads, see
/// bench/RESULTS.md); two per GPU, which keeps a GPU busy with small models.
fn default_workers(devices: &[String], threads: usize) -> usize {
    if devices.iter().any(|d| d.starts_with("cuda")) {
        return 2 * devices.len();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / threads.max(1)).max(1)
}
