//! The model types pycls's `MODEL.TYPE` selects.

use crate::anynet::AnyNetSpec;
use crate::effnet::EffNetSpec;
use crate::error::Result;
use crate::network::Network;
use crate::regnet::RegNetSpec;

/// A model spec of any supported type.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    AnyNet(AnyNetSpec),
    RegNet(RegNetSpec),
    EffNet(EffNetSpec),
}

impl ModelSpec {
    /// pycls `MODEL.TYPE` name.
    pub fn model_type(&self) -> &'static str {
        match self {
            ModelSpec::AnyNet(_) => "anynet",
            ModelSpec::RegNet(_) => "regnet",
            ModelSpec::EffNet(_) => "effnet",
        }
    }

    /// Validates and constructs the network.
    pub fn build(&self) -> Result<Network> {
        match self {
            ModelSpec::AnyNet(s) => s.build(),
            ModelSpec::RegNet(s) => s.build(),
            ModelSpec::EffNet(s) => s.build(),
        }
    }

    /// Number of output classes.
    pub fn num_classes(&self) -> u64 {
        match self {
            ModelSpec::AnyNet(s) => s.num_classes,
            ModelSpec::RegNet(s) => s.num_classes,
            ModelSpec::EffNet(s) => s.num_classes,
        }
    }

    /// The same model with another classifier size.
    pub fn with_num_classes(mut self, n: u64) -> Self {
        match &mut self {
            ModelSpec::AnyNet(s) => s.num_classes = n,
            ModelSpec::RegNet(s) => s.num_classes = n,
            ModelSpec::EffNet(s) => s.num_classes = n,
        }
        self
    }
}
