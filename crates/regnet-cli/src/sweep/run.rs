//! `regnet sweep run`: the scheduler. It claims jobs from the store, runs
//! each in a worker process (`regnet sweep job`), and shows progress.
//!
//! Crash safety rests on the store: a claim is a lease that the worker
//! renews; a worker that dies is failed by this scheduler (and retried); a
//! scheduler that dies leaves leases that the next `sweep run` re-queues at
//! once when their owner process is gone from this machine, or when they
//! expire otherwise.

use super::job::EXIT_ABANDONED;
use super::location::{job_dir, Sweep, Target};
use crate::CliError;
use indicatif::{ProgressBar, ProgressStyle};
use regnet_store::{Job, JobState, Lease, Outcome, SweepStore};
use std::path::{Path, PathBuf};
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

/// A worker process and the job it holds.
struct Worker {
    child: Child,
    lease: Lease,
    /// Worker slot: its device and its lease owner's name.
    slot: usize,
    started: Instant,
    /// Its standard error, named when it dies.
    log: PathBuf,
    /// The job's progress as last seen, and since when.
    progress: f64,
    progress_at: Instant,
    /// Killed by the stall watchdog.
    stalled: bool,
}

/// How the scheduler ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sweep run`: until every job is done or failed, waiting for jobs that
    /// other workers hold (their leases may expire and come back).
    Run,
    /// `sweep worker` (one of many, e.g. a Slurm task): until no job is
    /// pending; jobs other workers hold are theirs.
    Worker,
}

/// Runs pending jobs until none is left (or `--max-jobs` were started).
pub fn run(a: &Args, mode: Mode) -> Result<(), CliError> {
    let stall = positive_seconds("--stall-minutes", a.stall_minutes, 60.0)?;
    positive_seconds("--lease-seconds", a.lease_seconds, 1.0)?;
    let sweep = Target::parse(&a.sweep)?.open(a.dir.as_deref())?;
    let store = sweep.store.as_ref();
    let devices = worker_devices(&a.device)?;
    let workers = a.workers.unwrap_or(default_workers(&devices, a.threads));
    if workers == 0 || a.threads == 0 {
        return Err(CliError(
            "--workers and --threads must be at least 1".into(),
        ));
    }
    let requeued = requeue_dead(store)? + store.requeue_expired()?;
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
    let bar = progress_bar(todo as u64, a.quiet || mode == Mode::Worker);
    let (owner_base, task) = (owner_base(), slurm_task());
    let mut running: Vec<Worker> = Vec::new();
    let mut started = 0usize;
    let renew_every = Duration::from_secs_f64((a.lease_seconds / 6.0).clamp(0.2, 10.0));
    let mut last_renew = Instant::now();
    let mut last_show = Instant::now();
    loop {
        while running.len() < workers && a.max_jobs.is_none_or(|k| started < k) {
            let slot = (0..workers)
                .find(|s| running.iter().all(|w| w.slot != *s))
                .unwrap_or(0);
            let owner = format!("{owner_base}/{slot}{task}");
            let Some((job, lease)) = store.claim(&owner, lease_duration(a))? else {
                break;
            };
            let device = &devices[slot % devices.len()];
            running.push(spawn(a, &sweep, &job, lease, device, slot)?);
            started += 1;
        }
        if running.is_empty() {
            let others = store.counts()?.running;
            if a.max_jobs.is_some_and(|k| started >= k) || others == 0 || mode == Mode::Worker {
                break;
            }
            // Jobs leased by other workers: wait until they end or their lease expires.
            requeue_dead(store)?;
        }
        std::thread::sleep(Duration::from_millis(200));
        if last_renew.elapsed() >= renew_every {
            // Live workers keep their jobs even while they evaluate (no heartbeat then).
            for w in &running {
                store.renew(&w.lease, lease_duration(a))?;
            }
            last_renew = Instant::now();
        }
        reap(store, &mut running, &bar)?;
        // The watchdog and the display read every job: once a second is enough.
        if last_show.elapsed() >= Duration::from_secs(1) {
            let jobs = store.jobs()?;
            kill_stalled(&jobs, &mut running, stall, &bar);
            show(&jobs, &running, &bar);
            last_show = Instant::now();
        }
    }
    bar.finish_and_clear();
    summary(store)
}

/// The lease owner's name starts with the host and the scheduler's pid, so
/// `sweep status` shows which node runs what and a restarted scheduler on
/// the same host can tell that the owner is gone.
fn owner_base() -> String {
    format!("{}/{}", hostname(), std::process::id())
}

/// `/slurm-ARRAY_TASK` (or `/slurm-JOB`) under Slurm: the task to `scancel`.
fn slurm_task() -> String {
    let var = |k: &str| std::env::var(k).ok();
    match (
        var("SLURM_ARRAY_JOB_ID"),
        var("SLURM_ARRAY_TASK_ID"),
        var("SLURM_JOB_ID"),
    ) {
        (Some(a), Some(t), _) => format!("/slurm-{a}_{t}"),
        (_, _, Some(j)) => format!("/slurm-{j}"),
        _ => String::new(),
    }
}

/// `value` × `unit` seconds, or an error naming `flag` unless it is a
/// positive, finite duration.
fn positive_seconds(flag: &str, value: f64, unit: f64) -> Result<Duration, CliError> {
    Duration::try_from_secs_f64(value * unit)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| CliError(format!("{flag} must be a positive number (got {value})")))
}

fn lease_duration(a: &Args) -> Duration {
    Duration::from_secs_f64(a.lease_seconds)
}

/// Starts a worker process for `job`, its output appended to the job's logs.
fn spawn(
    a: &Args,
    sweep: &Sweep,
    job: &Job,
    lease: Lease,
    device: &str,
    slot: usize,
) -> Result<Worker, CliError> {
    let dir = job_dir(&sweep.dir, &job.spec.name);
    std::fs::create_dir_all(&dir)?;
    let log = |name: &str| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(name))
    };
    let exe = std::env::current_exe()?;
    let child = Command::new(exe)
        .args(["sweep", "job", "--dir"])
        .arg(&sweep.dir)
        // The sweep (a URL may hold a password) by environment, not in `ps`.
        .env(super::job::SWEEP_ENV, sweep.target.arg())
        .args(["--job", &lease.job_id.to_string()])
        .args(["--token", &lease.token.to_string()])
        .args(["--threads", &a.threads.to_string()])
        .args(["--device", device])
        .args(["--lease-seconds", &a.lease_seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(log("stdout.log")?)
        .stderr(log("stderr.log")?)
        .spawn()
        .map_err(|e| CliError(format!("cannot start a worker process: {e}")))?;
    Ok(Worker {
        child,
        lease,
        slot,
        started: Instant::now(),
        log: dir.join("stderr.log"),
        progress: job.progress,
        progress_at: Instant::now(),
        stalled: false,
    })
}

/// Collects finished workers. A worker that died without finishing its job
/// (killed, crashed, out of memory) fails the attempt here.
fn reap(
    store: &dyn SweepStore,
    running: &mut Vec<Worker>,
    bar: &ProgressBar,
) -> Result<(), CliError> {
    let mut i = 0;
    while i < running.len() {
        let Some(status) = running[i].child.try_wait()? else {
            i += 1;
            continue;
        };
        let w = running.swap_remove(i);
        if !status.success() && status.code() != Some(EXIT_ABANDONED as i32) {
            store.finish(&w.lease, &outcome_of(&w, status))?;
        }
        let job = store.jobs()?.into_iter().find(|j| j.id == w.lease.job_id);
        if let Some(job) = job {
            say(bar, &finished_line(&job, w.started.elapsed()));
            if job.state != JobState::Pending {
                bar.inc(1);
            }
        }
    }
    Ok(())
}

/// Signals of a native crash (libtorch's channels-last bug raises SIGSEGV or
/// SIGABRT); other signals (SIGKILL, SIGTERM) come from outside the job.
const CRASH_SIGNALS: [i32; 5] = [
    libc::SIGSEGV,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// How a worker that did not finish its job ended: a crash signal (retried
/// once in NCHW by the store) or a failure.
fn outcome_of(w: &Worker, status: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let why = match (w.stalled, status.code(), status.signal()) {
        (true, _, _) => format!(
            "stalled: no progress for {:.0} s, killed",
            w.progress_at.elapsed().as_secs_f64()
        ),
        (_, Some(c), _) => format!("worker exited with code {c}"),
        (_, None, _) => format!("worker killed ({status})"),
    };
    let msg = format!("{why}; see {}", w.log.display());
    match status.signal() {
        Some(s) if !w.stalled && CRASH_SIGNALS.contains(&s) => Outcome::Crashed(msg),
        _ => Outcome::Failed(msg),
    }
}

/// A line above the progress bar, or on stderr when there is no bar.
fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn finished_line(job: &Job, took: Duration) -> String {
    let name = &job.spec.name;
    match (job.state, job.top1_err) {
        (JobState::Done, Some(e)) => format!(
            "{name} done: top-1 error {e:.2}%  ({:.0} s)",
            took.as_secs_f64()
        ),
        (JobState::Failed, _) => format!(
            "{name} failed ({} attempts, given up): {}",
            job.failures,
            job.error.as_deref().unwrap_or("")
        ),
        (JobState::Pending, _) if job.failures == 0 => format!(
            "{name} will be retried: {}",
            job.error.as_deref().unwrap_or("")
        ),
        (JobState::Pending, _) => format!(
            "{name} will be retried (failure {}): {}",
            job.failures,
            job.error.as_deref().unwrap_or("")
        ),
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

/// Kills the workers whose job's progress has not moved for `stall` (a
/// hang the lease cannot see: the scheduler renews live workers' leases).
fn kill_stalled(jobs: &[Job], running: &mut [Worker], stall: Duration, bar: &ProgressBar) {
    for w in running.iter_mut().filter(|w| !w.stalled) {
        let Some(job) = jobs.iter().find(|j| j.id == w.lease.job_id) else {
            continue;
        };
        if job.progress != w.progress {
            w.progress = job.progress;
            w.progress_at = Instant::now();
        } else if w.progress_at.elapsed() >= stall {
            say(
                bar,
                &format!(
                    "{}: no progress for {:.0} s; killing its worker",
                    job.spec.name,
                    stall.as_secs_f64()
                ),
            );
            w.stalled = true;
            let _ = w.child.kill();
        }
    }
}

/// The running jobs and their epochs, in the bar's message.
fn show(jobs: &[Job], running: &[Worker], bar: &ProgressBar) {
    if bar.is_hidden() {
        return;
    }
    let parts: Vec<String> = running
        .iter()
        .filter_map(|w| jobs.iter().find(|j| j.id == w.lease.job_id))
        .map(|j| format!("{} {:.1}/{}", j.spec.name, j.progress, j.spec.epochs))
        .collect();
    bar.set_message(parts.join("  "));
}

fn summary(store: &dyn SweepStore) -> Result<(), CliError> {
    let c = store.counts()?;
    eprintln!(
        "{} done, {} failed, {} pending, {} running elsewhere",
        c.done, c.failed, c.pending, c.running
    );
    if c.failed > 0 {
        eprintln!("failed jobs keep their messages (`regnet sweep status`); `regnet sweep retry-failed` queues them again");
    }
    Ok(())
}

/// Re-queues jobs whose lease owner was a process of this machine that no
/// longer exists (a killed `sweep run`); returns how many.
pub fn requeue_dead(store: &dyn SweepStore) -> Result<usize, CliError> {
    let host = hostname();
    let mut n = 0;
    let jobs = store.jobs()?;
    let mut owners: Vec<&str> = jobs
        .iter()
        .filter(|j| j.state == JobState::Running)
        .filter_map(|j| j.lease_owner.as_deref())
        .collect();
    owners.dedup();
    for owner in owners {
        let mut parts = owner.split('/');
        let (Some(h), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        if h == host && !Path::new("/proc").join(pid).exists() {
            n += store.requeue_owner(owner)?;
        }
    }
    Ok(n)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// The device each worker slot uses, cycling over the visible GPUs.
fn worker_devices(choice: &str) -> Result<Vec<String>, CliError> {
    let device = regnet_engine::train::pick_device(choice)?;
    Ok(match device {
        regnet_engine::tch::Device::Cuda(_) if choice == "auto" || choice == "cuda" => (0
            ..regnet_engine::cuda_device_count())
            .map(|i| format!("cuda:{i}"))
            .collect(),
        regnet_engine::tch::Device::Cuda(i) => vec![format!("cuda:{i}")],
        _ => vec!["cpu".to_string()],
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

/// Exposed for `regnet demo`, which runs two sweeps with one set of options.
pub fn run_dir(a: &Args, dir: &Path) -> Result<(), CliError> {
    let mut a = a.clone();
    a.sweep = dir.display().to_string();
    run(&a, Mode::Run)
}
