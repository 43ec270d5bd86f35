//! Planning: the jobs a sweep config gives for a dataset.

use regnet_sweep::plan::{plan, DataShape, Overrides};
use regnet_sweep::SweepConfig;

const SHORT: &str = "NAME: p\nSPACE: regnetx\nSTEM_TYPE: res_stem_cifar\nSTEM_W: 16\nIM_SIZE: 32\n\
                     NUM_CLASSES: 10\nFLOPS: 10M:11M\nNUM_CONFIGS: 3\nSEED: 4\nOPTIM: {MAX_EPOCH: 2}\n";

#[test]
fn jobs_are_the_models_space_sampling_gives_at_the_datas_shape() {
    let c = SweepConfig::parse(SHORT).unwrap();
    let shape = DataShape {
        num_classes: 10,
        size: 32,
    };
    let p = plan(&c, &Overrides::default(), "synthetic:40".into(), shape).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.jobs.len(), 3);
    // The models `space sample` draws from the same config, job for job.
    let opts = regnet_space::SampleOptions {
        n: 3,
        seed: 4,
        max_tries: c.max_tries,
        max_time: regnet_space::MAX_TIME,
        constraints: c.constraints.clone(),
        target: regnet_space::space::Target {
            im_size: Some(c.im_size),
            num_classes: c.num_classes,
        },
    };
    let sampled = regnet_space::sample(&c.space, &opts).unwrap();
    for (job, m) in p.jobs.iter().zip(&sampled.models) {
        assert_eq!(
            (job.flops, job.params, job.acts),
            (m.flops, m.params, m.acts)
        );
        assert!(
            (10_000_000..=11_000_000).contains(&job.flops),
            "{}",
            job.flops
        );
        assert_eq!(job.config["MODEL"]["NUM_CLASSES"], 10);
        assert_eq!(
            (job.epochs, &job.config["OPTIM"]["MAX_EPOCH"]),
            (2, &2.into())
        );
    }
    assert_eq!((p.info.settings.num_classes, p.info.settings.seed), (10, 4));
}

#[test]
fn a_dataset_with_other_classes_than_the_config_says_is_stated() {
    let c = SweepConfig::parse(SHORT).unwrap();
    let shape = DataShape {
        num_classes: 100,
        size: 32,
    };
    let p = plan(
        &c,
        &Overrides::default(),
        "synthetic:40,classes=100".into(),
        shape,
    )
    .unwrap();
    assert_eq!(
        p.warnings,
        [
            "the config counts models with 10 classes; the dataset has 100, so the jobs are \
          sampled and trained with 100"
        ]
    );
    assert!(p
        .jobs
        .iter()
        .all(|j| j.config["MODEL"]["NUM_CLASSES"] == 100));
}

/// A pycls sweep config with a TRAINER of the user's own: the settings
/// carry the command, and each job's config keeps the BASE_CFG keys the
/// built-in engine does not use (TRAIN.DATASET, NUM_GPUS...), which that
/// trainer may; without a TRAINER they are dropped with a warning.
#[test]
fn a_trainer_of_ones_own_keeps_the_keys_the_engine_does_not_use() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../configs/sweeps/cifar_regnet.yaml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let shape = DataShape {
        num_classes: 10,
        size: 32,
    };
    let o = Overrides {
        num_configs: Some(2),
        ..Overrides::default()
    };
    let plain = plan(
        &SweepConfig::parse(&text).unwrap(),
        &o,
        "synthetic:40".into(),
        shape,
    )
    .unwrap();
    assert!(plain
        .warnings
        .iter()
        .any(|w| w.starts_with("TRAIN.DATASET is not used")));
    assert!(plain.jobs[0].config["TRAIN"].get("DATASET").is_none());
    assert_eq!(plain.info.settings.trainer, None);

    let with = format!(
        "{text}\nTRAINER:\n  COMMAND: python tools/run_net.py --mode train --cfg {{config}} OUT_DIR {{out_dir}}\n  FORMAT: pycls\n"
    );
    let p = plan(
        &SweepConfig::parse(&with).unwrap(),
        &o,
        "synthetic:40".into(),
        shape,
    )
    .unwrap();
    let t = p.info.settings.trainer.clone().unwrap();
    assert_eq!(t.format, regnet_store::TrainerFormat::Pycls);
    assert_eq!(t.command[..3], ["python", "tools/run_net.py", "--mode"]);
    let job_keys = ["TRAIN.DATASET", "NUM_GPUS", "DATA_LOADER", "LOG_PERIOD"];
    assert!(
        !p.warnings
            .iter()
            .any(|w| job_keys.iter().any(|k| w.starts_with(k))),
        "{:?}",
        p.warnings
    );
    let job = &p.jobs[0].config;
    assert_eq!(
        (
            &job["TRAIN"]["DATASET"],
            &job["NUM_GPUS"],
            &job["DATA_LOADER"]["NUM_WORKERS"]
        ),
        (&"cifar10".into(), &1.into(), &4.into())
    );
    // The same models, and the complete recipe as the engine reads it.
    assert_eq!(p.jobs[0].flops, plain.jobs[0].flops);
    assert_eq!(job["OPTIM"], plain.jobs[0].config["OPTIM"]);
    for bad in [
        "TRAINER: python",
        "TRAINER: {FORMAT: pycls}",
        "TRAINER: {COMMAND: 'a \"b', FORMAT: jsonl}",
    ] {
        let e = SweepConfig::parse(&format!("{text}\n{bad}\n"))
            .unwrap_err()
            .message;
        assert!(e.starts_with("TRAINER"), "{bad}: {e}");
    }
}
