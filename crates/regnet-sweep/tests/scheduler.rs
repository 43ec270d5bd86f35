//! The scheduling rules, with fake workers in place of job processes: each
//! test runs a whole sweep in milliseconds against a real SQLite store.

use regnet_store::{
    EpochRecord, Job, JobRecord, JobState, Lease, NewJob, Outcome, SqliteStore, SweepInfo,
    SweepSettings, SweepStore,
};
use regnet_sweep::protocol::Exit;
use regnet_sweep::scheduler::{
    hostname, requeue_dead, run, Mode, Observer, Options, Owner, WorkerId, Workers,
};
use regnet_sweep::Result;
use std::collections::HashMap;
use std::time::Duration;

/// What a fake worker does with its job.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Trains for this many polls (one heartbeat each), records its epoch
    /// and the end of the attempt, and exits 0.
    Finish(u32),
    /// Exits with this code at once, recording nothing.
    Fail(i32),
    /// Dies by SIGSEGV unless the job is to run in NCHW; then finishes.
    CrashUnlessNchw,
    /// Never ends until killed.
    Hang,
    /// Cannot write its files (disk full) the first time; then finishes.
    StorageOnce,
}

struct Fake {
    job: Job,
    lease: Lease,
    act: Act,
    polls: u32,
    killed: bool,
}

/// Workers that act out a script per job name.
struct FakeWorkers<'a> {
    store: &'a dyn SweepStore,
    script: HashMap<String, Act>,
    live: Vec<Fake>,
    /// Job names in the order their workers started.
    started: Vec<String>,
    /// Most workers alive at once.
    most_at_once: usize,
    alive: usize,
}

impl<'a> FakeWorkers<'a> {
    fn new(store: &'a dyn SweepStore, script: &[(&str, Act)]) -> Self {
        FakeWorkers {
            store,
            script: script.iter().map(|(n, a)| (n.to_string(), *a)).collect(),
            live: Vec::new(),
            started: Vec::new(),
            most_at_once: 0,
            alive: 0,
        }
    }

    fn finish(&self, f: &Fake) -> Exit {
        let e = EpochRecord::new(1, 40.0 + f.job.id as f64, 0.01);
        assert!(self.store.record_epoch(&f.lease, &e).unwrap());
        assert!(self.store.finish(&f.lease, &Outcome::Done).unwrap());
        Exit::Success
    }
}

impl Workers for FakeWorkers<'_> {
    fn start(&mut self, job: &Job, lease: &Lease, _slot: usize) -> Result<WorkerId> {
        let act = self.script[&job.spec.name];
        self.started.push(job.spec.name.clone());
        self.alive += 1;
        self.most_at_once = self.most_at_once.max(self.alive);
        self.live.push(Fake {
            job: job.clone(),
            lease: lease.clone(),
            act,
            polls: 0,
            killed: false,
        });
        Ok(self.live.len() - 1)
    }

    fn poll(&mut self, id: WorkerId) -> Result<Option<Exit>> {
        let f = &mut self.live[id];
        f.polls += 1;
        let exit = match f.act {
            _ if f.killed => Some(Exit::Signal(SIGKILL)),
            Act::Finish(n) if f.polls < n => {
                self.store
                    .heartbeat(&f.lease, Duration::from_secs(60), f.polls as f64 / n as f64)
                    .unwrap();
                None
            }
            Act::Finish(_) => Some(self.finish(&self.live[id])),
            Act::Fail(code) => Some(Exit::Code(code)),
            Act::CrashUnlessNchw => {
                let now = self.store.job(f.job.id).unwrap().unwrap();
                if now.layout.as_deref() == Some("nchw") {
                    Some(self.finish(&self.live[id]))
                } else {
                    Some(Exit::Signal(11))
                }
            }
            Act::Hang => None,
            Act::StorageOnce if f.job.claims == 1 => {
                Some(Exit::Outside(regnet_store::Fault::Storage))
            }
            Act::StorageOnce => Some(self.finish(&self.live[id])),
        };
        if exit.is_some() {
            self.alive -= 1;
        }
        Ok(exit)
    }

    fn kill(&mut self, id: WorkerId) {
        self.live[id].killed = true;
    }

    fn log(&self, id: WorkerId) -> String {
        format!("fake-{id}.log")
    }
}

const SIGKILL: i32 = 9;

/// What the scheduler reported.
#[derive(Default)]
struct Seen {
    said: Vec<String>,
    /// Job names as their attempts ended, and whether each left the queue.
    ended: Vec<(String, bool)>,
}

impl Observer for Seen {
    fn say(&mut self, line: &str) {
        self.said.push(line.to_string());
    }
    fn ended(&mut self, job: &Job, _took: Duration, counted: bool) {
        self.ended.push((job.spec.name.clone(), counted));
    }
}

fn store(dir: &tempfile::TempDir, jobs: usize, max_attempts: u32) -> SqliteStore {
    let info = SweepInfo {
        name: "fake".into(),
        description: String::new(),
        config_text: String::new(),
        settings: SweepSettings::default(),
        max_attempts,
    };
    let jobs: Vec<JobRecord> = (0..jobs)
        .map(|i| {
            JobRecord::new(NewJob {
                name: format!("job-{i}"),
                config: serde_json::json!({}),
                flops: 1,
                params: 1,
                acts: 1,
                epochs: 1,
            })
        })
        .collect();
    SqliteStore::create(&dir.path().join("sweep.db"), &info, &jobs, false).unwrap()
}

fn options(workers: usize) -> Options {
    Options {
        workers,
        max_jobs: None,
        lease: Duration::from_secs(60),
        stall: Duration::from_secs(30),
        mode: Mode::Run,
        owner: Owner::this_process(),
        poll: Duration::from_millis(1),
    }
}

fn by_name(store: &dyn SweepStore) -> HashMap<String, Job> {
    let jobs = store.jobs().unwrap();
    jobs.into_iter().map(|j| (j.spec.name.clone(), j)).collect()
}

#[test]
fn workers_finishing_out_of_order_complete_the_sweep_within_the_worker_limit() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 5, 3);
    let script = [
        ("job-0", Act::Finish(40)),
        ("job-1", Act::Finish(2)),
        ("job-2", Act::Finish(2)),
        ("job-3", Act::Finish(15)),
        ("job-4", Act::Finish(1)),
    ];
    let mut w = FakeWorkers::new(&s, &script);
    let mut seen = Seen::default();
    let counts = run(&s, &mut w, &options(2), &mut seen).unwrap();
    assert_eq!((counts.done, counts.failed, counts.pending), (5, 0, 0));
    assert_eq!(w.most_at_once, 2);
    assert_eq!(w.started, ["job-0", "job-1", "job-2", "job-3", "job-4"]);
    // job-0 started first and ends last: the others pass it in its slot's absence.
    let ended: Vec<&str> = seen.ended.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(ended.last(), Some(&"job-0"), "{ended:?}");
    assert_eq!(ended[0], "job-1");
    assert!(seen.ended.iter().all(|(_, counted)| *counted));
    for (name, j) in by_name(&s) {
        assert_eq!(
            (j.state, j.claims, j.failures),
            (JobState::Done, 1, 0),
            "{name}"
        );
        assert_eq!(j.top1_err, Some(40.0 + j.id as f64));
    }
}

#[test]
fn a_failing_worker_is_retried_until_max_attempts_and_its_log_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 2, 3);
    let script = [("job-0", Act::Fail(7)), ("job-1", Act::Finish(1))];
    let mut w = FakeWorkers::new(&s, &script);
    let mut seen = Seen::default();
    let counts = run(&s, &mut w, &options(1), &mut seen).unwrap();
    assert_eq!((counts.done, counts.failed), (1, 1));
    let jobs = by_name(&s);
    let j = &jobs["job-0"];
    assert_eq!((j.state, j.claims, j.failures), (JobState::Failed, 3, 3));
    let err = j.error.as_deref().unwrap();
    assert!(
        err.starts_with("worker exited with code 7; see fake-"),
        "{err}"
    );
    // Two attempts went back to the queue, the third left it.
    let attempts: Vec<bool> = seen
        .ended
        .iter()
        .filter(|(n, _)| n == "job-0")
        .map(|(_, c)| *c)
        .collect();
    assert_eq!(attempts, [false, false, true]);
}

/// A worker that cannot write stops the whole sweep at once, its job
/// neither failed nor retried; the next run re-queues it and finishes.
#[test]
fn a_worker_that_cannot_write_stops_the_sweep_without_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 3, 3);
    let script = [
        ("job-0", Act::StorageOnce),
        ("job-1", Act::Finish(1)),
        ("job-2", Act::Finish(1)),
    ];
    let mut w = FakeWorkers::new(&s, &script);
    // A short lease: the stopped scheduler's process lives on in this test,
    // so its job comes back by expiry, as one on another machine would.
    let short = Options {
        lease: Duration::from_millis(300),
        ..options(1)
    };
    let e = run(&s, &mut w, &short, &mut Seen::default()).unwrap_err();
    assert!(
        e.message
            .starts_with("stopping the sweep: a job cannot write its files"),
        "{e}"
    );
    assert!(e.message.contains("see fake-0.log"), "{e}");
    assert_eq!(w.started, ["job-0"]);
    let j = &by_name(&s)["job-0"];
    assert_eq!((j.state, j.failures), (JobState::Running, 0));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(regnet_sweep::scheduler::recover(&s).unwrap(), 1);
    let counts = run(&s, &mut w, &options(1), &mut Seen::default()).unwrap();
    assert_eq!((counts.done, counts.failed), (3, 0));
    assert_eq!(by_name(&s)["job-0"].failures, 0);
}

#[test]
fn a_worker_dying_by_a_crash_signal_is_retried_once_in_nchw_without_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 1, 1);
    let mut w = FakeWorkers::new(&s, &[("job-0", Act::CrashUnlessNchw)]);
    let counts = run(&s, &mut w, &options(1), &mut Seen::default()).unwrap();
    assert_eq!(counts.done, 1);
    let j = &by_name(&s)["job-0"];
    assert_eq!((j.claims, j.failures), (2, 0));
    assert_eq!(j.layout.as_deref(), Some("nchw"));
}

#[test]
fn a_hung_worker_is_killed_by_the_stall_watchdog_and_its_job_failed() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 2, 1);
    let script = [("job-0", Act::Hang), ("job-1", Act::Finish(3))];
    let mut w = FakeWorkers::new(&s, &script);
    let mut seen = Seen::default();
    let o = Options {
        stall: Duration::from_millis(150),
        ..options(2)
    };
    let counts = run(&s, &mut w, &o, &mut seen).unwrap();
    assert_eq!((counts.done, counts.failed), (1, 1));
    let j = &by_name(&s)["job-0"];
    let err = j.error.as_deref().unwrap();
    assert!(err.starts_with("stalled: no progress for"), "{err}");
    assert!(
        seen.said
            .iter()
            .any(|l| l.starts_with("job-0: no progress")),
        "{:?}",
        seen.said
    );
}

#[test]
fn jobs_of_a_dead_scheduler_on_this_host_are_requeued_and_finished() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 3, 3);
    // A scheduler that was killed: its pid no longer exists; its lease is
    // long, so only the dead-owner rule can bring the job back.
    let dead = format!("{}/{}/0", hostname(), u32::MAX - 1);
    let (held, _) = s.claim(&dead, Duration::from_secs(3600)).unwrap().unwrap();
    assert_eq!(requeue_dead(&s).unwrap(), 1);
    let script = [
        ("job-0", Act::Finish(2)),
        ("job-1", Act::Finish(2)),
        ("job-2", Act::Finish(2)),
    ];
    let mut w = FakeWorkers::new(&s, &script);
    let counts = run(&s, &mut w, &options(2), &mut Seen::default()).unwrap();
    assert_eq!((counts.done, counts.running), (3, 0));
    let j = &by_name(&s)[&held.spec.name];
    assert_eq!((j.claims, j.failures), (2, 0));
}

#[test]
fn a_worker_mode_scheduler_leaves_jobs_of_live_owners_alone() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 2, 3);
    // Held by a live process of this host (this one), under another owner name.
    let live = format!("{}/{}/other", hostname(), std::process::id());
    let (held, _) = s.claim(&live, Duration::from_secs(3600)).unwrap().unwrap();
    assert_eq!(requeue_dead(&s).unwrap(), 0);
    let script = [("job-0", Act::Finish(1)), ("job-1", Act::Finish(1))];
    let mut w = FakeWorkers::new(&s, &script);
    let o = Options {
        mode: Mode::Worker,
        ..options(2)
    };
    let counts = run(&s, &mut w, &o, &mut Seen::default()).unwrap();
    assert_eq!((counts.done, counts.running), (1, 1));
    assert_eq!(by_name(&s)[&held.spec.name].state, JobState::Running);
    assert!(!w.started.contains(&held.spec.name));
}

#[test]
fn max_jobs_stops_the_scheduler_after_starting_that_many() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 4, 3);
    let script: Vec<(String, Act)> = (0..4)
        .map(|i| (format!("job-{i}"), Act::Finish(1)))
        .collect();
    let script: Vec<(&str, Act)> = script.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    let mut w = FakeWorkers::new(&s, &script);
    let o = Options {
        max_jobs: Some(3),
        ..options(2)
    };
    let counts = run(&s, &mut w, &o, &mut Seen::default()).unwrap();
    assert_eq!((counts.done, counts.pending), (3, 1));
    assert_eq!(w.started.len(), 3);
}

#[test]
fn a_stopped_sweep_returns_only_after_its_other_workers_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(&dir, 2, 3);
    let script = [("job-0", Act::StorageOnce), ("job-1", Act::Hang)];
    let mut w = FakeWorkers::new(&s, &script);
    let e = run(&s, &mut w, &options(2), &mut Seen::default()).unwrap_err();
    assert!(e.message.starts_with("stopping the sweep: "), "{e}");
    assert_eq!(w.started.len(), 2);
    // The hung worker was stopped and reaped before run returned: none of
    // them can write after the caller was told the sweep stopped.
    let hung = w.live.iter().find(|f| f.job.spec.name == "job-1").unwrap();
    assert!(hung.killed, "the hung worker was not stopped");
    assert_eq!(w.alive, 0, "a worker outlived the stopped sweep");
}
