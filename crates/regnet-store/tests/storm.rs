//! A claim storm: many workers, each with its own connection, claim, renew,
//! record epochs and finish short fake jobs while some of them die holding a
//! lease (they stop writing, as a SIGKILLed process does) and, on
//! PostgreSQL, a chaos thread drops random connections with
//! `pg_terminate_backend`. Afterwards every job is done exactly once with
//! all its epochs, and the log of lease grants shows no job ever held by
//! two live leases at once. CI runs a small storm on each back end;
//! `bench/storm.sh` runs the full one (REGNET_STORM_WORKERS=256,
//! REGNET_STORM_JOBS=2000) and prints claims/s and the p99 claim latency.

#[path = "support/pg_server.rs"]
mod pg_server;
#[path = "support/records.rs"]
mod records;

use regnet_store::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Epochs per fake job.
const EPOCHS: u32 = 3;
/// Lease length: short, so dead workers' jobs come back within the storm.
const LEASE: Duration = Duration::from_millis(1500);
/// Chance in 1000 that a worker dies after claiming a job.
const DEATH_PER_MILLE: u64 = 30;

fn info() -> SweepInfo {
    records::info("storm", 3)
}

fn jobs(n: usize) -> Vec<JobRecord> {
    records::jobs_of(n, EPOCHS)
}

fn epoch(e: u32, job: i64) -> EpochRecord {
    records::epoch(e, (job % 97) as f64 + e as f64 / 10.0, 0.01)
}

/// Unix seconds on this machine (the PostgreSQL server runs on it too).
fn wall() -> f64 {
    now()
}

/// One lease as its holder saw it: when it was granted (after the claim
/// returned), the start of every successful renewal (the grant's own
/// start included), and when a successful finish returned.
#[derive(Debug, Clone)]
struct Held {
    job: i64,
    granted_after: f64,
    renewed_before: Vec<f64>,
    finished: Option<f64>,
}

impl Held {
    /// The latest instant the lease can have been live until: its finish,
    /// or its last renewal's start plus the lease (a lower bound on the
    /// store's expiry, so an overlap found with it is real).
    fn live_until(&self) -> f64 {
        self.finished.unwrap_or_else(|| {
            self.renewed_before.last().copied().unwrap_or(0.0) + LEASE.as_secs_f64()
        })
    }
}

#[derive(Default)]
struct Log {
    held: Vec<Held>,
    /// Seconds each successful claim took.
    claim_seconds: Vec<f64>,
    deaths: usize,
    lost: usize,
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

/// One worker: claims until the sweep is done; may die holding a lease.
fn worker(location: String, w: usize, done: Arc<AtomicBool>, log: Arc<Mutex<Log>>) {
    // Opening is not retried by the store (a `sweep worker` whose first
    // connection drops exits with the error): here its supervisor retries.
    let s = retry(|| Location::parse(&location).unwrap().open());
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (w as u64 + 1).wrapping_mul(0x1234_5678_9abc);
    let mut life = 0;
    while !done.load(Ordering::SeqCst) {
        let owner = format!("storm/{w}/{life}");
        let before = wall();
        let t = Instant::now();
        let Some((job, lease)) = retry(|| s.claim(&owner, LEASE)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        let mut h = Held {
            job: job.id,
            granted_after: wall(),
            renewed_before: vec![before],
            finished: None,
        };
        let took = t.elapsed().as_secs_f64();
        let dies = xorshift(&mut rng) % 1000 < DEATH_PER_MILLE;
        let ended = work(s.as_ref(), &lease, &mut h, dies);
        let mut l = log.lock().unwrap();
        l.claim_seconds.push(took);
        l.held.push(h);
        match ended {
            Ending::Died => {
                l.deaths += 1;
                life += 1;
            }
            Ending::Lost => l.lost += 1,
            Ending::Finished => {}
        }
    }
}

enum Ending {
    Finished,
    Died,
    Lost,
}

/// Records the job's epochs under `lease` with a heartbeat after each, and
/// finishes it; a dying worker stops after its first epoch.
fn work(s: &dyn SweepStore, lease: &Lease, h: &mut Held, dies: bool) -> Ending {
    for e in 1..=EPOCHS {
        if !retry(|| s.record_epoch(lease, &epoch(e, h.job))) {
            return Ending::Lost;
        }
        if dies {
            return Ending::Died;
        }
        let before = wall();
        if !retry(|| s.heartbeat(lease, LEASE, e as f64)) {
            return Ending::Lost;
        }
        h.renewed_before.push(before);
    }
    if !retry(|| s.finish(lease, &Outcome::Done)) {
        return Ending::Lost;
    }
    h.finished = Some(wall());
    Ending::Finished
}

/// A store call, retried while it errors (a dropped connection the store
/// could not restore within its own retries): workers outlive outages.
fn retry<T>(mut f: impl FnMut() -> Result<T>) -> T {
    let t = Instant::now();
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) => {
                assert!(t.elapsed() < Duration::from_secs(60), "store down: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the storm on `location` (already created with `n_jobs` jobs) with
/// `workers` threads; `chaos` drops connections while it runs. Checks the
/// outcome and prints the figures.
fn storm(
    location: &str,
    n_jobs: usize,
    workers: usize,
    chaos: Option<Box<dyn FnMut() -> usize + Send>>,
) {
    let done = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    let start = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (loc, done, log) = (location.to_string(), done.clone(), log.clone());
            std::thread::spawn(move || worker(loc, w, done, log))
        })
        .collect();
    let dropped = Arc::new(AtomicUsize::new(0));
    let chaos = chaos.map(|mut kill| {
        let (done, dropped) = (done.clone(), dropped.clone());
        std::thread::spawn(move || {
            let mut round = 0u64;
            while !done.load(Ordering::SeqCst) {
                dropped.fetch_add(kill(), Ordering::SeqCst);
                round += 1;
                std::thread::sleep(Duration::from_millis(if round % 2 == 0 { 30 } else { 70 }));
            }
        })
    });
    let s = retry(|| Location::parse(location).unwrap().open());
    loop {
        // The schedulers' part: dead workers' leases back to the queue.
        retry(|| s.requeue_expired());
        if retry(|| s.counts()).done == n_jobs {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "the storm did not end"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    for h in handles.into_iter().chain(chaos) {
        h.join().unwrap();
    }
    let log = log.lock().unwrap();
    check(s.as_ref(), &log, n_jobs);
    let mut lat = log.claim_seconds.clone();
    lat.sort_by(f64::total_cmp);
    let p = |q: f64| lat[((lat.len() - 1) as f64 * q).round() as usize] * 1000.0;
    eprintln!(
        "storm: {workers} workers, {n_jobs} jobs x {EPOCHS} epochs in {seconds:.1} s: {} claims ({:.0}/s), claim latency p50 {:.1} ms p99 {:.1} ms; {} workers died holding a lease, {} leases lost, {} connections dropped",
        lat.len(),
        lat.len() as f64 / seconds,
        p(0.5),
        p(0.99),
        log.deaths,
        log.lost,
        dropped.load(Ordering::SeqCst)
    );
}

/// Every job done once with all its epochs (as its holders recorded
/// them), the store sound, and no two leases of a job live at once.
fn check(s: &dyn SweepStore, log: &Log, n_jobs: usize) {
    let c = s.counts().unwrap();
    assert_eq!((c.done, c.failed, c.pending, c.running), (n_jobs, 0, 0, 0));
    assert!(s.check_integrity().unwrap().is_empty());
    for j in s.jobs().unwrap() {
        let e = s.epochs(j.id).unwrap();
        let want: Vec<EpochRecord> = (1..=EPOCHS).map(|k| epoch(k, j.id)).collect();
        assert_eq!(e, want, "{}", j.spec.name);
        let finishes = log
            .held
            .iter()
            .filter(|h| h.job == j.id && h.finished.is_some())
            .count();
        // A finish whose reply a dropped connection lost reads as a lost
        // lease to its worker: at most one finish succeeds, and the store
        // says done.
        assert!(finishes <= 1, "{} finished {finishes} times", j.spec.name);
    }
    let overlaps = overlaps(&log.held);
    assert!(overlaps.is_empty(), "{}", overlaps.join("\n"));
}

/// Each grant of a job provably made while an earlier lease of it was
/// live: a claim that started after the earlier claim returned, and
/// returned before the earlier lease's finish or certain expiry. (Claims
/// that overlap in time cannot be ordered from outside: a claim whose
/// reply a dropped connection delayed past its own lease is one.)
fn overlaps(held: &[Held]) -> Vec<String> {
    let mut by_job: Vec<&Held> = held.iter().collect();
    by_job.sort_by_key(|h| h.job);
    let mut found = Vec::new();
    for group in by_job.chunk_by(|a, b| a.job == b.job) {
        for a in group {
            for b in group {
                let started = b.renewed_before[0];
                let later = !std::ptr::eq(*a, *b) && started >= a.granted_after;
                if later && b.granted_after < a.live_until() {
                    found.push(format!(
                        "job {} granted again {:.3} s before its lease ended: {a:?} then {b:?}",
                        a.job,
                        a.live_until() - b.granted_after
                    ));
                }
            }
        }
    }
    found
}

/// The overlap check against hand-made logs: a grant after the previous
/// lease's finish or expiry is fine; one before it is found.
#[test]
fn the_overlap_check_finds_a_job_granted_while_leased() {
    let lease = LEASE.as_secs_f64();
    let held = |job, granted_after: f64, renewed: &[f64], finished| Held {
        job,
        granted_after,
        renewed_before: renewed.to_vec(),
        finished,
    };
    let sound = [
        held(1, 10.0, &[9.9], Some(11.0)),
        held(2, 10.0, &[9.9, 10.5], None),
        held(2, 10.5 + lease, &[10.5 + lease], None),
        held(1, 20.0, &[19.9], Some(21.0)),
    ];
    assert!(overlaps(&sound).is_empty());
    let early = [
        held(2, 10.0, &[9.9, 10.5], None),
        held(2, 10.4 + lease, &[10.4 + lease], None),
    ];
    let found = overlaps(&early);
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with("job 2 granted again 0.100 s before"),
        "{found:?}"
    );
    let before_finish = [
        held(3, 10.0, &[9.9], Some(12.0)),
        held(3, 11.0, &[10.9], Some(13.0)),
    ];
    assert_eq!(overlaps(&before_finish).len(), 1);
    // A claim that began before another and returned after it (its reply
    // delayed): which was granted first is unknown, so nothing is claimed.
    let delayed = [
        held(4, 14.0, &[10.0], None),
        held(4, 12.0, &[11.9, 12.5], Some(13.0)),
    ];
    assert!(overlaps(&delayed).is_empty());
}

#[test]
fn a_claim_storm_on_postgres_with_dropped_connections_loses_nothing() {
    let server = pg_server::server();
    let db = format!("storm{}", std::process::id());
    let url = server.database(&db);
    let n_jobs = env_usize("REGNET_STORM_JOBS", 300);
    let workers = env_usize("REGNET_STORM_WORKERS", 32);
    drop(PgStore::create(&PgUrl::parse(&url).unwrap(), &info(), &jobs(n_jobs), false).unwrap());
    let kill = format!(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity
         WHERE datname = '{db}' AND application_name = 'regnet' ORDER BY random() LIMIT 3) k"
    );
    // One connection of its own (not named 'regnet', so never dropped).
    let mut admin = postgres::Client::connect(&server.url("postgres"), postgres::NoTls).unwrap();
    let chaos = move || {
        let n: i64 = admin.query_one(kill.as_str(), &[]).unwrap().get(0);
        n as usize
    };
    storm(&url, n_jobs, workers, Some(Box::new(chaos)));
}

#[test]
fn a_claim_storm_on_sqlite_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let n_jobs = env_usize("REGNET_STORM_JOBS", 300);
    drop(SqliteStore::create(&d.path().join("sweep.db"), &info(), &jobs(n_jobs), false).unwrap());
    let workers = env_usize("REGNET_STORM_SQLITE_WORKERS", 16);
    storm(&d.path().display().to_string(), n_jobs, workers, None);
}
