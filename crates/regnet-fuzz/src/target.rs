//! The readers under test, each with the call a command makes on a file.

use std::path::{Path, PathBuf};

/// A reader of files other people make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Python pickles (CIFAR python batches, torch.save's data.pkl).
    Pickle,
    /// float32 `.npy` arrays (`regnet predict --input`).
    Npy,
    /// pycls model configs (`describe`, `train`, `eval`, `export`).
    PyclsYaml,
    /// Sweep configs (`sweep init`, `space info`).
    SweepConfig,
    /// pycls `sweep.json` populations (`compare`, `sweep analyze`).
    SweepJson,
}

impl Target {
    pub const ALL: [Target; 5] = [
        Target::Pickle,
        Target::Npy,
        Target::PyclsYaml,
        Target::SweepConfig,
        Target::SweepJson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Pickle => "pickle",
            Target::Npy => "npy",
            Target::PyclsYaml => "pycls-yaml",
            Target::SweepConfig => "sweep-config",
            Target::SweepJson => "sweep-json",
        }
    }

    /// The target named `name`, or a one-line error listing them.
    pub fn parse(name: &str) -> Result<Target, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                format!("unknown target '{name}'; use one of {}", names.join(", "))
            })
    }

    /// Whether its files are text (mutated by tokens as well as bytes).
    pub fn is_text(self) -> bool {
        !matches!(self, Target::Pickle | Target::Npy)
    }

    /// Its valid seed files.
    pub fn seeds_dir(self) -> PathBuf {
        crate_dir().join("seeds").join(self.name())
    }

    /// Inputs that once failed, kept as regression files.
    pub fn corpus_dir(self) -> PathBuf {
        crate_dir().join("corpus").join(self.name())
    }

    /// Reads `input` as the command would: Ok, or the error it prints.
    pub fn read(self, input: &[u8]) -> Result<(), String> {
        match self {
            Target::Pickle => regnet_data::pickle::parse(input)
                .map(drop)
                .map_err(|e| e.to_string()),
            Target::Npy => regnet_data::npy::parse(input).map(drop),
            Target::PyclsYaml => regnet_config::parse_str(&text(input)?)
                .map(drop)
                .map_err(|e| e.to_string()),
            Target::SweepConfig => regnet_sweep::SweepConfig::parse(&text(input)?)
                .map(drop)
                .map_err(|e| e.0),
            Target::SweepJson => {
                let v: serde_json::Value =
                    serde_json::from_slice(input).map_err(|e| format!("not JSON: {e}"))?;
                regnet_analysis::Population::from_pycls_json("fuzz", &v).map(drop)
            }
        }
    }
}

fn text(input: &[u8]) -> Result<String, String> {
    String::from_utf8(input.to_vec()).map_err(|e| format!("not UTF-8: {e}"))
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
