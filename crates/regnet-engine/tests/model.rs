//! Networks built on libtorch match their specs.

use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use regnet_spec::zoo::zoo;
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

#[test]
fn every_zoo_model_has_the_specs_parameter_count() {
    tch::manual_seed(0);
    for e in zoo() {
        let net = e.spec().build().unwrap();
        let params = net.complexity(e.im_size).unwrap().params;
        let m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
        assert_eq!(m.num_params(), params, "{}", e.name);
    }
}

#[test]
fn forward_gives_logits_per_class_at_any_resolution() {
    tch::manual_seed(0);
    for name in ["RegNetY-200MF", "R-50-1x64d", "EN-B0", "regnet_x_400mf"] {
        let e = regnet_spec::zoo::find(name).unwrap();
        let net = e.spec().with_num_classes(7).build().unwrap();
        let m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
        let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, tch::Device::Cpu));
        let y = m.model.forward_t(&x, false);
        assert_eq!(y.size(), [2, 7], "{name}");
        assert!(bool::try_from(y.isfinite().all()).unwrap());
    }
}

#[test]
fn pycls_initialization() {
    tch::manual_seed(1);
    let e = regnet_spec::zoo::find("RegNetX-400MF").unwrap();
    let net = e.spec().build().unwrap();
    let m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
    let vars = m.vs.variables();
    // Conv weights ~ N(0, sqrt(2 / fan_out)), fan_out = k*k*out (stage 4 3x3 group conv, 384 out).
    let w = &vars["s4.b2.f.b.weight"];
    let expected = (2.0 / (9.0 * 384.0f64)).sqrt();
    let std = w.std(true).double_value(&[]);
    assert!(
        (std / expected - 1.0).abs() < 0.05,
        "std {std} vs {expected}"
    );
    // pycls's default (BN.ZERO_INIT_FINAL_GAMMA False): every BN γ starts at 1.
    let mean = |m: &BuiltModel, k: &str| m.vs.variables()[k].mean(Kind::Float).double_value(&[]);
    assert_eq!(mean(&m, "s4.b2.f.c_bn.weight"), 1.0);
    assert_eq!(mean(&m, "s4.b2.f.a_bn.weight"), 1.0);
    // Zero-init residual when asked: the last BN of each residual branch starts at 0.
    let zero = InitConfig {
        zero_init_final_gamma: true,
        ..InitConfig::default()
    };
    let z = BuiltModel::new(&net, Device::Cpu, zero);
    assert_eq!(mean(&z, "s4.b2.f.c_bn.weight"), 0.0);
    assert_eq!(mean(&z, "s4.b2.f.a_bn.weight"), 1.0);
    // fc ~ N(0, 0.01), bias 0.
    let fc_std = vars["head.fc.weight"].std(true).double_value(&[]);
    assert!((fc_std / 0.01 - 1.0).abs() < 0.02, "{fc_std}");
    assert_eq!(
        vars["head.fc.bias"]
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    // pycls names.
    for k in [
        "stem.conv.weight",
        "stem.bn.running_mean",
        "s1.b1.proj.weight",
        "s1.b1.bn.weight",
        "s4.b1.f.b_bn.bias",
    ] {
        assert!(vars.contains_key(k), "missing {k}");
    }
}

#[test]
fn folded_bn_and_channels_last_keep_the_eval_outputs() {
    use regnet_engine::channels_last;
    tch::manual_seed(2);
    for name in ["RegNetY-200MF", "R-50-1x64d", "EN-B0", "RegNetX-200MF"] {
        let net = regnet_spec::zoo::find(name)
            .unwrap()
            .spec()
            .with_num_classes(10)
            .build()
            .unwrap();
        let mut m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
        // Non-trivial BN statistics and affine parameters, so folding matters.
        tch::no_grad(|| {
            for (k, mut v) in m.vs.variables() {
                if k.ends_with("running_mean") || k.ends_with("bias") {
                    let _ = v.uniform_(-0.2, 0.2);
                } else if k.ends_with("running_var") || (k.contains("bn") && k.ends_with("weight"))
                {
                    let _ = v.uniform_(0.5, 1.5);
                }
            }
        });
        let x = Tensor::randn([2, 3, 64, 64], (Kind::Float, tch::Device::Cpu));
        let reference = m.model.forward_t(&x, false);
        let scale = reference.abs().max().double_value(&[]);
        m.fold_bn();
        let folded = m.model.forward_t(&x, false);
        m.to_channels_last();
        m.fold_bn();
        let both = m.model.forward_t(&channels_last(&x), false);
        for (what, y) in [("folded", &folded), ("folded channels-last", &both)] {
            let d = (y - &reference).abs().max().double_value(&[]) / scale;
            assert!(d < 1e-4, "{name} {what}: relative max diff {d}");
        }
        // Training ignores the folding.
        let t1 = m.model.forward_t(&x, true);
        assert!(bool::try_from(t1.isfinite().all()).unwrap());
    }
}

#[test]
fn a_model_draws_from_its_own_seed() {
    let mut net = regnet_spec::zoo::find("EN-B0")
        .unwrap()
        .spec()
        .with_num_classes(10)
        .build()
        .unwrap();
    (net.head.dropout, net.drop_connect) = (0.2, 0.2);
    let seeded = |seed| {
        let init = InitConfig {
            seed,
            ..InitConfig::default()
        };
        BuiltModel::new(&net, Device::Cpu, init)
    };
    let a = seeded(5);
    // libtorch's process-wide generator plays no part.
    tch::manual_seed(123);
    let _ = Tensor::randn([1000], (Kind::Float, tch::Device::Cpu));
    let (b, c) = (seeded(5), seeded(6));
    let (va, vb, vc) = (a.vs.variables(), b.vs.variables(), c.vs.variables());
    assert!(
        va.iter().all(|(k, v)| v.equal(&vb[k])),
        "same seed, same weights"
    );
    assert!(!va["s2.b1.dwise.weight"].equal(&vc["s2.b1.dwise.weight"]));
    // pycls: the classifier ~ N(0, 0.01) with zero bias.
    let std = va["head.fc.weight"].std(true).double_value(&[]);
    assert!((std / 0.01 - 1.0).abs() < 0.05, "fc std {std}");
    assert_eq!(va["head.fc.bias"].abs().max().double_value(&[]), 0.0);
    // Train-mode dropout (head) and drop-connect (MBConv) masks restart
    // from the seed they are given, and the seed matters.
    let x = Tensor::randn([4, 3, 64, 64], (Kind::Float, tch::Device::Cpu));
    let forward = |seed| {
        a.model.reseed_noise(seed);
        tch::no_grad(|| a.model.forward_t(&x, true))
    };
    assert!(forward(1).equal(&forward(1)));
    assert!(!forward(1).equal(&forward(2)));
}

#[test]
fn every_variable_is_named_by_the_spec() {
    use std::collections::BTreeSet;
    for e in zoo() {
        let net = e.spec().build().unwrap();
        let m = BuiltModel::new(&net, Device::Cpu, InitConfig::default());
        let built: BTreeSet<String> =
            m.vs.variables()
                .keys()
                .map(|k| k.rsplit_once('.').unwrap().0.to_string())
                .collect();
        let named: BTreeSet<String> = net
            .module_names(regnet_spec::Naming::Pycls)
            .unwrap()
            .into_iter()
            .map(|(ours, _)| ours)
            .collect();
        assert_eq!(built, named, "{}", e.name);
    }
}
