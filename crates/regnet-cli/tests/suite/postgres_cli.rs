//! Sweeps in a real PostgreSQL server (Debian's package on a loopback port,
//! started by the test): worker processes sharing a store, SIGKILL, two
//! sweeps in one database, dropped connections, copies to and from SQLite,
//! and clear errors for bad URLs, credentials and schema versions.

use crate::common::{fails, ok, regnet, regnetx_init, strs, tmp};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A RegNetX sweep of `n` jobs of `epochs` epochs on 300 synthetic images,
/// stored in `url` as sweep `name`, job files in `work`.
fn init(url: &str, name: &str, work: &Path, n: usize, epochs: usize) -> String {
    let sweep = format!("{url}?sweep={name}");
    let extra = ["--store", &sweep, "--dir", work.to_str().unwrap()];
    ok(&strs(&regnetx_init(n, epochs, 300, &extra)));
    sweep
}

/// `regnet sweep worker` in its own process group (so SIGKILL takes its jobs too).
fn worker(sweep: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(["sweep", "worker", sweep, "--workers", "1", "--threads", "1"])
        .args(["--lease-seconds", "10"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap()
}

fn wait_ok(child: Child) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn status(sweep: &str) -> Value {
    let o = regnet(&["sweep", "status", sweep, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// name → (state, claims, failures, epochs_done) from the CSV export.
fn jobs(sweep: &str) -> Vec<(String, String, u32, u32, u32)> {
    let csv = regnet(&["sweep", "export", sweep, "--format", "csv"]);
    let text = String::from_utf8_lossy(&csv.stdout).into_owned();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let n = |i: usize| rec[i].parse::<u32>().unwrap();
            (rec[0].to_string(), rec[1].to_string(), n(13), n(12), n(6))
        })
        .collect()
}

fn csv(sweep: &str) -> String {
    let o = regnet(&["sweep", "export", sweep, "--format", "csv"]);
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn worker_processes_share_a_sweep_and_a_sigkilled_one_loses_no_job() {
    let server = crate::pg_server::server();
    let url = server.database("workers");
    let work = tmp("pg-workers");
    let a = init(&url, "a", &work.join("a"), 8, 4);
    let b = init(&url, "b", &work.join("b"), 2, 2);
    let mut workers: Vec<Child> = (0..4).map(|_| worker(&a)).collect();
    // Once a job has trained one of its four epochs, SIGKILL the worker
    // holding it, jobs and all (it has two epochs to go, more than the age
    // of the progress shown: one heartbeat).
    let deadline = Instant::now() + Duration::from_secs(300);
    let victim = loop {
        assert!(Instant::now() < deadline, "no job trained an epoch");
        let s = status(&a);
        let busy = s["running"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| (1.0..2.0).contains(&r["progress"].as_f64().unwrap()))
            .cloned();
        if let Some(r) = busy {
            break r;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let owner = victim["owner"].as_str().unwrap();
    let pid: i32 = owner.split('/').nth(1).unwrap().parse().unwrap();
    assert_eq!(
        victim["node"].as_str().unwrap(),
        owner.split('/').next().unwrap()
    );
    let i = workers.iter().position(|w| w.id() as i32 == pid).unwrap();
    let killed = workers.remove(i);
    kill_group(pid);
    let _ = killed.wait_with_output();
    let lost: Vec<Value> = status(&a)["running"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["owner"] == victim["owner"])
        .cloned()
        .collect();
    assert_eq!(lost.len(), 1, "the killed worker held its job: {lost:?}");
    for w in workers {
        wait_ok(w);
    }
    // The others drained the queue; the killed worker's job waits for its lease.
    let job = victim["job"].as_str().unwrap().to_string();
    ok(&["sweep", "run", &a, "--workers", "2", "--quiet"]);
    let rows = jobs(&a);
    assert_eq!(rows.len(), 8);
    for (name, state, claims, failures, epochs) in &rows {
        assert_eq!(
            (state.as_str(), *failures, *epochs),
            ("done", 0, 4),
            "{name}"
        );
        let expect = if *name == job { 2 } else { 1 };
        assert_eq!(*claims, expect, "{name} claimed {claims} times");
    }
    assert!(ok(&["sweep", "check", &a]).contains("sound"));
    // The analysis reads the sweep straight from the database.
    let (report, json) = (work.join("a.html"), work.join("a.json"));
    ok(&[
        "sweep",
        "analyze",
        &a,
        "-o",
        report.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["populations"][0]["models"].as_array().unwrap().len(), 8);
    assert!(std::fs::read_to_string(&report).unwrap().contains("<svg"));
    // The other sweep in the database was left alone.
    assert_eq!(status(&b)["counts"]["pending"], 2);
    // Copies to SQLite and back into the database keep every result.
    let dir = work.join("copy");
    ok(&["sweep", "migrate-store", &a, dir.to_str().unwrap()]);
    let a2 = format!("{url}?sweep=a2");
    ok(&["sweep", "migrate-store", dir.to_str().unwrap(), &a2]);
    let original = csv(&a);
    assert_same_csv(&csv(dir.to_str().unwrap()), &original);
    assert_same_csv(&csv(&a2), &original);
    let e = fails(&["sweep", "migrate-store", &a, dir.to_str().unwrap()]);
    assert!(
        e.contains("already holds a sweep") && e.contains("--force"),
        "{e}"
    );
}

/// Equal CSV exports, but for `train_seconds`: a sum over epochs, which
/// SQLite and PostgreSQL may round differently in the last bit.
fn assert_same_csv(a: &str, b: &str) {
    let rows = |t: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_reader(t.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect()
    };
    let (ra, rb) = (rows(a), rows(b));
    assert_eq!(ra.len(), rb.len());
    for (x, y) in ra.iter().zip(&rb) {
        for (i, (u, v)) in x.iter().zip(y.iter()).enumerate() {
            if i == 10 {
                let (u, v): (f64, f64) = (u.parse().unwrap(), v.parse().unwrap());
                assert!((u - v).abs() <= 1e-9 * u.abs(), "train_seconds {u} vs {v}");
            } else {
                assert_eq!(u, v, "column {i} of {}", &x[0]);
            }
        }
    }
}

/// SIGKILL to a whole process group.
fn kill_group(pid: i32) {
    let ok = Command::new("kill")
        .args(["-9", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn dropped_connections_mid_job_are_retried_without_losing_results() {
    let server = crate::pg_server::server();
    let url = server.database("drops");
    let work = tmp("pg-drops");
    let sweep = init(&url, "drops", &work, 4, 2);
    let workers: Vec<Child> = (0..2).map(|_| worker(&sweep)).collect();
    let kill = "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity \
                WHERE datname = 'drops' AND application_name = 'regnet'";
    let mut dropped = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(700));
        dropped += server.psql("postgres", kill).parse::<u32>().unwrap();
        let done = server.psql(
            "drops",
            "SELECT COUNT(*) FROM regnet_jobs WHERE state IN ('done', 'failed')",
        );
        if done == "4" {
            break;
        }
    }
    for w in workers {
        wait_ok(w);
    }
    assert!(dropped >= 5, "only {dropped} connections were dropped");
    for (name, state, _, failures, epochs) in jobs(&sweep) {
        assert_eq!((state.as_str(), failures, epochs), ("done", 0, 2), "{name}");
    }
    assert!(ok(&["sweep", "check", &sweep]).contains("sound"));
}

#[test]
fn bad_urls_credentials_and_schemas_are_one_line_errors_with_nothing_written() {
    let server = crate::pg_server::server();
    let url = server.database("bad");
    let work = tmp("pg-bad");
    let w = work.join("w");
    let init_at = |store: &str| {
        fails(&strs(&regnetx_init(
            2,
            1,
            100,
            &["--store", store, "--dir", w.to_str().unwrap()],
        )))
    };
    let closed = crate::pg_server::free_port();
    let e = init_at(&format!("postgres://regnet:secret@127.0.0.1:{closed}/bad"));
    assert!(
        e.contains("cannot connect to the sweep store postgres://regnet:***@127.0.0.1"),
        "{e}"
    );
    let e = init_at(&url.replace(":secret@", ":nope@"));
    assert!(
        e.contains("password authentication failed for user \"regnet\""),
        "{e}"
    );
    assert!(!e.contains("nope"), "{e}");
    let e = init_at("postgres://regnet@127.0.0.1:port/bad");
    assert!(e.contains("bad store URL"), "{e}");
    assert!(!w.exists(), "a failed init leaves no work directory");
    assert_eq!(
        server.psql("bad", "SELECT to_regclass('regnet_schema') IS NULL"),
        "t"
    );
    let e = fails(&["sweep", "status", &url]);
    assert!(e.contains("no regnet sweeps in"), "{e}");
    // A store written by a newer regnet is refused before anything is written.
    let sweep = init(&url, "s", &w, 2, 1);
    server.psql("bad", "INSERT INTO regnet_schema (version) VALUES (99)");
    let e = fails(&["sweep", "run", &sweep]);
    assert!(
        e.contains("schema version 99 is newer than this regnet's"),
        "{e}"
    );
    let e = fails(&[
        "sweep",
        "migrate-store",
        work.join("none").to_str().unwrap(),
        &sweep,
    ]);
    assert!(e.contains("no sweep store"), "{e}");
    assert_eq!(
        server.psql("bad", "SELECT COUNT(*) FROM regnet_jobs WHERE claims > 0"),
        "0"
    );
}

/// A TCP relay to the test server that can be cut: while down, it drops
/// every open connection and refuses new ones, as a network outage or a
/// stopped database does for the clients, while other tests keep using
/// the server directly.
struct Relay {
    port: u16,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn to(server_port: u16) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = Relay {
            port: listener.local_addr().unwrap().port(),
            down: Default::default(),
            open: Default::default(),
        };
        let (down, open) = (relay.down.clone(), relay.open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if down.load(Ordering::SeqCst) {
                    continue; // dropped: the client sees its connection closed
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", server_port)) else {
                    continue;
                };
                open.lock()
                    .unwrap()
                    .extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        relay
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
        if down {
            for s in self.open.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }
}

/// A job's test errors by epoch, from the pycls export.
fn test_errors(sweep: &str) -> Vec<f64> {
    let o = regnet(&["sweep", "export", sweep, "--format", "pycls-json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v[0]["test_epoch"]["top1_err"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The store down for longer than the retry window in the middle of a
/// 6-epoch job: the sweep stops with one line saying so, the job keeps its
/// checkpoint, and the rerun resumes from the last recorded epoch, with
/// every epoch recorded before the outage kept as it was.
#[test]
fn a_store_outage_longer_than_the_retry_window_loses_no_finished_epoch() {
    let server = crate::pg_server::server();
    let direct = server.database("outage");
    let relay = Relay::to(server.port);
    let via = direct.replace(&format!(":{}/", server.port), &format!(":{}/", relay.port));
    let work = tmp("pg-outage");
    // 1500 images: epochs of seconds, so the outage lands mid-job.
    let sweep = format!("{via}?sweep=outage");
    let extra = ["--store", &sweep, "--dir", work.to_str().unwrap()];
    ok(&strs(&regnetx_init(1, 6, 1500, &extra)));
    let watched = format!("{direct}?sweep=outage");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_regnet"))
            .args(["sweep", "run", &sweep, "--workers", "1", "--threads", "1"])
            .args(["--lease-seconds", "10", "--quiet"])
            .args(args)
            .env("REGNET_STORE_RETRY_SECONDS", "2")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let child = run(&[]);
    // Epochs in the store, not the heartbeat's progress: that reaches 2.0
    // when epoch 2's last batch is trained, before its test pass is recorded.
    let recorded = |url: &str| {
        let o = regnet(&["sweep", "export", url, "--format", "pycls-json"]);
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        v[0]["test_epoch"]["top1_err"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let deadline = Instant::now() + Duration::from_secs(300);
    while recorded(&watched) < 2 {
        assert!(Instant::now() < deadline, "the job never reached epoch 2");
        std::thread::sleep(Duration::from_millis(100));
    }
    relay.set_down(true);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    relay.set_down(false);
    assert!(
        !out.status.success(),
        "the sweep ran on without its store: {err}"
    );
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: stopping the sweep: ")
            && last.contains("run the sweep again once the store is back: it resumes"),
        "{err}"
    );
    let before = test_errors(&watched);
    assert!((2..6).contains(&before.len()), "{before:?}");
    // Resumed from its checkpoint: the recorded epochs are not trained again.
    let rerun = run(&[]).wait_with_output().unwrap();
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let (_, state, _, failures, epochs) = jobs(&watched).pop().unwrap();
    assert_eq!((state.as_str(), failures, epochs), ("done", 0, 6));
    let after = test_errors(&watched);
    assert_eq!(after[..before.len()], before[..]);
    let log = std::fs::read_dir(work.join("jobs"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("stderr.log"))
        .find(|p| p.exists())
        .expect("the job's log");
    // An epoch the store could not take was kept with the checkpoint and
    // recorded on resume; one cut mid-way had not finished.
    let text = std::fs::read_to_string(log).unwrap();
    let kept = text.contains(&format!("cannot record epoch {}", before.len() + 1));
    let from = before.len() + usize::from(kept);
    assert!(
        text.contains(&format!("6 epochs from epoch {from}")),
        "recorded before the rerun: {before:?}; kept unrecorded: {kept}; log:\n{text}"
    );
    assert!(ok(&["sweep", "check", &watched]).contains("sound"));
}
