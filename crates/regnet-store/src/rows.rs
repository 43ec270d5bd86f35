//! Pieces both store back ends share: a job row as read from either
//! database, and the invariants a sound store keeps.

use crate::{EpochRecord, Job, JobState, NewJob, Result, StoreError};

/// A job row as read, before its JSON and state are parsed.
pub(crate) struct JobRow {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) config: String,
    pub(crate) cx: [i64; 3],
    pub(crate) epochs: u32,
    pub(crate) state: String,
    pub(crate) claims: u32,
    pub(crate) failures: u32,
    pub(crate) progress: f64,
    pub(crate) error: Option<String>,
    pub(crate) lease_owner: Option<String>,
    pub(crate) times: [Option<f64>; 3],
    pub(crate) epochs_done: u32,
    pub(crate) errs: [Option<f64>; 3],
    pub(crate) train_seconds: f64,
    pub(crate) layout: Option<String>,
}

impl JobRow {
    pub(crate) fn into_job(self) -> Result<Job> {
        let config = serde_json::from_str(&self.config).map_err(|e| {
            StoreError::new(format!("job {}: stored config is not JSON: {e}", self.name))
        })?;
        let state = JobState::parse(&self.state)?;
        let done = state == JobState::Done;
        Ok(Job {
            id: self.id,
            spec: NewJob {
                name: self.name,
                config,
                flops: self.cx[0] as u64,
                params: self.cx[1] as u64,
                acts: self.cx[2] as u64,
                epochs: self.epochs,
            },
            state,
            claims: self.claims,
            failures: self.failures,
            epochs_done: self.epochs_done,
            progress: self.progress,
            error: self.error,
            top1_err: self.errs[0].filter(|_| done),
            top5_err: self.errs[1].filter(|_| done),
            min_top1_err: self.errs[2],
            train_seconds: self.train_seconds,
            lease_owner: self.lease_owner,
            lease_expires: self.times[0],
            started_at: self.times[1],
            finished_at: self.times[2],
            layout: self.layout,
        })
    }
}

/// The problem of a job whose epoch records are not 1..=last.
pub(crate) fn epoch_gap(name: &str, records: i64, last: i64) -> String {
    format!("{name}: {records} epoch records but the last is epoch {last}")
}

/// A job's broken invariants: epochs recorded once each, contiguously from 1;
/// a done job has all of them; leases exactly on running jobs.
pub(crate) fn job_problems(job: &Job) -> Vec<String> {
    let name = &job.spec.name;
    let mut p = Vec::new();
    if job.epochs_done > job.spec.epochs {
        p.push(format!(
            "{name}: {} epochs recorded, it trains {}",
            job.epochs_done, job.spec.epochs
        ));
    }
    if job.state == JobState::Done && (job.epochs_done != job.spec.epochs || job.top1_err.is_none())
    {
        p.push(format!(
            "{name}: done with {} of {} epochs recorded",
            job.epochs_done, job.spec.epochs
        ));
    }
    if (job.state == JobState::Running) != job.lease_owner.is_some() {
        p.push(format!(
            "{name}: state {} but lease {:?}",
            job.state.as_str(),
            job.lease_owner
        ));
    }
    if job.state == JobState::Failed && job.error.is_none() {
        p.push(format!("{name}: failed without a message"));
    }
    p
}

/// The columns a job is read as, in [`JobRow`]'s order, with its epoch
/// summaries joined in from the back end's `epochs` table: one list for
/// both back ends, whose row readers take the columns by these positions.
pub(crate) fn job_columns(epochs: &str) -> String {
    let summary = |what: &str, filter: &str| {
        format!("(SELECT {what} FROM {epochs} e WHERE e.job_id = j.id{filter})")
    };
    let last = " AND e.epoch = j.epochs";
    [
        "j.id, j.name, j.config, j.flops, j.params, j.acts, j.epochs, j.state, j.claims".into(),
        "j.failures, j.progress, j.error, j.lease_owner, j.lease_expires, j.started_at".into(),
        "j.finished_at".into(),
        summary("COUNT(*)", ""),
        summary("test_top1_err", last),
        summary("test_top5_err", last),
        summary("MIN(test_top1_err)", ""),
        summary("COALESCE(SUM(seconds), 0)", ""),
        "j.layout".into(),
    ]
    .join(", ")
}

/// `epoch, lr, ..., seconds, extra`: the columns an epoch is written and
/// read as, after `job_id` (the record's own [`regnet_record::VALUES`]), so
/// a new [`EpochRecord`] field is a change there and a migration in each
/// back end.
pub(crate) fn epoch_columns() -> String {
    let mut cols = vec!["epoch"];
    cols.extend(regnet_record::VALUES);
    cols.push("extra");
    cols.join(", ")
}

/// Value columns of an epoch row.
pub(crate) const EPOCH_REALS: usize = regnet_record::VALUES.len();

/// An epoch as stored: its number, its values and the extra fields' JSON.
pub(crate) struct EpochRow {
    pub(crate) epoch: i64,
    pub(crate) reals: [Option<f64>; EPOCH_REALS],
    pub(crate) extra: Option<String>,
}

impl EpochRow {
    pub(crate) fn of(e: &EpochRecord) -> EpochRow {
        EpochRow {
            epoch: i64::from(e.epoch),
            reals: e.values(),
            extra: e.extra_json(),
        }
    }

    /// The record; a row without its test error or duration is damage.
    pub(crate) fn into_record(self, job_id: i64) -> Result<EpochRecord> {
        let epoch = u32::try_from(self.epoch).unwrap_or(0);
        let mut e = EpochRecord::from_values(epoch, self.reals).ok_or_else(|| {
            StoreError::new(format!(
                "job {job_id} epoch {}: the store has no test_top1_err or seconds",
                self.epoch
            ))
        })?;
        e.set_extra_json(self.extra.as_deref());
        Ok(e)
    }
}
