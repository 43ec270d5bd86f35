//! `--data`: where images come from, shared by `train`, `eval` and sweeps.
//!
//! A data spec is a source and options, comma-separated:
//! `SOURCE[,train=N][,test=N][,seed=S]`. Sources: `synthetic[:N]`,
//! `fashion-mnist[:DIR]`, `mnist:DIR`, `cifar10:DIR`, `cifar100:DIR`,
//! `imagefolder:DIR`. `train=N` keeps a seeded, class-balanced subset of N
//! training images (`test=N` likewise for the test split, which otherwise
//! stays whole); `seed` picks the subset, and the content of the synthetic
//! set (default 0), the same for every model that names the same spec: the
//! training seed changes a model's draws, never its data.

use crate::CliError;
use regnet_config::Recipe;
use regnet_data::cifar::{self, Cifar};
use regnet_data::imagefolder::{ImageFolder, View};
use regnet_data::{idx, subset, synthetic};
use regnet_data::{ImageSet, Split};
use regnet_engine::data::{Augment, TensorSet, IMAGENET_MEAN, IMAGENET_STD};
use regnet_engine::Device;
use std::path::{Path, PathBuf};

/// The image sources.
enum Source {
    Synthetic(usize),
    Cifar(Cifar, PathBuf),
    /// MNIST-layout IDX files; `true` for Fashion-MNIST.
    Idx(PathBuf, bool),
    /// `train/<class>/…` and `val/<class>/…` image files.
    ImageFolder(PathBuf),
}

/// Where training data comes from (`--data`), and which part of it.
pub struct DataSource {
    /// The spec as given, for run records.
    text: String,
    source: Source,
    /// Balanced subset sizes of the train and test splits (all when None).
    train_images: Option<usize>,
    test_images: Option<usize>,
    subset_seed: u64,
}

/// What a model must be sized for.
pub struct DataShape {
    pub num_classes: usize,
    /// Square input side.
    pub size: usize,
}

/// Per-channel mean and std ([0, 1] units, RGB) inputs are normalized with.
pub type Normalization = ([f64; 3], [f64; 3]);

/// How a dataset is read for one run.
pub struct DataOptions {
    /// The normalization to apply; `None` derives it from the data (the
    /// training split's channel statistics for in-memory sets, ImageNet's
    /// for folders). A trained model's evaluation passes the run's own.
    pub normalize: Option<Normalization>,
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
            normalize: None,
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
    /// The normalization applied to both splits.
    pub normalize: Normalization,
    pub train_len: usize,
    pub test_len: usize,
}

/// What `--data` accepts, for messages.
const SOURCES: &str = "synthetic[:N], fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR or imagefolder:DIR, then optionally ,train=N ,test=N ,seed=S";

impl DataSource {
    /// Reads a data spec (see the module documentation).
    pub fn parse(data: &str) -> Result<Self, CliError> {
        let mut parts = data.split(',');
        let source = parse_source(parts.next().unwrap_or_default(), data)?;
        let mut d = DataSource {
            text: data.to_string(),
            source,
            train_images: None,
            test_images: None,
            subset_seed: 0,
        };
        for opt in parts {
            let (key, value) = opt.split_once('=').unwrap_or((opt, ""));
            let n = value.parse::<u64>().map_err(|_| {
                CliError::new(format!(
                    "--data '{data}': {key} needs a whole number (got '{value}')"
                ))
            });
            match key {
                "train" => d.train_images = Some(positive(n?, data, key)?),
                "test" => d.test_images = Some(positive(n?, data, key)?),
                "seed" => d.subset_seed = n?,
                _ => {
                    return Err(CliError::new(format!(
                        "--data '{data}': unknown option '{opt}' (allowed: train=N, test=N, seed=S)"
                    )))
                }
            }
        }
        Ok(d)
    }

    /// The spec as given.
    pub fn spec(&self) -> &str {
        &self.text
    }

    pub fn name(&self) -> &'static str {
        match &self.source {
            Source::Synthetic(_) => "synthetic",
            Source::Cifar(Cifar::Ten, _) => "CIFAR-10",
            Source::Cifar(Cifar::Hundred, _) => "CIFAR-100",
            Source::Idx(_, true) => "Fashion-MNIST",
            Source::Idx(_, false) => "MNIST",
            Source::ImageFolder(_) => "image-folder",
        }
    }

    /// Classes and input size (folders are indexed, not decoded; in-memory
    /// sets are read, so a bad file or subset is reported here);
    /// `im_size` is the model's resolution, used by image folders.
    pub fn shape(&self, im_size: u64) -> Result<DataShape, CliError> {
        match &self.source {
            Source::ImageFolder(dir) => Ok(DataShape {
                num_classes: ImageFolder::index(dir, Split::Train)?.classes.len(),
                size: im_size as usize,
            }),
            _ => {
                let (train, _) = self.load_sets()?;
                Ok(DataShape {
                    num_classes: train.num_classes,
                    size: train.size,
                })
            }
        }
    }

    /// The train and test sets as tensors on `device`. In-memory sets are
    /// normalized with the (subset) training set's channel statistics;
    /// folders with ImageNet's, viewed as `o` says.
    pub fn tensors(&self, o: &DataOptions, device: Device) -> Result<Tensors, CliError> {
        let Source::ImageFolder(dir) = &self.source else {
            let (train, test) = self.load_sets()?;
            let (mean, std) = o.normalize.unwrap_or_else(|| train.channel_stats());
            return Ok(Tensors {
                normalize: (mean, std),
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
        let (train, test) = self.folders(dir, o.skip_bad)?;
        let size = o.im_size as u32;
        if o.test_im_size < o.im_size {
            return Err(CliError::new(format!(
                "TEST.IM_SIZE {} is smaller than TRAIN.IM_SIZE {}: test views resize the shorter side to TEST.IM_SIZE, then crop TRAIN.IM_SIZE",
                o.test_im_size, o.im_size
            )));
        }
        let resize = o.test_im_size as u32;
        let norm = o.normalize.unwrap_or((IMAGENET_MEAN, IMAGENET_STD));
        Ok(Tensors {
            normalize: norm,
            shape: DataShape {
                num_classes: train.classes.len(),
                size: o.im_size as usize,
            },
            train_len: train.len(),
            test_len: test.len(),
            train: TensorSet::folder(train, View::Train { size }, norm, o.pca_std, device),
            test: TensorSet::folder(test, View::Test { resize, size }, norm, 0.0, device),
        })
    }

    /// The train and val folders of `dir`, indexed and cut to their subsets.
    fn folders(&self, dir: &Path, skip_bad: bool) -> Result<(ImageFolder, ImageFolder), CliError> {
        let mut train = ImageFolder::index(dir, Split::Train)?;
        let mut test = ImageFolder::index(dir, Split::Test)?;
        if train.classes != test.classes {
            return Err(CliError::new(format!(
                "'{}': the train and val folders have different classes ({} vs {})",
                dir.display(),
                train.classes.len(),
                test.classes.len()
            )));
        }
        for (name, f, n) in [
            ("train", &mut train, self.train_images),
            ("val", &mut test, self.test_images),
        ] {
            if skip_bad {
                f.drop_unreadable();
                if let Some((path, why)) = f.skipped.first() {
                    eprintln!(
                        "warning: skipped {} unreadable {name} images (first: {}: {why})",
                        f.skipped.len(),
                        path.display()
                    );
                }
            }
            if let Some(n) = n {
                let labels: Vec<u32> = f.items.iter().map(|i| i.1).collect();
                let what = || format!("{name} split of '{}'", dir.display());
                let keep = self.balanced(&labels, f.classes.len(), n, what)?;
                f.items = keep.into_iter().map(|i| f.items[i].clone()).collect();
            }
        }
        Ok((train, test))
    }

    /// Train and test sets of the in-memory sources, cut to their subsets.
    fn load_sets(&self) -> Result<(ImageSet, ImageSet), CliError> {
        let seed = self.subset_seed;
        let (train, test) = match &self.source {
            Source::Synthetic(n) => (
                synthetic::generate(*n, seed, Split::Train),
                synthetic::generate((n / 5).max(100), seed, Split::Test),
            ),
            Source::Cifar(c, dir) => (
                cifar::load(*c, dir, Split::Train)?,
                cifar::load(*c, dir, Split::Test)?,
            ),
            Source::Idx(dir, _) => (idx::load(dir, Split::Train)?, idx::load(dir, Split::Test)?),
            Source::ImageFolder(_) => unreachable!("folders are not held in memory"),
        };
        Ok((
            self.cut(train, self.train_images, "train")?,
            self.cut(test, self.test_images, "test")?,
        ))
    }

    fn cut(&self, set: ImageSet, n: Option<usize>, split: &str) -> Result<ImageSet, CliError> {
        let Some(n) = n else { return Ok(set) };
        let what = || format!("{} {split} split", self.name());
        let keep = self.balanced(&set.labels, set.num_classes, n, what)?;
        Ok(set.select(&keep))
    }

    /// The indices of a seeded class-balanced subset of `n` of `labels`;
    /// `what` names the split in an error.
    fn balanced(
        &self,
        labels: &[u32],
        classes: usize,
        n: usize,
        what: impl Fn() -> String,
    ) -> Result<Vec<usize>, CliError> {
        subset::balanced(labels, classes, n, self.subset_seed)
            .map_err(|e| CliError::new(format!("{}: {e}", what())))
    }

    /// CIFAR and the MNIST-layout sets train with flip + pad-and-crop (as
    /// pycls trains CIFAR); the synthetic set is random already.
    fn augment(&self) -> Augment {
        match self.source {
            Source::Cifar(..) | Source::Idx(..) => Augment::FlipPadCrop,
            _ => Augment::None,
        }
    }
}

fn parse_source(spec: &str, data: &str) -> Result<Source, CliError> {
    let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let dir = || PathBuf::from(arg);
    match kind {
        "synthetic" if arg.is_empty() => Ok(Source::Synthetic(5000)),
        "synthetic" => match arg.parse::<usize>() {
            Ok(n) if n >= 10 => Ok(Source::Synthetic(n)),
            _ => Err(CliError::new(format!(
                "--data '{data}': N must be a whole number of at least 10 images"
            ))),
        },
        "fashion-mnist" if arg.is_empty() => {
            let d = PathBuf::from(idx::FASHION_MNIST_DIR);
            if !d.is_dir() {
                return Err(CliError::new(format!(
                    "--data '{data}': {} does not exist; install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or give fashion-mnist:DIR",
                    d.display()
                )));
            }
            Ok(Source::Idx(d, true))
        }
        "fashion-mnist" => Ok(Source::Idx(dir(), true)),
        "mnist" if !arg.is_empty() => Ok(Source::Idx(dir(), false)),
        "cifar10" if !arg.is_empty() => Ok(Source::Cifar(Cifar::Ten, dir())),
        "cifar100" if !arg.is_empty() => Ok(Source::Cifar(Cifar::Hundred, dir())),
        "imagefolder" if !arg.is_empty() => Ok(Source::ImageFolder(dir())),
        _ => Err(CliError::new(format!("--data '{data}': use {SOURCES}"))),
    }
}

fn positive(n: u64, data: &str, key: &str) -> Result<usize, CliError> {
    if n == 0 {
        return Err(CliError::new(format!(
            "--data '{data}': {key}=0 would leave no images"
        )));
    }
    Ok(n as usize)
}
