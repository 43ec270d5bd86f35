//! The training loop: optimizer arithmetic, schedules, and learning on the
//! synthetic dataset.

use rand::SeedableRng;
use regnet_config::{LrPolicy, Recipe};
use regnet_data::synthetic::{generate, Split};
use regnet_engine::data::TensorSet;
use regnet_engine::sgd::Sgd;
use regnet_engine::train::{train, EpochRecord, Status, Stop};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use std::ops::ControlFlow;
use tch::nn::VarStore;
use tch::{Kind, Tensor};

/// A small fixed recipe: no EMA and no precise BN unless a test asks (they
/// are pycls's defaults, tested on their own), zero-init residual γ.
fn recipe(epochs: usize) -> Recipe {
    Recipe {
        epochs,
        batch_size: 64,
        test_batch_size: 200,
        base_lr: 0.1,
        policy: LrPolicy::Cos,
        momentum: 0.9,
        nesterov: false,
        weight_decay: 0.1,
        ema_alpha: 0.0,
        precise_bn_samples: 0,
        seed: 0,
        zero_init_final_gamma: true,
        ..Recipe::default()
    }
}

#[test]
fn sgd_steps_by_hand() {
    // One parameter p = 1 with loss p^2 / 2 (gradient p), wd 0.1, momentum 0.9, lr 0.1:
    // step 1: d = 1 + 0.1 = 1.1, buf = 1.1, p = 1 - 0.11 = 0.89
    // step 2: d = 0.89 * 1.1 = 0.979, buf = 0.9 * 1.1 + 0.979 = 1.969, p = 0.89 - 0.1969 = 0.6931
    let vs = VarStore::new(tch::Device::Cpu);
    let p = vs.root().var("p", &[1], tch::nn::Init::Const(1.0));
    let mut sgd = Sgd::new(&vs, &recipe(1));
    for expected in [0.89, 0.89 - 0.1969] {
        sgd.zero_grad();
        (&p * &p / 2.0).sum(Kind::Float).backward();
        sgd.step(0.1);
        assert!((p.double_value(&[0]) - expected).abs() < 1e-6, "{p:?}");
    }
    // Nesterov, no weight decay: d = 1, buf = 1, step = d + 0.9 buf = 1.9 -> p = 1 - 0.19.
    let vs = VarStore::new(tch::Device::Cpu);
    let p = vs.root().var("p", &[1], tch::nn::Init::Const(1.0));
    let mut r = recipe(1);
    r.weight_decay = 0.0;
    r.nesterov = true;
    let mut sgd = Sgd::new(&vs, &r);
    (&p * &p / 2.0).sum(Kind::Float).backward();
    sgd.step(0.1);
    assert!((p.double_value(&[0]) - 0.81).abs() < 1e-6);
}

fn small_net() -> regnet_spec::Network {
    let cfg = regnet_config::parse_str(
        "MODEL: {TYPE: anynet, NUM_CLASSES: 10}\n\
         ANYNET: {STEM_TYPE: res_stem_cifar, STEM_W: 16, BLOCK_TYPE: res_bottleneck_block,\n\
                  DEPTHS: [1, 1, 1], WIDTHS: [16, 32, 64], STRIDES: [1, 2, 2],\n\
                  BOT_MULS: [1.0, 1.0, 1.0], GROUP_WS: [8, 8, 8]}\n\
         TRAIN: {IM_SIZE: 32}\n",
    )
    .unwrap();
    cfg.model.build().unwrap()
}

/// `train` and `test` synthetic images as tensors, normalized by the
/// training set's channel statistics.
fn synthetic_sets(train: usize, test: usize) -> (TensorSet, TensorSet) {
    let tr = generate(train, 0, Split::Train);
    let te = generate(test, 0, Split::Test);
    let (mean, std) = tr.channel_stats();
    (
        TensorSet::new(&tr, mean, std, Device::Cpu),
        TensorSet::new(&te, mean, std, Device::Cpu),
    )
}

/// A model of [`small_net`] whose weights are drawn from `seed`.
fn seeded(seed: u64) -> BuiltModel {
    let init = InitConfig {
        seed,
        ..InitConfig::default()
    };
    BuiltModel::new(&small_net(), Device::Cpu, init)
}

fn run(seed: u64, epochs: usize) -> (Status, Vec<EpochRecord>) {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(2000, 500);
    let mut model = seeded(seed);
    let mut r = recipe(epochs);
    r.batch_size = 32;
    r.base_lr = 0.2;
    r.weight_decay = 5e-4;
    r.seed = seed;
    train(&mut model, &tr, &te, &r, None, keep_going).unwrap()
}

#[test]
fn a_small_model_learns_the_synthetic_task_deterministically() {
    let (status, logs) = run(0, 4);
    assert_eq!(status, Status::Done);
    assert_eq!(logs.len(), 4);
    // Chance is 90% top-1 error on 10 balanced classes; this tiny model
    // (3 X blocks, 8k images seen) reaches about 64%.
    let last = logs.last().unwrap();
    assert!(last.test_top1_err < 72.0, "{logs:?}");
    assert!(last.test_top5_err.unwrap() < last.test_top1_err);
    assert!(last.train_loss < logs[0].train_loss, "{logs:?}");
    // Same seed, same numbers (timings aside).
    let (_, once) = run(3, 1);
    let (_, again) = run(3, 1);
    same_numbers(&once, &again);
}

fn same_numbers(a: &[EpochRecord], b: &[EpochRecord]) {
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(
            (a.train_loss, a.test_top1_err, a.lr),
            (b.train_loss, b.test_top1_err, b.lr)
        );
    }
}

#[test]
fn trainings_on_parallel_threads_are_each_reproducible() {
    // Every draw (initialization, epoch order, masks, augmentation) comes
    // from the run's own seeded generators: two runs side by side end where
    // each ends alone, and the seed matters.
    let (_, alone) = run(5, 2);
    let (_, other) = run(6, 2);
    let side_by_side = std::thread::scope(|s| {
        let a = s.spawn(|| run(5, 2).1);
        let b = s.spawn(|| run(6, 2).1);
        (a.join().unwrap(), b.join().unwrap())
    });
    same_numbers(&alone, &side_by_side.0);
    same_numbers(&other, &side_by_side.1);
    assert_ne!(alone[1].train_loss, other[1].train_loss);
}

#[test]
fn a_diverging_run_is_reported() {
    let tr = generate(256, 0, Split::Train);
    let set = TensorSet::new(&tr, [0.5; 3], [0.25; 3], Device::Cpu);
    let mut model = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    let mut r = recipe(2);
    r.base_lr = 1e12;
    let (status, _) = train(&mut model, &set, &set, &r, None, keep_going).unwrap();
    assert_eq!(status, Status::Diverged);
}

#[test]
fn a_resumed_run_ends_where_an_uninterrupted_one_does() {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(300, 100);
    let mut r = recipe(3);
    r.batch_size = 32;
    r.weight_decay = 5e-4;
    let dir = std::env::temp_dir().join(format!("regnet-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fresh = seeded;
    // Uninterrupted, with a checkpoint written every epoch.
    let mut a = fresh(0);
    let ca = dir.join("a.safetensors");
    let (_, logs_a) = train(&mut a, &tr, &te, &r, Some(&ca), keep_going).unwrap();
    // Stopped after the first epoch, then resumed into a differently
    // initialized model (the checkpoint must restore everything).
    let cb = dir.join("b.safetensors");
    let mut b = fresh(0);
    let (status, first) = train(&mut b, &tr, &te, &r, Some(&cb), stop).unwrap();
    assert_eq!((status, first.len()), (Status::Stopped, 1));
    let mut b = fresh(99);
    let (status, rest) = train(&mut b, &tr, &te, &r, Some(&cb), keep_going).unwrap();
    assert_eq!(status, Status::Done);
    assert_eq!(rest.iter().map(|l| l.epoch).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(logs_a.len(), 3);
    for (x, y) in logs_a[1..].iter().zip(&rest) {
        assert_eq!(
            (x.train_loss, x.test_top1_err, x.lr),
            (y.train_loss, y.test_top1_err, y.lr)
        );
    }
    let (va, vb) = (a.vs.variables(), b.vs.variables());
    for (k, t) in &va {
        assert!(t.equal(&vb[k]), "{k} differs after resume");
    }
    // A checkpoint of another architecture is refused with a clear message.
    let other = regnet_spec::zoo::find("RegNetX-200MF")
        .unwrap()
        .spec()
        .with_num_classes(10)
        .build()
        .unwrap();
    let mut c = BuiltModel::new(&other, Device::Cpu, InitConfig::default());
    let e = train(&mut c, &tr, &te, &r, Some(&ca), keep_going).unwrap_err();
    assert!(
        e.to_string().contains("another model") || e.to_string().contains("shape"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Stops after epoch `after` without keeping it, or mid-epoch.
struct Stopper {
    after: u32,
    /// Stop at this mini-batch of the epoch after `after` instead.
    mid: Option<usize>,
}

impl regnet_engine::train::Observer for Stopper {
    fn batch(&mut self, p: regnet_engine::train::BatchProgress) -> ControlFlow<()> {
        match self.mid {
            Some(i) if p.epoch as u32 == self.after && p.done == i => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        }
    }

    fn epoch(&mut self, e: &EpochRecord) -> ControlFlow<Stop> {
        match e.epoch == self.after + 1 && self.mid.is_none() {
            true => ControlFlow::Break(Stop::Unrecorded),
            false => ControlFlow::Continue(()),
        }
    }
}

/// A run stopped with an epoch it could not record, or in the middle of
/// an epoch, keeps the checkpoint of the last kept epoch: the resumed run
/// repeats the lost epoch and ends where an uninterrupted one does.
#[test]
fn an_unrecorded_or_interrupted_epoch_is_repeated_on_resume() {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(300, 100);
    let mut r = recipe(3);
    r.batch_size = 32;
    let dir = std::env::temp_dir().join(format!("regnet-unrecorded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (_, whole) = train(&mut seeded(0), &tr, &te, &r, None, keep_going).unwrap();
    for mid in [None, Some(3)] {
        let ck = dir.join(format!("{mid:?}.safetensors"));
        let (status, kept) = train(
            &mut seeded(0),
            &tr,
            &te,
            &r,
            Some(&ck),
            Stopper { after: 1, mid },
        )
        .unwrap();
        // Epoch 1 kept; epoch 2 unrecorded (or cut at its 3rd batch).
        assert_eq!((status, kept.len()), (Status::Stopped, 1), "{mid:?}");
        assert_eq!(regnet_engine::train::checkpoint_epoch(&ck).unwrap(), 1);
        let (_, rest) = train(&mut seeded(7), &tr, &te, &r, Some(&ck), keep_going).unwrap();
        assert_eq!(rest.iter().map(|l| l.epoch).collect::<Vec<_>>(), [2, 3]);
        for (x, y) in whole[1..].iter().zip(&rest) {
            assert_eq!(
                (x.train_loss, x.test_top1_err),
                (y.train_loss, y.test_top1_err)
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cifar_augmentation_flips_and_shifts() {
    use rand::SeedableRng;
    use regnet_engine::data::{augment, Augment};
    let x =
        Tensor::arange(2 * 3 * 32 * 32, (Kind::Float, tch::Device::Cpu)).view([2, 3, 32, 32]) + 1.0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let y = augment(&x, Augment::FlipPadCrop, &mut rng);
    assert_eq!(y.size(), [2, 3, 32, 32]);
    // Each output is a flipped-or-not, shifted-by-at-most-4 copy: every non-zero
    // (non-padding) value comes from the same image and channel.
    for i in 0..2 {
        let src = x.get(i);
        let out = y.get(i);
        let kept = out.ne(0.0).sum(Kind::Int64).int64_value(&[]);
        assert!(
            kept >= 3 * 24 * 24,
            "at most 4 rows and 4 columns of padding"
        );
        let vals = out.masked_select(&out.ne(0.0));
        let (lo, hi) = (src.min().double_value(&[]), src.max().double_value(&[]));
        assert!(vals.min().double_value(&[]) >= lo && vals.max().double_value(&[]) <= hi);
    }
    assert!(!y.equal(&x), "something moved");
    // The same seed gives the same batch; no augmentation leaves it alone.
    let mut again = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    assert!(augment(&x, Augment::FlipPadCrop, &mut again).equal(&y));
    assert!(augment(&x, Augment::None, &mut again).equal(&x));
}

#[test]
fn prefetched_batches_cover_the_epoch_in_order() {
    use regnet_engine::data::prefetched_batches;
    let set = TensorSet::new(
        &generate(50, 0, Split::Train),
        [0.5; 3],
        [0.25; 3],
        Device::Cpu,
    );
    let order = Tensor::arange(50, (Kind::Int64, tch::Device::Cpu)).flip([0]);
    let batches: Vec<(Tensor, Tensor)> = prefetched_batches(&set, &order, 16, 0)
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        batches.iter().map(|(x, _)| x.size()[0]).collect::<Vec<_>>(),
        [16, 16, 16, 2]
    );
    let labels = Tensor::cat(
        &batches
            .iter()
            .map(|(_, y)| y.shallow_clone())
            .collect::<Vec<_>>(),
        0,
    );
    assert!(labels.equal(&set.labels.flip([0])));
    // Stopping early does not hang.
    let first = prefetched_batches(&set, &order, 1, 0)
        .next()
        .unwrap()
        .unwrap();
    let last = set.batches(&order, 1).next().unwrap().unwrap();
    assert!(first.0.equal(&last.0), "image 49 first");
}

fn keep_going(_: &EpochRecord) -> ControlFlow<Stop> {
    ControlFlow::Continue(())
}

fn stop(_: &EpochRecord) -> ControlFlow<Stop> {
    ControlFlow::Break(Stop::AfterEpoch)
}

#[test]
fn mixup_soft_targets_agree_with_pytorch_cross_entropy() {
    use regnet_engine::train::{mixup, soft_cross_entropy, soft_targets};
    tch::manual_seed(3);
    let logits = Tensor::randn([6, 5], (Kind::Float, tch::Device::Cpu));
    let y = Tensor::from_slice(&[0i64, 1, 2, 3, 4, 0]);
    let y2 = Tensor::from_slice(&[4i64, 3, 2, 1, 0, 1]);
    let ce = |t: &Tensor, eps: f64| {
        logits
            .cross_entropy_loss(t, None::<Tensor>, tch::Reduction::Mean, -100, eps)
            .double_value(&[])
    };
    for eps in [0.0, 0.1] {
        // lambda = 1 is plain (label-smoothed) cross-entropy, PyTorch's own
        let one =
            soft_cross_entropy(&logits, &soft_targets(&y, &y2, 1.0, 5, eps)).double_value(&[]);
        assert!((one - ce(&y, eps)).abs() < 1e-5, "{one} vs {}", ce(&y, eps));
        // and the loss is linear in lambda
        let mixed =
            soft_cross_entropy(&logits, &soft_targets(&y, &y2, 0.3, 5, eps)).double_value(&[]);
        let expect = 0.3 * ce(&y, eps) + 0.7 * ce(&y2, eps);
        assert!((mixed - expect).abs() < 1e-5, "{mixed} vs {expect}");
    }
    // Seeded: the same generator state mixes the same way.
    let mut r = recipe(1);
    r.mixup_alpha = 0.5;
    let x = Tensor::randn([6, 3, 4, 4], (Kind::Float, tch::Device::Cpu));
    let draw = |seed| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        mixup(x.shallow_clone(), y.shallow_clone(), &r, 5, &mut rng)
    };
    let (a, la, ta) = draw(9);
    let (b, lb, tb) = draw(9);
    assert!(a.equal(&b) && la.equal(&lb) && ta.unwrap().equal(&tb.unwrap()));
    assert!(!a.equal(&x), "the batch was mixed");
    r.mixup_alpha = 0.0;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let (c, _, t) = mixup(x.shallow_clone(), y.shallow_clone(), &r, 5, &mut rng);
    assert!(c.equal(&x) && t.is_none());
}

#[test]
fn the_weight_ema_is_tracked_evaluated_and_resumed() {
    let (tr, te) = (generate(128, 0, Split::Train), generate(64, 0, Split::Test));
    let (mean, std) = tr.channel_stats();
    let sets = || {
        (
            TensorSet::new(&tr, mean, std, Device::Cpu),
            TensorSet::new(&te, mean, std, Device::Cpu),
        )
    };
    let (a_tr, a_te) = sets();
    let mut r = recipe(2);
    r.ema_alpha = 1e-3;
    r.ema_update_period = 1;
    let fresh = || seeded(0);
    let mut a = fresh();
    let (_, logs) = train(&mut a, &a_tr, &a_te, &r, None, keep_going).unwrap();
    assert!(logs.iter().all(|l| l.test_ema_top1_err.is_some()));
    let ema = a.ema.as_ref().expect("an EMA model");
    let (w, we) = (a.vs.variables(), ema.vs.variables());
    let name = w
        .keys()
        .find(|k| k.ends_with("conv.weight"))
        .unwrap()
        .clone();
    assert!(!w[&name].equal(&we[&name]), "the EMA lags the weights");
    // rate 1 (e.g. during warmup) makes the EMA a copy of the model
    let mut copy = r.clone();
    copy.warmup_epochs = 5.0;
    let mut b = fresh();
    train(&mut b, &a_tr, &a_te, &copy, None, keep_going).unwrap();
    let (w, we) = (b.vs.variables(), b.ema.as_ref().unwrap().vs.variables());
    assert!(w.iter().all(|(k, v)| v.equal(&we[k])));
    // Stopped after one epoch and resumed: the same EMA as uninterrupted.
    let dir = std::env::temp_dir().join(format!("ema-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck = dir.join("c.safetensors");
    let mut c = fresh();
    let stop = |_: &EpochRecord| ControlFlow::Break(Stop::AfterEpoch);
    train(&mut c, &a_tr, &a_te, &r, Some(&ck), stop).unwrap();
    let mut d = fresh();
    let (_, rest) = train(&mut d, &a_tr, &a_te, &r, Some(&ck), keep_going).unwrap();
    assert_eq!(rest[0].test_ema_top1_err, logs[1].test_ema_top1_err);
    let (x, y) = (
        a.ema.as_ref().unwrap().vs.variables(),
        d.ema.as_ref().unwrap().vs.variables(),
    );
    assert!(
        x.iter().all(|(k, v)| v.allclose(&y[k], 1e-6, 1e-6, false)),
        "EMA resumed exactly"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn loss_scaling_trains_exactly_like_float32_and_checkpoints_its_scale() {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(256, 64);
    let dir = std::env::temp_dir().join(format!("regnet-amp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut weights = Vec::new();
    for amp in [false, true] {
        let mut r = recipe(2);
        r.batch_size = 32;
        r.mixed_precision = amp;
        let mut m = seeded(0);
        let ckpt = dir.join(format!("amp-{amp}.safetensors"));
        train(&mut m, &tr, &te, &r, Some(&ckpt), keep_going).unwrap();
        weights.push(m.vs.variables());
        let saved = Tensor::read_safetensors(&ckpt).unwrap();
        let get = |k: &str| {
            saved
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, t)| t.double_value(&[0]))
        };
        if amp {
            // No overflow in float32: 2 epochs x 8 batches of finite steps.
            assert_eq!(
                (get("amp.scale"), get("amp.growth_tracker")),
                (Some(65536.0), Some(16.0))
            );
        } else {
            assert_eq!(get("amp.scale"), None);
        }
    }
    // Scaling by a power of two and back is exact in float32.
    for (k, t) in &weights[0] {
        assert!(t.equal(&weights[1][k]), "{k} differs with loss scaling");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_overflowing_step_is_skipped_and_the_scale_backs_off() {
    use regnet_engine::amp::GradScaler;
    use regnet_engine::train::backward_step;
    let vs = VarStore::new(tch::Device::Cpu);
    let w = vs.root().var("w", &[3], tch::nn::Init::Const(1.0));
    let mut sgd = Sgd::new(&vs, &recipe(1));
    let mut scaler = GradScaler {
        scale: 1e38,
        ..GradScaler::default()
    };
    let loss = (&w * 10.0).sum(Kind::Float);
    backward_step(&loss, &mut sgd, Some(&mut scaler), 0.1);
    assert_eq!(
        Vec::<f32>::try_from(&w).unwrap(),
        vec![1.0; 3],
        "step skipped"
    );
    assert_eq!((scaler.scale, scaler.growth_tracker), (5e37, 0));
    // At a sane scale the same step is taken, with unscaled gradients.
    scaler.scale = 1024.0;
    let loss = (&w * 10.0).sum(Kind::Float);
    backward_step(&loss, &mut sgd, Some(&mut scaler), 0.1);
    let expect = 1.0 - 0.1 * (10.0 + 0.1); // gradient 10 plus weight decay 0.1 x 1
    for v in Vec::<f32>::try_from(&w).unwrap() {
        assert!((v - expect as f32).abs() < 1e-6, "{v} vs {expect}");
    }
    assert_eq!((scaler.scale, scaler.growth_tracker), (1024.0, 1));
}

#[test]
fn a_channels_last_model_trains_like_nchw_and_saves_standard_weights() {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(256, 64);
    let mut r = recipe(1);
    r.batch_size = 32;
    r.weight_decay = 5e-4;
    let mut models = Vec::new();
    let dir = std::env::temp_dir().join(format!("regnet-cl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Zero-init residual branches keep the two layouts' float rounding from
    // compounding over the steps, so their weights stay comparable.
    let init = InitConfig {
        zero_init_final_gamma: true,
        ..InitConfig::default()
    };
    for cl in [false, true] {
        let mut m = BuiltModel::new(&small_net(), Device::Cpu, init);
        if cl {
            m.to_channels_last();
        }
        let ckpt = dir.join(format!("{cl}.safetensors"));
        let (_, logs) = train(&mut m, &tr, &te, &r, Some(&ckpt), keep_going).unwrap();
        models.push((m, logs[0].train_loss.unwrap()));
    }
    let ((nchw, loss_a), (cl, loss_b)) = (&models[0], &models[1]);
    assert!(
        (loss_a - loss_b).abs() < 1e-4 * loss_a,
        "{loss_a} vs {loss_b}"
    );
    let (va, vb) = (nchw.vs.variables(), cl.vs.variables());
    for (k, t) in &va {
        let d = (t - &vb[k]).abs().max().double_value(&[]);
        let scale = t.abs().max().double_value(&[]).max(1.0);
        assert!(d < 1e-3 * scale, "{k}: {d} (largest value {scale})");
    }
    // Saved in standard layout: a plain NCHW model loads it and agrees.
    let path = dir.join("weights.safetensors");
    cl.save(&path).unwrap();
    let mut back = BuiltModel::new(&small_net(), Device::Cpu, InitConfig::default());
    back.vs.load(&path).unwrap();
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, tch::Device::Cpu));
    use tch::nn::ModuleT;
    let (y1, y2) = (
        cl.model.forward_t(&x, false),
        back.model.forward_t(&x, false),
    );
    let d = (&y1 - &y2).abs().max().double_value(&[]);
    assert!(d < 1e-4, "reloaded outputs differ by {d}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gradients_above_the_clip_norm_are_scaled_to_it_as_torch_clips() {
    use regnet_engine::train::backward_step;
    let r = Recipe {
        momentum: 0.0,
        nesterov: false,
        weight_decay: 0.0,
        clip_grad_norm: 1.0,
        ..Recipe::default()
    };
    let vs = VarStore::new(tch::Device::Cpu);
    let a = vs.root().var("a", &[1], tch::nn::Init::Const(0.0));
    let b = vs.root().var("b", &[1], tch::nn::Init::Const(0.0));
    let mut sgd = Sgd::new(&vs, &r);
    // Gradients 3 and 4: total norm 5, so torch's clip_grad_norm_(…, 1.0)
    // scales both by 1 / (5 + 1e-6), and a unit-lr step moves a and b by
    // -0.6 and -0.8.
    let loss = (&a * 3.0 + &b * 4.0).sum(Kind::Float);
    backward_step(&loss, &mut sgd, None, 1.0);
    let coef = 1.0 / (5.0 + 1e-6);
    let (va, vb) = (a.double_value(&[0]), b.double_value(&[0]));
    assert!(
        (va + 3.0 * coef).abs() < 1e-6 && (vb + 4.0 * coef).abs() < 1e-6,
        "{va} {vb}"
    );
    assert_eq!(sgd.last_norm(), Some(5.0));
    // Below the norm, the gradients are applied as they are.
    let loss = (&a * 0.3 + &b * 0.4).sum(Kind::Float);
    backward_step(&loss, &mut sgd, None, 1.0);
    let (wa, wb) = (a.double_value(&[0]), b.double_value(&[0]));
    assert!(
        (wa - va + 0.3).abs() < 1e-6 && (wb - vb + 0.4).abs() < 1e-6,
        "{wa} {wb}"
    );
}

/// Keeps every step trace of a run.
struct Tracer<'a>(&'a mut Vec<regnet_engine::train::StepTrace>);

impl regnet_engine::train::Observer for Tracer<'_> {
    fn traces_steps(&self) -> bool {
        true
    }
    fn step(&mut self, t: regnet_engine::train::StepTrace) {
        self.0.push(t);
    }
    fn epoch(&mut self, _: &EpochRecord) -> ControlFlow<Stop> {
        ControlFlow::Continue(())
    }
}

#[test]
fn a_step_trace_sees_every_step_and_the_norm_clipping_cut() {
    tch::set_num_threads(1);
    let (tr, te) = synthetic_sets(256, 64);
    let mut r = recipe(2);
    r.clip_grad_norm = 0.5;
    let mut model = seeded(1);
    let mut traces = Vec::new();
    train(&mut model, &tr, &te, &r, None, Tracer(&mut traces)).unwrap();
    let steps: Vec<_> = traces.iter().map(|t| (t.epoch, t.step)).collect();
    let expect: Vec<_> = (0..2).flat_map(|e| (0..4).map(move |s| (e, s))).collect();
    assert_eq!(steps, expect, "256 images in batches of 64, 2 epochs");
    for t in &traces {
        // What the step applied: the norms after clipping, at most the cap.
        let applied = t.norms.iter().map(|(_, n)| n * n).sum::<f64>().sqrt();
        let want = t.grad_norm.min(0.5);
        assert!(
            (applied - want).abs() < 1e-3 * want,
            "{applied} vs {want}: {t:?}"
        );
        assert!(t.loss.is_finite() && t.lr == r.lr_for(t.epoch, t.step, 4));
    }
    assert!(
        traces.iter().any(|t| t.grad_norm > 0.5),
        "the cap never bit"
    );
}
