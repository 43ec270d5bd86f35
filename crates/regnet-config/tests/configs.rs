//! pycls configs read as pycls reads them, and written back losslessly.

use regnet_config::{from_value, load, parse_str, to_value};
use regnet_spec::zoo::{find, zoo};
use regnet_spec::{Complexity, ModelSpec};
use std::path::PathBuf;

fn repo_config(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name)
}

fn complexity_of(path: &str) -> Complexity {
    let cfg = load(&repo_config(path)).unwrap();
    cfg.model.build().unwrap().complexity(cfg.im_size).unwrap()
}

fn zoo_complexity(name: &str) -> Complexity {
    let e = find(name).unwrap();
    e.spec().build().unwrap().complexity(e.im_size).unwrap()
}

#[test]
fn pycls_dds_configs_give_the_published_numbers() {
    // RegNetY-200MF with pycls's full training sections (OPTIM, TEST, CUDNN, ...).
    let c = complexity_of("RegNetY-200MF_dds_1gpu.yaml");
    assert_eq!(c, zoo_complexity("RegNetY-200MF"));
    assert_eq!(c.params, 3_162_996);
    // ResNet-50 as an AnyNet: torchvision's parameter count.
    let c = complexity_of("R-50-1x64d_dds_8gpu.yaml");
    assert_eq!(c.params, 25_557_032);
    assert_eq!(c, zoo_complexity("R-50-1x64d"));
    // EfficientNet-B0 with silu: torchvision's parameter count.
    let c = complexity_of("EN-B0_dds_8gpu.yaml");
    assert_eq!(c.params, 5_288_548);
    assert_eq!(c, zoo_complexity("EN-B0"));
    // The CIFAR AnyNet describes at 32x32 with 10 classes.
    let cfg = load(&repo_config("anynet_cifar.yaml")).unwrap();
    assert_eq!((cfg.im_size, cfg.model.num_classes()), (32, 10));
    cfg.model.build().unwrap().complexity(32).unwrap();
}

#[test]
fn other_sections_are_kept() {
    let cfg = load(&repo_config("RegNetY-200MF_dds_1gpu.yaml")).unwrap();
    let optim = cfg.doc.get("OPTIM").unwrap();
    assert_eq!(optim.get("BASE_LR").unwrap().as_f64(), Some(0.1));
    assert_eq!(optim.get("NESTEROV").unwrap().as_bool(), Some(true));
}

#[test]
fn every_zoo_model_round_trips_through_its_config() {
    for e in zoo() {
        let spec = e.spec();
        let written = to_value(&spec, e.im_size);
        let text = serde_yaml::to_string(&written).unwrap();
        let back = parse_str(&text).unwrap();
        assert_eq!(back.model, spec, "{}", e.name);
        assert_eq!(back.im_size, e.im_size);
        assert_eq!(from_value(&written).unwrap().model, spec);
    }
}

#[test]
fn pycls_defaults_apply() {
    // pycls defaults: REGNET DEPTH 10, W0 32, WA 5.0, WM 2.5, GROUP_W 16; NUM_CLASSES 10; IM_SIZE 224.
    let cfg = parse_str("MODEL:\n  TYPE: regnet\n").unwrap();
    let ModelSpec::RegNet(r) = &cfg.model else {
        panic!("not a regnet")
    };
    assert_eq!(
        (r.depth, r.w0, r.wa, r.wm, r.group_w),
        (10, 32, 5.0, 2.5, 16)
    );
    assert_eq!((r.bot_mul, r.stride, r.se_r, r.head_w), (1.0, 2, None, 0));
    assert_eq!((cfg.model.num_classes(), cfg.im_size), (10, 224));
}

#[test]
fn yacs_style_values_are_understood() {
    // PyYAML reads 5e-5 as a string and YACS evaluates it; "True" is a bool.
    let cfg = parse_str(
        "MODEL: {TYPE: REGNET, NUM_CLASSES: 100}\nREGNET: {SE_ON: True, WA: '36.44', W0: 24, DEPTH: 13, WM: 2.49, GROUP_W: 8}\nTRAIN: {IM_SIZE: 160}\n",
    )
    .unwrap();
    let ModelSpec::RegNet(r) = &cfg.model else {
        panic!("not a regnet")
    };
    assert_eq!((r.se_r, r.wa), (Some(0.25), 36.44));
    assert_eq!((cfg.model.num_classes(), cfg.im_size), (100, 160));
}

fn err(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

#[test]
fn errors_name_the_key_and_what_is_allowed() {
    let e = err("MODEL: {TYPE: regnet}\nREGNET: {DEPHT: 10}\n");
    assert!(
        e.contains("unknown key REGNET.DEPHT") && e.contains("DEPTH"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: regnet}\nREGNET: {W0: abc}\n");
    assert_eq!(e, "REGNET.W0 must be a non-negative integer (got 'abc')");
    let e = err("MODEL: {TYPE: regnet}\nREGNET: {WM: 0.9}\n");
    assert!(
        e.contains("REGNET.WM must be a number greater than 1 (got 0.9)"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: anynet}\nANYNET: {DEPTHS: 3}\n");
    assert_eq!(
        e,
        "ANYNET.DEPTHS must be a list of non-negative integers (got 3)"
    );
    let e = err("MODEL: {TYPE: anynet}\nANYNET: {DEPTHS: [1, -2]}\n");
    assert!(
        e.starts_with("ANYNET.DEPTHS[1] must be a non-negative integer"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: anynet}\nANYNET: {STEM_TYPE: big_stem, DEPTHS: [1]}\n");
    assert!(
        e.contains("ANYNET.STEM_TYPE: unknown stem type 'big_stem'")
            && e.contains("simple_stem_in"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: resnet}\n");
    assert!(
        e.starts_with("MODEL.TYPE must be anynet, regnet or effnet (got 'resnet')"),
        "{e}"
    );
    let e = err("REGNET: {DEPTH: 10}\n");
    assert!(
        e.contains("MODEL.TYPE must be") && e.contains("got nothing"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: regnet}\nREGNETT: {}\n");
    assert!(
        e.starts_with("unknown top-level key 'REGNETT' (allowed: MODEL"),
        "{e}"
    );
    let e = err("MODEL: {TYPE: regnet, NUM_CLASSES: 0}\n");
    assert!(e.contains("MODEL.NUM_CLASSES must be between 1"), "{e}");
    let e = err("MODEL: {TYPE: regnet}\nREGNET: {SE_ON: maybe}\n");
    assert!(e.contains("REGNET.SE_ON must be True or False"), "{e}");
    let e = err("MODEL: [1, 2\n");
    assert!(e.starts_with("malformed YAML"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    let e = load(&repo_config("no-such.yaml")).unwrap_err().to_string();
    assert!(
        e.starts_with("cannot read config") && e.contains("no-such.yaml"),
        "{e}"
    );
}
