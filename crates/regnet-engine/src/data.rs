//! Datasets as normalized tensors, batched in a seeded order: image sets
//! held in memory (synthetic, CIFAR), or image folders decoded batch by
//! batch on a prefetching thread with parallel decoders.

use crate::error::{EngineError, Result};
use crate::Device as EngineDevice;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_data::imagefolder::{load_batch, ImageFolder, View};
use regnet_data::ImageSet;
use std::sync::Arc;
use tch::{Device, Kind, Tensor};

/// A dataset for the trainer: N images (3 × H × W floats normalized per
/// channel, made on demand for folders) and N class indices.
pub struct TensorSet {
    source: Source,
    pub labels: Tensor,
    pub num_classes: usize,
    /// Training-time augmentation applied to each mini-batch.
    pub augment: Augment,
}

/// Where the images are.
enum Source {
    /// All images, normalized, on the training device.
    Memory(Tensor),
    /// Files decoded per batch under a view, normalized with `mean` / `std`
    /// (1 × 3 × 1 × 1), moved to `device`.
    Folder {
        folder: Arc<ImageFolder>,
        view: View,
        mean: Tensor,
        std: Tensor,
        device: Device,
    },
}

impl Source {
    /// A handle to the same data (tensors shared, not copied).
    fn share(&self) -> Source {
        match self {
            Source::Memory(t) => Source::Memory(t.shallow_clone()),
            Source::Folder {
                folder,
                view,
                mean,
                std,
                device,
            } => Source::Folder {
                folder: folder.clone(),
                view: *view,
                mean: mean.shallow_clone(),
                std: std.shallow_clone(),
                device: *device,
            },
        }
    }

    /// Images `idx` (an index tensor); folder views draw crops from `seed`.
    fn images(&self, idx: &Tensor, seed: u64) -> Result<Tensor> {
        match self {
            Source::Memory(t) => Ok(t.index_select(0, idx)),
            Source::Folder {
                folder,
                view,
                mean,
                std,
                device,
            } => {
                let ids: Vec<usize> = Vec::<i64>::try_from(idx.to_device(Device::Cpu))?
                    .into_iter()
                    .map(|i| i as usize)
                    .collect();
                let bytes = load_batch(&folder.items, &ids, *view, seed)
                    .map_err(|e| EngineError::Data(e.0))?;
                let s = view.size() as i64;
                let x = Tensor::from_slice(&bytes)
                    .view([ids.len() as i64, 3, s, s])
                    .to_kind(Kind::Float)
                    / 255.0;
                Ok(((x - mean) / std).to_device(*device))
            }
        }
    }
}

/// Training-time augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Augment {
    None,
    /// CIFAR's: random horizontal flip, then a random 32×32 crop of the
    /// image zero-padded by 4 (after normalization, as pycls does).
    FlipPadCrop,
    /// AlexNet-style PCA colour lighting of std `TRAIN.PCA_STD` after
    /// normalization, as pycls trains on ImageNet (crop and flip come from
    /// the folder view).
    Lighting(f64),
}

/// ImageNet's per-channel mean and std (RGB, [0, 1] units), which pycls and
/// torchvision normalize with.
pub const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

fn channel_tensor(v: [f64; 3]) -> Tensor {
    Tensor::from_slice(&v.map(|x| x as f32)).view([1, 3, 1, 1])
}

impl TensorSet {
    /// Normalizes `set` with per-channel `mean` and `std` (in [0, 1] units).
    pub fn new(set: &ImageSet, mean: [f64; 3], std: [f64; 3], device: EngineDevice) -> Self {
        let device = device.tch();
        let n = set.len() as i64;
        let s = set.size as i64;
        let images = Tensor::from_slice(&set.pixels)
            .view([n, 3, s, s])
            .to_kind(Kind::Float)
            / 255.0;
        let images = (images - channel_tensor(mean)) / channel_tensor(std);
        TensorSet {
            source: Source::Memory(images.to_device(device)),
            labels: labels(&set.labels, device),
            num_classes: set.num_classes,
            augment: Augment::None,
        }
    }

    /// An image folder under `view`, normalized with ImageNet's statistics;
    /// training views add PCA lighting of std `pca_std` (none when 0).
    pub fn folder(folder: ImageFolder, view: View, pca_std: f64, device: EngineDevice) -> Self {
        let device = device.tch();
        let ls: Vec<u32> = folder.items.iter().map(|i| i.1).collect();
        let augment = match view {
            View::Train { .. } if pca_std > 0.0 => Augment::Lighting(pca_std),
            _ => Augment::None,
        };
        TensorSet {
            labels: labels(&ls, device),
            num_classes: folder.classes.len(),
            augment,
            source: Source::Folder {
                folder: Arc::new(folder),
                view,
                mean: channel_tensor(IMAGENET_MEAN),
                std: channel_tensor(IMAGENET_STD),
                device,
            },
        }
    }

    /// The same set with training augmentation `a`.
    pub fn with_augment(self, a: Augment) -> Self {
        TensorSet { augment: a, ..self }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The device batches are made on.
    pub(crate) fn device(&self) -> Device {
        self.labels.device()
    }

    /// Mini-batches in `order` (all of them; the last may be smaller),
    /// unaugmented; folder views draw from seed 0.
    pub fn batches<'a>(
        &'a self,
        order: &'a Tensor,
        batch: usize,
    ) -> impl Iterator<Item = Result<(Tensor, Tensor)>> + 'a {
        let n = self.len() as i64;
        (0..n).step_by(batch).map(move |start| {
            let idx = order.narrow(0, start, (batch as i64).min(n - start));
            Ok((
                self.source.images(&idx, 0)?,
                self.labels.index_select(0, &idx),
            ))
        })
    }
}

fn labels(ls: &[u32], device: Device) -> Tensor {
    let v: Vec<i64> = ls.iter().map(|&l| l as i64).collect();
    Tensor::from_slice(&v).to_device(device)
}

/// Applies `a` to a batch, drawing flips and crop offsets from `rng` (not
/// from libtorch's global generator, so batches can be prepared on another
/// thread without changing what the training thread draws).
pub fn augment(x: &Tensor, a: Augment, rng: &mut ChaCha8Rng) -> Tensor {
    match a {
        Augment::None => x.shallow_clone(),
        Augment::Lighting(std) => lighting(x, std, rng),
        Augment::FlipPadCrop => {
            let size = x.size();
            let (n, h, w) = (size[0], size[2], size[3]);
            let padded = x.constant_pad_nd([4, 4, 4, 4]);
            let crops: Vec<Tensor> = (0..n)
                .map(|i| {
                    let (dy, dx) = (rng.random_range(0..9i64), rng.random_range(0..9i64));
                    let crop = padded.get(i).narrow(1, dy, h).narrow(2, dx, w);
                    if rng.random_bool(0.5) {
                        crop.flip([2])
                    } else {
                        crop
                    }
                })
                .collect();
            Tensor::stack(&crops, 0)
        }
    }
}

/// PCA lighting (Krizhevsky et al.; pycls `lighting`): each image gets
/// V (α ⊙ λ) added to its channels, α ~ N(0, std²) per image.
fn lighting(x: &Tensor, std: f64, rng: &mut ChaCha8Rng) -> Tensor {
    const EIGVALS: [f64; 3] = [0.2175, 0.0188, 0.0045];
    const EIGVECS: [[f64; 3]; 3] = [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ];
    let n = x.size()[0];
    let mut shifts = Vec::with_capacity(3 * n as usize);
    for _ in 0..n {
        let alpha: Vec<f64> = (0..3).map(|_| std * normal(rng)).collect();
        for row in EIGVECS {
            shifts.push((0..3).map(|j| row[j] * alpha[j] * EIGVALS[j]).sum::<f64>() as f32);
        }
    }
    x + Tensor::from_slice(&shifts)
        .view([n, 3, 1, 1])
        .to_device(x.device())
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// How many prepared mini-batches may wait for the trainer.
const PREFETCH: usize = 4;

/// The mini-batches of one epoch in `order`, loaded (decoded in parallel
/// for folders) and augmented on a background thread while the trainer
/// computes (bounded prefetch). Dropping the iterator early stops the thread.
pub fn prefetched_batches(
    set: &TensorSet,
    order: &Tensor,
    batch: usize,
    aug_seed: u64,
) -> impl Iterator<Item = Result<(Tensor, Tensor)>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH);
    let (source, labels, order) = (
        set.source.share(),
        set.labels.shallow_clone(),
        order.shallow_clone(),
    );
    let augmentation = set.augment;
    // A new thread's first libtorch op would reset the process-wide intra-op
    // thread count to its default, changing the float summation order of the
    // training thread mid-run; pin it to the caller's.
    let threads = tch::get_num_threads();
    std::thread::spawn(move || {
        tch::set_num_threads(threads);
        let mut rng = ChaCha8Rng::seed_from_u64(aug_seed);
        let n = labels.size()[0];
        for start in (0..n).step_by(batch) {
            let idx = order.narrow(0, start, (batch as i64).min(n - start));
            let view_seed: u64 = rng.random();
            let item = source.images(&idx, view_seed).map(|x| {
                (
                    augment(&x, augmentation, &mut rng),
                    labels.index_select(0, &idx),
                )
            });
            let failed = item.is_err();
            if tx.send(item).is_err() || failed {
                return; // the trainer stopped listening, or the data is broken
            }
        }
    });
    rx.into_iter()
}
