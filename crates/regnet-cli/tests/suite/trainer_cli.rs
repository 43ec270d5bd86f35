//! Sweeps trained by a command of the user's own (`TRAINER`): a pycls
//! trainer built on pycls 0.1.1's own model code and logging (the `pycls`
//! format), and a torchvision RegNet trainer (the `jsonl` format), both in
//! the project venv (tests/trainers). What the store holds must be what the
//! trainer printed, through crashes, retries, SIGKILLs, hangs and garbage.

use crate::common::{kill_at_random_points, ok, series, set_up, status, strs, tmp, venv_python};
use crate::refine_cli::{refine_args, step_dirs};

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const TRAINERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/trainers");
const FASHION: &str = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const EPOCHS: usize = 3;

/// Whether the venv has what the trainers import and the dataset is there.
fn ready() -> bool {
    let imports = Command::new(venv_python())
        .args([
            "-c",
            "import torch, torchvision, yaml, simplejson, pycls.core.meters",
        ])
        .status()
        .is_ok_and(|s| s.success());
    set_up(
        imports && Path::new(FASHION).exists(),
        "the venv's pycls, torchvision and simplejson, and Fashion-MNIST",
    )
}

/// A sweep config: `n` small AnyNetX-A models on 256 Fashion-MNIST images,
/// trained by `script` reporting in `format`, written into `dir`.
fn sweep_config(dir: &Path, script: &str, format: &str, n: usize, attempts: u32) -> PathBuf {
    let path = dir.join("sweep.yaml");
    let text = format!(
        "NAME: ext\nSPACE: anynetx-a\nNUM_CONFIGS: {n}\nFLOPS: 2M:6M\nIM_SIZE: 32\n\
         DATA: fashion-mnist,train=256,test=128\nMAX_ATTEMPTS: {attempts}\n\
         OPTIM: {{MAX_EPOCH: {EPOCHS}, BASE_LR: 0.02}}\nTRAIN: {{BATCH_SIZE: 64}}\n\
         TRAINER:\n  COMMAND: [{py}, {TRAINERS}/{script}, \"{{config}}\", \"{{out_dir}}\"]\n  FORMAT: {format}\n",
        py = venv_python()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn init(dir: &Path, config: &Path) -> PathBuf {
    let sweep = dir.join("sw");
    ok(&[
        "sweep",
        "init",
        config.to_str().unwrap(),
        "--dir",
        sweep.to_str().unwrap(),
    ]);
    sweep
}

fn run_args(sweep: &Path) -> Vec<String> {
    [
        "sweep",
        "run",
        sweep.to_str().unwrap(),
        "--workers",
        "2",
        "--quiet",
    ]
    .map(String::from)
    .to_vec()
}

/// Runs the sweep with `env` set for its jobs (and so their trainers).
fn run_with(sweep: &Path, env: &[(&str, &str)], extra: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(run_args(sweep))
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

/// Each job's stdout log (the trainer's standard output).
fn log(sweep: &Path, job: &str) -> String {
    std::fs::read_to_string(sweep.join("jobs").join(job).join("stdout.log")).unwrap()
}

/// The objects after pycls's `json_stats: ` tag of one `_type`, read here
/// independently of the sweep's reader.
fn pycls_stats(log: &str, kind: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| l.split_once("json_stats: "))
        .map(|(_, j)| serde_json::from_str::<Value>(j).unwrap())
        .filter(|v| v["_type"] == kind)
        .collect()
}

/// The jsonl trainer's epoch lines, first of each epoch (a resumed trainer
/// prints its history again, identical).
fn jsonl_epochs(log: &str) -> BTreeMap<u64, Value> {
    let mut m = BTreeMap::new();
    for v in log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("epoch").is_some())
    {
        let e = v["epoch"].as_u64().unwrap();
        if let Some(first) = m.get(&e) {
            assert_eq!(first, &v, "epoch {e} printed twice with other numbers");
        }
        m.entry(e).or_insert(v);
    }
    m
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The pids the trainers wrote are gone: no trainer outlived its job (the
/// kernel takes a moment to end one whose job process was killed).
fn no_trainer_left(sweep: &Path) {
    for entry in std::fs::read_dir(sweep.join("jobs")).unwrap() {
        let Ok(pid) = std::fs::read_to_string(entry.unwrap().path().join("trainer.pid")) else {
            continue;
        };
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
                .is_ok_and(|s| !s.contains(") Z ") && !s.contains(") X "))
        };
        let start = Instant::now();
        while alive() && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!alive(), "trainer {pid} is still running");
    }
}

/// pycls's trainer, crashing once at the start of epoch 2: the retry resumes
/// from pycls's own checkpoint, and the store holds exactly the numbers of
/// pycls's json_stats lines, each epoch once.
#[test]
fn a_pycls_trainer_is_recorded_as_pycls_logged_it() {
    if !ready() {
        return;
    }
    let d = tmp("trainer-pycls");
    let sweep = init(&d, &sweep_config(&d, "pycls_trainer.py", "pycls", 2, 3));
    // The job's pycls config is what pycls itself can read.
    run_with(&sweep, &[("TRAINER_TEST_CRASH_AT", "1")], &[]);
    let c = &status(&sweep)["counts"];
    assert_eq!(
        (c["done"].as_u64(), c["failed"].as_u64()),
        (Some(2), Some(0))
    );
    for (job, r) in series(&sweep) {
        let log = log(&sweep, &job);
        let test = pycls_stats(&log, "test_epoch");
        let train = pycls_stats(&log, "train_epoch");
        let printed: Vec<f64> = test
            .iter()
            .map(|t| t["top1_err"].as_f64().unwrap())
            .collect();
        assert_eq!(
            printed.len(),
            EPOCHS,
            "{job}: each epoch tested once\n{log}"
        );
        assert_eq!(f64s(&r["test_epoch"]["top1_err"]), printed, "{job}");
        let top5: Vec<f64> = test
            .iter()
            .map(|t| t["top5_err"].as_f64().unwrap())
            .collect();
        assert_eq!(f64s(&r["test_epoch"]["top5_err"]), top5, "{job}");
        let loss: Vec<f64> = train.iter().map(|t| t["loss"].as_f64().unwrap()).collect();
        assert_eq!(f64s(&r["train_epoch"]["loss"]), loss, "{job}");
        let lr: Vec<f64> = train.iter().map(|t| t["lr"].as_f64().unwrap()).collect();
        assert_eq!(f64s(&r["train_epoch"]["lr"]), lr, "{job}");
        // The crash cost one attempt, and the retry resumed after epoch 1.
        assert_eq!(
            (
                r["regnet"]["failures"].as_u64(),
                r["regnet"]["claims"].as_u64()
            ),
            (Some(1), Some(2))
        );
        assert!(
            log.contains("Loaded checkpoint from:") && log.contains("model_epoch_0001.pyth"),
            "{log}"
        );
        assert!(r["err"].as_str().unwrap().is_empty());
    }
    no_trainer_left(&sweep);
}

/// torchvision's RegNet trainer (jsonl), crashing once at the start of its
/// last epoch and printing its history again when resumed; then a second
/// sweep whose `sweep run` is SIGKILLed at random points and rerun: every
/// job ends once with each epoch as the trainer printed it, extras kept.
#[test]
fn a_jsonl_trainer_survives_crashes_and_kills() {
    if !ready() {
        return;
    }
    let d = tmp("trainer-jsonl");
    let config = sweep_config(&d, "torchvision_trainer.py", "jsonl", 3, 3);
    let sweep = init(&d, &config);
    let start = Instant::now();
    run_with(&sweep, &[("TRAINER_TEST_CRASH_AT", "2")], &[]);
    let span = start.elapsed().as_secs_f64();
    check_jsonl(&sweep, 3, Some(1));

    let killed = d.join("killed");
    ok(&[
        "sweep",
        "init",
        config.to_str().unwrap(),
        "--dir",
        killed.to_str().unwrap(),
    ]);
    kill_at_random_points(&run_args(&killed), 3, span);
    no_trainer_left(&killed);
    run_with(&killed, &[], &[]);
    check_jsonl(&killed, 3, None);
    no_trainer_left(&killed);
}

/// `regnet refine` with a TRAINER in its recipe: every population of the
/// loop is trained by that command, and each model's numbers, which the
/// loop's decisions read, are the ones the trainer printed. (The recipe is
/// refine_cli's small one; the test trainer builds torchvision's own stem,
/// not the CIFAR stem the recipe names, which the loop cannot tell.)
#[test]
fn refine_trains_every_population_with_the_recipes_trainer() {
    if !ready() {
        return;
    }
    let d = tmp("trainer-refine");
    let recipe = d.join("recipe.yaml");
    std::fs::write(
        &recipe,
        format!(
            "STEM_TYPE: res_stem_cifar\nSTEM_W: 8\nNUM_STAGES: 2\nIM_SIZE: 32\nOPTIM: {{MAX_EPOCH: {EPOCHS}, BASE_LR: 0.02}}\nTRAIN: {{BATCH_SIZE: 64}}\n\
             TRAINER:\n  COMMAND: [{py}, {TRAINERS}/torchvision_trainer.py, \"{{config}}\", \"{{out_dir}}\"]\n  FORMAT: jsonl\n",
            py = venv_python()
        ),
    )
    .unwrap();
    let dir = d.join("loop");
    let args = refine_args(
        &dir,
        "0.5M:1M",
        "fashion-mnist,train=256,test=128",
        recipe.to_str().unwrap(),
        12,
    );
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("budget spent (12 models)"), "{out}");
    let steps = step_dirs(&dir);
    assert!(steps.len() >= 2, "{out}");
    let mut models = 0;
    for step in &steps {
        let step = Path::new(step);
        let jobs = series(step).len() as u64;
        check_jsonl(step, jobs, Some(0));
        models += jobs;
    }
    assert_eq!(models, 12);
}

/// Every one of `jobs` jobs done, its epochs as printed; `failures` each,
/// when given.
fn check_jsonl(sweep: &Path, jobs: u64, failures: Option<u64>) {
    let c = &status(sweep)["counts"];
    assert_eq!(
        (c["done"].as_u64(), c["failed"].as_u64()),
        (Some(jobs), Some(0))
    );
    for (job, r) in series(sweep) {
        let printed = jsonl_epochs(&log(sweep, &job));
        assert_eq!(printed.len(), EPOCHS, "{job}");
        for (key, field) in [
            ("test_epoch", "top1_err"),
            ("test_epoch", "top5_err"),
            ("train_epoch", "loss"),
            ("train_epoch", "top1_err"),
            ("train_epoch", "lr"),
        ] {
            let name = match (key, field) {
                ("train_epoch", "loss") => "train_loss".to_string(),
                ("train_epoch", f) if f != "lr" => format!("train_{f}"),
                ("test_epoch", f) => format!("test_{f}"),
                (_, f) => f.to_string(),
            };
            let want: Vec<f64> = printed
                .values()
                .map(|v| v[&name].as_f64().unwrap())
                .collect();
            assert_eq!(f64s(&r[key][field]), want, "{job} {name}");
        }
        let params: Vec<&Value> = printed.values().map(|v| &v["torchvision_params"]).collect();
        assert_eq!(
            r["extra_epoch"]["torchvision_params"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            params,
            "{job}"
        );
        if let Some(f) = failures {
            assert_eq!(r["regnet"]["failures"].as_u64(), Some(f), "{job}");
        }
    }
}

/// A trainer that hangs is killed by the stall watchdog with its process
/// group; one that prints a NaN record fails naming the line, keeping the
/// epoch it reported before.
#[test]
fn hung_and_garbled_trainers_fail_with_a_reason() {
    if !ready() {
        return;
    }
    let d = tmp("trainer-bad");
    let hung = d.join("hung");
    std::fs::create_dir_all(&hung).unwrap();
    let sweep = init(
        &hung,
        &sweep_config(&hung, "torchvision_trainer.py", "jsonl", 1, 1),
    );
    // 24 s: the window must outlast starting Python and torch and the
    // first epoch on a loaded 2-core machine, or the watchdog fires first.
    run_with(
        &sweep,
        &[("TRAINER_TEST_HANG_AT", "1")],
        &["--stall-minutes", "0.4"],
    );
    let (_, r) = &series(&sweep)[0];
    let err = r["err"].as_str().unwrap();
    assert!(err.starts_with("stalled: no progress for"), "{err}");
    assert_eq!(r["regnet"]["state"], "failed");
    assert_eq!(f64s(&r["test_epoch"]["top1_err"]).len(), 1);
    no_trainer_left(&sweep);

    let garbled = d.join("garbled");
    std::fs::create_dir_all(&garbled).unwrap();
    let sweep = init(
        &garbled,
        &sweep_config(&garbled, "torchvision_trainer.py", "jsonl", 1, 1),
    );
    run_with(&sweep, &[("TRAINER_TEST_GARBAGE", "1")], &[]);
    let (_, r) = &series(&sweep)[0];
    let err = r["err"].as_str().unwrap();
    assert!(
        err.starts_with("trainer output line ")
            && err.contains("NaN or infinite")
            && err.ends_with(r#"{"epoch": 2, "test_top1_err": NaN}"#),
        "{err}"
    );
    assert_eq!(f64s(&r["test_epoch"]["top1_err"]).len(), 1);
    no_trainer_left(&sweep);
}

/// A jsonl trainer reporting through `TRAINER.FILE`: the store holds the
/// file's records; its standard output (words only) is just logged.
#[test]
fn a_jsonl_trainer_may_report_through_a_file() {
    if !ready() {
        return;
    }
    let d = tmp("trainer-file");
    let config = sweep_config(&d, "torchvision_trainer.py", "jsonl", 1, 1);
    let text = std::fs::read_to_string(&config).unwrap() + "  FILE: records.jsonl\n";
    std::fs::write(&config, text).unwrap();
    let sweep = init(&d, &config);
    run_with(&sweep, &[("TRAINER_TEST_RECORDS", "records.jsonl")], &[]);
    let (job, r) = &series(&sweep)[0];
    assert_eq!(r["regnet"]["state"], "done", "{r}");
    let file = std::fs::read_to_string(sweep.join("jobs").join(job).join("records.jsonl")).unwrap();
    let printed = jsonl_epochs(&file);
    assert_eq!(printed.len(), EPOCHS);
    let want: Vec<f64> = printed
        .values()
        .map(|v| v["test_top1_err"].as_f64().unwrap())
        .collect();
    assert_eq!(f64s(&r["test_epoch"]["top1_err"]), want);
    assert!(log(&sweep, job).contains("epoch 3 done"));
    assert!(jsonl_epochs(&log(&sweep, job)).is_empty());
}

/// `sweep init --trainer` takes the command as a shell-quoted line, and
/// refuses an unknown placeholder or format with one line.
#[test]
fn sweep_init_takes_a_trainer_command() {
    let d = tmp("trainer-init");
    let cfg = d.join("s.yaml");
    std::fs::write(
        &cfg,
        "NAME: t\nSPACE: anynetx-a\nNUM_CONFIGS: 2\nFLOPS: 2M:6M\nIM_SIZE: 32\nDATA: synthetic:64\n",
    )
    .unwrap();
    let dir = d.join("sw");
    let c = cfg.to_str().unwrap();
    let args = [
        "sweep",
        "init",
        c,
        "--dir",
        dir.to_str().unwrap(),
        "--trainer-format",
        "pycls",
    ];
    let mut with = args.to_vec();
    with.extend([
        "--trainer",
        "python 'my train.py' --cfg {config} OUT_DIR {out_dir}",
    ]);
    ok(&with);
    let db = rusqlite_settings(&dir);
    assert_eq!(
        db["trainer"],
        serde_json::json!({"command": ["python", "my train.py", "--cfg", "{config}", "OUT_DIR", "{out_dir}"], "format": "pycls"})
    );
    let mut bad = args.to_vec();
    bad.extend(["--force", "--trainer", "python t.py {cfg}"]);
    let e = crate::common::fails(&bad);
    assert!(
        e.contains("--trainer: ") && e.contains("unknown placeholder in '{cfg}'"),
        "{e}"
    );
    std::fs::write(
        &cfg,
        std::fs::read_to_string(&cfg).unwrap() + "TRAINER: {COMMAND: [python], FORMAT: csv}\n",
    )
    .unwrap();
    let e = crate::common::fails(&strs(&[
        "sweep".into(),
        "init".into(),
        c.into(),
        "--dir".into(),
        d.join("x").display().to_string(),
    ]));
    assert!(
        e.contains("TRAINER.FORMAT: unknown trainer format 'csv' (allowed: jsonl or pycls)"),
        "{e}"
    );
}

/// The sweep's settings as stored (the info row of its SQLite store).
fn rusqlite_settings(dir: &Path) -> Value {
    let c = rusqlite::Connection::open(dir.join("sweep.db")).unwrap();
    let info: String = c
        .query_row("SELECT value FROM meta WHERE key = 'info'", [], |r| {
            r.get(0)
        })
        .unwrap();
    serde_json::from_str::<Value>(&info).unwrap()["settings"].clone()
}

/// `--gpus 0,1 --jobs-per-gpu 2` under CUDA_VISIBLE_DEVICES=4,6 on this
/// CPU machine: each job process sees exactly one of GPUs 4 and 6 (as
/// cuda:0), both are used, and neither ever runs more than two jobs at once
/// (from the start and end times each trainer logs).
#[test]
fn jobs_are_placed_on_gpus_by_slot() {
    let d = tmp("trainer-gpus");
    let trainer = d.join("place.py");
    std::fs::write(
        &trainer,
        "import json, os, sys, time\n\
         log = open(sys.argv[1], 'a')\n\
         seen = os.environ['CUDA_VISIBLE_DEVICES'] + ' ' + os.environ['REGNET_DEVICE']\n\
         log.write('%s start %f\\n' % (seen, time.time())); log.flush()\n\
         time.sleep(0.4)\n\
         log.write('%s end %f\\n' % (seen, time.time())); log.flush()\n\
         print(json.dumps({'epoch': 1, 'test_top1_err': 50.0}), flush=True)\n",
    )
    .unwrap();
    let places = d.join("places.log");
    let cfg = d.join("s.yaml");
    std::fs::write(
        &cfg,
        format!(
            "NAME: g\nSPACE: anynetx-a\nNUM_CONFIGS: 8\nFLOPS: 2M:6M\nIM_SIZE: 32\nDATA: synthetic:64\n\
             OPTIM: {{MAX_EPOCH: 1}}\nTRAINER: {{COMMAND: [python3, {}, {}]}}\n",
            trainer.display(),
            places.display()
        ),
    )
    .unwrap();
    let sweep = init(&d, &cfg);
    let o = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args([
            "sweep",
            "run",
            sweep.to_str().unwrap(),
            "--gpus",
            "0,1",
            "--jobs-per-gpu",
            "2",
            "--quiet",
        ])
        .env("CUDA_VISIBLE_DEVICES", "4,6")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("4 workers") && err.contains("GPUs 0,1 (2 jobs each)"),
        "{err}"
    );
    assert_eq!(status(&sweep)["counts"]["done"], 8);
    let log = std::fs::read_to_string(&places).unwrap();
    let mut events: Vec<(f64, &str, i32)> = log
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f[1], "cuda:0", "{l}");
            (
                f[3].parse().unwrap(),
                f[0],
                if f[2] == "start" { 1 } else { -1 },
            )
        })
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut at_once: BTreeMap<&str, i32> = BTreeMap::new();
    for (_, gpu, step) in &events {
        let n = at_once.entry(gpu).or_default();
        *n += step;
        assert!(*n <= 2, "GPU {gpu} ran {n} jobs at once:\n{log}");
    }
    assert_eq!(
        at_once.keys().copied().collect::<Vec<_>>(),
        ["4", "6"],
        "{log}"
    );
    assert_eq!(events.len(), 16, "{log}");
    let e = crate::common::fails(&[
        "sweep",
        "run",
        sweep.to_str().unwrap(),
        "--gpus",
        "0",
        "--workers",
        "3",
    ]);
    assert!(
        e.contains("--workers 3 and --gpus/--jobs-per-gpu (1 jobs at once) disagree"),
        "{e}"
    );
    let e = crate::common::fails(&[
        "sweep",
        "run",
        sweep.to_str().unwrap(),
        "--jobs-per-gpu",
        "2",
        "--device",
        "cpu",
    ]);
    assert!(
        e.contains("--jobs-per-gpu: --device cpu places no job on a GPU"),
        "{e}"
    );
}
