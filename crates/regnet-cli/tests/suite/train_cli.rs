//! `regnet train` end to end on the synthetic dataset.

use crate::common::{image_folder, ok, regnet, tiny_path, tmp};

use serde_json::Value;
use std::process::Command;

#[test]
fn trains_and_writes_log_metrics_weights_and_config() {
    let out = tmp("train");
    let o = regnet(&[
        "train",
        tiny_path(),
        "--data",
        "synthetic:200",
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // The unsupported option is reported, not dropped silently.
    assert!(
        err.contains("warning: TRAIN.CUTMIX_ALPHA is set but not supported yet"),
        "{err}"
    );
    // OPTIM.EMA_ALPHA keeps a weight EMA, evaluated every epoch and saved.
    assert!(err.contains("ema err "), "{err}");
    assert!(out.join("model_ema.safetensors").exists());
    assert_eq!(err.lines().filter(|l| l.starts_with("epoch ")).count(), 2);
    let log = std::fs::read_to_string(out.join("log.jsonl")).unwrap();
    let epochs: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(epochs.len(), 2);
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i as u64 + 1);
        for k in [
            "lr",
            "lr_end",
            "train_loss",
            "train_top1_err",
            "test_top1_err",
            "test_top5_err",
            "images_per_s",
            "seconds",
        ] {
            assert!(e[k].is_number(), "{k} in {e}");
        }
    }
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "done");
    assert_eq!(m["epochs"], 2);
    assert_eq!(m["test_top1_err"], epochs[1]["test_top1_err"]);
    assert!(out.join("model.safetensors").metadata().unwrap().len() > 1000);
    assert!(out.join("checkpoint.safetensors").exists());
    // The saved config describes the trained model.
    let d = regnet(&[
        "describe",
        out.join("config.yaml").to_str().unwrap(),
        "--json",
    ]);
    let d: Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["params"], m["params"]);
    // A second run into the same directory is refused.
    let again = regnet(&[
        "train",
        tiny_path(),
        "--data",
        "synthetic:200",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a run"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn bad_train_inputs() {
    let o = regnet(&["train", tiny_path(), "--data", "cifar10:/nowhere"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no CIFAR files in '/nowhere'"));
    let err = |data: &str| {
        let o = regnet(&["train", tiny_path(), "--data", data]);
        assert_eq!(o.status.code(), Some(1), "{data}");
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    assert!(err("mnist:/x").contains("'/x' holds no train-images-idx3-ubyte"));
    assert!(err("emnist:/x").contains(
        "use synthetic[:N], fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR or imagefolder:DIR"
    ));
    assert!(err("synthetic:100,train=0").contains("train=0 would leave no images"));
    assert!(err("synthetic:100,valid=10").contains("unknown option 'valid=10'"));
    assert!(err("synthetic:100,test=x").contains("test needs a whole number"));
    assert!(err("synthetic:100,train=500").contains("choose between 1 and the 100 images"));
    let o = regnet(&["train", tiny_path(), "--data", "synthetic:3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 10 images"));
    let o = regnet(&["train", tiny_path(), "--device", "tpu"]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--device tpu: unknown device (allowed: auto, cpu, cuda, cuda:N)"),
        "{e}"
    );
    let o = regnet(&["train", tiny_path(), "--epochs", "0"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 1"));
}

/// A valid model too large for any machine's memory (a stem of 10^6
/// channels: 500 GB of activations per batch) is a one-line libtorch error,
/// not a panic with a C++ backtrace.
#[test]
fn a_model_too_large_to_allocate_is_a_one_line_error() {
    let dir = tmp("too-large");
    let cfg = dir.join("huge.yaml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/anynet_cifar.yaml"
    ))
    .unwrap();
    std::fs::write(&cfg, text.replace("STEM_W: 16", "STEM_W: 1000000")).unwrap();
    let o = regnet(&[
        "train",
        cfg.to_str().unwrap(),
        "--data",
        "synthetic:256",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--out",
        dir.join("run").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: libtorch: ") && last.contains("can't allocate memory"),
        "{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("frame #"),
        "{err}"
    );
}

#[test]
fn amp_on_cpu_says_it_stays_float32_and_trains() {
    let out = tmp("amp");
    let o = regnet(&[
        "train",
        tiny_path(),
        "--data",
        "synthetic:200",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--amp",
        "--out",
        out.join("run").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains(
            "mixed precision casts to float16 on CUDA only; on Cpu training stays float32"
        ),
        "{err}"
    );
    assert!(out.join("run/model.safetensors").exists());
}

#[test]
fn a_diverging_run_exits_with_code_3() {
    let out = tmp("diverge");
    let o = regnet(&[
        "train",
        tiny_path(),
        "--data",
        "synthetic:64",
        "--lr",
        "1e12",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "diverged");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_killed_run_resumes_to_the_same_result() {
    let base = tmp("resume-cli");
    let (full, part) = (base.join("full"), base.join("part"));
    let args = |out: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = [
            "train",
            tiny_path(),
            "--data",
            "synthetic:400",
            "--threads",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend([
            "--epochs".into(),
            "3".into(),
            "--out".into(),
            out.display().to_string(),
        ]);
        v
    };
    let full_args = args(&full);
    let full_refs: Vec<&str> = full_args.iter().map(String::as_str).collect();
    assert!(regnet(&full_refs).status.success());
    // Kill (SIGKILL) the second run as soon as its first checkpoint exists.
    let mut child = Command::new(env!("CARGO_BIN_EXE_regnet"))
        .args(args(&part))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ckpt = part.join("checkpoint.safetensors");
    while !ckpt.exists() {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut resume = args(&part);
    resume.push("--resume".into());
    let resume_refs: Vec<&str> = resume.iter().map(String::as_str).collect();
    let o = regnet(&resume_refs);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let read = |d: &std::path::Path| -> Vec<Value> {
        std::fs::read_to_string(d.join("log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (a, b) = (read(&full), read(&part));
    let last = |v: &[Value]| v.last().unwrap().clone();
    let epochs: Vec<u64> = b.iter().map(|e| e["epoch"].as_u64().unwrap()).collect();
    assert_eq!(epochs, [1, 2, 3], "each epoch logged once");
    for k in ["train_loss", "test_top1_err", "test_top5_err", "lr"] {
        assert_eq!(last(&a)[k], last(&b)[k], "{k}");
    }
    let o = regnet(&[
        "train",
        tiny_path(),
        "--resume",
        "--out",
        base.join("none").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds no checkpoint.safetensors"));
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn trains_on_cifar_binary_files() {
    // A miniature CIFAR-10 in the official binary layout: 5 train batches, 1 test.
    let dir = tmp("cifar-cli");
    let batch = |n: usize, salt: u8| -> Vec<u8> {
        (0..n)
            .flat_map(|k| {
                let label = (k % 10) as u8;
                std::iter::once(label)
                    .chain((0..3072).map(move |p| ((p * 7 + k * 13) as u8) ^ salt))
            })
            .collect()
    };
    for i in 1..=5u8 {
        std::fs::write(dir.join(format!("data_batch_{i}.bin")), batch(20, i)).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), batch(20, 99)).unwrap();
    let out = dir.join("run");
    let data = format!("cifar10:{}", dir.display());
    let o = regnet(&[
        "train",
        tiny_path(),
        "--data",
        &data,
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("on 100 CIFAR-10 images"), "{err}");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["status"], "done");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trains_on_an_image_folder_and_names_or_skips_bad_files() {
    let d = tmp("imagefolder");
    let data = d.join("data");
    image_folder(&data, 24, 8);
    let spec = format!("imagefolder:{}", data.display());
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            tiny_path(),
            "--data",
            &spec,
            "--epochs",
            "2",
            "--threads",
            "1",
            "--out",
        ];
        let out = d.join(out);
        let out = out.to_str().unwrap().to_string();
        args.push(&out);
        args.extend_from_slice(extra);
        let o = regnet(&args);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
            out,
        )
    };
    let (ok, err, out) = run("a", &[]);
    assert!(ok, "{err}");
    assert!(
        err.contains("10 classes -> 2 to match the dataset"),
        "{err}"
    );
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{out}/metrics.json")).unwrap())
            .unwrap();
    // red vs green is trivial: well below the 50% of chance after 2 epochs
    assert!(m["test_top1_err"].as_f64().unwrap() < 25.0, "{m}");
    std::fs::write(data.join("train/red/bad.png"), b"broken").unwrap();
    let (ok, err, _) = run("b", &[]);
    assert!(!ok);
    assert!(
        err.contains("cannot decode image") && err.contains("bad.png"),
        "{err}"
    );
    let (ok, err, _) = run("c", &["--skip-bad-images"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("warning: skipped 1 unreadable train images"),
        "{err}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// pycls's `get_epoch_lr` (pycls/core/optimizer.py), written out here for the
/// test: BASE_LR 0.4, MAX_EPOCH 5, WARMUP_EPOCHS 2, WARMUP_FACTOR 0.1,
/// MIN_LR 0.05, STEPS [0, 2, 4] with LR_MULT 0.5.
fn pycls_epoch_lr(policy: &str, epoch: usize) -> f64 {
    let (e, max, min_lr) = (epoch as f64, 5.0, 0.05);
    let f = match policy {
        "cos" => (1.0 - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * e / max).cos()) + min_lr,
        "lin" => (1.0 - min_lr) * (1.0 - e / max) + min_lr,
        "exp" => f64::powf(min_lr, e / max),
        _ => 0.5f64.powi([0.0, 2.0, 4.0].iter().filter(|&&s| e >= s).count() as i32 - 1),
    };
    let warm = if e < 2.0 {
        0.1 * (1.0 - e / 2.0) + e / 2.0
    } else {
        1.0
    };
    0.4 * f * warm
}

fn log_of(dir: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_lr_follows_pycls_get_epoch_lr_for_every_policy() {
    let dir = tmp("lr-policies");
    for policy in ["cos", "exp", "lin", "steps"] {
        let cfg = dir.join(format!("{policy}.yaml"));
        std::fs::write(
            &cfg,
            format!(
                "MODEL: {{TYPE: anynet, NUM_CLASSES: 10}}\n\
                 ANYNET: {{STEM_TYPE: res_stem_cifar, STEM_W: 8, BLOCK_TYPE: res_basic_block,\n\
                   DEPTHS: [1], WIDTHS: [8], STRIDES: [1]}}\n\
                 OPTIM: {{LR_POLICY: {policy}, BASE_LR: 0.4, MAX_EPOCH: 5, WARMUP_EPOCHS: 2,\n\
                   MIN_LR: 0.05, STEPS: [0, 2, 4], LR_MULT: 0.5}}\n\
                 TRAIN: {{BATCH_SIZE: 16, IM_SIZE: 32}}\nBN: {{USE_PRECISE_STATS: False}}\n"
            ),
        )
        .unwrap();
        let out = dir.join(policy);
        let args = [
            "train",
            cfg.to_str().unwrap(),
            "--data",
            "synthetic:40",
            "--out",
            out.to_str().unwrap(),
            "--threads",
            "1",
            "--device",
            "cpu",
        ];
        let o = regnet(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for (i, e) in log_of(&out).iter().enumerate() {
            let want = pycls_epoch_lr(policy, i);
            let (lr, end) = (e["lr"].as_f64().unwrap(), e["lr_end"].as_f64().unwrap());
            assert!(
                (lr - want).abs() < 1e-12,
                "{policy} epoch {i}: {lr} vs {want}"
            );
            assert_eq!(lr, end, "{policy} epoch {i}: set once per epoch");
        }
        if policy != "cos" {
            continue;
        }
        // --lr-update iter: each epoch starts at the same value, and its last
        // batch (the second of two) uses the schedule at epoch + 1/2.
        let per_iter = dir.join("cos-iter");
        let mut args = args.to_vec();
        args[5] = per_iter.to_str().unwrap();
        args.extend(["--lr-update", "iter"]);
        let o = regnet(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for (i, e) in log_of(&per_iter).iter().enumerate() {
            let (lr, end) = (e["lr"].as_f64().unwrap(), e["lr_end"].as_f64().unwrap());
            assert!((lr - pycls_epoch_lr("cos", i)).abs() < 1e-12);
            let mid = i as f64 + 0.5;
            let f = 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * mid / 5.0).cos()) + 0.05;
            let warm = if mid < 2.0 {
                0.1 * (1.0 - mid / 2.0) + mid / 2.0
            } else {
                1.0
            };
            assert!((end - 0.4 * f * warm).abs() < 1e-12, "epoch {i}: {end}");
        }
        // The run's own config records the update rule.
        let cfg: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(per_iter.join("config.yaml")).unwrap())
                .unwrap();
        assert_eq!(cfg["TOOLKIT"]["LR_UPDATE"].as_str(), Some("iter"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn trains_on_a_balanced_fashion_mnist_subset() {
    let present = std::path::Path::new("/usr/share/datasets/fashion-mnist").is_dir();
    if !crate::common::set_up(present, "Debian's dataset-fashion-mnist") {
        return;
    }
    let out = tmp("fashion");
    let o = regnet(&[
        "train",
        tiny_path(),
        "--data",
        "fashion-mnist,train=500,test=200",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
        "--device",
        "cpu",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("on 500 Fashion-MNIST images"), "{err}");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    // Chance is 90%; two short epochs of real images already do better.
    assert!(m["test_top1_err"].as_f64().unwrap() < 85.0, "{m}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// A tiny model whose recipe differs from pycls's defaults where a rebuilt
/// network would notice: BN epsilon, test view resolution, data seed.
const PROVENANCE: &str = "MODEL: {TYPE: anynet, NUM_CLASSES: 2}
ANYNET: {STEM_TYPE: res_stem_cifar, STEM_W: 8, BLOCK_TYPE: res_basic_block, DEPTHS: [1, 1], WIDTHS: [8, 16], STRIDES: [1, 2]}
OPTIM: {BASE_LR: 0.1, MAX_EPOCH: 2, EMA_ALPHA: 0.0}
TRAIN: {BATCH_SIZE: 8, IM_SIZE: 32}
TEST: {IM_SIZE: 48}
BN: {EPS: 0.5, USE_PRECISE_STATS: False}
";

fn recorded_error(run: &std::path::Path) -> f64 {
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    m["test_top1_err"].as_f64().unwrap()
}

fn eval_error(args: &[&str]) -> f64 {
    let out = ok(args);
    let line = out.lines().find(|l| l.starts_with('{')).unwrap();
    let v: Value = serde_json::from_str(line).unwrap();
    v["test_top1_err"].as_f64().unwrap()
}

#[test]
fn a_run_is_reproduced_and_exported_from_its_own_directory() {
    let d = tmp("provenance");
    let folder = d.join("folder");
    image_folder(&folder, 12, 6);
    let cfg = d.join("cfg.yaml");
    std::fs::write(&cfg, PROVENANCE).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let data = format!("imagefolder:{}", s(&folder));
    let run = d.join("run");
    ok(&[
        "train",
        &s(&cfg),
        "--data",
        &data,
        "--out",
        &s(&run),
        "--threads",
        "1",
    ]);
    // The record: the config states every recipe key, the record the data
    // and the normalization actually used (ImageNet's for folders, as
    // torchvision publishes it).
    let config = std::fs::read_to_string(run.join("config.yaml")).unwrap();
    let config: serde_yaml::Value = serde_yaml::from_str(&config).unwrap();
    assert_eq!(config["BN"]["EPS"].as_f64(), Some(0.5));
    assert_eq!(config["TEST"]["IM_SIZE"].as_u64(), Some(48));
    assert_eq!(config["OPTIM"]["WEIGHT_DECAY"].as_f64(), Some(5e-4));
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["data"], data.as_str());
    assert_eq!(
        record["preprocess"]["mean"],
        serde_json::json!([0.485, 0.456, 0.406])
    );
    assert_eq!(
        record["preprocess"]["std"],
        serde_json::json!([0.229, 0.224, 0.225])
    );
    assert_eq!(record["preprocess"]["im_size"], 32);
    assert_eq!(record["threads"], 1);
    assert!(record["commit"].as_str().unwrap().len() >= 40, "{record}");
    // Evaluated from its directory (data, weights, BN.EPS, TEST.IM_SIZE all
    // from the run's files), and from its config as the docs show: the
    // recorded error exactly.
    let recorded = recorded_error(&run);
    assert_eq!(eval_error(&["eval", &s(&run)]), recorded);
    let weights = s(&run.join("model.safetensors"));
    let args = [
        "eval",
        &s(&run.join("config.yaml")),
        "--weights",
        &weights,
        "--data",
        &data,
    ];
    assert_eq!(eval_error(&args), recorded);

    // The synthetic set's normalization comes from its (seeded) training
    // split; the run's own normalization is what eval applies.
    let srun = d.join("synthetic");
    let sdata = "synthetic:160,seed=7";
    let (scfg, sout) = (s(&cfg), s(&srun));
    let strain = |data: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "train",
            scfg.as_str(),
            "--data",
            data,
            "--out",
            sout.as_str(),
        ];
        args.extend(extra);
        args.into_iter().map(String::from).collect()
    };
    ok(&crate::common::strs(&strain(sdata, &["--threads", "1"])));
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(srun.join("run.json")).unwrap()).unwrap();
    assert_ne!(
        rec["preprocess"]["mean"],
        serde_json::json!([0.485, 0.456, 0.406])
    );
    assert_eq!(eval_error(&["eval", &s(&srun)]), recorded_error(&srun));

    // Exported from the directory: the ONNX graph gives predict's logits and
    // carries the preprocessing in its metadata.
    let x = d.join("x.npy");
    let status = Command::new(crate::common::venv_python())
        .args(["-c", "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(0).standard_normal((3, 3, 32, 32)).astype(np.float32))", &s(&x)])
        .status()
        .unwrap();
    assert!(status.success());
    let y = d.join("y.npy");
    ok(&[
        "predict",
        "--model",
        &s(&srun),
        "--input",
        &s(&x),
        "--output",
        &s(&y),
    ]);
    let onnx = d.join("m.onnx");
    ok(&[
        "export",
        "--model",
        &s(&srun),
        "--to",
        "onnx",
        "--out",
        &s(&onnx),
    ]);
    let check = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/export_check.py"
    );
    let py = |args: &[&str]| {
        let o = Command::new(crate::common::venv_python())
            .arg(check)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    py(&["onnx", &s(&onnx), &s(&x), &s(&y)]);
    let meta: Value = serde_json::from_str(py(&["metadata", &s(&onnx)]).trim()).unwrap();
    let as_json = |k: &str| serde_json::from_str::<Value>(meta[k].as_str().unwrap()).unwrap();
    assert_eq!(as_json("mean"), rec["preprocess"]["mean"]);
    assert_eq!(as_json("std"), rec["preprocess"]["std"]);
    assert_eq!(meta["input_size"], "32");
    assert_eq!(meta["num_classes"], "10");
    // The network rebuilt from the model sections alone (the old run
    // config) is another network: its BN epsilon gives other logits.
    let bare = d.join("bare.yaml");
    let mut model_only = serde_yaml::Mapping::new();
    for k in ["MODEL", "ANYNET", "TRAIN"] {
        model_only.insert(k.into(), config[k].clone());
    }
    let mut model_only = serde_yaml::Value::Mapping(model_only);
    model_only["MODEL"]["NUM_CLASSES"] = 10.into();
    std::fs::write(&bare, serde_yaml::to_string(&model_only).unwrap()).unwrap();
    let y2 = d.join("y2.npy");
    let weights = s(&srun.join("model.safetensors"));
    ok(&[
        "predict",
        "--model",
        &s(&bare),
        "--weights",
        &weights,
        "--input",
        &s(&x),
        "--output",
        &s(&y2),
    ]);
    assert_ne!(std::fs::read(&y).unwrap(), std::fs::read(&y2).unwrap());

    // Resuming with another recipe is refused in one line naming the key.
    let e = crate::common::fails(&crate::common::strs(&strain(
        sdata,
        &["--lr", "0.05", "--resume"],
    )));
    assert!(
        e.contains("OPTIM.BASE_LR was 0.1") && e.contains("0.05"),
        "{e}"
    );
    let e = crate::common::fails(&crate::common::strs(&strain(
        "synthetic:160",
        &["--resume"],
    )));
    assert!(e.contains("--data was 'synthetic:160,seed=7'"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}
