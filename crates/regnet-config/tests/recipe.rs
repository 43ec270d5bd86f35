//! The training recipe read from pycls config sections.

use regnet_config::{LrPolicy, LrUpdate, Recipe};

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
    // pycls lr_fun_lin / lr_fun_exp decay towards MIN_LR: with MIN_LR 0.01,
    // lin at 2.5 of 10 = 0.1 * (0.99 * 0.75 + 0.01) = 0.07525; exp at 5 of 10
    // = 0.1 * 0.01^0.5 = 0.01; cos at 10 of 10 = 0.1 * 0.01 = 0.001.
    r.min_lr = 0.01;
    assert!((r.lr_at(2.5) - 0.07525).abs() < 1e-12);
    r.policy = LrPolicy::Exp;
    assert!((r.lr_at(5.0) - 0.01).abs() < 1e-12);
    assert!((r.lr_at(0.0) - 0.1).abs() < 1e-12);
    r.policy = LrPolicy::Cos;
    assert!((r.lr_at(10.0) - 0.001).abs() < 1e-12);
}

#[test]
fn lr_is_set_per_epoch_unless_per_iteration_is_asked() {
    let mut r = recipe(10);
    assert_eq!(r.lr_update, LrUpdate::PerEpoch, "pycls's get_epoch_lr");
    // Per epoch: every mini-batch of epoch 3 gets lr_at(3).
    assert_eq!(r.lr_for(3, 0, 50), r.lr_at(3.0));
    assert_eq!(r.lr_for(3, 49, 50), r.lr_at(3.0));
    r.lr_update = LrUpdate::PerIter;
    assert_eq!(r.lr_for(3, 0, 50), r.lr_at(3.0));
    assert_eq!(r.lr_for(3, 25, 50), r.lr_at(3.5));
    assert!(r.lr_for(3, 49, 50) < r.lr_at(3.0));
    assert_eq!("iter".parse::<LrUpdate>(), Ok(LrUpdate::PerIter));
    assert!("often"
        .parse::<LrUpdate>()
        .unwrap_err()
        .contains("allowed: epoch, iter"));
}

#[test]
fn pycls_sections_and_defaults() {
    let cfg = regnet_config::parse_str(
        "MODEL: {TYPE: regnet}\nOPTIM: {BASE_LR: 0.4, MAX_EPOCH: 10, WEIGHT_DECAY: 5e-5, NESTEROV: False, DAMPENING: 0.1}\n\
         TRAIN: {BATCH_SIZE: 256, LABEL_SMOOTHING: 0.1, MIXUP_ALPHA: 0.0, PCA_STD: 0.2}\nTEST: {IM_SIZE: 288}\n\
         BN: {USE_CUSTOM_WEIGHT_DECAY: True, ZERO_INIT_FINAL_GAMMA: True, EPS: 1e-3, MOM: 0.2, NUM_SAMPLES_PRECISE: 2048}\nRNG_SEED: 3\n",
    )
    .unwrap();
    let (r, warnings) = Recipe::from_doc(&cfg.doc).unwrap();
    assert_eq!(
        (r.base_lr, r.epochs, r.weight_decay, r.nesterov, r.dampening),
        (0.4, 10, 5e-5, false, 0.1)
    );
    assert_eq!(
        (
            r.batch_size,
            r.test_batch_size,
            r.label_smoothing,
            r.pca_std,
            r.test_im_size
        ),
        (256, 200, 0.1, 0.2, 288)
    );
    assert_eq!((r.bn_weight_decay, r.momentum, r.seed), (Some(0.0), 0.9, 3));
    assert_eq!(
        (r.bn_eps, r.bn_momentum, r.precise_bn_samples),
        (1e-3, 0.2, 2048)
    );
    assert_eq!(r.policy, LrPolicy::Cos);
    assert!(r.zero_init_final_gamma);
    assert!(warnings.is_empty(), "{warnings:?}");
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

/// Every recipe value a config may omit takes pycls's default
/// (`pycls/core/config.py`, written out here from that file).
#[test]
fn omitted_keys_take_pycls_defaults() {
    let (d, w) = Recipe::from_doc(&serde_yaml::Mapping::new()).unwrap();
    assert!(w.is_empty());
    assert_eq!(d, Recipe::default());
    assert_eq!(d.epochs, 200); // OPTIM.MAX_EPOCH
    assert_eq!(d.base_lr, 0.1); // OPTIM.BASE_LR
    assert_eq!(d.min_lr, 0.0); // OPTIM.MIN_LR
    assert_eq!(d.policy, LrPolicy::Cos); // OPTIM.LR_POLICY
    assert_eq!(d.momentum, 0.9); // OPTIM.MOMENTUM
    assert_eq!(d.dampening, 0.0); // OPTIM.DAMPENING
    assert!(d.nesterov); // OPTIM.NESTEROV
    assert_eq!(d.weight_decay, 5e-4); // OPTIM.WEIGHT_DECAY
    assert_eq!(d.bias_weight_decay, None); // OPTIM.BIAS_USE_CUSTOM_WEIGHT_DECAY False
    assert_eq!((d.warmup_factor, d.warmup_epochs), (0.1, 0.0)); // OPTIM.WARMUP_*
    assert_eq!((d.ema_alpha, d.ema_update_period), (1e-5, 32)); // OPTIM.EMA_*
    assert!(d.ema_on(), "pycls keeps an EMA model in every run");
    assert_eq!((d.batch_size, d.test_batch_size), (128, 200)); // TRAIN/TEST.BATCH_SIZE
    assert_eq!(d.test_im_size, 256); // TEST.IM_SIZE
    assert_eq!((d.label_smoothing, d.mixup_alpha), (0.0, 0.0)); // TRAIN.*
    assert_eq!(d.pca_std, 0.1); // TRAIN.PCA_STD
    assert!(!d.mixed_precision); // TRAIN.MIXED_PRECISION
    assert_eq!((d.bn_eps, d.bn_momentum), (1e-5, 0.1)); // BN.EPS, BN.MOM
    assert_eq!(d.precise_bn_samples, 8192); // BN.USE_PRECISE_STATS True, NUM_SAMPLES_PRECISE
    assert_eq!(d.bn_weight_decay, None); // BN.USE_CUSTOM_WEIGHT_DECAY False
    assert!(!d.zero_init_final_gamma); // BN.ZERO_INIT_FINAL_GAMMA False
    assert_eq!(d.seed, 1); // RNG_SEED
    assert_eq!(d.lr_update, LrUpdate::PerEpoch); // pycls sets the lr once per epoch
    let doc: serde_yaml::Mapping = serde_yaml::from_str("BN: {USE_PRECISE_STATS: False}").unwrap();
    assert_eq!(Recipe::from_doc(&doc).unwrap().0.precise_bn_samples, 0);
}

#[test]
fn unsupported_deprecated_and_invalid_options_are_reported() {
    let doc = |text: &str| -> serde_yaml::Mapping { serde_yaml::from_str(text).unwrap() };
    let (_, w) = Recipe::from_doc(&doc(
        "OPTIM: {GAMMA: 0.5, LR_POLICY: exp}\nTRAIN: {CUTMIX_ALPHA: 1.0, AUGMENT: AutoAugment, EVAL_PERIOD: 2}",
    ))
    .unwrap();
    assert_eq!(
        w,
        vec![
            "TRAIN.CUTMIX_ALPHA is set but not supported yet; it is ignored".to_string(),
            "TRAIN.AUGMENT is set but not supported yet; it is ignored".to_string(),
            "OPTIM.GAMMA is deprecated in pycls and ignored; the exp policy decays to OPTIM.MIN_LR"
                .to_string(),
            "TRAIN.EVAL_PERIOD is deprecated in pycls and ignored".to_string(),
        ]
    );
    let (_, w) = Recipe::from_doc(&doc("TRAIN: {CUTMIX_ALPHA: 0.0, AUGMENT: ''}")).unwrap();
    assert!(w.is_empty(), "{w:?}");
    for (text, msg) in [
        (
            "OPTIM: {OPTIMIZER: adamw}",
            "OPTIM.OPTIMIZER 'adamw' is not supported (allowed: sgd)",
        ),
        (
            "MODEL: {LOSS_FUN: focal}",
            "MODEL.LOSS_FUN 'focal' is not supported",
        ),
        (
            "OPTIM: {DAMPENING: 0.1}",
            "OPTIM.NESTEROV needs OPTIM.MOMENTUM > 0 and OPTIM.DAMPENING 0",
        ),
        ("BN: {EPS: 0}", "BN.EPS must be positive"),
        ("BN: {MOM: 1.5}", "BN.MOM must be in [0, 1]"),
        ("TEST: {IM_SIZE: 0}", "TEST.IM_SIZE must be at least 1"),
        (
            "TRAIN: {PCA_STD: -1}",
            "TRAIN.PCA_STD must be 0 (off) or positive",
        ),
    ] {
        let e = Recipe::from_doc(&doc(text)).unwrap_err().0;
        assert!(e.contains(msg), "{text}: {e}");
    }
    let (r, _) = Recipe::from_doc(&doc(
        "OPTIM: {BIAS_USE_CUSTOM_WEIGHT_DECAY: True, BIAS_CUSTOM_WEIGHT_DECAY: 1e-6}",
    ))
    .unwrap();
    assert_eq!(r.bias_weight_decay, Some(1e-6));
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
    let off: serde_yaml::Mapping = serde_yaml::from_str("OPTIM: {EMA_ALPHA: 0}").unwrap();
    assert!(
        !Recipe::from_doc(&off).unwrap().0.ema_on(),
        "off when a config sets 0"
    );
}

#[test]
fn the_clip_norm_is_a_toolkit_key_read_checked_and_written_back() {
    let cfg = regnet_config::parse_str("MODEL: {TYPE: regnet}\nTOOLKIT: {CLIP_GRAD_NORM: 5.0}\n")
        .unwrap();
    let (r, _) = Recipe::from_doc(&cfg.doc).unwrap();
    assert_eq!(r.clip_grad_norm, 5.0);
    let back = Recipe::from_doc(&r.to_doc()).unwrap().0;
    assert_eq!(back, r);
    assert_eq!(Recipe::default().clip_grad_norm, 0.0, "off unless asked");
    let bad =
        regnet_config::parse_str("MODEL: {TYPE: regnet}\nTOOLKIT: {CLIP_GRAD_NORM: -1}\n").unwrap();
    let e = Recipe::from_doc(&bad.doc).unwrap_err().to_string();
    assert_eq!(
        e,
        "TOOLKIT.CLIP_GRAD_NORM must be 0 (off) or positive (got -1)"
    );
}
