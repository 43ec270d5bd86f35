//! Which convs the channels-last guard keeps in NCHW, and that a guarded
//! model computes what an NCHW model computes. Forward passes only: the
//! crash is in the backward pass, and training runs are tested in child
//! processes (crates/regnet-cli/tests/layout_cli.rs).

use regnet_engine::layout::{crashes_channels_last, Layout, LayoutUsed};
use regnet_engine::Device;
use regnet_engine::{BuiltModel, InitConfig};
use regnet_spec::layers::Conv2d;
use tch::nn::ModuleT;
use tch::{Kind, Tensor};

/// Two stride-2 X-block stages after a simple stem of width `stem_w`; the
/// first stage is `w1` wide, the second twice that.
fn net_of(stem_w: u64, w1: u64) -> regnet_spec::Network {
    regnet_config::parse_str(&format!(
        "MODEL: {{TYPE: anynet, NUM_CLASSES: 10}}\n\
         ANYNET: {{STEM_TYPE: simple_stem_in, STEM_W: {stem_w}, BLOCK_TYPE: res_bottleneck_block,\n\
           DEPTHS: [1, 1], WIDTHS: [{w1}, {}], STRIDES: [2, 2], BOT_MULS: [1.0, 1.0], GROUP_WS: [8, 8]}}\n",
        2 * w1
    ))
    .unwrap()
    .model
    .build()
    .unwrap()
}

fn net(stem_w: u64) -> regnet_spec::Network {
    net_of(stem_w, 8)
}

#[test]
fn the_rule_follows_the_probes_map() {
    let c = |w_in, k, stride| Conv2d::new(w_in, 8, k).with_stride(stride);
    // Crashing in the map: 1x1, stride 2, 2 to 15 input channels.
    for w in 2..=15 {
        assert!(crashes_channels_last(&c(w, 1, 2)), "{w}");
    }
    // Not crashing: one input channel, 16 or more, 3x3 kernels, stride 1.
    assert!(!crashes_channels_last(&c(1, 1, 2)));
    assert!(!crashes_channels_last(&c(16, 1, 2)));
    assert!(!crashes_channels_last(&c(8, 3, 2)));
    assert!(!crashes_channels_last(&c(8, 1, 1)));
}

#[test]
fn a_guarded_model_keeps_exactly_the_crashing_convs_in_nchw() {
    tch::manual_seed(0);
    // Stem width 8: s1.b1.proj is 8 -> 8, 1x1, stride 2 (guarded); s2.b1.proj
    // is 8 -> 16, 1x1, stride 2 (guarded too).
    let mut m = BuiltModel::new(&net(8), Device::Cpu, InitConfig::default());
    let used = m.set_layout(Layout::Auto, Device::Cpu);
    assert_eq!(
        used,
        LayoutUsed {
            channels_last: true,
            nchw_convs: vec!["s1.b1.proj".into(), "s2.b1.proj".into()]
        }
    );
    assert_eq!(
        used.to_string(),
        "channels-last (nchw: s1.b1.proj, s2.b1.proj)"
    );
    let vars = m.vs.variables();
    // Guarded weights stay in standard layout, the others are NHWC-strided.
    assert!(vars["s1.b1.proj.weight"].is_contiguous());
    let stem = &vars["stem.conv.weight"];
    assert!(!stem.is_contiguous() && stem.permute([0, 2, 3, 1]).is_contiguous());
    // A 32-wide stem before a 16-wide stage: only the second stage's
    // projection (16 -> 32) could be at risk, and 16 inputs never crashed.
    let mut wide = BuiltModel::new(&net_of(32, 16), Device::Cpu, InitConfig::default());
    assert_eq!(
        wide.set_layout(Layout::Auto, Device::Cpu).to_string(),
        "channels-last"
    );
    let mut mid = BuiltModel::new(&net(32), Device::Cpu, InitConfig::default());
    assert_eq!(
        mid.set_layout(Layout::Auto, Device::Cpu).to_string(),
        "channels-last (nchw: s2.b1.proj)"
    );
    let mut plain = BuiltModel::new(&net(8), Device::Cpu, InitConfig::default());
    assert_eq!(
        plain.set_layout(Layout::Nchw, Device::Cpu).to_string(),
        "nchw"
    );
}

#[test]
fn a_guarded_model_computes_what_the_nchw_model_computes() {
    tch::manual_seed(0);
    let plain = BuiltModel::new(&net(8), Device::Cpu, InitConfig::default());
    let mut guarded = BuiltModel::new(&net(8), Device::Cpu, InitConfig::default());
    guarded.vs.copy(&plain.vs).unwrap();
    guarded.set_layout(Layout::Auto, Device::Cpu);
    let x = Tensor::randn([4, 3, 64, 64], (Kind::Float, tch::Device::Cpu));
    for train in [false, true] {
        let (a, b) = tch::no_grad(|| {
            (
                plain.model.forward_t(&x, train),
                guarded.model.forward_t(&x, train),
            )
        });
        let d = (&a - &b).abs().max().double_value(&[]);
        let scale = a.abs().max().double_value(&[]);
        assert!(
            d <= 1e-4 * scale,
            "train {train}: differ by {d} (scale {scale})"
        );
    }
}
