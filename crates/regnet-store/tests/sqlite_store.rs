//! The SQLite sweep store: leases, epochs, failures, integrity, bad files.

use regnet_store::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

fn info(max_attempts: u32) -> SweepInfo {
    SweepInfo {
        name: "t".into(),
        description: String::new(),
        config_text: "NAME: t\n".into(),
        settings: json!({"data": "synthetic:100"}),
        max_attempts,
    }
}

fn jobs(n: usize) -> Vec<NewJob> {
    (0..n)
        .map(|i| NewJob {
            name: format!("job-{i:04}"),
            config: json!({"MODEL": {"TYPE": "anynet"}, "i": i}),
            flops: 1000 + i as u64,
            params: 10,
            acts: 5,
            epochs: 2,
        })
        .collect()
}

fn epoch(e: u32, err: f64) -> EpochRecord {
    EpochRecord {
        epoch: e,
        lr: 0.1,
        train_loss: 1.0,
        train_top1_err: 50.0,
        test_top1_err: err,
        test_top5_err: err / 2.0,
        test_ema_top1_err: None,
        test_ema_top5_err: None,
        images_per_s: 100.0,
        seconds: 1.5,
    }
}

fn new_store(dir: &Path, n: usize, attempts: u32) -> SqliteStore {
    SqliteStore::create(&dir.join("sweep.db"), &info(attempts), &jobs(n)).unwrap()
}

const LEASE: Duration = Duration::from_secs(60);

#[test]
fn jobs_are_claimed_in_order_once_each() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 3, 2);
    let ids: Vec<i64> = (0..3)
        .map(|_| s.claim("w", LEASE).unwrap().unwrap().1.job_id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(s.claim("w", LEASE).unwrap().is_none());
    let c = s.counts().unwrap();
    assert_eq!((c.pending, c.running, c.total()), (0, 3, 3));
}

#[test]
fn a_finished_job_has_its_final_and_best_error() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
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

#[test]
fn an_expired_lease_is_requeued_and_its_holder_can_no_longer_write() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
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

#[test]
fn a_resumed_attempt_replaces_epochs_after_its_checkpoint() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
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

#[test]
fn failures_are_retried_up_to_max_attempts_then_kept_with_their_message() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
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

#[test]
fn concurrent_workers_never_claim_the_same_job() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("sweep.db");
    drop(new_store(d.path(), 40, 2));
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let s = SqliteStore::open(&path).unwrap();
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
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.counts().unwrap().done, 40);
    assert!(s.check_integrity().unwrap().is_empty());
}

#[test]
fn integrity_check_finds_a_done_job_missing_epochs() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(2, 1.0)).unwrap();
    s.finish(&l, &Outcome::Done).unwrap();
    let p = s.check_integrity().unwrap();
    assert!(p.iter().any(|m| m.contains("last is epoch 2")), "{p:?}");
    assert!(p.iter().any(|m| m.contains("done with 1 of 2")), "{p:?}");
}

#[test]
fn bad_files_give_one_line_errors() {
    let d = tempfile::tempdir().unwrap();
    let missing = SqliteStore::open(&d.path().join("nope.db"))
        .err()
        .unwrap()
        .0;
    assert!(
        missing.contains("no sweep store") && missing.contains("sweep init"),
        "{missing}"
    );
    let junk = d.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let e = SqliteStore::open(&junk).err().unwrap().0;
    assert!(e.contains("not a regnet sweep store"), "{e}");
    let s = new_store(d.path(), 1, 2);
    drop(s);
    let again = SqliteStore::create(&d.path().join("sweep.db"), &info(1), &jobs(1));
    assert!(again.err().unwrap().0.contains("already exists"));
}

#[test]
fn pycls_export_has_the_series_pycls_analysis_reads() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 2, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    s.record_epoch(&l, &epoch(1, 60.0)).unwrap();
    s.record_epoch(&l, &epoch(2, 65.0)).unwrap();
    s.finish(&l, &Outcome::Done).unwrap();
    let v = to_pycls_json(&s, d.path()).unwrap();
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
    let csv = to_csv(&s).unwrap();
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

#[test]
fn pycls_export_takes_test_ema_epoch_from_the_ema_errors_when_kept() {
    let d = tempfile::tempdir().unwrap();
    let s = new_store(d.path(), 1, 2);
    let (_, l) = s.claim("w", LEASE).unwrap().unwrap();
    for (e, ema) in [(1, 58.0), (2, 57.0)] {
        let mut r = epoch(e, 60.0);
        r.test_ema_top1_err = Some(ema);
        r.test_ema_top5_err = Some(ema / 2.0);
        s.record_epoch(&l, &r).unwrap();
    }
    s.finish(&l, &Outcome::Done).unwrap();
    assert_eq!(s.epochs(l.job_id).unwrap()[1].test_ema_top1_err, Some(57.0));
    let v = to_pycls_json(&s, d.path()).unwrap();
    assert_eq!(v[0]["test_ema_epoch"]["top1_err"], json!([58.0, 57.0]));
    assert_eq!(v[0]["test_ema_epoch"]["min_top5_err"], json!([29.0, 28.5]));
    assert_eq!(v[0]["test_epoch"]["top1_err"], json!([60.0, 60.0]));
}
