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
    /// MNIST-layout IDX image and label files, plain or gzipped.
    Idx,
    /// CIFAR-10 and CIFAR-100 binary batches.
    CifarBinary,
    /// CIFAR-10 and CIFAR-100 python (pickled) batches.
    CifarPickle,
    /// PNG and JPEG files of an image folder.
    Image,
    /// Weights files: safetensors and `torch.save` zips (`--weights`).
    Weights,
}

impl Target {
    pub const ALL: [Target; 10] = [
        Target::Pickle,
        Target::Npy,
        Target::PyclsYaml,
        Target::SweepConfig,
        Target::SweepJson,
        Target::Idx,
        Target::CifarBinary,
        Target::CifarPickle,
        Target::Image,
        Target::Weights,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Pickle => "pickle",
            Target::Npy => "npy",
            Target::PyclsYaml => "pycls-yaml",
            Target::SweepConfig => "sweep-config",
            Target::SweepJson => "sweep-json",
            Target::Idx => "idx",
            Target::CifarBinary => "cifar-binary",
            Target::CifarPickle => "cifar-pickle",
            Target::Image => "image",
            Target::Weights => "weights",
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
        matches!(
            self,
            Target::PyclsYaml | Target::SweepConfig | Target::SweepJson
        )
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
                .map_err(|e| e.message),
            Target::SweepJson => {
                let v: serde_json::Value =
                    serde_json::from_slice(input).map_err(|e| format!("not JSON: {e}"))?;
                regnet_analysis::Population::from_pycls_json("fuzz", &v).map(drop)
            }
            Target::Idx => {
                // The reader takes gzip by the file's name; a gzip stream
                // (magic 1f 8b) is named so.
                let name = if input.starts_with(&[0x1f, 0x8b]) {
                    "fuzz.gz"
                } else {
                    "fuzz"
                };
                regnet_data::idx::parse(input, Path::new(name))
                    .map(drop)
                    .map_err(|e| e.0)
            }
            Target::CifarBinary | Target::CifarPickle => {
                use regnet_data::cifar::{parse_batch, Cifar, Format};
                let format = if self == Target::CifarBinary {
                    Format::Binary
                } else {
                    Format::Pickle
                };
                let read = |kind| parse_batch(kind, format, input, Path::new("fuzz"));
                read(Cifar::Ten)
                    .or_else(|_| read(Cifar::Hundred))
                    .map(drop)
                    .map_err(|e| e.0)
            }
            Target::Image => regnet_data::imagefolder::decode_bytes(input, Path::new("fuzz"))
                .map(drop)
                .map_err(|e| e.0),
            Target::Weights => regnet_data::weights::read(input).map(drop),
        }
    }

    /// The most a read of an input of `len` bytes may hold at once:
    /// [`alloc::budget`](crate::alloc::budget), and for images the
    /// reader's documented cap on one decoded image besides.
    pub fn budget(self, len: usize) -> usize {
        let cap = match self {
            Target::Image => regnet_data::imagefolder::MAX_DECODED_BYTES as usize,
            _ => 0,
        };
        crate::alloc::budget(len).saturating_add(cap)
    }
}

fn text(input: &[u8]) -> Result<String, String> {
    String::from_utf8(input.to_vec()).map_err(|e| format!("not UTF-8: {e}"))
}

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}
