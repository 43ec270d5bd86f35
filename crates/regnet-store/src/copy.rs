//! A sweep as copied between stores (`sweep init` writes fresh ones,
//! `sweep migrate-store` copies a whole sweep from one back end to the other).

use crate::{EpochRecord, JobState, NewJob, Result, StoreError, SweepInfo, SweepStore};

/// A job with everything a store keeps about it except a lease: leases
/// belong to workers of the store they were taken in.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub spec: NewJob,
    pub state: JobState,
    pub claims: u32,
    pub failures: u32,
    pub progress: f64,
    pub error: Option<String>,
    pub started_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub layout: Option<String>,
    pub epochs: Vec<EpochRecord>,
}

impl JobRecord {
    /// A job never run.
    pub fn new(spec: NewJob) -> Self {
        JobRecord {
            spec,
            state: JobState::Pending,
            claims: 0,
            failures: 0,
            progress: 0.0,
            error: None,
            started_at: None,
            finished_at: None,
            layout: None,
            epochs: Vec::new(),
        }
    }
}

/// Everything in `store`, for a copy. Refused while a worker holds a live
/// lease (its next writes would go to the old store only; leases are judged
/// by the store's own clock); a job whose lease expired is copied as pending
/// and resumes from its checkpoint.
pub fn snapshot(store: &dyn SweepStore) -> Result<(SweepInfo, Vec<JobRecord>)> {
    let t = store.clock()?;
    let jobs = store.jobs()?;
    let live: Vec<&str> = jobs
        .iter()
        .filter(|j| j.state == JobState::Running && j.lease_expires.is_some_and(|e| e > t))
        .map(|j| j.spec.name.as_str())
        .collect();
    if !live.is_empty() {
        return Err(StoreError::new(format!(
            "{} jobs are running ({}); stop their workers and wait for the leases to expire, then copy",
            live.len(),
            live.join(", ")
        )));
    }
    let mut records = Vec::with_capacity(jobs.len());
    for j in jobs {
        let running = j.state == JobState::Running;
        records.push(JobRecord {
            epochs: store.epochs(j.id)?,
            state: if running { JobState::Pending } else { j.state },
            claims: j.claims,
            failures: j.failures,
            progress: if running {
                j.epochs_done as f64
            } else {
                j.progress
            },
            error: j.error,
            started_at: j.started_at,
            finished_at: j.finished_at,
            layout: j.layout,
            spec: j.spec,
        });
    }
    Ok((store.info()?, records))
}
