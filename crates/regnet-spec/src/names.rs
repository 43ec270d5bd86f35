//! What checkpoints call each layer.
//!
//! Every parameter-holding layer of the spec carries its module name in
//! pycls (the names this toolkit's own weights use) and in the torchvision
//! classes that have it, set where the layer is constructed (`blocks.rs`,
//! `stem.rs`, `head.rs`). The engine names its variables from here, and
//! importers and exporters translate whole state dicts with
//! [`Network::module_names`], so a new block type is named in one place.

use crate::blocks::BlockType;
use crate::network::Network;
use crate::stem::StemType;

/// The library whose module names a state dict uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Naming {
    /// pycls's module names, which this toolkit uses too.
    Pycls,
    /// torchvision `RegNet` (which also expresses AnyNet X/Y networks).
    TorchvisionRegNet,
    /// torchvision `ResNet` (ResNet and ResNeXt).
    TorchvisionResNet,
    /// torchvision `EfficientNet`.
    TorchvisionEfficientNet,
}

/// One module's name, relative to its block (or to the stem or head), in
/// pycls and in each torchvision class that has the module (`None`: that
/// class has no such module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    pub pycls: &'static str,
    regnet: Option<&'static str>,
    resnet: Option<&'static str>,
    effnet: Option<&'static str>,
}

impl Names {
    /// A module named `name` in pycls, unknown to torchvision so far.
    pub const fn pycls(name: &'static str) -> Self {
        Names {
            pycls: name,
            regnet: None,
            resnet: None,
            effnet: None,
        }
    }

    /// Its name in torchvision's `RegNet`.
    pub const fn regnet(self, name: &'static str) -> Self {
        Names {
            regnet: Some(name),
            ..self
        }
    }

    /// Its name in torchvision's `ResNet`.
    pub const fn resnet(self, name: &'static str) -> Self {
        Names {
            resnet: Some(name),
            ..self
        }
    }

    /// Its name in torchvision's `EfficientNet`.
    pub const fn effnet(self, name: &'static str) -> Self {
        Names {
            effnet: Some(name),
            ..self
        }
    }

    /// The name under `naming`.
    pub fn get(&self, naming: Naming) -> Option<&'static str> {
        match naming {
            Naming::Pycls => Some(self.pycls),
            Naming::TorchvisionRegNet => self.regnet,
            Naming::TorchvisionResNet => self.resnet,
            Naming::TorchvisionEfficientNet => self.effnet,
        }
    }
}

impl Naming {
    /// Why this naming cannot express `net`'s structure, if it cannot.
    /// Names alone are not enough: torchvision's RegNet builds no linear or
    /// plain blocks whatever they are called, and its ResNet starts with a
    /// 7×7 stem.
    fn refuses(self, net: &Network) -> Option<String> {
        let (stem, blocks): (&[StemType], &[BlockType]) = match self {
            Naming::Pycls => return None,
            Naming::TorchvisionEfficientNet => return None, // every block is an MBConv or has no name
            Naming::TorchvisionRegNet => {
                (&[StemType::SimpleStemIn], &[BlockType::ResBottleneckBlock])
            }
            Naming::TorchvisionResNet => (
                &[StemType::ResStemIn],
                &[BlockType::ResBasicBlock, BlockType::ResBottleneckBlock],
            ),
        };
        if !stem.contains(&net.stem.kind) {
            return Some(format!("its stem is {}", net.stem.kind));
        }
        let block = net.stages.iter().flat_map(|s| &s.blocks).find_map(|b| {
            b.block_type()
                .filter(|t| !blocks.contains(t))
                .map(|t| t.to_string())
        });
        block.map(|t| format!("it has {t}s"))
    }

    /// The prefix of block `b` of stage `s` (both 1-based), with its dot.
    fn block_prefix(self, s: usize, b: usize) -> String {
        match self {
            Naming::Pycls => format!("s{s}.b{b}."),
            Naming::TorchvisionRegNet => format!("trunk_output.block{s}.block{s}-{}.", b - 1),
            Naming::TorchvisionResNet => format!("layer{s}.{}.", b - 1),
            Naming::TorchvisionEfficientNet => format!("features.{s}.{}.", b - 1),
        }
    }

    /// The prefixes of the stem, the head's conv and the head's classifier.
    fn outer_prefixes(self, num_stages: usize) -> [String; 3] {
        let [stem, conv, fc] = match self {
            Naming::Pycls => ["stem.", "head.", "head."],
            Naming::TorchvisionRegNet => ["stem.", "", ""],
            Naming::TorchvisionResNet => ["", "", ""],
            Naming::TorchvisionEfficientNet => {
                let last = format!("features.{}.", num_stages + 1);
                return ["features.0.".into(), last, "classifier.".into()];
            }
        };
        [stem.into(), conv.into(), fc.into()]
    }
}

impl Network {
    /// Every parameter-holding module of the network as (pycls name,
    /// name under `naming`), in network order; an error says why `naming`
    /// cannot express the network. Tensor names follow by appending
    /// `.weight`, `.bias`, `.running_mean`, ... which all these libraries share.
    pub fn module_names(&self, naming: Naming) -> Result<Vec<(String, String)>, String> {
        if let Some(why) = naming.refuses(self) {
            return Err(format!("{naming:?} cannot express this network: {why}"));
        }
        let [stem, head_conv, fc] = naming.outer_prefixes(self.stages.len());
        let mut out = Vec::new();
        let mut add = |ours: &str, theirs: &str, names: &[Names]| -> Result<(), String> {
            for n in names {
                let name = n.get(naming).ok_or_else(|| {
                    format!(
                        "{naming:?} cannot express this network: it has no counterpart of {ours}{}",
                        n.pycls
                    )
                })?;
                out.push((format!("{ours}{}", n.pycls), format!("{theirs}{name}")));
            }
            Ok(())
        };
        add("stem.", &stem, &self.stem.conv.names)?;
        for (i, stage) in self.stages.iter().enumerate() {
            for (j, block) in stage.blocks.iter().enumerate() {
                let ours = Naming::Pycls.block_prefix(i + 1, j + 1);
                add(&ours, &naming.block_prefix(i + 1, j + 1), &block.names())?;
            }
        }
        if let Some(conv) = &self.head.conv {
            add("head.", &head_conv, &conv.names)?;
        }
        add("head.", &fc, &[self.head.fc_names])?;
        Ok(out)
    }
}
