//! `regnet sweep run` and `sweep worker`: the library scheduler
//! (`regnet_sweep::scheduler`) with one worker process per job
//! (`regnet sweep job`) and a progress display.

use crate::session::pick_device;
use crate::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use regnet_engine::Device;
use regnet_store::{Job, JobState, Lease, Location};
use regnet_sweep::protocol::{Exit, SWEEP_ENV};
use regnet_sweep::scheduler::{self, Mode, Observer, Options, Owner, WorkerId, Workers};
use regnet_sweep::{job_dir, Sweep};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args, Clone)]
pub struct Args {
    /// Sweep directory or store URL (postgres://USER@HOST/DB?sweep=NAME).
    pub sweep: String,
    /// Work directory for job files of a URL sweep (default: the one
    /// recorded at `sweep init`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Jobs trained at once, each in its own process (default: one per CPU
    /// core with --threads 1 on CPU; --jobs-per-gpu per GPU with CUDA).
    #[arg(long)]
    pub workers: Option<usize>,
    /// GPUs to place jobs on, as this process numbers them (e.g. 0,1,2,3;
    /// default with CUDA: every visible one). Each job process sees only its
    /// GPU (CUDA_VISIBLE_DEVICES) and trains on it as cuda:0.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub gpus: Option<Vec<usize>>,
    /// Jobs trained at once on each GPU [default: 1]; small models leave a
    /// big GPU idle, so several share it.
    #[arg(long, value_name = "K")]
    pub jobs_per_gpu: Option<usize>,
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
            gpus: None,
            jobs_per_gpu: None,
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
    let placement = Placement::of(a)?;
    let workers = placement.workers(a)?;
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
        placement.shown()
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
        placement,
        children: Vec::new(),
    };
    let mut display = Display {
        bar: progress_bar(todo as u64, a.quiet || mode == Mode::Worker),
    };
    let c = scheduler::run(store, &mut processes, &options, &mut display).map_err(|e| {
        display.bar.abandon();
        // The scheduler's own store calls meeting a full disk or a store
        // that is down: the jobs are fine, and a rerun resumes them.
        if e.fault.is_outside_the_job() && !e.message.starts_with("stopping the sweep") {
            CliError {
                message: format!(
                    "stopping the sweep: {}; {}",
                    e.message,
                    scheduler::fault_advice(e.fault)
                ),
                fault: e.fault,
            }
        } else {
            CliError::from(e)
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
        .ok_or_else(|| CliError::new(format!("{flag} must be a positive number (got {value})")))
}

/// One `regnet sweep job` process per job, its output appended to the job's logs.
struct Processes<'a> {
    sweep: &'a Sweep,
    args: &'a Args,
    /// Where each worker slot's jobs train.
    placement: Placement,
    /// By worker id: the process, its standard error file, and when it was
    /// asked to stop.
    children: Vec<(Child, PathBuf, Option<Instant>)>,
}

/// How long a worker asked to stop (SIGTERM: a job running a trainer of the
/// user's own ends the trainer's process group first) has before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

impl Workers for Processes<'_> {
    fn start(&mut self, job: &Job, lease: &Lease, slot: usize) -> regnet_sweep::Result<WorkerId> {
        let fail = |e: std::io::Error| {
            regnet_sweep::SweepError::new(format!(
                "cannot start a worker for {}: {e}",
                job.spec.name
            ))
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
        let (device, visible) = self.placement.slot(slot);
        let mut cmd = Command::new(std::env::current_exe().map_err(fail)?);
        if let Some(v) = visible {
            cmd.env("CUDA_VISIBLE_DEVICES", v);
        }
        let child = cmd
            .args(["sweep", "job", "--dir"])
            .arg(&self.sweep.dir)
            // The sweep (a URL may hold a password) by environment, not in `ps`.
            .env(SWEEP_ENV, self.sweep.location.arg())
            .args(["--job", &lease.job_id.to_string()])
            .args(["--token", &lease.token.to_string()])
            .args(["--threads", &a.threads.to_string()])
            .args(["--device", &device])
            .args(["--lease-seconds", &a.lease_seconds.to_string()])
            .stdin(Stdio::null())
            .stdout(log("stdout.log").map_err(fail)?)
            .stderr(log("stderr.log").map_err(fail)?)
            .spawn()
            .map_err(fail)?;
        self.children.push((child, dir.join("stderr.log"), None));
        Ok(self.children.len() - 1)
    }

    fn poll(&mut self, id: WorkerId) -> regnet_sweep::Result<Option<Exit>> {
        let (child, _, stopping) = &mut self.children[id];
        let status = child.try_wait().map_err(|e| {
            regnet_sweep::SweepError::new(format!("cannot watch a worker process: {e}"))
        })?;
        if status.is_none() && stopping.is_some_and(|t| t.elapsed() >= STOP_GRACE) {
            let _ = child.kill();
        }
        Ok(status.map(Exit::of))
    }

    /// SIGTERM now, SIGKILL after [`STOP_GRACE`] if it is still there.
    fn kill(&mut self, id: WorkerId) {
        let (child, _, stopping) = &mut self.children[id];
        // SAFETY: a signal to our own child, which has not been reaped.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        stopping.get_or_insert_with(Instant::now);
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

/// Where jobs train: on the CPU, on one device named by `--device`, or on
/// GPUs, `per_gpu` jobs each, a worker slot's jobs always on the same GPU
/// (slot s on `gpus[s % n]`), so no GPU runs more than `per_gpu` at once.
#[derive(Debug, Clone, PartialEq)]
struct Placement {
    /// `--device` when not on GPUs (cpu, mps...).
    device: String,
    /// GPUs as this process numbers them.
    gpus: Vec<usize>,
    per_gpu: usize,
}

impl Placement {
    fn of(a: &Args) -> Result<Placement, CliError> {
        let per_gpu = a.jobs_per_gpu.unwrap_or(1);
        if per_gpu == 0 {
            return Err(CliError::new("--jobs-per-gpu must be at least 1".into()));
        }
        let picked = pick_device(&a.device);
        let gpus = match &a.gpus {
            Some(list) if list.is_empty() => {
                return Err(CliError::new(
                    "--gpus: name at least one GPU, e.g. --gpus 0,1".into(),
                ))
            }
            // Named GPUs need no CUDA here: a trainer of the user's own may
            // be the one to use them.
            Some(list) => list.clone(),
            None => match &picked {
                Err(e) => return Err(CliError::new(e.message.clone())),
                Ok(Device::Cuda(i)) if a.device.starts_with("cuda:") => vec![*i],
                Ok(Device::Cuda(_)) => (0..regnet_engine::cuda_device_count()).collect(),
                Ok(_) => Vec::new(),
            },
        };
        if gpus.is_empty() && a.jobs_per_gpu.is_some() {
            return Err(CliError::new(format!(
                "--jobs-per-gpu: --device {} places no job on a GPU (name them with --gpus)",
                a.device
            )));
        }
        Ok(Placement {
            device: picked.map_or(a.device.clone(), |d| d.to_string()),
            gpus,
            per_gpu,
        })
    }

    /// Jobs at once: `--workers`, or one per core on CPU (small models scale
    /// poorly over threads, see bench/RESULTS.md), or `per_gpu` per GPU.
    fn workers(&self, a: &Args) -> Result<usize, CliError> {
        let slots = self.gpus.len() * self.per_gpu;
        let workers = match a.workers {
            Some(w) if slots > 0 && a.gpus.is_some() && w != slots => {
                return Err(CliError::new(format!(
                    "--workers {w} and --gpus/--jobs-per-gpu ({slots} jobs at once) disagree: give one of them"
                )))
            }
            Some(w) => w,
            None if slots > 0 => slots,
            None => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                (cores / a.threads.max(1)).max(1)
            }
        };
        if workers == 0 || a.threads == 0 {
            return Err(CliError::new(
                "--workers and --threads must be at least 1".into(),
            ));
        }
        Ok(workers)
    }

    /// The `--device` of slot `slot`'s job process, and the
    /// CUDA_VISIBLE_DEVICES it gets (its one GPU), if on a GPU.
    fn slot(&self, slot: usize) -> (String, Option<String>) {
        if self.gpus.is_empty() {
            return (self.device.clone(), None);
        }
        let gpu = self.gpus[slot % self.gpus.len()];
        let parent = std::env::var("CUDA_VISIBLE_DEVICES").ok();
        let visible =
            regnet_sweep::trainer::cuda_visible(&format!("cuda:{gpu}"), parent.as_deref());
        ("cuda:0".into(), Some(visible))
    }

    fn shown(&self) -> String {
        match self.gpus.as_slice() {
            [] => self.device.clone(),
            g => format!(
                "GPUs {} ({} jobs each)",
                g.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                self.per_gpu
            ),
        }
    }
}
