//! Forward parity with torchvision (an independent implementation run in the
//! project venv): the same weights and input give the same logits.

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
    let net = regnet_spec::zoo::find(zoo_name)
        .unwrap()
        .spec()
        .with_num_classes(10)
        .build()
        .unwrap();
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
    let mut loaded = 0;
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
            loaded += 1;
        }
    });
    assert_eq!(loaded, vars.len(), "every variable loaded");
    m.vs.freeze();
    let y = m.model.forward_t(&get("input"), false);
    let diff = (y - get("output")).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "{tv_name}: max |diff| {diff}");
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
