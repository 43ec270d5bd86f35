//! Sweep configs of both forms, read from the repository's example files and
//! from text: the one reader every command uses.

use regnet_space::space::Target;
use regnet_space::sweep::SamplerDef;
use regnet_space::{sample, SampleOptions, Space};
use regnet_sweep::{open_space, SweepConfig};
use std::path::PathBuf;

fn config(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs/sweeps")
        .join(name)
}

fn sample_all(c: &SweepConfig, n: usize) -> regnet_space::Population {
    let opts = SampleOptions {
        n,
        seed: c.seed,
        max_tries: c.max_tries,
        max_time: regnet_space::MAX_TIME,
        constraints: c.constraints.clone(),
        target: Target::default(),
    };
    sample(&c.space, &opts).unwrap()
}

#[test]
fn every_example_sweep_config_is_read() {
    let dir = config("");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let c = SweepConfig::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!c.name.is_empty(), "{}", path.display());
        let (space, again) = open_space(path.to_str().unwrap()).unwrap();
        assert_eq!(space, c.space);
        assert_eq!(again.unwrap(), c);
        n += 1;
    }
    assert!(n >= 4, "found {n} sweep configs in {}", dir.display());
}

#[test]
fn data_and_max_attempts_are_sweep_keys_of_both_forms() {
    let c = SweepConfig::load(&config("demo_regnetx.yaml")).unwrap();
    assert_eq!(
        c.data.as_deref(),
        Some("fashion-mnist,train=2000,test=1000")
    );
    assert_eq!(
        (c.name.as_str(), c.num_configs, c.seed),
        ("demo/regnetx", Some(20), 1)
    );
    assert_eq!((c.im_size, c.num_classes), (32, Some(10)));
    assert_eq!(c.constraints.flops.to_string(), "[10M, 11M]");
    let Space::RegNet(r) = &c.space else {
        panic!("{:?}", c.space)
    };
    assert_eq!((r.stem.kind.name(), r.stem.width), ("res_stem_cifar", 16));
    let pycls = SweepConfig::parse(
        "DATA: synthetic:100\nMAX_ATTEMPTS: 4\nNAME: p\nSETUP:\n  NUM_CONFIGS: 2\n  \
         BASE_CFG: {MODEL: {TYPE: regnet, NUM_CLASSES: 10}, TRAIN: {IM_SIZE: 32}}\n",
    )
    .unwrap();
    assert_eq!(pycls.data.as_deref(), Some("synthetic:100"));
    assert_eq!(
        (pycls.max_attempts, pycls.im_size, pycls.num_classes),
        (Some(4), 32, Some(10))
    );
    let short = SweepConfig::parse(
        "NAME: s\nSPACE: anynetx-c\nNUM_CONFIGS: 4\nSEED: 2\nFLOPS: 360M:400M\nDATA: synthetic:100\n\
         MAX_ATTEMPTS: 2\nIM_SIZE: 64\nOPTIM: {MAX_EPOCH: 3}\n",
    )
    .unwrap();
    assert_eq!(short.data.as_deref(), Some("synthetic:100"));
    assert_eq!(short.max_attempts, Some(2));
    assert_eq!(
        (short.num_configs, short.seed, short.im_size),
        (Some(4), 2, 64)
    );
    assert_eq!(short.recipe_base["OPTIM"]["MAX_EPOCH"], 3);
    assert_eq!(short.constraints.flops.to_string(), "[360M, 400M]");
    assert_eq!(short.space.name(), "anynetx-c");
    let pycls = SweepConfig::load(&config("cifar_regnet.yaml")).unwrap();
    assert!(pycls
        .warnings
        .iter()
        .any(|w| w.starts_with("LAUNCH is not used")));
}

#[test]
fn bad_sweep_configs_name_the_problem() {
    let err = |t: &str| SweepConfig::parse(t).unwrap_err().message;
    assert!(err("[1, 2]").contains("a sweep config must be a mapping"));
    assert!(err("NAME: [oops\n").starts_with("malformed YAML"));
    assert!(err("SPACE: nope\n").contains("SPACE: unknown design space 'nope'"));
    assert!(err("SPACE: regnetx\nFLOPS: abc\n").starts_with("FLOPS: "));
    assert!(err("SPACE: regnetx\nDATA: 3\n").contains("DATA: expected a string"));
    assert!(
        err("SPACE: regnetx\nMAX_ATTEMPTS: 0\n").contains("MAX_ATTEMPTS: expected a whole number")
    );
    assert!(err("SPACE: regnetx\nWHAT: 1\n").contains("unknown top-level key 'WHAT'"));
    assert!(err("SPACE: regnetx\nNUM_CLASSES: 0\n").contains("NUM_CLASSES must be at least 1"));
    let e = SweepConfig::load(std::path::Path::new("/no/such.yaml"))
        .unwrap_err()
        .message;
    assert!(
        e.contains("cannot read sweep config '/no/such.yaml'"),
        "{e}"
    );
    let e = open_space("no-such-space").unwrap_err().message;
    assert!(e.contains("unknown design space 'no-such-space'"), "{e}");
    assert!(matches!(
        open_space("RegNetX").unwrap(),
        (Space::RegNet(_), None)
    ));
}

#[test]
fn pycls_cifar_regnet_sweep_samples_its_population() {
    let c = SweepConfig::load(&config("cifar_regnet.yaml")).unwrap();
    let space = c.space.clone();
    let Space::Sweep(s) = &space else {
        panic!("not a sweep")
    };
    assert_eq!(s.name, "cifar/cifar_regnet");
    assert_eq!(s.num_configs, Some(32));
    assert_eq!(s.constraints.num_stages, Some((2, 2)));
    assert!(matches!(s.samplers[0].1, SamplerDef::RegNet(_)));
    let pop = sample_all(&c, 32);
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
    let c = SweepConfig::load(&config("anynetx_a_cifar.yaml")).unwrap();
    let space = c.space.clone();
    // 4^3 depths * 8^3 widths * 2^3 bot_muls * 4^3 group widths.
    assert_eq!(space.size().to_string(), (64u64 * 512 * 8 * 64).to_string());
    let pop = sample_all(&c, 16);
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

#[test]
fn num_stages_gives_built_in_spaces_another_stage_count() {
    let short = |space: &str, stages: u64| {
        SweepConfig::parse(&format!(
            "SPACE: {space}\nNUM_STAGES: {stages}\nSTEM_TYPE: res_stem_cifar\nSTEM_W: 16\n\
             IM_SIZE: 32\nNUM_CLASSES: 10\nFLOPS: 10M:11M\nSEED: 3\n"
        ))
    };
    let e = short("anynetx-e", 3).unwrap();
    // Non-decreasing triples of 16 depths and 128 widths: C(18, 3) and
    // C(130, 3); one shared b (3 values) and g (6 values).
    assert_eq!(
        e.space.size().to_string(),
        (816u64 * 357_760 * 3 * 6).to_string()
    );
    let opts = |c: &SweepConfig| SampleOptions {
        n: 8,
        seed: c.seed,
        max_tries: c.max_tries,
        max_time: regnet_space::MAX_TIME,
        constraints: c.constraints.clone(),
        target: Target {
            im_size: Some(32),
            num_classes: Some(10),
        },
    };
    for m in &sample(&e.space, &opts(&e)).unwrap().models {
        let d: Vec<u64> = m.config["ANYNET"]["DEPTHS"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(d.len(), 3);
        assert!(d.windows(2).all(|p| p[0] <= p[1]), "{d:?}");
        assert_eq!(m.config["ANYNET"]["STRIDES"], serde_json::json!([2, 2, 2]));
    }
    let r = short("regnetx", 3).unwrap();
    assert_eq!(r.constraints.num_stages, Some((3, 3)));
    for m in &sample(&r.space, &opts(&r)).unwrap().models {
        let cfg = regnet_config::from_value(&serde_yaml::to_value(&m.config).unwrap()).unwrap();
        let regnet_spec::ModelSpec::RegNet(spec) = cfg.model else {
            panic!()
        };
        assert_eq!(spec.widths().unwrap().num_stages(), 3);
    }
    let err = short("anynetx-a", 0).unwrap_err().message;
    assert!(err.contains("between 1 and 8 (got 0)"), "{err}");
}
