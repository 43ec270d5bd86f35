//! `regnet sweep launch --slurm` through a real single-node Slurm cluster
//! (Debian's slurm-wlm and munge, configured and started by this test in a
//! temporary directory on free ports; slurmd runs as root, so the test does)
//! with the sweep in a real PostgreSQL server.

use crate::common::{regnetx_init, strs, tmp};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// munged, slurmctld and slurmd for one node (this host), stopped on drop.
struct Slurm {
    dir: PathBuf,
}

fn host() -> String {
    let o = Command::new("hostname").arg("-s").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn must(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

impl Slurm {
    fn start() -> Slurm {
        let dir = tmp("slurm");
        let d = dir.display();
        for sub in ["state", "spool", "munge"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let key: Vec<u8> = (0..1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(dir.join("munge/key"), key).unwrap();
        must(
            Command::new("chmod")
                .args(["-R", "go-rwx"])
                .arg(dir.join("munge")),
        );
        must(Command::new("munged").args([
            "--force",
            &format!("--socket={d}/munge/sock"),
            &format!("--key-file={d}/munge/key"),
            &format!("--pid-file={d}/munge/pid"),
            &format!("--log-file={d}/munge/log"),
            &format!("--seed-file={d}/munge/seed"),
        ]));
        let host = host();
        let conf = format!(
            "ClusterName=regnettest\nSlurmctldHost={host}\nSlurmctldPort={}\nSlurmdPort={}\n\
             AuthType=auth/munge\nAuthInfo=socket={d}/munge/sock\nCredType=cred/munge\n\
             SlurmUser=root\nSlurmdUser=root\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/pgid\nTaskPlugin=task/none\nJobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\nSwitchType=switch/none\n\
             KillWait=5\nNodeName={host} CPUs=2 State=UNKNOWN\n\
             PartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            crate::pg_server::free_port(),
            crate::pg_server::free_port()
        );
        std::fs::write(dir.join("slurm.conf"), conf).unwrap();
        let s = Slurm { dir };
        must(s.cmd("slurmctld").arg("-i"));
        must(&mut s.cmd("slurmd"));
        let t = Instant::now();
        loop {
            let o = s.cmd("sinfo").args(["-h", "-o", "%T"]).output().unwrap();
            if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "slurm did not come up"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A Slurm (or regnet) command talking to this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.dir.join("slurm.conf"));
        c
    }

    fn regnet(&self, args: &[&str]) -> Output {
        let mut c = self.cmd(env!("CARGO_BIN_EXE_regnet"));
        c.args(args);
        c.output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.regnet(args);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "regnet {args:?}: {err}");
        String::from_utf8_lossy(&o.stdout).into_owned() + &err
    }

    /// Array tasks still queued or running.
    fn queued(&self, array: &str) -> usize {
        let o = self
            .cmd("squeue")
            .args(["-h", "-r", "-j", array])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).lines().count()
    }

    fn queued_any(&self) -> usize {
        let o = self.cmd("squeue").args(["-h", "-r"]).output();
        o.map_or(0, |o| String::from_utf8_lossy(&o.stdout).lines().count())
    }

    fn wait_for_array(&self, array: &str) {
        let t = Instant::now();
        while self.queued(array) > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(400),
                "array {array} did not finish"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // A failed test may leave tasks running: end them before the daemons.
        let _ = self.cmd("scancel").args(["--partition", "test"]).status();
        let t = Instant::now();
        while self.queued_any() > 0 && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(300));
        }
        for pid in ["slurmd.pid", "slurmctld.pid", "munge/pid"] {
            if let Ok(p) = std::fs::read_to_string(self.dir.join(pid)) {
                let _ = Command::new("kill").arg(p.trim()).status();
            }
        }
    }
}

fn status(s: &Slurm, sweep: &str) -> Value {
    let o = s.regnet(&["sweep", "status", sweep, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The array job id from `sweep launch`'s message.
fn array_id(out: &str) -> String {
    let at = out.find("array job ").expect(out) + "array job ".len();
    out[at..].split(':').next().unwrap().to_string()
}

#[test]
#[cfg_attr(
    skip_slurm,
    ignore = "REGNET_SKIP_SLURM was set when the tests were built"
)]
fn a_sweep_launched_on_slurm_survives_scancel_and_resubmission() {
    let slurm = Slurm::start();
    let url = crate::pg_server::server().database("slurm");
    let work = tmp("slurm-sweep");
    let sweep = format!("{url}?sweep=s");
    let extra = ["--store", &sweep, "--dir", work.to_str().unwrap()];
    // 1500 images: epochs of a few seconds, so that the one-epoch window
    // below stays open for several status polls on a loaded machine.
    slurm.ok(&strs(&regnetx_init(4, 6, 1500, &extra)));
    let launch = |extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "launch",
            &sweep,
            "--slurm",
            "--parallel-jobs",
            "2",
            "--cpus-per-job",
            "1",
            "--time-limit",
            "15",
            "--lease-seconds",
            "120",
        ];
        args.extend_from_slice(extra);
        slurm.ok(&args)
    };
    let script = launch(&["--dry-run"]);
    assert!(script.contains("#SBATCH --array=0-1\n"), "{script}");
    assert!(script.contains("#SBATCH --requeue\n"), "{script}");
    assert!(script.contains(" sweep worker "), "{script}");
    // On GPUs each task runs K jobs per GPU, each job seeing its own GPU.
    let gpus = launch(&["--dry-run", "--gpus-per-job", "2", "--jobs-per-gpu", "3"]);
    assert!(
        gpus.contains("#SBATCH --gres=gpu:2\n") && gpus.contains(" --gpus 0,1 --jobs-per-gpu 3 "),
        "{gpus}"
    );
    let array = array_id(&launch(&[]));
    // Cancel the task that runs a job with an epoch behind it and four to go
    // (progress is at most one heartbeat, 2 s, old).
    let t = Instant::now();
    let (job, task, node) = loop {
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "no job trained an epoch"
        );
        let s = status(&slurm, &sweep);
        let hit = s["running"].as_array().unwrap().iter().find_map(|r| {
            let p = r["progress"].as_f64().unwrap();
            let owner = r["owner"].as_str().unwrap();
            let task = owner.split("/slurm-").nth(1)?.to_string();
            let job = r["job"].as_str().unwrap().to_string();
            (1.0..2.0)
                .contains(&p)
                .then(|| (job, task, r["node"].clone()))
        });
        if let Some(h) = hit {
            break h;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(task.starts_with(&format!("{array}_")), "{task}");
    assert_eq!(node, host(), "sweep status names the node");
    must(slurm.cmd("scancel").arg(&task));
    slurm.wait_for_array(&array);
    // The other task finished the rest; the cancelled job is still leased to
    // its dead worker (for 120 s). Launching again finds the worker gone
    // from this host and re-queues the job at once.
    let s = status(&slurm, &sweep);
    let logs = || {
        let mut text = String::new();
        for d in [work.join("slurm"), work.join("jobs").join(&job)] {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                let body = std::fs::read_to_string(&p).unwrap_or_default();
                text += &format!("== {}\n{body}\n", p.display());
            }
        }
        text
    };
    assert_eq!(
        (&s["counts"]["done"], &s["counts"]["running"]),
        (&3.into(), &1.into()),
        "{s}\ncancelled {task} running {job}\n{}",
        logs()
    );
    let again = array_id(&launch(&[]));
    slurm.wait_for_array(&again);
    let s = status(&slurm, &sweep);
    assert_eq!(s["counts"]["done"], 4, "{s}");
    let csv = slurm.ok(&["sweep", "export", &sweep, "--format", "csv"]);
    let mut r = csv::Reader::from_reader(csv.as_bytes());
    for rec in r.records() {
        let rec = rec.unwrap();
        let (name, epochs, failures, claims) = (&rec[0], &rec[6], &rec[12], &rec[13]);
        assert_eq!((epochs, failures), ("6", "0"), "{name}");
        let expect = if name == job { "2" } else { "1" };
        assert_eq!(claims, expect, "{name}");
    }
    assert!(slurm.ok(&["sweep", "check", &sweep]).contains("sound"));
    let log = work.join("slurm").join(format!("{array}_0.log"));
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(text.contains(&format!("task 0 of job {array}")), "{text}");
    assert!(Path::new(&work)
        .join("jobs")
        .join(&job)
        .join("stderr.log")
        .exists());
}
