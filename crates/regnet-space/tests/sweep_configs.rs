//! User-defined spaces written as pycls sweep configs.

use regnet_space::space::Target;
use regnet_space::sweep::{SamplerDef, SweepSpace};
use regnet_space::{sample, SampleOptions, Space};
use std::path::PathBuf;

fn config(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs/sweeps")
        .join(name)
}

fn sample_all(space: &Space, n: usize) -> regnet_space::Population {
    let Space::Sweep(s) = space else {
        panic!("not a sweep")
    };
    let opts = SampleOptions {
        n,
        seed: s.seed,
        max_tries: s.num_samples,
        constraints: s.constraints.clone(),
        target: Target::default(),
    };
    sample(space, &opts).unwrap()
}

#[test]
fn pycls_cifar_regnet_sweep_samples_its_population() {
    let space = Space::open(config("cifar_regnet.yaml").to_str().unwrap()).unwrap();
    let Space::Sweep(s) = &space else {
        panic!("not a sweep")
    };
    assert_eq!(s.name, "cifar/cifar_regnet");
    assert_eq!(s.num_configs, Some(32));
    assert_eq!(s.constraints.num_stages, Some((2, 2)));
    assert!(matches!(s.samplers[0].1, SamplerDef::RegNet(_)));
    let pop = sample_all(&space, 32);
    for m in &pop.models {
        assert!(
            (120_000_000..=130_000_000).contains(&m.flops),
            "{}",
            m.flops
        );
        assert!(m.params <= 2_000_000 && m.acts <= 1_000_000);
        let r = &m.config["REGNET"];
        assert!((6..=16).contains(&r["DEPTH"].as_u64().unwrap()));
        assert_eq!(r["STEM_TYPE"], "res_stem_cifar");
        // Sections the sampler does not touch are carried over from BASE_CFG.
        assert_eq!(m.config["OPTIM"]["BASE_LR"].as_f64(), Some(1.0));
        assert_eq!(m.config["TRAIN"]["IM_SIZE"].as_u64(), Some(32));
        let cfg = regnet_config::from_value(&serde_yaml::to_value(&m.config).unwrap()).unwrap();
        let regnet_spec::ModelSpec::RegNet(spec) = cfg.model else {
            panic!()
        };
        assert_eq!(spec.widths().unwrap().num_stages(), 2);
    }
}

#[test]
fn list_and_value_samplers_fill_anynet_lists() {
    let space = Space::open(config("anynetx_a_cifar.yaml").to_str().unwrap()).unwrap();
    // 4^3 depths * 8^3 widths * 2^3 bot_muls * 4^3 group widths.
    assert_eq!(space.size().to_string(), (64u64 * 512 * 8 * 64).to_string());
    let pop = sample_all(&space, 16);
    for m in &pop.models {
        let a = &m.config["ANYNET"];
        assert_eq!(a["DEPTHS"].as_array().unwrap().len(), 3);
        assert!(a["WIDTHS"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w.as_u64().unwrap() % 16 == 0));
        assert!(m.flops <= 50_000_000);
    }
}

fn err(yaml: &str) -> String {
    SweepSpace::parse_str(yaml).unwrap_err().0
}

const BASE: &str = "  BASE_CFG: {MODEL: {TYPE: regnet, NUM_CLASSES: 10}, REGNET: {STEM_TYPE: res_stem_cifar}, TRAIN: {IM_SIZE: 32}}\n";

#[test]
fn invalid_samplers_name_the_field() {
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    OPTIM.BASE_LR: {{TYPE: float_sampler, RAND_TYPE: log_uniform, RANGE: [0.0, 1.0]}}\n{BASE}"));
    assert!(e.starts_with("SETUP.SAMPLERS.OPTIM.BASE_LR: log_uniform(low=0, high=1, q=0.00001) is invalid: low must be > 0"), "{e}");
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    REGNET.DEPTH: {{TYPE: int_sampler, RANGE: [1.5, 8]}}\n{BASE}"));
    assert!(
        e.contains("SETUP.SAMPLERS.REGNET.DEPTH: int_sampler needs integer RANGE"),
        "{e}"
    );
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    REGNET.DEPTH: {{TYPE: int_sampler, RANGE: [1, 8], QUANT: 2}}\n{BASE}"));
    assert!(
        e.contains("unknown key SETUP.SAMPLERS.REGNET.DEPTH.QUANT"),
        "{e}"
    );
    let e = err(&format!(
        "NAME: x\nSETUP:\n  SAMPLERS:\n    REGNET.DEPTH: {{TYPE: gauss_sampler}}\n{BASE}"
    ));
    assert!(
        e.contains("SETUP.SAMPLERS.REGNET.DEPTH.TYPE must be one of")
            && e.contains("'gauss_sampler'"),
        "{e}"
    );
    let e = err(&format!(
        "NAME: x\nSETUP:\n  SAMPLERS:\n    ANYNET: {{TYPE: regnet_sampler}}\n{BASE}"
    ));
    assert!(
        e.contains("regnet_sampler can only be used for REGNET"),
        "{e}"
    );
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    REGNET: {{TYPE: regnet_sampler, WM: [0.5, 3.0]}}\n{BASE}"));
    assert!(
        e.contains("SETUP.SAMPLERS.REGNET.WM: low must be greater than 1 (got 0.5)"),
        "{e}"
    );
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    REGNET.WA: {{TYPE: float_sampler, RAND_TYPE: wobbly, RANGE: [1.0, 2.0]}}\n{BASE}"));
    assert!(
        e.contains("SETUP.SAMPLERS.REGNET.WA.RAND_TYPE: unknown RAND_TYPE 'wobbly'"),
        "{e}"
    );
    let e = err(&format!("NAME: x\nSETUP:\n  SAMPLERS:\n    ANYNET.DEPTHS: {{TYPE: list_sampler, LENGTH: 2}}\n{BASE}"));
    assert!(
        e.contains("SETUP.SAMPLERS.ANYNET.DEPTHS.ITEM_SAMPLER.TYPE must be one of"),
        "{e}"
    );
    let e = err(&format!(
        "NAME: x\nSETUP:\n  CONSTRAINTS: {{CX: {{FLOPS: [2.0e6, 1.0e6]}}}}\n{BASE}"
    ));
    assert!(
        e.contains("SETUP.CONSTRAINTS.CX.FLOPS must be [LOW, HIGH]"),
        "{e}"
    );
    let e = err("NAME: x\nSETUPP: {}\n");
    assert!(e.starts_with("unknown top-level key 'SETUPP'"), "{e}");
    let e = err("NAME: x\nSETUP: {SAMPLERS: {REGNET: {TYPE: regnet_sampler}}, BASE_CFG: {MODEL: {TYPE: regnet}, REGNET: {STEM_W: 0}}}\n");
    assert!(
        e.starts_with("no valid model in 64 draws") && e.contains("REGNET.STEM_W"),
        "{e}"
    );
    assert!(err("NAME: [oops\n").starts_with("malformed YAML"));
}
