//! `regnet export`: each format loaded by the tool it is for (torchvision,
//! pycls 0.1.1's own model code and `load_checkpoint`, `torch.jit.load`,
//! onnxruntime; installed into the venv by scripts/test) gives the logits
//! `regnet predict` gives, and weights survive round trips byte for byte.

use crate::common::{fails, ok, tmp, venv_python};

use regnet_engine::{BuiltModel, Device, InitConfig};
use std::path::Path;
use std::process::Command;
use tch::{Kind, Tensor};

/// A sampled AnyNet: bottleneck blocks with a different bottleneck
/// multiplier and group width in each stage.
const ANYNET: &str = "MODEL: {TYPE: anynet, NUM_CLASSES: 10}
ANYNET:
  STEM_TYPE: simple_stem_in
  STEM_W: 24
  BLOCK_TYPE: res_bottleneck_block
  DEPTHS: [1, 2, 2, 1]
  WIDTHS: [32, 64, 160, 256]
  STRIDES: [2, 2, 2, 2]
  BOT_MULS: [1.0, 0.5, 1.0, 0.25]
  GROUP_WS: [8, 16, 32, 8]
TRAIN: {IM_SIZE: 64}
";

fn python(args: &[&str]) -> String {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/python/export_check.py"
    );
    let o = Command::new(venv_python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "export_check.py {args:?}: {out}");
    out
}

/// Random weights for `model` (10 classes) with randomized BN parameters
/// and statistics, so that a wrongly mapped or unfolded BN shows.
fn random_weights(model: &str, path: &Path) {
    let spec = match regnet_spec::zoo::find(model) {
        Some(e) => e.spec(),
        None => {
            regnet_config::parse_str(&std::fs::read_to_string(model).unwrap())
                .unwrap()
                .model
        }
    };
    let net = spec.with_num_classes(10).build().unwrap();
    let init = InitConfig {
        seed: 11,
        ..InitConfig::default()
    };
    let m = BuiltModel::new(&net, Device::Cpu, init);
    tch::manual_seed(5);
    tch::no_grad(|| {
        for (name, mut v) in m.vs.variables() {
            if name.ends_with("running_var") {
                let _ = v.uniform_(0.5, 1.5);
            } else if v.dim() == 1 {
                let _ = v.uniform_(-0.3, 0.3);
            }
        }
    });
    m.save(path).unwrap();
}

fn p(dir: &Path, f: &str) -> String {
    dir.join(f).to_str().unwrap().to_string()
}

/// `regnet export` arguments for `model` (10 classes) with `weights`.
fn export_args<'a>(model: &'a str, weights: &'a str, to: &'a str, out: &'a str) -> [&'a str; 13] {
    [
        "export",
        "--model",
        model,
        "--num-classes",
        "10",
        "--weights",
        weights,
        "--to",
        to,
        "--out",
        out,
        "--im-size",
        "64",
    ]
}

/// `regnet export`, which must succeed; returns its stdout.
fn export(model: &str, weights: &str, to: &str, out: &str) -> String {
    ok(&export_args(model, weights, to, out))
}

/// Writes the pycls config `describe --json` prints for `model` (10
/// classes, 64x64) as YAML at `path`.
fn described_config(model: &str, path: &str) {
    let described = ok(&[
        "describe",
        model,
        "--num-classes",
        "10",
        "--im-size",
        "64",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(described.lines().next().unwrap()).unwrap();
    std::fs::write(path, serde_yaml::to_string(&json["config"]).unwrap()).unwrap();
}

fn check_all_formats(model: &str, name: &str) {
    check_formats(model, name, true);
}

/// Exports `model` with random weights and checks each file in its reader;
/// `libraries`: torchvision and pycls too, not only the runtimes.
fn check_formats(model: &str, name: &str, libraries: bool) {
    let d = tmp(&format!("export-{name}"));
    let w = p(&d, "w.safetensors");
    random_weights(model, Path::new(&w));
    Tensor::randn([2, 3, 64, 64], (Kind::Float, tch::Device::Cpu))
        .write_npy(p(&d, "x.npy"))
        .unwrap();
    ok(&[
        "predict",
        "--model",
        model,
        "--num-classes",
        "10",
        "--weights",
        &w,
        "--input",
        &p(&d, "x.npy"),
        "--output",
        &p(&d, "ref.npy"),
        "--device",
        "cpu",
    ]);
    let check = |fmt: &str, file: &str, extra: Option<&str>| {
        let mut args = vec![fmt, file, &p(&d, "x.npy"), &p(&d, "ref.npy")]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        args.extend(extra.map(String::from));
        let out = python(&args.iter().map(String::as_str).collect::<Vec<_>>());
        eprintln!("{name} {out}");
    };
    // TorchScript and ONNX need no code of ours.
    export(model, &w, "torchscript", &p(&d, "model.pt"));
    check("torchscript", &p(&d, "model.pt"), None);
    export(model, &w, "onnx", &p(&d, "model.onnx"));
    check("onnx", &p(&d, "model.onnx"), None);
    if !libraries {
        return std::fs::remove_dir_all(&d).unwrap();
    }
    // torchvision: the printed line builds the model the state dict loads into.
    let printed = export(model, &w, "torchvision", &p(&d, "tv.pth"));
    let line = printed
        .lines()
        .find_map(|l| l.strip_prefix("model = "))
        .unwrap_or_else(|| panic!("no Python line in {printed}"));
    check("torchvision", &p(&d, "tv.pth"), Some(line));
    export(model, &w, "torchvision", &p(&d, "tv.safetensors"));
    // torchvision -> ours -> torchvision: the same tensors, byte for byte.
    export(model, &p(&d, "tv.pth"), "torchvision", &p(&d, "tv2.pth"));
    python(&["same", &p(&d, "tv.pth"), &p(&d, "tv2.pth")]);
    // pycls: its own model code, built from the config `describe --json` prints.
    let cfg = p(&d, "cfg.yaml");
    described_config(model, &cfg);
    export(model, &w, "pycls", &p(&d, "model.pyth"));
    check("pycls", &p(&d, "model.pyth"), Some(&cfg));
    export(model, &p(&d, "model.pyth"), "pycls", &p(&d, "model2.pyth"));
    python(&["same", &p(&d, "model.pyth"), &p(&d, "model2.pyth")]);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_zoo_regnety_with_se_exports_to_every_format() {
    check_all_formats("RegNetY-200MF", "regnety");
}

#[test]
fn a_sampled_anynet_with_mixed_group_widths_exports_to_every_format() {
    let d = tmp("export-anynet-cfg");
    let cfg = d.join("anynet.yaml");
    std::fs::write(&cfg, ANYNET).unwrap();
    check_all_formats(cfg.to_str().unwrap(), "anynet");
}

#[test]
fn every_block_type_stem_and_head_runs_in_torchscript_and_onnx() {
    // What torchvision has no class for still runs without this project:
    // plain blocks on the CIFAR stem, basic blocks on the ResNet stem (with
    // its max pool), linear bottlenecks with SE and SiLU and a head conv.
    let d = tmp("export-blocks-cfg");
    let variants = [
        ("vanilla", "res_stem_cifar", "vanilla_block", "", "relu"),
        ("basic", "res_stem_in", "res_basic_block", "", "relu"),
        (
            "linear",
            "simple_stem_in",
            "res_bottleneck_linear_block",
            "  SE_ON: True\n  HEAD_W: 96\n",
            "silu",
        ),
    ];
    for (name, stem, block, anynet_extra, activation) in variants {
        let cfg = d.join(format!("{name}.yaml"));
        let text = ANYNET
            .replace("simple_stem_in", stem)
            .replace("res_bottleneck_block", block)
            .replace(
                "NUM_CLASSES: 10}",
                &format!("NUM_CLASSES: 10, ACTIVATION_FUN: {activation}}}"),
            )
            .replace("TRAIN:", &format!("{anynet_extra}TRAIN:"));
        std::fs::write(&cfg, text).unwrap();
        check_formats(cfg.to_str().unwrap(), name, false);
    }
}

#[test]
fn resnet50_exports_to_every_format() {
    check_all_formats("R-50-1x64d", "resnet50");
}

#[test]
fn efficientnet_b0_exports_to_every_format() {
    check_all_formats("EN-B0", "effnet");
}

#[test]
fn weights_made_by_torchvision_and_pycls_come_back_byte_for_byte() {
    let d = tmp("export-round-trips");
    let f = |name: &str| p(&d, name);
    for (builder, ours) in [
        (
            "torchvision.models.regnet_y_400mf(num_classes=10)",
            "RegNetY-400MF",
        ),
        (
            "torchvision.models.resnext50_32x4d(num_classes=10)",
            "X-50-32x4d",
        ),
        (
            "torchvision.models.efficientnet_b0(num_classes=10)",
            "EN-B0",
        ),
    ] {
        python(&["make", "torchvision", builder, &f("theirs.pth")]);
        export(ours, &f("theirs.pth"), "torchvision", &f("back.pth"));
        python(&["same", &f("theirs.pth"), &f("back.pth")]);
    }
    for model in ["RegNetX-200MF", "R-50-1x64d", "EN-B0"] {
        described_config(model, &f("cfg.yaml"));
        python(&["make", "pycls", &f("cfg.yaml"), &f("theirs.pyth")]);
        export(model, &f("theirs.pyth"), "pycls", &f("back.pyth"));
        python(&["same", &f("theirs.pyth"), &f("back.pyth")]);
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn what_cannot_be_exported_is_refused_and_nothing_is_left_behind() {
    let d = tmp("export-refused");
    let w = p(&d, "w.safetensors");
    let cfg = d.join("linear.yaml");
    let linear_block = ANYNET.replace("res_bottleneck_block", "res_bottleneck_linear_block");
    std::fs::write(&cfg, linear_block).unwrap();
    let linear = cfg.to_str().unwrap();
    random_weights(linear, Path::new(&w));
    let out = p(&d, "tv.pth");
    let refused = |model: &str, to: &str, out: &str| fails(&export_args(model, &w, to, out));
    let e = refused(linear, "torchvision", &out);
    assert!(e.contains("res_bottleneck_linear_block"), "{e}");
    // Weights of another model are refused before anything is written.
    let e = refused("RegNetX-200MF", "onnx", &out);
    assert!(e.contains("do not fit"), "{e}");
    let e = refused(linear, "tflite", &out);
    assert!(e.contains("tflite") && e.contains("onnx"), "{e}");
    let e = refused("RegNetX-200MF", "torchvision", &p(&d, "tv.bin"));
    assert!(e.contains(".pth"), "{e}");
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "only the inputs remain: {left:?}");
    std::fs::remove_dir_all(&d).unwrap();
}
