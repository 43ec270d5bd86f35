//! Parity with torchvision (an independent implementation run in the
//! project venv): the same weights and input give the same logits, in eval
//! and in train mode, and the same gradient for every parameter.

use regnet_engine::import::{detect_naming, translate, Naming};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use std::path::PathBuf;
use std::process::Command;
use tch::nn::ModuleT;
use tch::Tensor;

fn reference(name: &str) -> Vec<(String, Tensor)> {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python/torchvision_reference.py");
    let python =
        std::env::var("VIRTUAL_ENV").map_or("python3".into(), |v| format!("{v}/bin/python"));
    let status = Command::new(&python)
        .arg(&script)
        .arg(name)
        .arg(&out)
        .status()
        .expect("run the venv python (source scripts/env.sh)");
    assert!(status.success(), "reference script failed for {name}");
    Tensor::read_npz(out.join("reference.npz")).expect("read npz")
}

fn check(tv_name: &str, zoo_name: &str) {
    let arrays = reference(tv_name);
    let get = |k: &str| {
        arrays
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, t)| t.shallow_clone())
            .unwrap()
    };
    let mut net = regnet_spec::zoo::find(zoo_name)
        .unwrap()
        .spec()
        .with_num_classes(10)
        .build()
        .unwrap();
    // Random masks off in train mode, as the reference turns off its own.
    net.drop_connect = 0.0;
    net.head.dropout = 0.0;
    let mut m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
    let vars = m.vs.variables();
    let params: Vec<(&str, &Tensor)> = arrays
        .iter()
        .filter_map(|(k, t)| k.strip_prefix("param.").map(|k| (k, t)))
        .collect();
    let keys: Vec<&str> = params.iter().map(|(k, _)| *k).collect();
    let naming = detect_naming(keys.iter().copied());
    assert_ne!(
        naming,
        Naming::Pycls,
        "{tv_name}: torchvision names detected"
    );
    // Each torchvision key with our variable of that name, loaded.
    let mut pairs: Vec<(&str, Tensor)> = Vec::new();
    tch::no_grad(|| {
        for (ours, (k, t)) in translate(&net, naming, &keys)
            .unwrap()
            .into_iter()
            .zip(&params)
        {
            let Some(ours) = ours else {
                continue;
            };
            let v = vars
                .get(&ours)
                .unwrap_or_else(|| panic!("{k} -> {ours} missing"));
            assert_eq!(v.size(), t.size(), "{ours}");
            v.shallow_clone().copy_(t);
            pairs.push((k, v.shallow_clone()));
        }
    });
    assert_eq!(pairs.len(), vars.len(), "every variable loaded");
    m.vs.freeze();
    let y = m.model.forward_t(&get("input"), false);
    let diff = (y - get("output")).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{tv_name}: max |diff| {diff}");
    // Train mode: BN on batch statistics, then every parameter's gradient
    // for the reference's upstream gradient.
    m.vs.unfreeze();
    let y = m.model.forward_t(&get("input"), true);
    let diff = (&y - get("train_output")).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{tv_name}: train mode, max |diff| {diff}");
    (y * get("upstream")).sum(tch::Kind::Float).backward();
    let mut checked = 0;
    for (k, v) in &pairs {
        let Some(want) = arrays.iter().find(|(n, _)| *n == format!("grad.{k}")) else {
            continue; // a buffer: BN's running statistics
        };
        let (got, want) = (v.grad(), &want.1);
        let scale = want.abs().max().double_value(&[]).max(1e-3);
        let diff = (&got - want).abs().max().double_value(&[]);
        assert!(
            diff <= 1e-3 * scale,
            "{tv_name}: gradient of {k}: max |diff| {diff} of max {scale}"
        );
        checked += 1;
    }
    assert_eq!(checked, m.vs.trainable_variables().len(), "{tv_name}");
}

#[test]
fn regnet_y_400mf_matches_torchvision() {
    check("regnet_y_400mf", "RegNetY-400MF");
}

#[test]
fn regnet_x_400mf_matches_torchvision() {
    check("regnet_x_400mf", "regnet_x_400mf");
}

#[test]
fn resnet50_matches_torchvision() {
    check("resnet50", "R-50-1x64d");
}

#[test]
fn resnext50_matches_torchvision() {
    check("resnext50_32x4d", "X-50-32x4d");
}

#[test]
fn efficientnet_b0_matches_torchvision() {
    check("efficientnet_b0", "EN-B0");
}

#[test]
fn efficientnet_b3_matches_torchvision() {
    check("efficientnet_b3", "EN-B3");
}
