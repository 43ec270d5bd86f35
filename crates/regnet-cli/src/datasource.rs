//! `--data`: where images come from, shared by `train` and `eval`.

use crate::CliError;
use regnet_data::cifar::{self, Cifar};
use regnet_data::synthetic;
use regnet_data::{ImageSet, Split};
use regnet_engine::data::Augment;
use std::path::PathBuf;

/// Where training data comes from (`--data`).
pub enum DataSource {
    Synthetic(usize),
    Cifar(Cifar, PathBuf),
}

impl DataSource {
    /// `synthetic[:N]`, `cifar10:DIR` or `cifar100:DIR`.
    pub fn parse(data: &str) -> Result<Self, CliError> {
        let (kind, arg) = data.split_once(':').unwrap_or((data, ""));
        match kind {
            "synthetic" if arg.is_empty() => Ok(DataSource::Synthetic(5000)),
            "synthetic" => match arg.parse::<usize>() {
                Ok(n) if n >= 10 => Ok(DataSource::Synthetic(n)),
                _ => Err(CliError(format!(
                    "--data '{data}': N must be a whole number of at least 10 images"
                ))),
            },
            "cifar10" | "cifar100" if !arg.is_empty() => {
                let c = if kind == "cifar10" { Cifar::Ten } else { Cifar::Hundred };
                Ok(DataSource::Cifar(c, PathBuf::from(arg)))
            }
            _ => Err(CliError(format!(
                "--data '{data}': use synthetic[:N], cifar10:DIR or cifar100:DIR (imagefolder:DIR is planned)"
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            DataSource::Synthetic(_) => "synthetic",
            DataSource::Cifar(Cifar::Ten, _) => "CIFAR-10",
            DataSource::Cifar(Cifar::Hundred, _) => "CIFAR-100",
        }
    }

    /// Train and test sets.
    pub fn load(&self, seed: u64) -> Result<(ImageSet, ImageSet), CliError> {
        Ok(match self {
            DataSource::Synthetic(n) => (
                synthetic::generate(*n, seed, Split::Train),
                synthetic::generate((n / 5).max(100), seed, Split::Test),
            ),
            DataSource::Cifar(c, dir) => (
                cifar::load(*c, dir, Split::Train)?,
                cifar::load(*c, dir, Split::Test)?,
            ),
        })
    }

    /// CIFAR trains with flip + pad-and-crop; the synthetic set is random already.
    pub fn augment(&self) -> Augment {
        match self {
            DataSource::Synthetic(_) => Augment::None,
            DataSource::Cifar(..) => Augment::FlipPadCrop,
        }
    }
}
