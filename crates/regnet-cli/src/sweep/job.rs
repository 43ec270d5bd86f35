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
use regnet_engine::train::{Observer, Status, Stop};
use regnet_store::{
    EpochRecord, Fault, Job, Lease, Location, Outcome, SweepInfo, SweepSettings, SweepStore, NCHW,
};
use regnet_sweep::protocol::{exit_code_of, EXIT_ABANDONED, EXIT_DIVERGED, SWEEP_ENV};
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
        CliError::new(format!(
            "{SWEEP_ENV} is not set (jobs are started by `regnet sweep run`)"
        ))
    })?;
    let lease = Lease {
        job_id: a.job,
        token: a.token,
    };
    let mut opened = None;
    let e = match leased(a, &target, &lease, &mut opened) {
        Ok(code) => return Ok(code),
        Err(e) => e,
    };
    // Nothing is wrong with the job (a full disk, the store down): keep its
    // checkpoint and records, and let the scheduler stop the sweep.
    // The lease is released at once (best effort: a store that is down
    // cannot take it), so the job need not wait for it to expire.
    if let Some(code) = exit_code_of(e.fault) {
        eprintln!("job {}: {}; stopping", a.job, e.message);
        if let Some(sweep) = &opened {
            let _ = sweep.store.renew(&lease, Duration::ZERO);
        }
        return Ok(code);
    }
    // A failure outside training keeps the checkpoint: the retry resumes
    // from it (an unreadable checkpoint is set aside when it is read).
    if let Some(sweep) = opened {
        sweep
            .store
            .finish(&lease, &Outcome::Failed(e.message.clone()))?;
    }
    Err(e)
}

/// The job under its lease, from opening the sweep (kept in `opened`) to
/// the attempt's end.
fn leased(
    a: &Args,
    target: &str,
    lease: &Lease,
    opened: &mut Option<Sweep>,
) -> Result<u8, CliError> {
    let sweep = opened.insert(Sweep::open(&Location::parse(target)?, Some(&a.dir))?);
    let store = sweep.store.as_ref();
    let duration = Duration::from_secs_f64(a.lease_seconds);
    if !store.heartbeat(lease, duration, 0.0)? {
        eprintln!("job {}: lease no longer held; nothing to do", a.job);
        return Ok(EXIT_ABANDONED);
    }
    let job = store
        .job(a.job)?
        .ok_or_else(|| CliError::new(format!("no job {} in the sweep", a.job)))?;
    let dir = job_dir(&a.dir, &job.spec.name);
    std::fs::create_dir_all(&dir).map_err(|e| CliError::io("create", &dir, e))?;
    let info = store.info()?;
    match &info.settings.trainer {
        Some(trainer) => external(a, sweep, &info, lease, &job, &dir, trainer),
        None => attempt(a, store, &info.settings, lease, &job, &dir),
    }
}

const CHECKPOINT: &str = "checkpoint.safetensors";
/// The memory layout the checkpoint was trained in, beside it.
const CHECKPOINT_LAYOUT: &str = "checkpoint.layout";
/// An epoch the checkpoint has done that the store could not take yet.
const UNRECORDED: &str = "unrecorded-epoch.json";

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
        return Err(CliError::new("the sweep settings name no dataset".into()));
    }
    let source = DataSource::parse(&settings.data)?;
    let value: serde_yaml::Value = serde_yaml::to_value(&job.spec.config)
        .map_err(|e| CliError::new(format!("{}: its config: {e}", job.spec.name)))?;
    let cfg = regnet_config::from_value(&value)?;
    let (mut recipe, _) = Recipe::from_doc(&cfg.doc)?;
    // Stores made before job configs carried TOOLKIT.LR_UPDATE keep it in the settings.
    if !settings.lr_update.is_empty() && !cfg.doc.contains_key(regnet_config::TOOLKIT) {
        recipe.lr_update = settings.lr_update.parse().map_err(CliError::new)?;
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
    let layout = s.layout.to_string();
    let done = resumable_epochs(dir, &layout);
    session::write_text(&dir.join(CHECKPOINT_LAYOUT), &layout)?;
    if !record_unrecorded(store, lease, dir, done)? || !store.resume_at(lease, done as u32)? {
        return Ok(EXIT_ABANDONED);
    }
    eprintln!(
        "{}: {} flops, {} params, {} epochs from epoch {done}, {:?}, {} threads",
        job.spec.name, s.cx.flops, s.cx.params, recipe.epochs, device, a.threads
    );
    let mut watch = Watch {
        store,
        lease,
        duration: Duration::from_secs_f64(a.lease_seconds),
        // Often enough that `sweep status` shows fresh progress.
        every: Duration::from_secs_f64((a.lease_seconds / 6.0).clamp(0.2, 2.0)),
        last: Instant::now(),
        parent: std::os::unix::process::parent_id(),
        dir,
        ending: None,
    };
    let (status, logs) = train(
        &mut s.model,
        &s.train,
        &s.test,
        &recipe,
        Some(&checkpoint),
        &mut watch,
    )?;
    if let Some(ending) = watch.ending {
        return ending.exit(lease);
    }
    match status {
        Status::Done => {
            s.save_weights(dir)?;
            let finished = store.finish(lease, &Outcome::Done)?;
            remove_checkpoint(dir);
            Ok(if finished { 0 } else { EXIT_ABANDONED })
        }
        Status::Diverged => {
            let epoch = logs.len() + done + 1;
            let msg =
                format!("diverged: the training loss became NaN or infinite in epoch {epoch}");
            // The only failure that starts over: the weights are the cause.
            remove_checkpoint(dir);
            store.finish(lease, &Outcome::Failed(msg))?;
            Ok(EXIT_DIVERGED)
        }
        Status::Stopped => Ok(EXIT_ABANDONED),
    }
}

/// Why a job stopped before its end, told by the observer to the trainer
/// (which stops, joins its prefetch thread and returns) instead of ending
/// the process from inside training.
enum Ending {
    /// The lease is someone else's now (it expired, or `sweep run` moved
    /// the job): write nothing more.
    LeaseLost,
    /// The scheduler that started this job is gone.
    SchedulerGone,
    /// An epoch could not be recorded, or the lease not renewed (the
    /// checkpoint stays at the last recorded epoch).
    CannotRecord(CliError),
}

impl Ending {
    /// The attempt's end: a lost lease or scheduler leaves quietly; a record
    /// that could not be kept is the attempt's error (see [`run`]).
    fn exit(self, lease: &Lease) -> Result<u8, CliError> {
        let why = match self {
            Ending::LeaseLost => "lease lost",
            Ending::SchedulerGone => "the scheduler is gone",
            Ending::CannotRecord(e) => return Err(e),
        };
        eprintln!("job {}: {why}; stopping", lease.job_id);
        Ok(EXIT_ABANDONED)
    }
}

/// Epochs the checkpoint in `dir` has done, 0 without one. An unreadable
/// checkpoint, or one trained in another memory layout than this attempt's
/// (the retry in NCHW after a crash starts over), is set aside.
fn resumable_epochs(dir: &Path, layout: &str) -> usize {
    let path = &dir.join(CHECKPOINT);
    if !path.exists() {
        return 0;
    }
    // Checkpoints older than the layout file were trained in this layout.
    let trained_in = std::fs::read_to_string(dir.join(CHECKPOINT_LAYOUT))
        .map_or(layout.to_string(), |l| l.trim().to_string());
    let why = match checkpoint_epoch(path) {
        Ok(done) if trained_in == layout => return done,
        Ok(_) => format!("it was trained in layout {trained_in}, this attempt in {layout}"),
        Err(e) => e.to_string(),
    };
    eprintln!("starting over without the checkpoint: {why}");
    remove_checkpoint(dir);
    0
}

/// Keeps an epoch the store could not take in the job's directory, before
/// the checkpoint says it is done; whether it was kept.
fn keep_unrecorded(dir: &Path, e: &EpochRecord) -> bool {
    let line = serde_json::to_string(e).expect("an epoch record serializes");
    let kept = session::write_text(&dir.join(UNRECORDED), &line);
    if let Err(why) = &kept {
        eprintln!("{}", why.message);
    }
    kept.is_ok()
}

/// Records the epoch an earlier attempt kept for the store, if the
/// checkpoint got as far (a kept epoch the checkpoint lacks is trained
/// again); `false` when the lease is lost.
fn record_unrecorded(
    store: &dyn SweepStore,
    lease: &Lease,
    dir: &Path,
    done: usize,
) -> Result<bool, CliError> {
    let path = dir.join(UNRECORDED);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(true);
    };
    if let Ok(e) = serde_json::from_str::<EpochRecord>(&text) {
        if e.epoch as usize <= done && !store.record_epoch(lease, &e)? {
            return Ok(false);
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(true)
}

fn remove_checkpoint(dir: &Path) {
    for f in [CHECKPOINT, CHECKPOINT_LAYOUT, UNRECORDED] {
        let _ = std::fs::remove_file(dir.join(f));
    }
}

/// Keeps the lease alive and records epochs under it; stops the training
/// when the lease is lost, the scheduler is gone or a record cannot be kept.
struct Watch<'a> {
    store: &'a dyn SweepStore,
    lease: &'a Lease,
    duration: Duration,
    every: Duration,
    last: Instant,
    parent: u32,
    /// The job's directory (its checkpoint, and an epoch kept for the store).
    dir: &'a Path,
    ending: Option<Ending>,
}

impl Watch<'_> {
    fn stop<T>(&mut self, ending: Ending, how: T) -> ControlFlow<T> {
        self.ending = Some(ending);
        ControlFlow::Break(how)
    }
}

impl Observer for &mut Watch<'_> {
    fn batch(&mut self, p: BatchProgress) -> ControlFlow<()> {
        if self.last.elapsed() < self.every {
            return ControlFlow::Continue(());
        }
        self.last = Instant::now();
        if std::os::unix::process::parent_id() != self.parent {
            return self.stop(Ending::SchedulerGone, ());
        }
        let progress = p.epoch as f64 + p.done as f64 / p.total.max(1) as f64;
        match self.store.heartbeat(self.lease, self.duration, progress) {
            Ok(true) => ControlFlow::Continue(()),
            Ok(false) => self.stop(Ending::LeaseLost, ()),
            Err(e) if e.fault.is_outside_the_job() => {
                let e = CliError::from(e);
                self.stop(Ending::CannotRecord(e), ())
            }
            // Keep training: the next heartbeat may pass, the scheduler
            // renews the lease of a live worker too.
            Err(e) => {
                eprintln!("heartbeat: {e}");
                ControlFlow::Continue(())
            }
        }
    }

    fn epoch(&mut self, e: &EpochRecord) -> ControlFlow<Stop> {
        match self.store.record_epoch(self.lease, e) {
            Ok(true) => {}
            Ok(false) => return self.stop(Ending::LeaseLost, Stop::Unrecorded),
            Err(err) => {
                let cause = CliError {
                    message: format!("cannot record epoch {}: {}", e.epoch, err.message),
                    fault: err.fault,
                };
                // The store down: the epoch is kept beside the checkpoint
                // and recorded when the job resumes. Unkept, it must not be
                // checkpointed either.
                let kept = err.fault == Fault::Unreachable && keep_unrecorded(self.dir, e);
                let how = if kept {
                    Stop::AfterEpoch
                } else {
                    Stop::Unrecorded
                };
                return self.stop(Ending::CannotRecord(cause), how);
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
