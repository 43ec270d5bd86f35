//! The sweep store: everything a population study must not lose.
//!
//! A sweep is a fixed list of sampled jobs (config + exact complexity). Workers
//! claim jobs under a *lease* they keep alive with heartbeats; every epoch's
//! metrics and the final result are written under that lease, so a worker
//! whose lease was taken over (it hung, or was presumed dead) can no longer
//! write. Expired leases go back to the queue; the job then resumes from its
//! epoch checkpoint. The scheduler sees only the [`SweepStore`] trait: the
//! embedded default is one SQLite file ([`SqliteStore`]); sweeps spanning
//! machines share a PostgreSQL database ([`PgStore`]).

mod copy;
mod decide;
mod export;
mod location;
mod pg;
mod rows;
mod sqlite;
mod trainer;

pub use copy::{snapshot, JobRecord};
pub use decide::{after_attempt, AfterAttempt};
pub use export::{to_csv, to_pycls_json};
pub use location::{store_path, Location};
pub use pg::{PgStore, PgUrl};
pub use regnet_record::{EpochRecord, Fault};
pub use sqlite::SqliteStore;
pub use trainer::{TrainerCommand, TrainerFormat, PLACEHOLDERS};

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A store failure, as one line for the user, and its kind: a sweep waits
/// out an unreachable store or a full disk, and fails a job only for the rest.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub message: String,
    pub fault: Fault,
}

impl StoreError {
    /// A failure of the input or the store's content ([`Fault::Final`]).
    pub fn new(message: impl Into<String>) -> Self {
        StoreError::of(Fault::Final, message)
    }

    pub fn of(fault: Fault, message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            fault,
        }
    }
}

impl From<regnet_record::atomic::ReplaceError> for StoreError {
    fn from(e: regnet_record::atomic::ReplaceError) -> Self {
        StoreError::of(e.fault(), e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (never run, re-queued, or to be retried).
    Pending,
    /// Claimed under a live lease.
    Running,
    /// Trained to the last epoch; its result is final.
    Done,
    /// Failed on every allowed attempt; its last message is kept.
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Pending,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        JobState::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| StoreError::new(format!("unknown job state '{s}' in the store")))
    }
}

/// What the sweep is: written once at `sweep init`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub name: String,
    pub description: String,
    /// The sweep config as the user wrote it (YAML text).
    pub config_text: String,
    /// Resolved settings the workers need (dataset, lr updates, work dir...).
    pub settings: SweepSettings,
    /// How many times a job may fail before it is given up.
    pub max_attempts: u32,
}

/// What every worker of a sweep needs besides its job's config, and what
/// the sweep was sampled with, resolved at `sweep init`. Every field has a
/// default, so sweeps stored by earlier versions still read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepSettings {
    /// The dataset, as `regnet train --data` takes it.
    pub data: String,
    /// The design space's name.
    pub space: String,
    pub num_configs: usize,
    /// Sampling seed.
    pub seed: u64,
    /// Resolution and classes the models were counted at.
    pub im_size: u64,
    pub num_classes: u64,
    /// The sampling constraints (bands, stage counts), as applied.
    pub constraints: serde_json::Value,
    /// When the jobs' learning rate changes: `epoch` (pycls) or `iter`;
    /// empty in sweeps made before the choice existed (read as `epoch`).
    pub lr_update: String,
    /// Options read from the config but not applied, said at `sweep init`.
    pub warnings: Vec<String>,
    /// Where the job files (logs, checkpoints, weights) of a sweep kept in a
    /// database go; a sweep directory is its own work directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<String>,
    /// The user's own training command, when the jobs do not train on the
    /// built-in engine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trainer: Option<TrainerCommand>,
}

/// A sampled model to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Short unique name (e.g. `job-0007`), also its directory's name.
    pub name: String,
    /// The full pycls config of the job (model and recipe).
    pub config: serde_json::Value,
    pub flops: u64,
    pub params: u64,
    pub acts: u64,
    /// Epochs the job trains for.
    pub epochs: u32,
}

/// A job and everything known about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    #[serde(flatten)]
    pub spec: NewJob,
    pub state: JobState,
    /// Times a worker claimed it.
    pub claims: u32,
    /// Failed attempts so far.
    pub failures: u32,
    /// Epochs whose metrics are recorded.
    pub epochs_done: u32,
    /// Progress in epochs including the current one's fraction (running jobs).
    pub progress: f64,
    /// The last failure's message.
    pub error: Option<String>,
    /// Final test top-1 / top-5 error in percent, and the lowest top-1 over epochs.
    pub top1_err: Option<f64>,
    pub top5_err: Option<f64>,
    pub min_top1_err: Option<f64>,
    /// Training seconds summed over epochs (resumed runs included).
    pub train_seconds: f64,
    pub lease_owner: Option<String>,
    /// Unix times (seconds).
    pub lease_expires: Option<f64>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// The memory layout of the job's last attempt (`channels-last`,
    /// `channels-last (nchw: ...)` or `nchw`); [`NCHW`] once a crash made the
    /// scheduler retry it in NCHW. None before any attempt.
    pub layout: Option<String>,
}

/// The layout a job is retried in after its worker crashed by a signal.
pub const NCHW: &str = "nchw";

/// The right to work on one job, until it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job_id: i64,
    /// Changes with every claim, so an old holder's writes are refused.
    pub token: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Trained to the last epoch.
    Done,
    /// Failed with this message (diverged, bad config, out of memory...).
    Failed(String),
    /// The worker process died by a crash signal (SIGSEGV, SIGABRT...). The
    /// first time, the job goes back to the queue in NCHW ([`NCHW`]) without
    /// counting a failure (libtorch is known to crash training some convs
    /// channels-last); a crash in NCHW counts as [`Outcome::Failed`].
    Crashed(String),
}

/// Counts of jobs by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub running: usize,
    pub done: usize,
    pub failed: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.pending + self.running + self.done + self.failed
    }

    /// Jobs that can still be worked on.
    pub fn open(&self) -> usize {
        self.pending + self.running
    }

    /// Counts from a store's `(state, count)` rows.
    fn from_rows(rows: impl IntoIterator<Item = (String, i64)>) -> Result<Self> {
        let mut c = Counts::default();
        for (state, n) in rows {
            let slot = match JobState::parse(&state)? {
                JobState::Pending => &mut c.pending,
                JobState::Running => &mut c.running,
                JobState::Done => &mut c.done,
                JobState::Failed => &mut c.failed,
            };
            *slot = n as usize;
        }
        Ok(c)
    }
}

/// A sweep's persistent state, shared by the scheduler, its workers, `status`,
/// `export` and the analysis. Every method is one transaction.
pub trait SweepStore {
    fn info(&self) -> Result<SweepInfo>;
    /// Unix seconds on the clock this store judges leases by: the local
    /// clock for SQLite, the database server's for PostgreSQL (so hosts
    /// whose clocks drift agree on which leases are live).
    fn clock(&self) -> Result<f64>;
    /// Every job, by id.
    fn jobs(&self) -> Result<Vec<Job>>;
    /// One job, by id (none when the sweep has no such job).
    fn job(&self, id: i64) -> Result<Option<Job>>;
    fn counts(&self) -> Result<Counts>;
    /// A job's recorded epochs, in order.
    fn epochs(&self, job_id: i64) -> Result<Vec<EpochRecord>>;
    /// Re-queues running jobs whose lease expired; returns how many.
    fn requeue_expired(&self) -> Result<usize>;
    /// Re-queues the running jobs leased by `owner` (known to be dead).
    fn requeue_owner(&self, owner: &str) -> Result<usize>;
    /// Claims the pending job with the lowest id for `owner`, if any.
    fn claim(&self, owner: &str, lease: Duration) -> Result<Option<(Job, Lease)>>;
    /// Extends a lease and records progress; `false` when the lease is lost.
    fn heartbeat(&self, lease: &Lease, duration: Duration, progress: f64) -> Result<bool>;
    /// Extends a lease without touching progress: the scheduler does this
    /// for workers it sees alive, so a long evaluation between heartbeats
    /// does not lose the job; `false` when the lease is lost.
    fn renew(&self, lease: &Lease, duration: Duration) -> Result<bool>;
    /// Records the memory layout the current attempt trains in; `false` when
    /// the lease is lost.
    fn set_layout(&self, lease: &Lease, layout: &str) -> Result<bool>;
    /// Forgets epochs after `epochs_done` (a resumed job's checkpoint is the
    /// truth about what was trained); `false` when the lease is lost.
    fn resume_at(&self, lease: &Lease, epochs_done: u32) -> Result<bool>;
    /// Records an epoch (replacing a record of the same epoch from an
    /// interrupted attempt); `false` when the lease is lost.
    fn record_epoch(&self, lease: &Lease, e: &EpochRecord) -> Result<bool>;
    /// Ends an attempt. A failure re-queues the job until `max_attempts`
    /// failures; `false` when the lease is lost (nothing is written).
    fn finish(&self, lease: &Lease, outcome: &Outcome) -> Result<bool>;
    /// Puts failed jobs back in the queue with a fresh attempt count.
    fn retry_failed(&self) -> Result<usize>;
    /// Adds `jobs` (never run) after the existing ones and records the
    /// sweep's new `info` (its grown NUM_CONFIGS), in one transaction: a
    /// population grows in rounds drawn from the same seed stream.
    fn extend(&self, info: &SweepInfo, jobs: &[NewJob]) -> Result<()>;
    /// Problems that break the store's invariants (empty when sound).
    fn check_integrity(&self) -> Result<Vec<String>>;
}

/// Seconds since the Unix epoch.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
