//! The sweep store contract, on both back ends (SQLite and a real
//! PostgreSQL server): leases, epochs, failures, integrity, exports. Then
//! what only one back end has: SQLite's bad files; PostgreSQL's sweeps side
//! by side, schema versions, connection errors and dropped connections; and
//! copies between the two.

#[path = "support/pg_server.rs"]
mod pg_server;
#[path = "support/records.rs"]
mod records;

use regnet_store::*;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn info(max_attempts: u32) -> SweepInfo {
    records::info("t", max_attempts)
}

fn jobs(n: usize) -> Vec<JobRecord> {
    records::jobs_of(n, 2)
}

fn epoch(e: u32, err: f64) -> EpochRecord {
    records::epoch(e, err, 1.5)
}

/// Where a test's store lives; `open` gives another connection to it.
enum Fixture {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Fixture {
    fn sqlite() -> Self {
        Fixture::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database on the test server.
    fn postgres() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        Fixture::Postgres(pg_server::server().database(&name))
    }

    fn create(&self, n: usize, attempts: u32) -> Box<dyn SweepStore> {
        match self {
            Fixture::Sqlite(d) => Box::new(
                SqliteStore::create(&d.path().join("sweep.db"), &info(attempts), &jobs(n), false)
                    .unwrap(),
            ),
            Fixture::Postgres(url) => Box::new(
                PgStore::create(
                    &PgUrl::parse(url).unwrap(),
                    &info(attempts),
                    &jobs(n),
                    false,
                )
                .unwrap(),
            ),
        }
    }

    fn location(&self) -> String {
        match self {
            Fixture::Sqlite(d) => d.path().display().to_string(),
            Fixture::Postgres(url) => url.clone(),
        }
    }

    fn dir(&self) -> &Path {
        match self {
            Fixture::Sqlite(d) => d.path(),
            Fixture::Postgres(_) => Path::new("/sweeps/t"),
        }
    }
}

/// Another connection to a fixture's store (its location is the sweep
/// directory or the URL).
fn open(location: &str) -> Box<dyn SweepStore> {
    Location::parse(location).unwrap().open().unwrap()
}

/// Each case, as one test per back end.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $case() { super::$case(&super::Fixture::sqlite()) })*
        }
        mod postgres {
            $(#[test] fn $case() { super::$case(&super::Fixture::postgres()) })*
        }
    };
}

on_both_backends!(
    jobs_are_claimed_in_order_once_each,
    a_finished_job_has_its_final_and_best_error,
    an_expired_lease_is_requeued_and_its_holder_can_no_longer_write,
    a_resumed_attempt_replaces_epochs_after_its_checkpoint,
    failures_are_retried_up_to_max_attempts_then_kept_with_their_message,
    a_crash_is_retried_once_in_nchw_before_it_counts_as_a_failure,
    a_store_is_replaced_only_when_asked,
    one_job_is_read_by_id,
    concurrent_workers_never_claim_the_same_job,
    integrity_check_finds_a_done_job_missing_epochs,
    pycls_export_has_the_series_pycls_analysis_reads,
    pycls_export_takes_test_ema_epoch_from_the_ema_errors_when_kept,
    a_copy_to_the_other_back_end_and_back_loses_nothing,
    an_extended_sweep_keeps_its_jobs_and_queues_the_new_ones_after_them,
);

fn an_extended_sweep_keeps_its_jobs_and_queues_the_new_ones_after_them(f: &Fixture) {
    let s = f.create(2, 2);
    let (_, lease) = s.claim("w", LEASE).unwrap().unwrap();
    assert!(s.record_epoch(&lease, &epoch(1, 40.0)).unwrap());
    let mut grown = s.info().unwrap();
    grown.settings.num_configs = 4;
    let more: Vec<NewJob> = jobs(4)[2..].iter().map(|j| j.spec.clone()).collect();
    s.extend(&grown, &more).unwrap();
    // Read through another connection: the new info and all four jobs, the
    // old ones untouched (the running one still holds its epoch).
    let t = open(&f.location());
    assert_eq!(t.info().unwrap().settings.num_configs, 4);
    let all = t.jobs().unwrap();
    let names: Vec<&str> = all.iter().map(|j| j.spec.name.as_str()).collect();
    assert_eq!(names, ["job-0000", "job-0001", "job-0002", "job-0003"]);
    assert_eq!(t.epochs(all[0].id).unwrap().len(), 1);
    assert_eq!(all[3].spec, more[1]);
    let c = t.counts().unwrap();
    assert_eq!((c.pending, c.running, c.total()), (3, 1, 4));
    // The new jobs are claimed after the pending old one.
    let next: Vec<String> = (0..3)
        .map(|_| t.claim("w2", LEASE).unwrap().unwrap().0.spec.name)
        .collect();
    assert_eq!(next, ["job-0001", "job-0002", "job-0003"]);
}

const LEASE: Duration = Duration::from_secs(60);

fn jobs_are_claimed_in_order_once_each(f: &Fixture) {
    let s = f.create(3, 2);
    let ids: Vec<i64> = (0..3)
        .map(|_| s.claim("w", LEASE).unwrap().unwrap().1.job_id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(s.claim("w", LEASE).unwrap().is_none());
    let c = s.counts().unwrap();
    assert_eq!((c.pending, c.running, c.total()), (0, 3, 3));
}

fn a_finished_job_has_its_final_and_best_error(f: &Fixture) {
    let s = f.create(1, 2);
    let (_, lease) = s.claim("w", LEASE).unwrap().unwrap();
    assert!(s.record_epoch(&lease, &epoch(1, 40.0)).unwrap());
    assert!(s.record_epoch(&lease, &epoch(2, 45.0)).unwrap());
    assert!(s.finish(&lease, &Outcome::Done).unwrap());
    let j = &s.jobs().unwrap()[0];
    assert_eq!(j.state, JobState::Done);
    assert_eq!(
        (j.top1_err, j.top5_err, j.min_top1_err),
        (Some(45.0), Some(22.5), Some(40.0))
    );
    assert_eq!(j.train_seconds, 3.0);
    assert!(s.check_integrity().unwrap().is_empty());
}

fn an_expired_lease_is_requeued_and_its_holder_can_no_longer_write(f: &Fixture) {
    let s = f.create(1, 2);
    let (_, old) = s.claim("a", Duration::ZERO).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let (_, new) = s.claim("b", LEASE).unwrap().unwrap();
    assert_eq!(old.job_id, new.job_id);
    assert_ne!(old.token, new.token);
    assert!(!s.record_epoch(&old, &epoch(1, 1.0)).unwrap());
    assert!(!s.heartbeat(&old, LEASE, 0.5).unwrap());
    assert!(!s.finish(&old, &Outcome::Done).unwrap());
    assert!(s.heartbeat(&new, LEASE, 0.5).unwrap());
    assert!(!s.renew(&old, LEASE).unwrap());
    assert!(s.renew(&new, LEASE).unwrap());
    let j = &s.jobs().unwrap()[0];
    assert_eq!((j.claims, j.failures, j.epochs_done), (2, 0, 0));
}

fn a_resumed_attempt_replaces_epochs_after_its_checkpoint(f: &Fixture) {
    let s = f.create(1, 2);
    let (_, l) = s.claim("a", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(1, 60.0)).unwrap();
    s.record_epoch(&l, &epoch(2, 50.0)).unwrap();
    // the checkpoint only reached epoch 1: epoch 2 is trained again
    assert!(s.resume_at(&l, 1).unwrap());
    assert_eq!(s.epochs(l.job_id).unwrap().len(), 1);
    s.record_epoch(&l, &epoch(2, 49.0)).unwrap();
    s.record_epoch(&l, &epoch(2, 48.0)).unwrap();
    let e = s.epochs(l.job_id).unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[1].test_top1_err, 48.0);
}

fn failures_are_retried_up_to_max_attempts_then_kept_with_their_message(f: &Fixture) {
    let s = f.create(1, 2);
    for attempt in 1..=2 {
        let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
        assert!(s
            .finish(&l, &Outcome::Failed(format!("boom {attempt}")))
            .unwrap());
    }
    assert!(s.claim("w", LEASE).unwrap().is_none());
    let j = &s.jobs().unwrap()[0];
    assert_eq!((j.state, j.failures), (JobState::Failed, 2));
    assert_eq!(j.error.as_deref(), Some("boom 2"));
    assert_eq!(s.retry_failed().unwrap(), 1);
    assert!(s.claim("w", LEASE).unwrap().is_some());
}

fn a_crash_is_retried_once_in_nchw_before_it_counts_as_a_failure(f: &Fixture) {
    let s = f.create(1, 2);
    let (job, l) = s.claim("w", LEASE).unwrap().unwrap();
    assert_eq!(job.layout, None, "no attempt yet");
    assert!(s
        .set_layout(&l, "channels-last (nchw: s1.b1.proj)")
        .unwrap());
    assert_eq!(
        s.jobs().unwrap()[0].layout.as_deref(),
        Some("channels-last (nchw: s1.b1.proj)")
    );
    // A crash in channels-last: back to the queue in NCHW, no failure counted.
    assert!(s.finish(&l, &Outcome::Crashed("signal 11".into())).unwrap());
    let j = &s.jobs().unwrap()[0];
    assert_eq!((j.state, j.failures), (JobState::Pending, 0));
    assert_eq!(j.layout.as_deref(), Some(NCHW));
    assert_eq!(j.error.as_deref(), Some("signal 11; retried in NCHW"));
    // A lost lease writes nothing, layout included.
    assert!(!s.set_layout(&l, "channels-last").unwrap());
    // A crash in NCHW is a failure like any other.
    let (job, l) = s.claim("w", LEASE).unwrap().unwrap();
    assert_eq!(job.layout.as_deref(), Some(NCHW));
    assert!(s.set_layout(&l, NCHW).unwrap());
    assert!(s.finish(&l, &Outcome::Crashed("signal 6".into())).unwrap());
    let j = &s.jobs().unwrap()[0];
    assert_eq!((j.state, j.failures), (JobState::Pending, 1));
    assert_eq!(j.error.as_deref(), Some("signal 6"));
    // Copies and exports carry the layout.
    let (_, records) = snapshot(s.as_ref()).unwrap();
    assert_eq!(records[0].layout.as_deref(), Some(NCHW));
    assert!(to_csv(s.as_ref()).unwrap().contains(",nchw,"));
}

fn a_store_is_replaced_only_when_asked(f: &Fixture) {
    let s = f.create(2, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(1, 50.0)).unwrap();
    drop(s);
    let at = Location::parse(&f.location()).unwrap();
    let e = at.create(&info(2), &jobs(3), false).err().unwrap().message;
    assert!(e.contains("already holds") && e.contains("--force"), "{e}");
    assert_eq!(
        open(&f.location()).jobs().unwrap().len(),
        2,
        "refused: untouched"
    );
    let s = at.create(&info(2), &jobs(3), true).unwrap();
    let js = s.jobs().unwrap();
    assert_eq!(js.len(), 3);
    assert!(js
        .iter()
        .all(|j| j.claims == 0 && s.epochs(j.id).unwrap().is_empty()));
    assert!(s.check_integrity().unwrap().is_empty());
}

fn one_job_is_read_by_id(f: &Fixture) {
    let s = f.create(3, 2);
    let all = s.jobs().unwrap();
    assert_eq!(s.job(all[1].id).unwrap().as_ref(), Some(&all[1]));
    assert_eq!(s.job(999).unwrap(), None);
}

fn concurrent_workers_never_claim_the_same_job(f: &Fixture) {
    drop(f.create(40, 2));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let location = f.location();
            std::thread::spawn(move || {
                let s = open(&location);
                let mut mine = Vec::new();
                while let Some((_, l)) = s.claim(&format!("w{w}"), LEASE).unwrap() {
                    s.record_epoch(&l, &epoch(1, 1.0)).unwrap();
                    s.record_epoch(&l, &epoch(2, 1.0)).unwrap();
                    assert!(s.finish(&l, &Outcome::Done).unwrap());
                    mine.push(l.job_id);
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (1..=40).collect::<Vec<_>>());
    let s = open(&f.location());
    assert_eq!(s.counts().unwrap().done, 40);
    assert!(s.check_integrity().unwrap().is_empty());
}

fn integrity_check_finds_a_done_job_missing_epochs(f: &Fixture) {
    let s = f.create(1, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(2, 1.0)).unwrap();
    s.finish(&l, &Outcome::Done).unwrap();
    let p = s.check_integrity().unwrap();
    assert!(p.iter().any(|m| m.contains("last is epoch 2")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("done with 1 of 2")), "{p:?}");
}

#[test]
fn bad_sqlite_files_give_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let missing = SqliteStore::open(&d.path().join("nope.db"))
        .err()
        .unwrap()
        .message;
    assert!(
        missing.contains("no sweep store") && missing.contains("sweep init"),
        "{missing}"
    );
    let junk = d.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = SqliteStore::open(&junk).err().unwrap().message;
    assert!(e.contains("not a regnet sweep store"), "{e}");
    drop(SqliteStore::create(&d.path().join("sweep.db"), &info(1), &jobs(1), false).unwrap());
    let again = SqliteStore::create(&d.path().join("sweep.db"), &info(1), &jobs(1), false);
    assert!(again.err().unwrap().message.contains("already exists"));
}

fn pycls_export_has_the_series_pycls_analysis_reads(f: &Fixture) {
    let s = f.create(2, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(1, 60.0)).unwrap();
    s.record_epoch(&l, &epoch(2, 65.0)).unwrap();
    s.finish(&l, &Outcome::Done).unwrap();
    let v = to_pycls_json(s.as_ref(), f.dir()).unwrap();
    let recs = v.as_array().unwrap();
    assert_eq!(
        recs.len(),
        1,
        "jobs without epochs are left out, as pycls does"
    );
    let r = &recs[0];
    assert_eq!(r["test_ema_epoch"]["min_top1_err"], json!([60.0, 60.0]));
    assert_eq!(r["test_epoch"]["epoch"], json!(["1/2", "2/2"]));
    assert_eq!(r["test_epoch"]["epoch_max"], json!([2, 2]));
    assert_eq!(r["complexity"]["flops"], json!(1000));
    assert_eq!(r["cfg"]["i"], json!(0));
    assert!(r["log_file"]
        .as_str()
        .unwrap()
        .ends_with("job-0000/stdout.log"));
    let csv = to_csv(s.as_ref()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3);
    let f: Vec<&str> = lines[1].splitn(16, ',').collect();
    assert_eq!(
        &f[..11],
        ["job-0000", "done", "1000", "10", "5", "2", "2", "65", "32.5", "60", "3"]
    );
    assert!(
        f[11].parse::<f64>().unwrap() >= 0.0,
        "wall seconds {}",
        f[11]
    );
    assert_eq!(&f[12..15], ["0", "1", ""]);
}

fn pycls_export_takes_test_ema_epoch_from_the_ema_errors_when_kept(f: &Fixture) {
    let s = f.create(1, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    for (e, ema) in [(1, 58.0), (2, 57.0)] {
        let mut r = epoch(e, 60.0);
        r.test_ema_top1_err = Some(ema);
        r.test_ema_top5_err = Some(ema / 2.0);
        s.record_epoch(&l, &r).unwrap();
    }
    s.finish(&l, &Outcome::Done).unwrap();
    assert_eq!(s.epochs(l.job_id).unwrap()[1].test_ema_top1_err, Some(57.0));
    let v = to_pycls_json(s.as_ref(), f.dir()).unwrap();
    assert_eq!(v[0]["test_ema_epoch"]["top1_err"], json!([58.0, 57.0]));
    assert_eq!(v[0]["test_ema_epoch"]["min_top5_err"], json!([29.0, 28.5]));
    assert_eq!(v[0]["test_epoch"]["top1_err"], json!([60.0, 60.0]));
}

/// A store with a job of every kind: done, failed, retried, never run, and
/// one whose worker died (lease expired).
fn eventful(s: &dyn SweepStore) {
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    let mut e1 = epoch(1, 60.0);
    e1.test_ema_top1_err = Some(59.5);
    e1.test_ema_top5_err = Some(20.25);
    s.record_epoch(&l, &e1).unwrap();
    s.record_epoch(&l, &epoch(2, 55.0)).unwrap();
    s.finish(&l, &Outcome::Done).unwrap();
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.finish(&l, &Outcome::Failed("diverged".into())).unwrap();
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.finish(&l, &Outcome::Failed("oom".into())).unwrap();
    let (_, l) = s.claim("dead", Duration::ZERO).unwrap().unwrap();
    s.record_epoch(&l, &epoch(1, 70.0)).unwrap();
    std::thread::sleep(Duration::from_millis(5));
}

fn a_copy_to_the_other_back_end_and_back_loses_nothing(f: &Fixture) {
    let s = f.create(5, 1);
    eventful(s.as_ref());
    let (info, records) = snapshot(s.as_ref()).unwrap();
    assert_eq!(records.len(), 5);
    let by_state = |st: JobState| records.iter().filter(|r| r.state == st).count();
    assert_eq!(
        [JobState::Done, JobState::Failed, JobState::Pending].map(by_state),
        [1, 2, 2],
        "the dead worker's job is copied as pending"
    );
    let other: Box<dyn SweepStore> = match f {
        Fixture::Sqlite(_) => {
            let url = PgUrl::parse(&Fixture::postgres().location()).unwrap();
            Box::new(PgStore::create(&url, &info, &records, false).unwrap())
        }
        Fixture::Postgres(_) => {
            let d = tempfile::tempdir().unwrap().keep();
            Box::new(SqliteStore::create(&d.join("copy.db"), &info, &records, false).unwrap())
        }
    };
    let there = snapshot(other.as_ref()).unwrap();
    assert_eq!(there, (info.clone(), records.clone()));
    let back = Fixture::sqlite();
    let back_store =
        SqliteStore::create(&back.dir().join("back.db"), &there.0, &there.1, false).unwrap();
    assert_eq!(snapshot(&back_store).unwrap(), (info, records));
    assert_eq!(
        to_csv(other.as_ref()).unwrap(),
        to_csv(&back_store).unwrap()
    );
}

#[test]
fn a_copy_is_refused_while_a_worker_holds_a_live_lease() {
    let f = Fixture::sqlite();
    let s = f.create(2, 1);
    s.claim("w", LEASE).unwrap().unwrap();
    let e = snapshot(s.as_ref()).unwrap_err().message;
    assert!(e.contains("1 jobs are running (job-0000)"), "{e}");
}

fn pg_url(f: &Fixture) -> PgUrl {
    PgUrl::parse(&f.location()).unwrap()
}

#[test]
fn two_sweeps_in_one_database_stay_apart() {
    let f = Fixture::postgres();
    let url = pg_url(&f);
    let a = PgStore::create(&url.with_sweep("a"), &info(1), &jobs(3), false).unwrap();
    let b = PgStore::create(&url.with_sweep("b"), &info(1), &jobs(2), false).unwrap();
    let mut claimed_a = Vec::new();
    while let Some((j, l)) = a.claim("w", LEASE).unwrap() {
        a.finish(&l, &Outcome::Failed("x".into())).unwrap();
        claimed_a.push(j.id);
    }
    assert_eq!(claimed_a.len(), 3);
    let bc = b.counts().unwrap();
    assert_eq!((bc.pending, bc.failed), (2, 0), "a's work left b alone");
    assert_eq!(a.counts().unwrap().failed, 3);
    assert_eq!(b.retry_failed().unwrap(), 0);
    assert!(b.jobs().unwrap().iter().all(|j| !claimed_a.contains(&j.id)));
    // Without a name the URL is ambiguous; a wrong name lists the sweeps.
    let e = PgStore::open(&url).err().unwrap().message;
    assert!(
        e.contains("holds sweeps a, b") && e.contains("?sweep=NAME"),
        "{e}"
    );
    let e = PgStore::open(&url.with_sweep("c")).err().unwrap().message;
    assert!(e.contains("no sweep 'c'") && e.contains("a, b"), "{e}");
    // Re-creating a sweep is refused unless replaced; replacing leaves the other.
    let e = PgStore::create(&url.with_sweep("a"), &info(1), &jobs(1), false)
        .err()
        .unwrap()
        .message;
    assert!(
        e.contains("already holds sweep 'a'") && e.contains("--force"),
        "{e}"
    );
    PgStore::create(&url.with_sweep("a"), &info(1), &jobs(1), true).unwrap();
    assert_eq!(
        PgStore::open(&url.with_sweep("a"))
            .unwrap()
            .counts()
            .unwrap()
            .total(),
        1
    );
    assert_eq!(b.counts().unwrap().total(), 2);
}

#[test]
fn bad_urls_credentials_and_databases_are_one_line_errors() {
    let server = pg_server::server();
    let f = Fixture::postgres();
    let closed = pg_server::free_port();
    let unreachable = format!("postgres://regnet:secret@127.0.0.1:{closed}/x");
    let e = PgStore::open(&PgUrl::parse(&unreachable).unwrap())
        .err()
        .unwrap()
        .message;
    assert!(
        e.starts_with(&format!(
            "cannot connect to the sweep store postgres://regnet:***@127.0.0.1:{closed}/x"
        )) && e.to_lowercase().contains("refused"),
        "{e}"
    );
    let wrong = f.location().replace(":secret@", ":wrong@");
    let e = PgStore::create(&PgUrl::parse(&wrong).unwrap(), &info(1), &jobs(1), false)
        .err()
        .unwrap()
        .message;
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("wrong"), "the password is not shown: {e}");
    let e = PgUrl::parse("postgres://a@b:notaport/x")
        .err()
        .unwrap()
        .message;
    assert!(e.starts_with("bad store URL"), "{e}");
    let e = PgStore::open(&PgUrl::parse(&server.url("nosuchdb")).unwrap())
        .err()
        .unwrap()
        .message;
    assert!(e.contains("database \"nosuchdb\" does not exist"), "{e}");
    let e = PgStore::open(&pg_url(&f)).err().unwrap().message;
    assert!(
        e.contains("no regnet sweeps") && e.contains("sweep init"),
        "{e}"
    );
    assert!(!e.contains('\n'));
    // Nothing was written by the failed calls: the database is still empty.
    let db = f.location().rsplit('/').next().unwrap().to_string();
    assert_eq!(
        server.psql(&db, "SELECT to_regclass('regnet_schema') IS NULL"),
        "t"
    );
}

/// Schema 4's epochs table (every trainer field required, no extras), made
/// from a newer one.
const EPOCHS_V4: &str = "CREATE TABLE e4 (
        job_id INTEGER NOT NULL REFERENCES jobs(id), epoch INTEGER NOT NULL CHECK (epoch > 0),
        lr REAL NOT NULL, lr_end REAL, train_loss REAL NOT NULL, train_top1_err REAL NOT NULL,
        test_top1_err REAL NOT NULL, test_top5_err REAL NOT NULL, test_ema_top1_err REAL,
        test_ema_top5_err REAL, images_per_s REAL NOT NULL, seconds REAL NOT NULL,
        PRIMARY KEY (job_id, epoch));
    INSERT INTO e4 SELECT job_id, epoch, lr, lr_end, train_loss, train_top1_err, test_top1_err,
        test_top5_err, test_ema_top1_err, test_ema_top5_err, images_per_s, seconds FROM epochs;
    DROP TABLE epochs; ALTER TABLE e4 RENAME TO epochs;";

/// An epoch as a trainer of the user's own may report it: no train
/// metrics, no top-5 error, one extra field.
fn sparse_epoch(e: u32) -> EpochRecord {
    let mut r = EpochRecord::new(e, 33.5, 2.0);
    r.extra.insert("val_loss".into(), json!(1.25));
    r
}

/// Stores written by earlier releases (schema 2: no job layouts; schema 3:
/// no last learning rate per epoch; schema 4: every trainer field required)
/// are upgraded in place when opened, their jobs and epochs intact (an old
/// epoch's last lr reads as its first), and then keep sparse epochs.
#[test]
fn older_sqlite_stores_are_upgraded_when_opened() {
    let v3 = format!("{EPOCHS_V4} ALTER TABLE epochs DROP COLUMN lr_end;");
    for (version, downgrade) in [
        (2, format!("{v3} ALTER TABLE jobs DROP COLUMN layout;")),
        (3, v3.clone()),
        (4, EPOCHS_V4.to_string()),
    ] {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sweep.db");
        let s = SqliteStore::create(&path, &info(1), &jobs(2), false).unwrap();
        let (job, l) = s.claim("w", LEASE).unwrap().unwrap();
        assert!(s.record_epoch(&l, &epoch(1, 50.0)).unwrap());
        drop(s);
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "{downgrade} UPDATE meta SET value = '{version}' WHERE key = 'schema_version';"
        ))
        .unwrap();
        drop(c);
        let s = SqliteStore::open(&path).unwrap();
        let js = s.jobs().unwrap();
        assert_eq!(js.len(), 2);
        assert!(js.iter().all(|j| j.layout.is_none()), "from {version}");
        let old = s.epochs(job.id).unwrap();
        assert_eq!(old.len(), 1);
        // Before schema 4 no last lr was kept: it reads as the first.
        let kept = if version < 4 { old[0].lr } else { Some(0.09) };
        assert_eq!(old[0].lr_end, kept, "from {version}");
        assert!(s.set_layout(&l, NCHW).unwrap());
        let mut e = epoch(2, 40.0);
        e.lr_end = Some(0.01);
        assert!(s.record_epoch(&l, &e).unwrap());
        assert_eq!(s.epochs(job.id).unwrap()[1], e);
        assert!(s.record_epoch(&l, &sparse_epoch(3)).unwrap());
        assert_eq!(s.epochs(job.id).unwrap()[2], sparse_epoch(3));
        let c = rusqlite::Connection::open(&path).unwrap();
        let v: String = c
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(v, "5", "from {version}");
    }
}

/// The same on PostgreSQL: a database at schema 1 gets migrations 2 to 4.
#[test]
fn an_older_postgres_schema_is_migrated_when_opened() {
    let server = pg_server::server();
    let f = Fixture::postgres();
    let url = pg_url(&f);
    drop(PgStore::create(&url, &info(1), &jobs(2), false).unwrap());
    let db = f.location().rsplit('/').next().unwrap().to_string();
    server.psql(
        &db,
        "ALTER TABLE regnet_jobs DROP COLUMN layout; ALTER TABLE regnet_epochs DROP COLUMN lr_end;
         ALTER TABLE regnet_epochs DROP COLUMN extra, ALTER COLUMN lr SET NOT NULL,
             ALTER COLUMN train_loss SET NOT NULL, ALTER COLUMN images_per_s SET NOT NULL;
         DELETE FROM regnet_schema WHERE version > 1",
    );
    let s = PgStore::open(&url).unwrap();
    assert_eq!(s.jobs().unwrap().len(), 2);
    assert_eq!(
        server.psql(&db, "SELECT MAX(version) FROM regnet_schema"),
        "4"
    );
    let (job, l) = s.claim("w", LEASE).unwrap().unwrap();
    assert!(s.set_layout(&l, NCHW).unwrap());
    let mut e = epoch(1, 40.0);
    e.lr_end = Some(0.01);
    assert!(s.record_epoch(&l, &e).unwrap());
    assert!(s.record_epoch(&l, &sparse_epoch(2)).unwrap());
    assert_eq!(s.epochs(job.id).unwrap(), [e, sparse_epoch(2)]);
}

#[test]
fn a_newer_schema_is_refused_with_nothing_written() {
    let server = pg_server::server();
    let f = Fixture::postgres();
    let url = pg_url(&f);
    drop(PgStore::create(&url, &info(1), &jobs(2), false).unwrap());
    let db = f.location().rsplit('/').next().unwrap().to_string();
    server.psql(&db, "INSERT INTO regnet_schema (version) VALUES (99)");
    let e = PgStore::open(&url).err().unwrap().message;
    assert!(e.contains("schema version 99 is newer"), "{e}");
    let e = PgStore::create(&url.with_sweep("other"), &info(1), &jobs(1), false)
        .err()
        .unwrap()
        .message;
    assert!(e.contains("schema version 99 is newer"), "{e}");
    assert_eq!(server.psql(&db, "SELECT COUNT(*) FROM regnet_sweeps"), "1");
    assert_eq!(server.psql(&db, "SELECT COUNT(*) FROM regnet_jobs"), "2");
}

#[test]
fn a_dropped_connection_is_reopened_and_the_write_retried() {
    let server = pg_server::server();
    let f = Fixture::postgres();
    let s = PgStore::open(&{
        drop(f.create(1, 1));
        pg_url(&f)
    })
    .unwrap();
    let db = f.location().rsplit('/').next().unwrap().to_string();
    let kill = format!(
        "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = '{db}' AND application_name = 'regnet'"
    );
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    assert_eq!(server.psql("postgres", &kill), "1");
    assert!(s.record_epoch(&l, &epoch(1, 50.0)).unwrap());
    assert_eq!(server.psql("postgres", &kill), "1");
    assert!(s.heartbeat(&l, LEASE, 1.5).unwrap());
    s.record_epoch(&l, &epoch(2, 40.0)).unwrap();
    assert_eq!(server.psql("postgres", &kill), "1");
    assert!(s.finish(&l, &Outcome::Done).unwrap());
    let j = &s.jobs().unwrap()[0];
    assert_eq!(
        (j.state, j.claims, j.top1_err),
        (JobState::Done, 1, Some(40.0))
    );
    assert!(s.check_integrity().unwrap().is_empty());
}
