//! User-defined spaces written as pycls sweep configs: the SETUP section's
//! samplers and constraints (files are read by regnet-sweep, tested there).

use regnet_space::sweep::SweepSpace;

fn err(yaml: &str) -> String {
    let doc: serde_yaml::Value = match serde_yaml::from_str(yaml) {
        Ok(v) => v,
        Err(e) => return format!("malformed YAML: {e}"),
    };
    SweepSpace::parse_doc(doc.as_mapping().unwrap())
        .unwrap_err()
        .0
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
