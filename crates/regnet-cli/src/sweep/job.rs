//! One sweep job in its own process (`regnet sweep job`, started by `sweep
//! run`): train under the lease, record every epoch, finish or fail.
//!
//! A process per job isolates failures: an out-of-memory kill or a libtorch
//! abort ends one attempt, never the sweep. The job resumes from its epoch
//! checkpoint, so a re-queued job repeats at most the epoch it was in.

use crate::datasource::DataSource;
use crate::session::pick_device;
use crate::{session, CliError};
use regnet_config::Recipe;
use regnet_engine::layout::Layout;
use regnet_engine::train::{checkpoint_epoch, train, BatchProgress};
use regnet_engine::train::{Observer, Status};
use regnet_store::{EpochRecord, Job, Lease, Location, Outcome, SweepInfo, SweepSettings, SweepStore, NCHW};
use regnet_sweep::protocol::{
    storage_fault, EXIT_ABANDONED, EXIT_DIVERGED, EXIT_STORAGE, SWEEP_ENV,
};
use regnet_sweep::{job_dir, Sweep};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The sweep's work directory (job files).
    #[arg(long)]
    dir: PathBuf,
    /// Job id in the store.
    #[arg(long)]
    job: i64,
    /// Lease token from the claim.
    #[arg(long)]
    token: i64,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value = "cpu")]
    device: String,
    #[arg(long, default_value_t = 60.0)]
    lease_seconds: f64,
}

/// Runs the job; returns the process exit code.
pub fn run(a: &Args) -> Result<u8, CliError> {
    let target = std::env::var(SWEEP_ENV).map_err(|_| {
        CliError(format!(
            "{SWEEP_ENV} is not set (jobs are started by `regnet sweep run`)"
        ))
    })?;
    let sweep = Sweep::open(&Location::parse(&target)?, Some(&a.dir))?;
    let store = sweep.store.as_ref();
    let lease = Lease {
        job_id: a.job,
        token: a.token,
    };
    let duration = Duration::from_secs_f64(a.lease_seconds);
    if !store.heartbeat(&lease, duration, 0.0)? {
        eprintln!("job {}: lease no longer held; nothing to do", a.job);
        return Ok(EXIT_ABANDONED);
    }
    let job = store
        .job(a.job)?
        .ok_or_else(|| CliError(format!("no job {} in the sweep", a.job)))?;
    let dir = job_dir(&a.dir, &job.spec.name);
    std::fs::create_dir_all(&dir).map_err(|e| CliError::io("create", &dir, e))?;
    let info = store.info()?;
    let result = match &info.settings.trainer {
        Some(trainer) => external(a, &sweep, &info, &lease, &job, &dir, trainer),
        None => attempt(a, store, &info.settings, &lease, &job, &dir),
    };
    match result {
        Ok(code) => Ok(code),
        // Nothing is wrong with the job: keep its checkpoint and records,
        // and let the scheduler stop the sweep.
        Err(e) if storage_fault(&e.0) => {
            eprintln!("job {}: {}", a.job, e.0);
            Ok(EXIT_STORAGE)
        }
        Err(e) => {
            // A failed attempt restarts from scratch: its checkpoint may be the cause.
            let _ = std::fs::remove_file(dir.join(CHECKPOINT));
            store.finish(&lease, &Outcome::Failed(e.0.clone()))?;
            Err(e)
        }
    }
}

const CHECKPOINT: &str = "checkpoint.safetensors";

/// An attempt with the sweep's own trainer command: the library runs it and
/// records its end (see `regnet_sweep::trainer`).
fn external(
    a: &Args,
    sweep: &Sweep,
    info: &SweepInfo,
    lease: &Lease,
    job: &Job,
    dir: &Path,
    trainer: &regnet_store::TrainerCommand,
) -> Result<u8, CliError> {
    use regnet_sweep::trainer::{self, Ending};
    trainer::on_interrupt();
    let ending = trainer::run(&trainer::Attempt {
        store: sweep.store.as_ref(),
        lease,
        job,
        trainer,
        dir,
        data: &info.settings.data,
        sweep_name: &info.name,
        device: &a.device,
        threads: a.threads,
        lease_for: Duration::from_secs_f64(a.lease_seconds),
    })?;
    Ok(match ending {
        Ending::Done => 0,
        Ending::Failed(why) => {
            eprintln!("job {}: {why}", a.job);
            0
        }
        Ending::Abandoned(why) => {
            eprintln!("job {}: {why}; stopping", a.job);
            EXIT_ABANDONED
        }
        Ending::Interrupted(sig) => trainer::die_by(sig),
    })
}

fn attempt(
    a: &Args,
    store: &dyn SweepStore,
    settings: &SweepSettings,
    lease: &Lease,
    job: &Job,
    dir: &Path,
) -> Result<u8, CliError> {
    regnet_engine::set_threads(a.threads);
    let device = pick_device(&a.device)?;
    if settings.data.is_empty() {
        return Err(CliError("the sweep settings name no dataset".into()));
    }
    let source = DataSource::parse(&settings.data)?;
    let value: serde_yaml::Value = serde_yaml::to_value(&job.spec.config)
        .map_err(|e| CliError(format!("{}: its config: {e}", job.spec.name)))?;
    let cfg = regnet_config::from_value(&value)?;
    let (mut recipe, _) = Recipe::from_doc(&cfg.doc)?;
    // Stores made before job configs carried TOOLKIT.LR_UPDATE keep it in the settings.
    if !settings.lr_update.is_empty() && !cfg.doc.contains_key(regnet_config::TOOLKIT) {
        recipe.lr_update = settings.lr_update.parse().map_err(CliError)?;
    }
    // A job that crashed by a signal is retried in NCHW (the scheduler sets it).
    let layout = match job.layout.as_deref() {
        Some(NCHW) => Layout::Nchw,
        _ => Layout::Auto,
    };
    let mut s = session::prepare(
        cfg.model,
        &recipe,
        &source,
        cfg.im_size,
        device,
        layout,
        false,
    )?;
    if !store.set_layout(lease, &s.layout.to_string())? {
        return Ok(EXIT_ABANDONED);
    }
    s.write_run_files(dir, &recipe, &s.record(&source, device, a.threads))?;
    let checkpoint = dir.join(CHECKPOINT);
    let done = if checkpoint.exists() {
        checkpoint_epoch(&checkpoint)?
    } else {
        0
    };
    if !store.resume_at(lease, done as u32)? {
        return Ok(EXIT_ABANDONED);
    }
    eprintln!(
        "{}: {} flops, {} params, {} epochs from epoch {done}, {:?}, {} threads",
        job.spec.name, s.cx.flops, s.cx.params, recipe.epochs, device, a.threads
    );
    let watch = Watch {
        store,
        lease,
        duration: Duration::from_secs_f64(a.lease_seconds),
        // Often enough that `sweep status` shows fresh progress.
        every: Duration::from_secs_f64((a.lease_seconds / 6.0).clamp(0.2, 2.0)),
        last: Instant::now(),
        parent: std::os::unix::process::parent_id(),
    };
    let (status, logs) = train(
        &mut s.model,
        &s.train,
        &s.test,
        &recipe,
        Some(&checkpoint),
        watch,
    )?;
    match status {
        Status::Done => {
            s.save_weights(dir)?;
            let finished = store.finish(lease, &Outcome::Done)?;
            let _ = std::fs::remove_file(&checkpoint);
            Ok(if finished { 0 } else { EXIT_ABANDONED })
        }
        Status::Diverged => {
            let epoch = logs.len() + done + 1;
            let msg =
                format!("diverged: the training loss became NaN or infinite in epoch {epoch}");
            let _ = std::fs::remove_file(&checkpoint);
            store.finish(lease, &Outcome::Failed(msg))?;
            Ok(EXIT_DIVERGED)
        }
        Status::Stopped => Ok(EXIT_ABANDONED),
    }
}

/// Keeps the lease alive, records epochs under it, and leaves at once when
/// the lease is lost or the scheduler is gone.
struct Watch<'a> {
    store: &'a dyn SweepStore,
    lease: &'a Lease,
    duration: Duration,
    every: Duration,
    last: Instant,
    parent: u32,
}

impl Watch<'_> {
    /// Ends the process without writing anything more: someone else owns the
    /// job now (the checkpoint on disk stays valid, it is written atomically).
    fn abandon(&self, why: &str) -> ! {
        self.stop(why, EXIT_ABANDONED)
    }

    fn stop(&self, why: &str, code: u8) -> ! {
        eprintln!("job {}: {why}; stopping", self.lease.job_id);
        std::process::exit(code as i32)
    }
}

impl Observer for Watch<'_> {
    fn batch(&mut self, p: BatchProgress) {
        if self.last.elapsed() < self.every {
            return;
        }
        self.last = Instant::now();
        if std::os::unix::process::parent_id() != self.parent {
            self.abandon("the scheduler is gone");
        }
        let progress = p.epoch as f64 + p.done as f64 / p.total.max(1) as f64;
        match self.store.heartbeat(self.lease, self.duration, progress) {
            Ok(true) => {}
            Ok(false) => self.abandon("lease lost"),
            Err(e) => eprintln!("heartbeat: {e}"),
        }
    }

    fn epoch(&mut self, e: &EpochRecord) -> ControlFlow<()> {
        match self.store.record_epoch(self.lease, e) {
            Ok(true) => {}
            Ok(false) => self.abandon("lease lost"),
            // Unrecorded, the epoch must not be checkpointed either.
            Err(err) => {
                let why = format!("cannot record epoch {}: {err}", e.epoch);
                let code = if storage_fault(&why) {
                    EXIT_STORAGE
                } else {
                    EXIT_ABANDONED
                };
                self.stop(&why, code)
            }
        }
        eprintln!(
            "epoch {}  loss {:.3}  test err {:.2}%  {:.0} img/s",
            e.epoch,
            e.train_loss.unwrap_or(f64::NAN),
            e.test_top1_err,
            e.images_per_s.unwrap_or(f64::NAN)
        );
        self.last = Instant::now();
        ControlFlow::Continue(())
    }
}
