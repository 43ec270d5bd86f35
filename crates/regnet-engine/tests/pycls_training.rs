//! pycls's training semantics: precise BN statistics, BN hyper-parameters,
//! the lr set once per epoch, the dropped last partial batch, SGD dampening
//! and bias weight decay, and networks that downsample below 1x1.

use regnet_config::{LrUpdate, Recipe};
use regnet_data::synthetic::{generate, Split};
use regnet_engine::data::TensorSet;
use regnet_engine::precise_bn::{precise_bn, precise_bn_iters};
use regnet_engine::sgd::Sgd;
use regnet_engine::train::{train, BatchProgress, EpochRecord, Observer, Stop};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use std::ops::ControlFlow;
use tch::nn::{ModuleT, VarStore};
use tch::{Kind, Tensor};

fn net(yaml: &str) -> regnet_spec::Network {
    regnet_config::parse_str(yaml)
        .unwrap()
        .model
        .build()
        .unwrap()
}

fn small_net() -> regnet_spec::Network {
    net("MODEL: {TYPE: anynet, NUM_CLASSES: 10}\n\
         ANYNET: {STEM_TYPE: res_stem_cifar, STEM_W: 8, BLOCK_TYPE: res_bottleneck_block,\n\
                  DEPTHS: [1, 1], WIDTHS: [16, 32], STRIDES: [1, 2],\n\
                  BOT_MULS: [1.0, 1.0], GROUP_WS: [8, 8]}\n")
}

fn set(n: usize, split: Split) -> TensorSet {
    let s = generate(n, 0, split);
    TensorSet::new(&s, [0.5; 3], [0.25; 3], Device::Cpu)
}

fn all_images(s: &TensorSet) -> Tensor {
    let order = Tensor::arange(s.len() as i64, (Kind::Int64, tch::Device::Cpu));
    let x = s.batches(&order, s.len()).next().unwrap().unwrap().0;
    x
}

/// The stem conv's output for `x`, computed from the model's own weights.
fn stem_conv(m: &BuiltModel, x: &Tensor) -> Tensor {
    let w = &m.vs.variables()["stem.conv.weight"];
    x.conv2d(w, None::<Tensor>, [1, 1], [1, 1], [1, 1], 1)
}

fn close(a: &Tensor, b: &Tensor, tol: f64) {
    let d = (a - b).abs().max().double_value(&[]);
    let scale = b.abs().max().double_value(&[]).max(1e-3);
    assert!(d <= tol * scale, "differ by {d} (scale {scale})");
}

#[test]
fn precise_bn_replaces_running_statistics_with_batch_statistics() {
    let data = set(64, Split::Train);
    let mut m = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    let y = stem_conv(&m, &all_images(&data));
    let mean = y.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Float);
    let var = y.var_dim([0i64, 2, 3].as_slice(), true, false);
    // One batch of the whole set: the stem BN holds its mean and unbiased variance.
    precise_bn(&mut m, &data, 64, 1, 7).unwrap();
    let vars = m.vs.variables();
    close(&vars["stem.bn.running_mean"], &mean, 1e-4);
    close(&vars["stem.bn.running_var"], &var, 1e-4);
    // Two half batches: the average of their means is the whole set's mean
    // whatever the order; the variance is the average of the halves'.
    let mut m2 = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    m2.vs.copy(&m.vs).unwrap();
    precise_bn(&mut m2, &data, 32, 2, 9).unwrap();
    close(&m2.vs.variables()["stem.bn.running_mean"], &mean, 1e-4);
    // Training's momentum is restored: a train-mode forward mixes 0.1 of the batch in.
    let before = m2.vs.variables()["stem.bn.running_mean"].copy();
    let x = all_images(&data);
    let _ = tch::no_grad(|| m2.model.forward_t(&x, true));
    let after = &m2.vs.variables()["stem.bn.running_mean"];
    close(after, &(&before * 0.9 + &mean * 0.1), 1e-4);
    // pycls's number of batches: NUM_SAMPLES_PRECISE / batch, at most an epoch's full batches.
    assert_eq!(precise_bn_iters(8192, 128, 60_000), 64);
    assert_eq!(precise_bn_iters(8192, 128, 1_000), 7);
    assert_eq!(precise_bn_iters(100, 128, 60_000), 0);
}

#[test]
fn bn_momentum_and_eps_come_from_the_recipe() {
    let data = set(32, Split::Train);
    let init = InitConfig {
        bn_momentum: 0.5,
        bn_eps: 0.25,
        ..InitConfig::default()
    };
    let m = BuiltModel::new(&small_net(), Device::Cpu, init);
    let x = all_images(&data);
    let y = stem_conv(&m, &x);
    let _ = tch::no_grad(|| m.model.forward_t(&x, true));
    // Running mean starts at 0: after one batch it is 0.5 x the batch mean.
    let mean = y.mean_dim([0i64, 2, 3].as_slice(), false, Kind::Float);
    close(
        &m.vs.variables()["stem.bn.running_mean"],
        &(&mean * 0.5),
        1e-4,
    );
    // Eval outputs of two models with the same weights and statistics differ
    // when only their BN eps does.
    let plain = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    let a = tch::no_grad(|| plain.model.forward_t(&x, false));
    let b = tch::no_grad(|| {
        let mut m = BuiltModel::new(&small_net(), Device::Cpu, init);
        m.vs.copy(&plain.vs).unwrap();
        m.model.forward_t(&x, false)
    });
    assert!(
        (&a - &b).abs().max().double_value(&[]) > 1e-3,
        "eps changes outputs"
    );
}

/// Records what the trainer reports.
#[derive(Default)]
struct Seen {
    batches: Vec<BatchProgress>,
    epochs: Vec<EpochRecord>,
}

impl Observer for &mut Seen {
    fn batch(&mut self, p: BatchProgress) -> ControlFlow<()> {
        self.batches.push(p);
        ControlFlow::Continue(())
    }
    fn epoch(&mut self, log: &EpochRecord) -> ControlFlow<Stop> {
        self.epochs.push(log.clone());
        ControlFlow::Continue(())
    }
}

fn quick_recipe(update: LrUpdate) -> Recipe {
    Recipe {
        epochs: 3,
        batch_size: 32,
        base_lr: 0.1,
        warmup_epochs: 1.0,
        lr_update: update,
        precise_bn_samples: 64,
        seed: 0,
        ..Recipe::default()
    }
}

#[test]
fn lr_per_epoch_last_partial_batch_dropped_and_ema_and_precise_bn_by_default() {
    tch::set_num_threads(1);
    let (tr, te) = (set(100, Split::Train), set(40, Split::Test));
    let mut seen = Seen::default();
    let mut m = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    let r = quick_recipe(LrUpdate::PerEpoch);
    train(&mut m, &tr, &te, &r, None, &mut seen).unwrap();
    // 100 images in batches of 32: three full batches per epoch (pycls drop_last).
    assert!(seen.batches.iter().all(|b| b.total == 3));
    assert_eq!(seen.batches.len(), 9);
    // lr: cos over 3 epochs with 1 warmup epoch from 0.1 x base, set once per epoch.
    // epoch 0: 0.1 * 1 * 0.1 = 0.01; epoch 1: 0.1 * 0.5 (1 + cos(pi/3)) = 0.075;
    // epoch 2: 0.1 * 0.5 (1 + cos(2 pi/3)) = 0.025.
    let lrs: Vec<(f64, f64)> = seen
        .epochs
        .iter()
        .map(|e| (e.lr.unwrap(), e.lr_end.unwrap()))
        .collect();
    for ((lr, end), want) in lrs.iter().zip([0.01, 0.075, 0.025]) {
        assert!((lr - want).abs() < 1e-12 && lr == end, "{lrs:?}");
    }
    // The weight EMA is kept and evaluated (pycls's default EMA_ALPHA 1e-5).
    assert!(m.ema.is_some());
    assert!(seen.epochs.iter().all(|e| e.test_ema_top1_err.is_some()));

    // Per iteration: the first batch has the epoch's lr, the last a later point
    // of the schedule: epoch 1 + 2/3 -> 0.1 * 0.5 (1 + cos(5 pi / 9)) = 0.0413176.
    let mut per_iter = Seen::default();
    let mut m = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    train(
        &mut m,
        &tr,
        &te,
        &quick_recipe(LrUpdate::PerIter),
        None,
        &mut per_iter,
    )
    .unwrap();
    let e1 = &per_iter.epochs[1];
    assert!((e1.lr.unwrap() - 0.075).abs() < 1e-12, "{e1:?}");
    assert!(
        (e1.lr_end.unwrap() - 0.041_317_591_1).abs() < 1e-9,
        "{e1:?}"
    );
    // Within warmup epoch 0 the lr rises from batch to batch.
    let e0 = &per_iter.epochs[0];
    assert!(e0.lr_end > e0.lr, "{e0:?}");
}

#[test]
fn a_set_smaller_than_a_batch_is_refused() {
    let (tr, te) = (set(20, Split::Train), set(20, Split::Test));
    let mut m = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    let r = quick_recipe(LrUpdate::PerEpoch);
    let e = train(&mut m, &tr, &te, &r, None, &mut Seen::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("smaller than TRAIN.BATCH_SIZE 32"), "{e}");
}

#[test]
fn sgd_dampening_and_bias_weight_decay_by_hand() {
    // p = 1, loss p^2/2 (gradient p), momentum 0.9, dampening 0.5, no nesterov, lr 0.1, wd 0:
    // step 1: buf = d = 1 (no dampening on the first step), p = 0.9;
    // step 2: d = 0.9, buf = 0.9 * 1 + 0.5 * 0.9 = 1.35, p = 0.9 - 0.135 = 0.765.
    let vs = VarStore::new(tch::Device::Cpu);
    let p = vs.root().var("w", &[1], tch::nn::Init::Const(1.0));
    let r = Recipe {
        nesterov: false,
        dampening: 0.5,
        weight_decay: 0.0,
        ..Recipe::default()
    };
    let mut sgd = Sgd::new(&vs, &r);
    for want in [0.9, 0.765] {
        sgd.zero_grad();
        (&p * &p / 2.0).sum(Kind::Float).backward();
        sgd.step(0.1);
        assert!((p.double_value(&[0]) - want).abs() < 1e-6, "{p:?}");
    }
    // Bias decay group: with zero gradients, a bias decays by its own rate and
    // a weight by WEIGHT_DECAY (momentum 0: one plain step of lr * wd * p).
    let vs = VarStore::new(tch::Device::Cpu);
    let fc = vs.root() / "fc";
    let w = fc.var("weight", &[1], tch::nn::Init::Const(1.0));
    let b = fc.var("bias", &[1], tch::nn::Init::Const(1.0));
    let r = Recipe {
        momentum: 0.0,
        nesterov: false,
        weight_decay: 0.1,
        bias_weight_decay: Some(0.5),
        ..Recipe::default()
    };
    let mut sgd = Sgd::new(&vs, &r);
    ((&w + &b) * 0.0).sum(Kind::Float).backward();
    sgd.step(1.0);
    assert!((w.double_value(&[0]) - 0.9).abs() < 1e-6);
    assert!((b.double_value(&[0]) - 0.5).abs() < 1e-6);
}

#[test]
fn networks_that_downsample_below_their_input_train() {
    tch::set_num_threads(1);
    // Five stride-2 stages after a stride-2 stem at 32x32 (downsampling 64),
    // and a six-stage RegNet (downsampling 128): both count (see the spec's
    // tests) and take a training step here.
    for yaml in [
        "MODEL: {TYPE: anynet, NUM_CLASSES: 10}\nANYNET: {STEM_TYPE: simple_stem_in, STEM_W: 8,\n\
         DEPTHS: [1, 1, 1, 1, 1], WIDTHS: [8, 16, 16, 32, 32], STRIDES: [2, 2, 2, 2, 2],\n\
         BOT_MULS: [1, 1, 1, 1, 1], GROUP_WS: [8, 8, 8, 8, 8]}\nTRAIN: {IM_SIZE: 32}\n",
        "MODEL: {TYPE: regnet, NUM_CLASSES: 10}\nREGNET: {DEPTH: 10, W0: 8, WA: 8.0, WM: 1.5, GROUP_W: 8}\n\
         TRAIN: {IM_SIZE: 32}\n",
    ] {
        let n = net(yaml);
        let at_1x1 = n.stages_at_1x1(32);
        assert!(!at_1x1.is_empty(), "{yaml}");
        let (tr, te) = (set(64, Split::Train), set(20, Split::Test));
        let mut m = BuiltModel::new(&n, Device::Cpu, InitConfig::default());
        m.to_channels_last();
        let r = Recipe {
            epochs: 1,
            batch_size: 32,
            seed: 0,
            ..Recipe::default()
        };
        let mut seen = Seen::default();
        train(&mut m, &tr, &te, &r, None, &mut seen).unwrap();
        let e = &seen.epochs[0];
        assert!(e.train_loss.unwrap().is_finite() && e.test_top1_err <= 100.0, "{e:?}");
        let y = tch::no_grad(|| m.model.forward_t(&all_images(&te), false));
        assert_eq!(y.size(), vec![20, 10]);
    }
}
