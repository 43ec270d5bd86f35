//! torchvision's names and classes for a network: which class builds it,
//! with which arguments (as the Python line a user runs), and the state dict
//! in that class's names. A network torchvision's class would build
//! differently is refused with the reason, never exported approximately:
//! the arguments are checked by building, with this crate's own spec, the
//! network torchvision's constructor makes from them.

use crate::{with_bn_counters, Array, ExportError, Result, StateDict};
use regnet_spec::blocks::Block;
use regnet_spec::{Activation, AnyNetSpec, BlockType, Naming, Network, StageParams, StemType};

/// The torchvision model for a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Torchvision {
    /// Whose names the state dict uses.
    pub naming: Naming,
    /// The Python expression that builds the model (after `import torch,
    /// torchvision, functools`).
    pub python: String,
}

/// The torchvision class and arguments that build `net` (trained with BN
/// epsilon `bn_eps`), or why there are none.
pub fn model(net: &Network, bn_eps: f64) -> Result<Torchvision> {
    let refuse =
        |why: String| ExportError(format!("torchvision cannot express this network: {why}"));
    let is_mbconv = net
        .stages
        .iter()
        .any(|s| matches!(s.params, StageParams::MbConv { .. }));
    let naming = if is_mbconv {
        Naming::TorchvisionEfficientNet
    } else if net.stem.kind == StemType::ResStemIn {
        Naming::TorchvisionResNet
    } else {
        Naming::TorchvisionRegNet
    };
    // Names first: they say which layer has no torchvision counterpart.
    net.module_names(naming).map_err(ExportError)?;
    let class_call = match naming {
        Naming::TorchvisionEfficientNet => effnet(net),
        Naming::TorchvisionResNet => resnet(net),
        _ => regnet(net),
    }
    .map_err(refuse)?;
    let norm = match bn_eps == 1e-5 {
        true => String::new(),
        false => format!(", norm_layer=functools.partial(torch.nn.BatchNorm2d, eps={bn_eps:?})"),
    };
    Ok(Torchvision {
        naming,
        python: format!("{class_call}, num_classes={}{norm})", net.head.fc.w_out),
    })
}

/// `state` (pycls names) renamed for `naming`, with the BN counters
/// torchvision's modules carry.
pub fn state_dict(net: &Network, naming: Naming, state: StateDict) -> Result<StateDict> {
    let modules: std::collections::HashMap<String, String> = net
        .module_names(naming)
        .map_err(ExportError)?
        .into_iter()
        .collect();
    let renamed = state
        .into_iter()
        .map(|a| {
            let (module, tensor) = a.name.rsplit_once('.').unwrap_or(("", &a.name));
            let theirs = modules.get(module).ok_or_else(|| {
                ExportError(format!(
                    "the weights hold {}, which the network does not have",
                    a.name
                ))
            })?;
            Ok(Array {
                name: format!("{theirs}.{tensor}"),
                ..a
            })
        })
        .collect::<Result<StateDict>>()?;
    Ok(with_bn_counters(renamed))
}

/// Python's repr of a list of numbers.
fn list<T: std::fmt::Debug>(v: &[T]) -> String {
    format!("{v:?}")
}

/// `torchvision.models.RegNet(BlockParams(...))`: any AnyNet of X or Y blocks
/// on the simple stem with no head conv.
fn regnet(net: &Network) -> std::result::Result<String, String> {
    let mut params = Vec::new();
    for (i, stage) in net.stages.iter().enumerate() {
        match stage.params {
            StageParams::Bottleneck { bot_mul, group_w } => params.push((bot_mul, group_w)),
            _ => return Err(format!("stage {} has no bottleneck blocks", i + 1)),
        }
    }
    let se_r = net
        .stages
        .iter()
        .flat_map(|s| &s.blocks)
        .find_map(|b| match b {
            Block::ResBottleneck(b) => b.f.se.map(|se| se.w_se() as f64 / b.f.a.conv.w_in as f64),
            _ => None,
        });
    let spec = AnyNetSpec {
        stem_type: StemType::SimpleStemIn,
        stem_w: net.stem.w_out(),
        block_type: BlockType::ResBottleneckBlock,
        depths: net.stages.iter().map(|s| s.depth()).collect(),
        widths: net.stages.iter().map(|s| s.width()).collect(),
        strides: net.stages.iter().map(|s| s.stride()).collect(),
        bot_muls: params.iter().map(|p| p.0).collect(),
        group_ws: params.iter().map(|p| p.1).collect(),
        head_w: 0,
        se_r,
        num_classes: net.head.fc.w_out,
        activation: net.activation,
    };
    same_network(net, &spec, "RegNet")?;
    let activation = match net.activation {
        Activation::Relu => "",
        Activation::Silu => ", activation=torch.nn.SiLU",
    };
    let se = se_r.map_or("None".to_string(), |r| format!("{r:?}"));
    Ok(format!(
        "torchvision.models.RegNet(torchvision.models.regnet.BlockParams(depths={}, widths={}, group_widths={}, bottleneck_multipliers={}, strides={}, se_ratio={se}), stem_width={}{activation}",
        list(&spec.depths),
        list(&spec.widths),
        list(&spec.group_ws),
        list(&spec.bot_muls),
        list(&spec.strides),
        spec.stem_w
    ))
}

/// `torchvision.models.ResNet(block, layers, groups=, width_per_group=)`:
/// four stages of basic or bottleneck blocks at torchvision's fixed widths.
fn resnet(net: &Network) -> std::result::Result<String, String> {
    let bottleneck = match net.stages.first().and_then(|s| s.blocks.first()) {
        Some(Block::ResBottleneck(b)) => Some(b.f.w_b()),
        Some(Block::ResBasic(_)) => None,
        _ => return Err("its blocks are neither basic nor bottleneck residual blocks".into()),
    };
    if net.stages.len() != 4 {
        return Err(format!(
            "it has {} stages, torchvision's ResNet 4",
            net.stages.len()
        ));
    }
    let groups = net.stages[0].groups();
    let width_per_group = bottleneck.map_or(64, |w_b| w_b / groups);
    let planes = [64u64, 128, 256, 512];
    let w_b: Vec<u64> = planes
        .iter()
        .map(|p| p * width_per_group / 64 * groups)
        .collect();
    let expansion = if bottleneck.is_some() { 4 } else { 1 };
    let spec = AnyNetSpec {
        stem_type: StemType::ResStemIn,
        stem_w: 64,
        block_type: match bottleneck {
            Some(_) => BlockType::ResBottleneckBlock,
            None => BlockType::ResBasicBlock,
        },
        depths: net.stages.iter().map(|s| s.depth()).collect(),
        widths: planes.iter().map(|p| p * expansion).collect(),
        strides: vec![1, 2, 2, 2],
        bot_muls: w_b
            .iter()
            .zip(planes)
            .map(|(&w, p)| w as f64 / (p * expansion) as f64)
            .collect(),
        group_ws: w_b.iter().map(|w| w / groups).collect(),
        head_w: 0,
        se_r: None,
        num_classes: net.head.fc.w_out,
        activation: Activation::Relu,
    };
    same_network(net, &spec, "ResNet")?;
    let block = match bottleneck {
        Some(_) => "Bottleneck",
        None => "BasicBlock",
    };
    Ok(format!(
        "torchvision.models.ResNet(torchvision.models.resnet.{block}, {}, groups={groups}, width_per_group={width_per_group}",
        list(&spec.depths)
    ))
}

/// Whether torchvision's constructor, given the arguments in `spec`, builds
/// exactly `net`.
fn same_network(net: &Network, spec: &AnyNetSpec, class: &str) -> std::result::Result<(), String> {
    let rebuilt = spec.build().map_err(|e| e.to_string())?;
    if rebuilt.stem != net.stem || rebuilt.head != net.head || rebuilt.activation != net.activation
    {
        return Err(format!(
            "its stem, head or activation differs from any torchvision {class}'s"
        ));
    }
    if rebuilt.stages.len() != net.stages.len() {
        return Err(format!(
            "its stage count differs from torchvision's {class}"
        ));
    }
    let differs = net
        .stages
        .iter()
        .zip(&rebuilt.stages)
        .position(|(ours, theirs)| ours.blocks != theirs.blocks);
    match differs {
        Some(i) => Err(format!(
            "its stage {} differs from what torchvision's {class} builds at that stage",
            i + 1
        )),
        None => Ok(()),
    }
}

/// torchvision's `_make_divisible(v, 8)`: channel counts rounded to a
/// multiple of 8, never more than 10% down.
fn make_divisible(v: f64) -> u64 {
    let mut new_v = (((v + 4.0) as u64) / 8 * 8).max(8);
    if (new_v as f64) < 0.9 * v {
        new_v += 8;
    }
    new_v
}

/// `torchvision.models.EfficientNet([MBConvConfig(...)], ...)`: MBConv
/// stages whose widths torchvision's rounding leaves alone, SE at a quarter
/// of each block's input, SiLU, and a head conv.
fn effnet(net: &Network) -> std::result::Result<String, String> {
    if net.activation != Activation::Silu {
        return Err("torchvision's EfficientNet uses SiLU".into());
    }
    let head_w = net
        .head
        .conv
        .map(|c| c.conv.w_out)
        .ok_or("it has no head conv")?;
    let mut configs = Vec::new();
    for (i, stage) in net.stages.iter().enumerate() {
        let mut stage_in = 0;
        let StageParams::MbConv { exp_ratio, kernel } = stage.params else {
            return Err(format!("stage {} has no MBConv blocks", i + 1));
        };
        for (j, block) in stage.blocks.iter().enumerate() {
            let Block::MbConv(m) = block else {
                return Err(format!("s{}.b{} is not an MBConv block", i + 1, j + 1));
            };
            let w_in = m.exp.map_or(m.dwise.conv.w_in, |e| e.conv.w_in);
            if j == 0 {
                stage_in = w_in;
            }
            let w_exp = m.dwise.conv.w_in;
            let theirs = make_divisible(w_in as f64 * exp_ratio);
            let fits = make_divisible(w_in as f64) == w_in
                && make_divisible(block.w_out() as f64) == block.w_out()
                && theirs == w_exp
                && m.se.w_se() == (w_in / 4).max(1);
            if !fits {
                return Err(format!(
                    "s{}.b{}: torchvision would build {theirs} expanded channels and SE width {} from {w_in} inputs (this block: {w_exp} and {})",
                    i + 1,
                    j + 1,
                    (w_in / 4).max(1),
                    m.se.w_se()
                ));
            }
        }
        configs.push(format!(
            "torchvision.models.efficientnet.MBConvConfig({exp_ratio:?}, {kernel}, {}, {stage_in}, {}, {})",
            stage.stride(),
            stage.width(),
            stage.depth()
        ));
    }
    Ok(format!(
        "torchvision.models.EfficientNet([{}], dropout={:?}, stochastic_depth_prob={:?}, last_channel={head_w}",
        configs.join(", "),
        net.head.dropout,
        net.drop_connect
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_rounding_as_torchvision() {
        // torchvision's _make_divisible(v, 8): nearest multiple of 8, at least
        // 8, and bumped up when rounding down loses more than 10%.
        assert_eq!(make_divisible(192.0), 192);
        assert_eq!(make_divisible(20.0), 24);
        assert_eq!(make_divisible(11.0), 16);
        assert_eq!(make_divisible(3.0), 8);
        assert_eq!(make_divisible(83.0), 80);
    }

    #[test]
    fn zoo_models_map_to_torchvision_constructors() {
        let net = |name: &str| {
            let e = regnet_spec::zoo::find(name).unwrap();
            e.spec().with_num_classes(10).build().unwrap()
        };
        // torchvision's regnet_y_400mf: BlockParams.from_init_params(depth=16,
        // w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25) gives
        // depths [1, 3, 6, 6] and widths [48, 104, 208, 440].
        let tv = model(&net("regnet_y_400mf"), 1e-5).unwrap();
        assert_eq!(tv.naming, Naming::TorchvisionRegNet);
        assert!(
            tv.python.contains(
                "depths=[1, 3, 6, 6], widths=[48, 104, 208, 440], group_widths=[8, 8, 8, 8]"
            ),
            "{}",
            tv.python
        );
        assert!(tv.python.contains("se_ratio=0.25") && tv.python.ends_with("num_classes=10)"));
        let tv = model(&net("X-50-32x4d"), 1e-5).unwrap();
        assert!(
            tv.python
                .contains("Bottleneck, [3, 4, 6, 3], groups=32, width_per_group=4"),
            "{}",
            tv.python
        );
        let tv = model(&net("EN-B0"), 1e-5).unwrap();
        assert!(tv.python.contains("MBConvConfig(1.0, 3, 1, 32, 16, 1), torchvision.models.efficientnet.MBConvConfig(6.0, 3, 2, 16, 24, 2)"), "{}", tv.python);
        assert!(tv.python.contains("last_channel=1280"));
        // Another BN epsilon is passed on.
        let tv = model(&net("RegNetX-200MF"), 1e-3).unwrap();
        assert!(tv.python.contains("eps=0.001"), "{}", tv.python);
    }
}
