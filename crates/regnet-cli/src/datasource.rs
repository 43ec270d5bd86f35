//! `--data`: where images come from, shared by `train`, `eval` and sweeps.

use crate::CliError;
use regnet_config::Recipe;
use regnet_data::cifar::{self, Cifar};
use regnet_data::imagefolder::{ImageFolder, View};
use regnet_data::synthetic;
use regnet_data::{ImageSet, Split};
use regnet_engine::data::{Augment, TensorSet};
use regnet_engine::tch::Device;
use std::path::PathBuf;

/// Where training data comes from (`--data`).
pub enum DataSource {
    Synthetic(usize),
    Cifar(Cifar, PathBuf),
    /// `train/<class>/…` and `val/<class>/…` image files.
    ImageFolder(PathBuf),
}

/// What a model must be sized for.
pub struct DataShape {
    pub num_classes: usize,
    /// Square input side.
    pub size: usize,
}

/// How a dataset is read for one run.
pub struct DataOptions {
    /// Seed of generated data (the synthetic set).
    pub seed: u64,
    /// Model resolution: image folders are viewed at it; in-memory sets keep theirs.
    pub im_size: u64,
    /// Shorter side of image-folder test views before the centre crop (`TEST.IM_SIZE`).
    pub test_im_size: u64,
    /// PCA lighting std of image-folder training views (`TRAIN.PCA_STD`).
    pub pca_std: f64,
    /// Leave out (and report) folder images that cannot be decoded.
    pub skip_bad: bool,
}

impl DataOptions {
    /// The options a recipe asks for, at resolution `im_size`.
    pub fn of(recipe: &Recipe, im_size: u64, skip_bad: bool) -> Self {
        DataOptions {
            seed: recipe.seed,
            im_size,
            test_im_size: recipe.test_im_size,
            pca_std: recipe.pca_std,
            skip_bad,
        }
    }
}

/// Train and test sets ready for the engine.
pub struct Tensors {
    pub train: TensorSet,
    pub test: TensorSet,
    pub shape: DataShape,
    pub train_len: usize,
    pub test_len: usize,
}

impl DataSource {
    /// `synthetic[:N]`, `cifar10:DIR`, `cifar100:DIR` or `imagefolder:DIR`.
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
                let c = if kind == "cifar10" {
                    Cifar::Ten
                } else {
                    Cifar::Hundred
                };
                Ok(DataSource::Cifar(c, PathBuf::from(arg)))
            }
            "imagefolder" if !arg.is_empty() => Ok(DataSource::ImageFolder(PathBuf::from(arg))),
            _ => Err(CliError(format!(
                "--data '{data}': use synthetic[:N], cifar10:DIR, cifar100:DIR or imagefolder:DIR"
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            DataSource::Synthetic(_) => "synthetic",
            DataSource::Cifar(Cifar::Ten, _) => "CIFAR-10",
            DataSource::Cifar(Cifar::Hundred, _) => "CIFAR-100",
            DataSource::ImageFolder(_) => "image-folder",
        }
    }

    /// Classes and input size, cheaply (folders are indexed, not decoded);
    /// `im_size` is the model's resolution, used by image folders.
    pub fn shape(&self, im_size: u64) -> Result<DataShape, CliError> {
        match self {
            DataSource::ImageFolder(dir) => Ok(DataShape {
                num_classes: ImageFolder::index(dir, Split::Train)?.classes.len(),
                size: im_size as usize,
            }),
            other => {
                let (train, _) = other.load_sets(1)?;
                Ok(DataShape {
                    num_classes: train.num_classes,
                    size: train.size,
                })
            }
        }
    }

    /// The train and test sets as tensors on `device`. In-memory sets are
    /// normalized with the training set's channel statistics; folders with
    /// ImageNet's, viewed as `o` says.
    pub fn tensors(&self, o: &DataOptions, device: Device) -> Result<Tensors, CliError> {
        let DataSource::ImageFolder(dir) = self else {
            let (train, test) = self.load_sets(o.seed)?;
            let (mean, std) = train.channel_stats();
            return Ok(Tensors {
                shape: DataShape {
                    num_classes: train.num_classes,
                    size: train.size,
                },
                train_len: train.len(),
                test_len: test.len(),
                train: TensorSet::new(&train, mean, std, device).with_augment(self.augment()),
                test: TensorSet::new(&test, mean, std, device),
            });
        };
        let mut train = ImageFolder::index(dir, Split::Train)?;
        let mut test = ImageFolder::index(dir, Split::Test)?;
        if train.classes != test.classes {
            return Err(CliError(format!(
                "'{}': the train and val folders have different classes ({} vs {})",
                dir.display(),
                train.classes.len(),
                test.classes.len()
            )));
        }
        if o.skip_bad {
            for (name, f) in [("train", &mut train), ("val", &mut test)] {
                f.drop_unreadable();
                if let Some((path, why)) = f.skipped.first() {
                    eprintln!(
                        "warning: skipped {} unreadable {name} images (first: {}: {why})",
                        f.skipped.len(),
                        path.display()
                    );
                }
            }
        }
        let size = o.im_size as u32;
        if o.test_im_size < o.im_size {
            return Err(CliError(format!(
                "TEST.IM_SIZE {} is smaller than TRAIN.IM_SIZE {}: test views resize the shorter side to TEST.IM_SIZE, then crop TRAIN.IM_SIZE",
                o.test_im_size, o.im_size
            )));
        }
        let resize = o.test_im_size as u32;
        Ok(Tensors {
            shape: DataShape {
                num_classes: train.classes.len(),
                size: o.im_size as usize,
            },
            train_len: train.len(),
            test_len: test.len(),
            train: TensorSet::folder(train, View::Train { size }, o.pca_std, device),
            test: TensorSet::folder(test, View::Test { resize, size }, 0.0, device),
        })
    }

    /// Train and test sets of the in-memory sources.
    fn load_sets(&self, seed: u64) -> Result<(ImageSet, ImageSet), CliError> {
        Ok(match self {
            DataSource::Synthetic(n) => (
                synthetic::generate(*n, seed, Split::Train),
                synthetic::generate((n / 5).max(100), seed, Split::Test),
            ),
            DataSource::Cifar(c, dir) => (
                cifar::load(*c, dir, Split::Train)?,
                cifar::load(*c, dir, Split::Test)?,
            ),
            DataSource::ImageFolder(_) => unreachable!("folders are not held in memory"),
        })
    }

    /// CIFAR trains with flip + pad-and-crop; the synthetic set is random already.
    fn augment(&self) -> Augment {
        match self {
            DataSource::Cifar(..) => Augment::FlipPadCrop,
            _ => Augment::None,
        }
    }
}
