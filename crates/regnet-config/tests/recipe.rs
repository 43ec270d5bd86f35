//! The training recipe read from pycls config sections.

use regnet_config::{LrPolicy, Recipe};

fn recipe(epochs: usize) -> Recipe {
    Recipe {
        epochs,
        base_lr: 0.1,
        min_lr: 0.0,
        warmup_epochs: 0.0,
        warmup_factor: 0.1,
        ..Recipe::default()
    }
}

#[test]
fn learning_rate_schedules() {
    let mut r = recipe(10);
    assert!((r.lr_at(0.0) - 0.1).abs() < 1e-12);
    assert!(
        (r.lr_at(5.0) - 0.05).abs() < 1e-12,
        "half-period cosine halves at the middle"
    );
    assert!(r.lr_at(10.0).abs() < 1e-12);
    r.warmup_epochs = 2.0;
    assert!(
        (r.lr_at(0.0) - 0.1 * 0.1).abs() < 1e-12,
        "warmup starts at base * factor"
    );
    // Epoch 1 of 10 with 2 warmup epochs: cosine factor 0.5 (1 + cos(pi / 10)) = 0.9755283,
    // warmup factor 0.1 (1 - 0.5) + 0.5 = 0.55: lr = 0.1 * 0.9755283 * 0.55 = 0.0536540.
    assert!(
        (r.lr_at(1.0) - 0.053_654_05).abs() < 1e-8,
        "{}",
        r.lr_at(1.0)
    );
    r.warmup_epochs = 0.0;
    r.policy = LrPolicy::Steps {
        steps: vec![0.0, 3.0, 6.0],
        lr_mult: 0.1,
    };
    assert!((r.lr_at(2.9) - 0.1).abs() < 1e-12);
    assert!((r.lr_at(3.0) - 0.01).abs() < 1e-12);
    assert!((r.lr_at(7.0) - 0.001).abs() < 1e-12);
    r.policy = LrPolicy::Lin;
    assert!((r.lr_at(2.5) - 0.075).abs() < 1e-12);
}

#[test]
fn pycls_sections_and_defaults() {
    let cfg = regnet_config::parse_str(
        "MODEL: {TYPE: regnet}\nOPTIM: {BASE_LR: 0.4, MAX_EPOCH: 10, WEIGHT_DECAY: 5e-5, NESTEROV: False, DAMPENING: 0.1}\n\
         TRAIN: {BATCH_SIZE: 256, LABEL_SMOOTHING: 0.1, MIXUP_ALPHA: 0.0}\nBN: {USE_CUSTOM_WEIGHT_DECAY: True, ZERO_INIT_FINAL_GAMMA: False}\nRNG_SEED: 3\n",
    )
    .unwrap();
    let (r, warnings) = Recipe::from_doc(&cfg.doc).unwrap();
    assert_eq!(
        (r.base_lr, r.epochs, r.weight_decay, r.nesterov),
        (0.4, 10, 5e-5, false)
    );
    assert_eq!(
        (r.batch_size, r.test_batch_size, r.label_smoothing),
        (256, 200, 0.1)
    );
    assert_eq!((r.bn_weight_decay, r.momentum, r.seed), (Some(0.0), 0.9, 3));
    assert_eq!(r.policy, LrPolicy::Cos);
    assert!(!r.zero_init_final_gamma);
    // DAMPENING is set and not applied: reported. MIXUP_ALPHA 0 is off: silent.
    assert_eq!(
        warnings,
        vec!["OPTIM.DAMPENING is set but not supported yet; it is ignored".to_string()]
    );
    let (d, w) = Recipe::from_doc(&serde_yaml::Mapping::new()).unwrap();
    assert_eq!(d, Recipe::default());
    assert!(d.zero_init_final_gamma);
    assert!(w.is_empty());
    let bad =
        regnet_config::parse_str("MODEL: {TYPE: regnet}\nOPTIM: {LR_POLICY: wavy}\n").unwrap();
    let e = Recipe::from_doc(&bad.doc).unwrap_err().to_string();
    assert!(
        e.contains("OPTIM.LR_POLICY must be cos, steps, exp or lin (got 'wavy')"),
        "{e}"
    );
    let bad = regnet_config::parse_str(
        "MODEL: {TYPE: regnet}\nOPTIM: {LR_POLICY: steps, STEPS: [3, 6]}\n",
    )
    .unwrap();
    assert!(Recipe::from_doc(&bad.doc)
        .unwrap_err()
        .to_string()
        .contains("OPTIM.STEPS must start at 0"));
}

#[test]
fn mixup_alpha_is_read_and_checked() {
    let doc = |text: &str| -> serde_yaml::Mapping { serde_yaml::from_str(text).unwrap() };
    let (r, warnings) = Recipe::from_doc(&doc("TRAIN: {MIXUP_ALPHA: 0.5}")).unwrap();
    assert_eq!(r.mixup_alpha, 0.5);
    assert!(warnings.is_empty(), "mixup is applied now: {warnings:?}");
    assert_eq!(Recipe::from_doc(&doc("{}")).unwrap().0.mixup_alpha, 0.0);
    let e = Recipe::from_doc(&doc("TRAIN: {MIXUP_ALPHA: -1}"))
        .unwrap_err()
        .0;
    assert!(
        e.contains("TRAIN.MIXUP_ALPHA must be 0 (off) or positive"),
        "{e}"
    );
}

#[test]
fn ema_rate_follows_pycls_update_model_ema() {
    let doc: serde_yaml::Mapping = serde_yaml::from_str(
        "OPTIM: {EMA_ALPHA: 1.0e-5, EMA_UPDATE_PERIOD: 32, MAX_EPOCH: 10, WARMUP_EPOCHS: 1}\nTRAIN: {BATCH_SIZE: 128}",
    )
    .unwrap();
    let (r, warnings) = Recipe::from_doc(&doc).unwrap();
    assert!(warnings.is_empty(), "EMA is applied now: {warnings:?}");
    assert!(r.ema_on());
    // alpha * batch / epochs * period = 1e-5 * 128 / 10 * 32
    assert!(
        (r.ema_rate(3) - 0.004096).abs() < 1e-15,
        "{}",
        r.ema_rate(3)
    );
    assert_eq!(r.ema_rate(0), 1.0, "a plain copy during warmup");
    let big = Recipe {
        ema_alpha: 1.0,
        ..r.clone()
    };
    assert_eq!(big.ema_rate(5), 1.0, "capped at 1");
    assert!(!Recipe::default().ema_on(), "off unless a config sets it");
}
