//! `regnet sweep` end to end: crash safety under SIGKILL, failures and
//! retries, exports, and clear errors for bad inputs.

use crate::common::{
    fails, kill_at_random_points, ok, regnetx_init, series, status, strs, tmp, REGNETX,
};

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small RegNetX sweep: 3 jobs of `epochs` epochs on 300 synthetic images.
fn init_epochs(dir: &Path, epochs: usize) {
    ok(&strs(&regnetx_init(
        3,
        epochs,
        300,
        &["--dir", dir.to_str().unwrap()],
    )));
}

fn init(dir: &Path) {
    init_epochs(dir, 3);
}

/// Epochs of the sweeps whose job is signalled after its first epoch: enough
/// left that the signal lands mid-training even on a loaded machine (with 3,
/// a job could finish between the check and the signal).
const INTERRUPTED_EPOCHS: usize = 6;

fn run_args(dir: &Path) -> Vec<String> {
    [
        "sweep",
        "run",
        dir.to_str().unwrap(),
        "--workers",
        "2",
        "--threads",
        "1",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

/// Same jobs, same per-epoch losses and errors (float tolerance).
fn assert_same_results(a: &[(String, Value)], b: &[(String, Value)]) {
    assert_eq!(a.len(), b.len());
    for ((na, ra), (nb, rb)) in a.iter().zip(b) {
        assert_eq!(na, nb);
        assert_eq!(ra["cfg"], rb["cfg"]);
        for (kind, key) in [
            ("train_epoch", "loss"),
            ("test_epoch", "top1_err"),
            ("test_epoch", "top5_err"),
        ] {
            let xa = ra[kind][key].as_array().unwrap();
            let xb = rb[kind][key].as_array().unwrap();
            assert_eq!(xa.len(), xb.len(), "{na} {kind}.{key}");
            for (x, y) in xa.iter().zip(xb) {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!(
                    (x - y).abs() <= 1e-5 * x.abs().max(1.0),
                    "{na} {kind}.{key}: {x} vs {y}"
                );
            }
        }
    }
}

#[test]
fn sigkill_of_the_whole_run_at_random_points_loses_and_repeats_nothing() {
    let base = tmp("sweep-kill");
    let (a, b) = (base.join("killed"), base.join("clean"));
    init(&a);
    init(&b);
    let clean_start = Instant::now();
    ok(&run_args(&b).iter().map(String::as_str).collect::<Vec<_>>());
    let clean_secs = clean_start.elapsed().as_secs_f64();
    kill_at_random_points(&run_args(&a), 4, clean_secs);
    let out = ok(&run_args(&a).iter().map(String::as_str).collect::<Vec<_>>());
    let s = status(&a);
    assert_eq!(s["counts"]["done"], 3, "{out}\n{s}");
    assert!(ok(&["sweep", "check", a.to_str().unwrap()]).contains("sound"));
    assert_same_results(&series(&a), &series(&b));
    // Killed runs were resumed (more claims than jobs), never failed.
    let csv = ok(&["sweep", "export", a.to_str().unwrap(), "--format", "csv"]);
    let mut claims = 0;
    for line in csv.lines().skip(1).filter(|l| l.starts_with("job-")) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[1], "done", "{line}");
        assert_eq!(f[12], "0", "no failure counted for a killed run: {line}");
        claims += f[13].parse::<u32>().unwrap();
    }
    assert!(claims > 3, "no job was interrupted and resumed");
}

/// Runs a small sweep (with `extra` run options) and, once a job has
/// recorded an epoch, sends `signal` to the oldest job process; returns the
/// scheduler's stderr after checking that the sweep still ends with the
/// results of an uninterrupted run.
fn interrupt_a_job(name: &str, signal: &str, extra: &[&str]) -> String {
    let (err, d) = interrupt(name, signal, extra);
    let clean = tmp(&format!("sweep-{name}-clean")).join("s");
    init_epochs(&clean, INTERRUPTED_EPOCHS);
    ok(&strs(&run_args(&clean)));
    assert_same_results(&series(&d), &series(&clean));
    err
}

/// A small sweep whose oldest job process gets `signal` once it has
/// recorded an epoch; the sweep must end with every job done and a sound
/// store. Returns the scheduler's stderr and the sweep directory.
fn interrupt(name: &str, signal: &str, extra: &[&str]) -> (String, std::path::PathBuf) {
    let d = tmp(&format!("sweep-{name}")).join("s");
    init_epochs(&d, INTERRUPTED_EPOCHS);
    let run = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(run_args(&d))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pattern = format!("sweep job --dir {}", d.display());
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(Instant::now() < deadline, "no worker appeared");
        let s = status(&d);
        let busy = s["running"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["progress"].as_f64().unwrap() >= 1.0);
        if busy {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal_job(signal, &pattern, &d.join("sweep.db"));
    let out = run.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{err}");
    let s = status(&d);
    assert_eq!(s["counts"]["done"], 3, "{s}");
    assert!(ok(&["sweep", "check", d.to_str().unwrap()]).contains("sound"));
    (err, d)
}

/// Sends `signal` to the oldest process matching `pattern`. A process stopped
/// inside a store write would hold SQLite's write lock (blocking everyone,
/// scheduler included, until it dies): a stop that lands there is undone and
/// tried again, so the test stops a hang in training, the case it is about.
fn signal_job(signal: &str, pattern: &str, db: &Path) {
    let send = |sig: &str| {
        let k = Command::new("pkill")
            .args([sig, "-o", "-f", pattern])
            .status()
            .unwrap();
        assert!(k.success(), "no job process to signal");
    };
    loop {
        send(signal);
        if signal != "-STOP" || store_writable(db) {
            return;
        }
        send("-CONT");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn store_writable(db: &Path) -> bool {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_millis(300)).unwrap();
    c.execute_batch("BEGIN IMMEDIATE; ROLLBACK;").is_ok()
}

#[test]
fn a_killed_worker_fails_one_attempt_and_the_retry_resumes_it() {
    let err = interrupt_a_job("worker-kill", "-KILL", &[]);
    assert!(
        err.contains("will be retried (failure 1): worker killed"),
        "{err}"
    );
}

#[test]
fn a_crashed_worker_is_retried_once_in_nchw_without_counting_a_failure() {
    // SIGABRT is what libtorch's channels-last crash raises when it detects
    // the heap damage ("double free or corruption"); an external SIGSEGV would
    // be absorbed once by Rust's stack-overflow handler.
    let (err, d) = interrupt("worker-abrt", "-ABRT", &[]);
    assert!(
        err.contains("will be retried: worker killed (signal: 6")
            && err.contains("retried in NCHW"),
        "{err}"
    );
    let layouts: Vec<(String, String)> = series(&d)
        .into_iter()
        .map(|(job, r)| (job, r["regnet"]["layout"].as_str().unwrap().to_string()))
        .collect();
    let nchw: Vec<_> = layouts.iter().filter(|(_, l)| l == "nchw").collect();
    assert_eq!(nchw.len(), 1, "{layouts:?}");
    assert!(layouts
        .iter()
        .all(|(_, l)| l == "nchw" || l == "channels-last"));
    let csv = ok(&["sweep", "export", d.to_str().unwrap(), "--format", "csv"]);
    for line in csv.lines().filter(|l| l.starts_with("job-")) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f[12], "0", "a crash retried in NCHW is no failure: {line}");
        let retried = f[0] == nchw[0].0;
        assert_eq!(f[13], if retried { "2" } else { "1" }, "claims: {line}");
        assert_eq!(f[14], if retried { "nchw" } else { "channels-last" });
    }
}

#[test]
fn a_hung_worker_is_killed_by_the_stall_watchdog_and_retried() {
    // SIGSTOP: the process lives on (its lease is renewed) but makes no progress.
    let err = interrupt_a_job("worker-hang", "-STOP", &["--stall-minutes", "0.15"]);
    assert!(
        err.contains("no progress for 9 s; killing its worker"),
        "{err}"
    );
    assert!(
        err.contains("will be retried (failure 1): stalled: no progress for"),
        "{err}"
    );
}

#[test]
fn diverging_jobs_fail_with_their_message_without_stopping_the_sweep() {
    let d = tmp("sweep-diverge");
    let cfg = d.join("lr.yaml");
    // 1e20 overflows the loss within the first steps (1e9 may not: BN makes
    // conv weights scale-free, and the loss can stay finite, if huge).
    let text = std::fs::read_to_string(REGNETX).unwrap().replace(
        "  CONSTRAINTS:",
        "    OPTIM.BASE_LR: {TYPE: value_sampler, VALUES: [0.1, 1.0e+20]}\n  CONSTRAINTS:",
    ) + "MAX_ATTEMPTS: 2\n";
    std::fs::write(&cfg, text).unwrap();
    let dir = d.join("s");
    ok(&[
        "sweep",
        "init",
        cfg.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
        "-n",
        "6",
        "--epochs",
        "1",
        "--data",
        "synthetic:200",
    ]);
    let out = ok(&run_args(&dir)
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    let s = status(&dir);
    let (done, failed) = (
        s["counts"]["done"].as_u64().unwrap(),
        s["counts"]["failed"].as_u64().unwrap(),
    );
    assert_eq!(done + failed, 6, "{s}");
    assert!(
        done >= 1 && failed >= 1,
        "the seed should mix both learning rates: {s}"
    );
    for f in s["failures"].as_array().unwrap() {
        assert_eq!(f["failures"], 2, "retried once: {f}");
        assert!(f["error"].as_str().unwrap().starts_with("diverged"), "{f}");
    }
    assert!(out.contains("retry-failed"), "{out}");
    assert!(ok(&["sweep", "check", dir.to_str().unwrap()]).contains("sound"));
    // The analysis names the models the population lost, and why.
    let html = d.join("report.html");
    let analyzed = ok(&[
        "sweep",
        "analyze",
        dir.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(
        analyzed.contains(&format!("{failed} of 6 sampled models are missing")),
        "{analyzed}"
    );
    assert_eq!(
        analyzed.matches("(failed): diverged").count() as u64,
        failed,
        "{analyzed}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Missing models") && page.contains("diverged"));
    let again = ok(&["sweep", "retry-failed", dir.to_str().unwrap()]);
    assert!(
        again.contains(&format!("{failed} failed jobs queued again")),
        "{again}"
    );
    assert_eq!(status(&dir)["counts"]["pending"], failed);
}

#[test]
fn bad_inputs_are_one_line_errors_and_leave_no_sweep_behind() {
    let d = tmp("sweep-bad");
    let dir = d.join("s");
    let ds = dir.to_str().unwrap();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let cases = [
        (
            write("malformed.yaml", "NAME: [unclosed\n"),
            "malformed YAML",
        ),
        (
            write(
                "space.yaml",
                "SPACE: anynetx-z\nNUM_CONFIGS: 2\nDATA: synthetic:100\n",
            ),
            "SPACE: unknown design space 'anynetx-z' (built-in: anynetx-a",
        ),
        (
            write(
                "impossible.yaml",
                &std::fs::read_to_string(REGNETX)
                    .unwrap()
                    .replace("FLOPS: [2.0e+6, 8.0e+6]", "FLOPS: [1.0e+12, 2.0e+12]")
                    .replace(
                        "  RNG_SEED: 1\n  SAMPLERS",
                        "  RNG_SEED: 1\n  NUM_SAMPLES: 2000\n  SAMPLERS",
                    ),
            ),
            "found only 0 of 8 models after 2000 tries",
        ),
        (
            write("nodata.yaml", "SPACE: regnetx\nNUM_CONFIGS: 2\n"),
            "the sweep has no dataset",
        ),
        (
            write(
                "badkey.yaml",
                "SPACE: regnetx\nNUM_CONFIGS: 2\nDATA: synthetic:100\nOPTIMS: {}\n",
            ),
            "OPTIMS",
        ),
    ];
    for (cfg, expect) in &cases {
        let e = fails(&["sweep", "init", cfg, "--dir", ds]);
        assert!(e.contains(expect), "{cfg}: {e}");
        assert!(!dir.exists(), "{cfg}: a partial sweep was left");
    }
    let e = fails(&[
        "sweep",
        "init",
        REGNETX,
        "--dir",
        ds,
        "--data",
        "cifar10:/no/such/dir",
    ]);
    assert!(e.contains("/no/such/dir"), "{e}");
    assert!(!dir.exists());

    // An existing sweep is kept unless --force.
    let two = [
        "sweep",
        "init",
        REGNETX,
        "--dir",
        ds,
        "-n",
        "2",
        "--data",
        "synthetic:100",
    ];
    ok(&two);
    let e = fails(&two);
    assert!(
        e.contains("already holds a sweep") && e.contains("--force"),
        "{e}"
    );
    ok(&[
        "sweep",
        "init",
        REGNETX,
        "--dir",
        ds,
        "-n",
        "3",
        "--data",
        "synthetic:100",
        "--force",
    ]);
    assert_eq!(status(&dir)["counts"]["pending"], 3);

    // --max-jobs stops after starting that many jobs.
    ok(&["sweep", "run", ds, "--max-jobs", "1", "--quiet"]);
    let s = status(&dir);
    assert_eq!(
        (
            s["counts"]["done"].as_u64(),
            s["counts"]["pending"].as_u64()
        ),
        (Some(1), Some(2)),
        "{s}"
    );

    // A store locked by another program, then a corrupt one.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\n\
             c.execute('PRAGMA locking_mode=EXCLUSIVE');c.execute('BEGIN EXCLUSIVE')\n\
             print('locked',flush=True);time.sleep(30)",
            dir.join("sweep.db").to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let o = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(["sweep", "run", ds, "--quiet"])
        .env("REGNET_STORE_BUSY_TIMEOUT", "0.5")
        .output()
        .unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("is locked by another process"), "{err}");
    std::fs::write(dir.join("sweep.db"), vec![7u8; 8192]).unwrap();
    let _ = std::fs::remove_file(dir.join("sweep.db-wal"));
    let _ = std::fs::remove_file(dir.join("sweep.db-shm"));
    let e = fails(&["sweep", "status", ds]);
    assert!(e.contains("is not a regnet sweep store"), "{e}");
    let e = fails(&["sweep", "run", d.join("nothing").to_str().unwrap()]);
    assert!(
        e.contains("no sweep store at") && e.contains("sweep init"),
        "{e}"
    );
}

#[test]
fn pycls_sweep_options_that_do_not_apply_are_reported() {
    let dir = tmp("sweep-warn").join("s");
    let cfg = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/sweeps/cifar_regnet.yaml"
    );
    let out = ok(&[
        "sweep",
        "init",
        cfg,
        "--dir",
        dir.to_str().unwrap(),
        "-n",
        "2",
        "--data",
        "synthetic:100",
    ]);
    for w in [
        "warning: LAUNCH is not used",
        "warning: ANALYZE is not used",
        "warning: NUM_GPUS is not used",
        "warning: DATA_LOADER is not used",
        "warning: TRAIN.DATASET is not used",
    ] {
        assert!(out.contains(w), "missing '{w}' in:\n{out}");
    }
    // Mixed precision is applied (float16 on CUDA), so not reported.
    assert!(!out.contains("MIXED_PRECISION"), "{out}");
    // Each said once, not once per job.
    assert_eq!(out.matches("warning: LOG_PERIOD").count(), 1, "{out}");
    assert_eq!(status(&dir)["counts"]["pending"], 2);
}

/// (name, config) of every job of a sweep directory's store, by id, and its
/// recorded NUM_CONFIGS.
fn stored_jobs(dir: &Path) -> (Vec<(String, String)>, u64) {
    let c = rusqlite::Connection::open(dir.join("sweep.db")).unwrap();
    let mut q = c
        .prepare("SELECT name, config FROM jobs ORDER BY id")
        .unwrap();
    let jobs = q
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let info: String = c
        .query_row("SELECT value FROM meta WHERE key = 'info'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let info: Value = serde_json::from_str(&info).unwrap();
    (jobs, info["settings"]["num_configs"].as_u64().unwrap())
}

#[test]
fn an_extended_sweep_holds_the_jobs_a_larger_init_samples() {
    let d = tmp("sweep-extend");
    let (grown, whole) = (d.join("grown"), d.join("whole"));
    ok(&strs(&regnetx_init(
        3,
        2,
        300,
        &["--dir", grown.to_str().unwrap()],
    )));
    let out = ok(&["sweep", "extend", grown.to_str().unwrap(), "-n", "2"]);
    assert!(
        out.contains("2 more models sampled") && out.contains("5 in all"),
        "{out}"
    );
    ok(&strs(&regnetx_init(
        5,
        2,
        300,
        &["--dir", whole.to_str().unwrap()],
    )));
    let (a, na) = stored_jobs(&grown);
    let (b, nb) = stored_jobs(&whole);
    assert_eq!(a.len(), 5);
    assert_eq!(a, b, "the same seed stream gives the same five jobs");
    assert_eq!((na, nb), (5, 5));
    let err = fails(&["sweep", "extend", grown.to_str().unwrap(), "-n", "0"]);
    assert!(err.contains("at least 1 model"), "{err}");
}

/// A tmpfs of `mb` MiB mounted at `at` (root only), unmounted on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mb: usize) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let size = format!("size={mb}m");
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs"])
            .arg(at)
            .output()
            .ok()?;
        o.status.success().then(|| Tmpfs(at.to_path_buf()))
    }

    fn remount(&self, mode: &str) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// Writes zeros into `filler` until the file system is full.
    fn fill(&self, filler: &Path) {
        use std::io::Write;
        let mut f = std::fs::File::create(filler).unwrap();
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Each job's recorded test errors, epoch by epoch (from the pycls
/// export, which includes unfinished jobs), by job name.
fn epochs_recorded(dir: &Path) -> Vec<(String, Vec<Value>)> {
    series(dir)
        .into_iter()
        .map(|(n, r)| (n, r["test_epoch"]["top1_err"].as_array().unwrap().clone()))
        .collect()
}

/// The work directory fills up mid-sweep: the sweep stops with one line
/// naming the store, no job is failed for it and no recorded epoch is
/// lost. Read-only, the next run refuses at once, naming the file system's
/// reason. With space back the sweep resumes and every job ends with all
/// its epochs. (Linux refuses to remount a tmpfs read-only while the sweep
/// holds its files open for writing, so here read-only is tried between
/// runs; the next test turns a disk read-only mid-sweep.)
#[test]
fn a_full_or_read_only_disk_stops_the_sweep_and_it_resumes() {
    let d = tmp("disk-full");
    let Some(fs) = Tmpfs::mount(&d.join("mnt"), 8) else {
        // Under CI (root, like the Slurm test) a failed mount fails the test.
        crate::common::set_up(false, "a tmpfs mount (needs root)");
        return;
    };
    let sweep = fs.0.join("sw");
    let (child, args) = run_until_a_job_is_done(&sweep);
    let filler = fs.0.join("filler");
    fs.fill(&filler);
    let line = stopped(child, &sweep);
    assert!(
        line.contains("disk is full") || line.contains("No space left"),
        "{line}"
    );
    assert_eq!(status(&sweep)["counts"]["failed"], 0, "{line}");
    let before = epochs_recorded(&sweep);
    assert!(!before.is_empty());

    std::fs::remove_file(&filler).unwrap();
    fs.remount("ro");
    let e = fails(&strs(&args));
    assert!(
        e.contains("sweep.db") && e.contains("Read-only file system"),
        "{e}"
    );
    fs.remount("rw");

    resumes_keeping(&sweep, &args, &before);
}

/// `sweep run` of 4 jobs with one worker on the sweep at `sweep`, running
/// until a job is done; the child and its arguments.
fn run_until_a_job_is_done(sweep: &Path) -> (std::process::Child, Vec<String>) {
    ok(&strs(&regnetx_init(
        4,
        INTERRUPTED_EPOCHS,
        400,
        &["--dir", sweep.to_str().unwrap()],
    )));
    let mut args = run_args(sweep);
    args[4] = "1".into(); // one worker
    let child = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while status(sweep)["counts"]["done"].as_u64().unwrap() < 1 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no job finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (child, args)
}

/// The last line of a sweep run stopped by a storage fault, checked: one
/// error naming the sweep that says how to go on.
fn stopped(child: std::process::Child, sweep: &Path) -> String {
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    let line = err.lines().last().unwrap().to_string();
    assert!(
        line.starts_with("error: stopping the sweep: ")
            && line.contains(sweep.to_str().unwrap())
            && line.ends_with("then run the sweep again: it resumes"),
        "{err}"
    );
    line
}

/// The sweep, run again, ends with every job done and all its epochs, and
/// every epoch recorded `before` the fault is still there, unchanged.
fn resumes_keeping(sweep: &Path, args: &[String], before: &[(String, Vec<Value>)]) {
    ok(&strs(args));
    let c = &status(sweep)["counts"];
    assert_eq!(
        (c["done"].as_u64(), c["failed"].as_u64()),
        (Some(4), Some(0))
    );
    let after = epochs_recorded(sweep);
    assert!(
        after.iter().all(|(_, e)| e.len() == INTERRUPTED_EPOCHS),
        "{after:?}"
    );
    for (name, e) in before {
        let (_, kept) = after.iter().find(|(m, _)| m == name).unwrap();
        assert_eq!(&kept[..e.len()], &e[..], "{name}");
    }
}

/// An ext4 file system in a loop device (root only), mounted with
/// `errors=remount-ro`: the kernel turns it read-only in place on an error,
/// with the sweep's files open, as it does when a disk fails. Unmounted on drop.
struct Ext4Loop {
    image: std::path::PathBuf,
    at: std::path::PathBuf,
}

impl Ext4Loop {
    fn mount(image: &Path, at: &Path, mb: u64) -> Option<Ext4Loop> {
        std::fs::create_dir_all(at).unwrap();
        std::fs::File::create(image)
            .unwrap()
            .set_len(mb << 20)
            .unwrap();
        let made = Command::new("mkfs.ext4").arg("-q").arg(image).status();
        let fs = Ext4Loop {
            image: image.to_path_buf(),
            at: at.to_path_buf(),
        };
        (made.ok()?.success() && fs.mount_image()).then_some(fs)
    }

    fn mount_image(&self) -> bool {
        Command::new("mount")
            .args(["-o", "loop,errors=remount-ro"])
            .arg(&self.image)
            .arg(&self.at)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Makes the file system read-only now, through ext4's own error path.
    fn fail(&self) {
        let o = Command::new("findmnt")
            .args(["-no", "SOURCE"])
            .arg(&self.at)
            .output()
            .unwrap();
        let source = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let dev = Path::new(&source).file_name().unwrap().to_owned();
        let knob = Path::new("/sys/fs/ext4").join(dev).join("trigger_fs_error");
        std::fs::write(&knob, "1").unwrap();
    }

    /// Repairs and mounts it again, writable.
    fn restore(&self) {
        assert!(Command::new("umount")
            .arg(&self.at)
            .status()
            .unwrap()
            .success());
        let _ = Command::new("e2fsck").arg("-fy").arg(&self.image).output();
        assert!(
            self.mount_image(),
            "cannot mount {} again",
            self.image.display()
        );
    }
}

impl Drop for Ext4Loop {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

/// The work directory turns read-only in the middle of a sweep, with the
/// store and a job's files open: the sweep stops with one line naming the
/// store and the file system's reason, fails no job, and loses no epoch it
/// had recorded; once the disk is writable again the sweep resumes and
/// every job ends with all its epochs.
#[test]
fn a_disk_turning_read_only_mid_sweep_stops_it_and_it_resumes() {
    let d = tmp("disk-ro");
    let Some(fs) = Ext4Loop::mount(&d.join("ext4.img"), &d.join("mnt"), 32) else {
        crate::common::set_up(false, "an ext4 loop mount (needs root and mkfs.ext4)");
        return;
    };
    let sweep = fs.at.join("sw");
    let (child, args) = run_until_a_job_is_done(&sweep);
    let before = epochs_recorded(&sweep);
    fs.fail();
    let line = stopped(child, &sweep);
    assert!(
        ["readonly", "Read-only", "I/O error"]
            .iter()
            .any(|t| line.contains(t)),
        "{line}"
    );

    fs.restore();
    assert_eq!(status(&sweep)["counts"]["failed"], 0, "{line}");
    resumes_keeping(&sweep, &args, &before);
}
