//! The scheduler: claims jobs from the store, hands each to a worker, keeps
//! the leases of live workers, watches for hangs, and turns every way a
//! worker can end into the store's record of the attempt.
//!
//! Crash safety rests on the store: a claim is a lease that the worker
//! renews; a worker that dies is failed here (and retried); a scheduler
//! that dies leaves leases that the next scheduler re-queues at once when
//! their owner process is gone from this machine, or when they expire
//! otherwise. Workers sit behind the [`Workers`] trait: `regnet sweep run`
//! starts one process per job, the tests use fakes.

use crate::protocol::{outcome_of, Exit};
use crate::{Result, SweepError};
use regnet_store::{Counts, Fault, Job, JobState, Lease, SweepStore};
use std::path::Path;
use std::time::{Duration, Instant};

/// A worker the scheduler started, as its [`Workers`] know it.
pub type WorkerId = usize;

/// Where jobs run: one worker per claimed job.
pub trait Workers {
    /// Starts a worker on the claimed `job` in worker slot `slot`.
    fn start(&mut self, job: &Job, lease: &Lease, slot: usize) -> Result<WorkerId>;
    /// How the worker ended, once it has.
    fn poll(&mut self, id: WorkerId) -> Result<Option<Exit>>;
    /// Stops a worker (a hang); its end is then seen by `poll`.
    fn kill(&mut self, id: WorkerId);
    /// Where the worker's output goes, for failure messages.
    fn log(&self, id: WorkerId) -> String;
}

/// What the scheduler reports while it runs (a progress display).
pub trait Observer {
    /// A line of news (a job ended, a hang was killed, ...).
    fn say(&mut self, _line: &str) {}
    /// A job's attempt ended; `counted` when it left the queue (done or failed).
    fn ended(&mut self, _job: &Job, _took: Duration, _counted: bool) {}
    /// About once a second while workers run: every job, and the ids of the running ones.
    fn tick(&mut self, _jobs: &[Job], _running: &[i64]) {}
}

/// A scheduler that reports nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// How the scheduler ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sweep run`: until every job is done or failed, waiting for jobs that
    /// other workers hold (their leases may expire and come back).
    Run,
    /// `sweep worker` (one of many, e.g. a Slurm task): until no job is
    /// pending; jobs other workers hold are theirs.
    Worker,
}

/// The scheduler's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jobs run at once.
    pub workers: usize,
    /// Stop after starting this many jobs.
    pub max_jobs: Option<usize>,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// A worker whose job's progress has not moved for this long is killed.
    pub stall: Duration,
    pub mode: Mode,
    /// The lease owner's name: host/pid, then the worker slot (and a Slurm task).
    pub owner: Owner,
    /// How often the loop looks at its workers.
    pub poll: Duration,
}

/// A lease owner's name: `HOST/PID/SLOT[/slurm-TASK]`. A restarted scheduler
/// on the same host can tell that an owner's process is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// `/slurm-ARRAY_TASK` under Slurm (the task to `scancel`), else empty.
    pub task: String,
}

impl Owner {
    /// This process, named from the host name, its pid and Slurm's variables.
    pub fn this_process() -> Self {
        let var = |k: &str| std::env::var(k).ok();
        let task = match (
            var("SLURM_ARRAY_JOB_ID"),
            var("SLURM_ARRAY_TASK_ID"),
            var("SLURM_JOB_ID"),
        ) {
            (Some(a), Some(t), _) => format!("/slurm-{a}_{t}"),
            (_, _, Some(j)) => format!("/slurm-{j}"),
            _ => String::new(),
        };
        Owner {
            host: hostname(),
            pid: std::process::id(),
            task,
        }
    }

    fn of_slot(&self, slot: usize) -> String {
        format!("{}/{}/{slot}{}", self.host, self.pid, self.task)
    }
}

/// A worker the scheduler watches.
struct Running {
    id: WorkerId,
    lease: Lease,
    slot: usize,
    started: Instant,
    /// The job's progress as last seen, and since when.
    progress: f64,
    progress_at: Instant,
    /// Killed by the stall watchdog.
    stalled: bool,
}

/// Runs pending jobs of `store` on `workers` until none is left (or
/// `max_jobs` were started); returns the final counts.
pub fn run(
    store: &dyn SweepStore,
    workers: &mut dyn Workers,
    o: &Options,
    observer: &mut dyn Observer,
) -> Result<Counts> {
    let mut s = Scheduler {
        store,
        workers,
        o,
        observer,
        running: Vec::new(),
        started: 0,
    };
    s.run()
}

struct Scheduler<'a> {
    store: &'a dyn SweepStore,
    workers: &'a mut dyn Workers,
    o: &'a Options,
    observer: &'a mut dyn Observer,
    running: Vec<Running>,
    started: usize,
}

impl Scheduler<'_> {
    /// The loop below; a sweep it stops (a store or disk fault) returns
    /// only once its workers are gone, so that none of them goes on
    /// writing after the caller was told the sweep stopped.
    fn run(&mut self) -> Result<Counts> {
        let ran = self.schedule();
        if ran.is_err() {
            self.stop_workers();
        }
        ran
    }

    /// Stops every running worker and waits for each to end (the workers'
    /// `poll` escalates a stop that is not heeded).
    fn stop_workers(&mut self) {
        for w in &self.running {
            self.workers.kill(w.id);
        }
        while !self.running.is_empty() {
            self.running
                .retain(|w| matches!(self.workers.poll(w.id), Ok(None)));
            if !self.running.is_empty() {
                std::thread::sleep(self.o.poll);
            }
        }
    }

    fn schedule(&mut self) -> Result<Counts> {
        let renew_every = self.o.lease.div_f64(6.0).clamp(
            Duration::from_millis(200).min(self.o.lease / 2),
            Duration::from_secs(10),
        );
        let (mut last_renew, mut last_check, mut last_show) =
            (Instant::now(), Instant::now(), Instant::now());
        loop {
            self.start_workers()?;
            if self.running.is_empty() {
                let others = self.store.counts()?.running;
                let enough = self.o.max_jobs.is_some_and(|k| self.started >= k);
                if enough || others == 0 || self.o.mode == Mode::Worker {
                    break;
                }
                // Jobs leased by other workers: wait until they end or their
                // lease expires (finding dead owners reads every job: not too often).
                if last_check.elapsed() >= renew_every {
                    requeue_dead(self.store)?;
                    last_check = Instant::now();
                }
            }
            std::thread::sleep(self.o.poll);
            if last_renew.elapsed() >= renew_every {
                // Live workers keep their jobs even while they evaluate (no heartbeat then).
                for w in &self.running {
                    self.store.renew(&w.lease, self.o.lease)?;
                }
                last_renew = Instant::now();
            }
            self.reap()?;
            // Watching running workers reads every job: only when there are some.
            if !self.running.is_empty()
                && last_show.elapsed() >= Duration::from_secs(1).min(self.o.stall / 4)
            {
                let jobs = self.store.jobs()?;
                self.kill_stalled(&jobs);
                let ids: Vec<i64> = self.running.iter().map(|w| w.lease.job_id).collect();
                self.observer.tick(&jobs, &ids);
                last_show = Instant::now();
            }
        }
        self.store.counts().map_err(Into::into)
    }

    /// Claims jobs for the free worker slots.
    fn start_workers(&mut self) -> Result<()> {
        while self.running.len() < self.o.workers
            && self.o.max_jobs.is_none_or(|k| self.started < k)
        {
            let slot = (0..self.o.workers)
                .find(|s| self.running.iter().all(|w| w.slot != *s))
                .unwrap_or(0);
            let owner = self.o.owner.of_slot(slot);
            let Some((job, lease)) = self.store.claim(&owner, self.o.lease)? else {
                break;
            };
            let id = self.workers.start(&job, &lease, slot)?;
            self.running.push(Running {
                id,
                lease,
                slot,
                started: Instant::now(),
                progress: job.progress,
                progress_at: Instant::now(),
                stalled: false,
            });
            self.started += 1;
        }
        Ok(())
    }

    /// Collects ended workers; one that ended without finishing its job
    /// (killed, crashed, out of memory, hung) ends the attempt here.
    fn reap(&mut self) -> Result<()> {
        let mut i = 0;
        while i < self.running.len() {
            let Some(exit) = self.workers.poll(self.running[i].id)? else {
                i += 1;
                continue;
            };
            let w = self.running.swap_remove(i);
            if let Exit::Outside(fault) = exit {
                return Err(outside_stop(fault, &self.workers.log(w.id)));
            }
            let stalled_for = w.stalled.then(|| w.progress_at.elapsed());
            if let Some(outcome) = outcome_of(exit, stalled_for, &self.workers.log(w.id)) {
                self.store.finish(&w.lease, &outcome)?;
            }
            if let Some(job) = self.store.job(w.lease.job_id)? {
                let counted = job.state != JobState::Pending;
                self.observer.ended(&job, w.started.elapsed(), counted);
            }
        }
        Ok(())
    }

    /// Kills the workers whose job's progress has not moved for the stall
    /// time (a hang the lease cannot see: live workers' leases are renewed).
    fn kill_stalled(&mut self, jobs: &[Job]) {
        for w in self.running.iter_mut().filter(|w| !w.stalled) {
            let Some(job) = jobs.iter().find(|j| j.id == w.lease.job_id) else {
                continue;
            };
            if job.progress != w.progress {
                w.progress = job.progress;
                w.progress_at = Instant::now();
            } else if w.progress_at.elapsed() >= self.o.stall {
                self.observer.say(&format!(
                    "{}: no progress for {:.0} s; killing its worker",
                    job.spec.name,
                    self.o.stall.as_secs_f64()
                ));
                w.stalled = true;
                self.workers.kill(w.id);
            }
        }
    }
}

/// The sweep's end when a worker met a fault outside its job: the
/// worker's last log line (it names the file or the store), and how to go
/// on. The job stays leased to this scheduler, whose rerun re-queues it
/// from its checkpoint.
fn outside_stop(fault: Fault, log: &str) -> SweepError {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let what = match fault {
        Fault::Unreachable => "a job cannot reach the store",
        _ => "a job cannot write its files",
    };
    SweepError::of(
        fault,
        format!(
            "stopping the sweep: {what} ({}; see {log}); {}",
            last.trim(),
            fault_advice(fault)
        ),
    )
}

/// How to go on after a fault outside the jobs: what to fix, and that a
/// rerun resumes every job from its checkpoint.
pub fn fault_advice(fault: Fault) -> &'static str {
    match fault {
        Fault::Unreachable => "run the sweep again once the store is back: it resumes",
        _ => "free space or make it writable, then run the sweep again: it resumes",
    }
}

/// Before a scheduler starts: re-queues the jobs of workers that are gone
/// (dead processes of this machine, expired leases); returns how many.
pub fn recover(store: &dyn SweepStore) -> Result<usize> {
    Ok(requeue_dead(store)? + store.requeue_expired()?)
}

/// Re-queues jobs whose lease owner was a process of this machine that no
/// longer exists (a killed scheduler); returns how many.
pub fn requeue_dead(store: &dyn SweepStore) -> Result<usize> {
    let host = hostname();
    let jobs = store.jobs()?;
    let mut owners: Vec<&str> = jobs
        .iter()
        .filter(|j| j.state == JobState::Running)
        .filter_map(|j| j.lease_owner.as_deref())
        .collect();
    owners.sort_unstable();
    owners.dedup();
    let mut n = 0;
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

/// This machine's host name (lease owners start with it).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
