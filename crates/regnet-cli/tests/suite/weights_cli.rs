//! `regnet eval` and `regnet predict` with our own and torchvision's weights.

use crate::common::{regnet, tmp, venv_python};

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use tch::Tensor;

fn export(tv_name: &str, dir: &Path) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/torchvision_reference.py"
    );
    let ok = Command::new(venv_python())
        .args([script, tv_name, dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success(), "export {tv_name}");
}

#[test]
fn predict_with_torchvision_weights_matches_torchvision() {
    // Random-initialised torchvision models with randomized BN statistics,
    // saved as safetensors, as torch.save .pth and as a pycls-style .pyth.
    for (tv, ours) in [
        ("regnet_y_400mf", "RegNetY-400MF"),
        ("regnet_x_800mf", "RegNetX-800MF"),
        ("resnet50", "resnet50"),
    ] {
        let d = tmp(tv);
        export(tv, &d);
        let p = |f: &str| d.join(f).to_str().unwrap().to_string();
        for weights in ["weights.safetensors", "weights.pth", "checkpoint.pyth"] {
            let o = regnet(&[
                "predict",
                "--model",
                ours,
                "--num-classes",
                "10",
                "--weights",
                &p(weights),
                "--input",
                &p("x.npy"),
                "--output",
                &p("ours.npy"),
                "--device",
                "cpu",
            ]);
            assert!(
                o.status.success(),
                "{tv} {weights}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let (a, b) = (
                Tensor::read_npy(p("ours.npy")).unwrap(),
                Tensor::read_npy(p("y.npy")).unwrap(),
            );
            assert_eq!(a.size(), [3, 10]);
            let diff = (a - &b).abs().max().double_value(&[]);
            let scale = b.abs().max().double_value(&[]);
            assert!(
                diff / scale <= 1e-4,
                "{tv} {weights}: max |diff| / max |ref| = {}",
                diff / scale
            );
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn weights_that_do_not_fit_are_listed() {
    let d = tmp("misfit");
    export("regnet_y_400mf", &d);
    let w = d.join("weights.safetensors");
    // torchvision's regnet_y_800mf differs from these weights' architecture.
    let o = regnet(&[
        "predict",
        "--model",
        "regnet_y_800mf",
        "--num-classes",
        "10",
        "--weights",
        w.to_str().unwrap(),
        "--input",
        "x.npy",
        "--output",
        "y.npy",
        "--device",
        "cpu",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("do not fit the model") && e.contains("mis-shaped"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1);
    // Input arrays that are not one, or whose header lies about its data.
    let header = |shape: &str| {
        let mut h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend((h.len() as u16).to_le_bytes());
        f.extend(h.as_bytes());
        f
    };
    let mut lying = header("(1, 3, 4000, 4000)");
    lying.extend([0u8; 8]);
    for (name, bytes, says) in [
        (
            "bad.npy",
            b"not an npy".to_vec(),
            "bad.npy: not a .npy file",
        ),
        ("lying.npy", lying, "does not match the 8 data bytes"),
        (
            "empty.npy",
            header("(1, 3, 0, 0)"),
            "with N, H, W at least 1",
        ),
    ] {
        std::fs::write(d.join(name), bytes).unwrap();
        let model = ["RegNetY-400MF", "--num-classes", "10"];
        let e = predict_error(&model, w.to_str().unwrap(), &d.join(name), &d.join("y.npy"));
        assert!(e.contains(says), "{name}: {e}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn eval_reproduces_the_training_runs_test_error() {
    let d = tmp("eval");
    let tiny = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tiny.yaml");
    let out = d.join("run");
    let o = regnet(&[
        "train",
        tiny,
        "--data",
        "synthetic:200",
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let o = regnet(&[
        "eval",
        out.join("config.yaml").to_str().unwrap(),
        "--weights",
        out.join("model.safetensors").to_str().unwrap(),
        "--data",
        "synthetic:200",
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["n"], 100);
    assert_eq!(e["test_top1_err"], metrics["test_top1_err"]);
    assert_eq!(e["test_top5_err"], metrics["test_top5_err"]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn weights_files_of_the_wrong_kind_say_what_they_are() {
    let d = tmp("wrong-kind");
    let f = |n: &str| d.join(n).display().to_string();
    // Written by PyTorch itself: a pre-1.6 (pickle) torch.save, and a
    // checkpoint dict without its model_state.
    let script = format!(
        "import torch\n\
         sd = {{'w': torch.zeros(2)}}\n\
         torch.save(sd, '{}', _use_new_zipfile_serialization=False)\n\
         torch.save({{'epoch': 3, 'optimizer_state': {{}}}}, '{}')\n",
        f("legacy.pth"),
        f("ckpt.pyth")
    );
    let o = Command::new(venv_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(d.join("noise.bin"), [7u8; 64]).unwrap();
    for (name, says) in [
        ("legacy.pth", "a legacy (pre-zip) torch.save file"),
        (
            "ckpt.pyth",
            "holds no state dict: its entries are \"epoch\", \"optimizer_state\"",
        ),
        (
            "noise.bin",
            "neither a safetensors file nor a torch.save zip",
        ),
    ] {
        let e = predict_error(
            &["RegNetX-200MF"],
            &f(name),
            &d.join("x.npy"),
            &d.join("y.npy"),
        );
        assert!(e.contains(says), "{name}: {e}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// `regnet predict --model MODEL... --weights W --input X --output Y` on
/// CPU, which must fail with one line; that line.
fn predict_error(model: &[&str], weights: &str, input: &Path, output: &Path) -> String {
    let mut args = vec!["predict", "--model"];
    args.extend(model);
    let (input, output) = (input.to_str().unwrap(), output.to_str().unwrap());
    args.extend(["--weights", weights, "--input", input, "--output", output]);
    args.extend(["--device", "cpu"]);
    let o = regnet(&args);
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    e
}
