//! Datasets as normalized tensors, batched in a seeded order: image sets
//! held in memory (synthetic, CIFAR), or image folders decoded batch by
//! batch on a prefetching thread with parallel decoders.

use crate::error::{EngineError, Result};
use crate::Device as EngineDevice;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_data::imagefolder::{load_batch, ImageFolder, View};
use regnet_data::resample::Normalize;
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
    /// Files decoded per batch under a view, normalized as they are
    /// resampled (with PCA lighting of std `pca_std` folded into each
    /// image's normalization; none when 0), moved to `device`.
    Folder {
        folder: Arc<ImageFolder>,
        view: View,
        norm: Normalize,
        pca_std: f64,
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
                norm,
                pca_std,
                device,
            } => Source::Folder {
                folder: folder.clone(),
                view: *view,
                norm: *norm,
                pca_std: *pca_std,
                device: *device,
            },
        }
    }

    /// Images `idx` (an index tensor); folder views draw crops from `seed`,
    /// and lighting (when `rng` is given and the view has it) from `rng`.
    fn images(&self, idx: &Tensor, seed: u64, rng: Option<&mut ChaCha8Rng>) -> Result<Tensor> {
        match self {
            Source::Memory(t) => Ok(t.index_select(0, idx)),
            Source::Folder {
                folder,
                view,
                norm,
                pca_std,
                device,
            } => {
                let ids: Vec<usize> = Vec::<i64>::try_from(idx.to_device(Device::Cpu))?
                    .into_iter()
                    .map(|i| i as usize)
                    .collect();
                let norms: Vec<Normalize> = match rng {
                    Some(rng) if *pca_std > 0.0 => (0..ids.len())
                        .map(|_| norm.shifted(lighting_shift(*pca_std, rng)))
                        .collect(),
                    _ => vec![*norm; ids.len()],
                };
                let s = view.size() as i64;
                let x = Tensor::empty([ids.len() as i64, 3, s, s], (Kind::Float, Device::Cpu));
                let len = x.numel();
                // SAFETY: `x` was just made: a contiguous float32 CPU tensor of
                // `len` elements that nothing else references until this
                // slice is gone. Writing in place saves zeroing and copying
                // a batch (tens of MB at ImageNet sizes).
                let out = unsafe { std::slice::from_raw_parts_mut(x.data_ptr() as *mut f32, len) };
                load_batch(&folder.items, &ids, *view, seed, &norms, out)
                    .map_err(|e| EngineError::Data(e.0))?;
                Ok(x.to_device(*device))
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

    /// An image folder under `view`, normalized with per-channel `mean` and
    /// `std` (ImageNet's, [`IMAGENET_MEAN`], for pycls's recipe); training
    /// views add PCA lighting of std `pca_std` (none when 0).
    pub fn folder(
        folder: ImageFolder,
        view: View,
        (mean, std): ([f64; 3], [f64; 3]),
        pca_std: f64,
        device: EngineDevice,
    ) -> Self {
        let device = device.tch();
        let ls: Vec<u32> = folder.items.iter().map(|i| i.1).collect();
        let pca_std = match view {
            View::Train { .. } => pca_std,
            View::Test { .. } => 0.0,
        };
        TensorSet {
            labels: labels(&ls, device),
            num_classes: folder.classes.len(),
            augment: Augment::None,
            source: Source::Folder {
                folder: Arc::new(folder),
                view,
                norm: Normalize::mean_std(mean, std),
                pca_std,
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
                self.source.images(&idx, 0, None)?,
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

/// PCA lighting (Krizhevsky et al.; pycls `lighting`): an image gets
/// V (α ⊙ λ) added to its normalized channels, α ~ N(0, std²) per image.
fn lighting_shift(std: f64, rng: &mut ChaCha8Rng) -> [f32; 3] {
    const EIGVALS: [f64; 3] = [0.2175, 0.0188, 0.0045];
    const EIGVECS: [[f64; 3]; 3] = [
        [-0.5675, 0.7192, 0.4009],
        [-0.5808, -0.0045, -0.8140],
        [-0.5836, -0.6948, 0.4203],
    ];
    let alpha: Vec<f64> = (0..3).map(|_| std * normal(rng)).collect();
    EIGVECS.map(|row| (0..3).map(|j| row[j] * alpha[j] * EIGVALS[j]).sum::<f64>() as f32)
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// How many prepared mini-batches may wait for the trainer.
const PREFETCH: usize = 4;

/// The mini-batches of one epoch, prepared on a background thread.
/// Dropping it stops the thread and waits for it, so no thread touching
/// libtorch outlives its batches (one still running while the process
/// exits trips libtorch's teardown).
pub struct Prefetched {
    rx: Option<std::sync::mpsc::Receiver<Result<(Tensor, Tensor)>>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl Iterator for Prefetched {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rx.as_ref()?.recv().ok()
    }
}

impl Drop for Prefetched {
    fn drop(&mut self) {
        drop(self.rx.take()); // the worker's next send fails: it returns
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The mini-batches of one epoch in `order`, loaded (decoded in parallel
/// for folders) and augmented on a background thread while the trainer
/// computes (bounded prefetch). Dropping the iterator early stops the thread.
pub fn prefetched_batches(
    set: &TensorSet,
    order: &Tensor,
    batch: usize,
    aug_seed: u64,
) -> Prefetched {
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
    let worker = std::thread::spawn(move || {
        tch::set_num_threads(threads);
        let mut rng = ChaCha8Rng::seed_from_u64(aug_seed);
        let n = labels.size()[0];
        for start in (0..n).step_by(batch) {
            let idx = order.narrow(0, start, (batch as i64).min(n - start));
            let view_seed: u64 = rng.random();
            let item = source.images(&idx, view_seed, Some(&mut rng)).map(|x| {
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
    Prefetched {
        rx: Some(rx),
        worker: Some(worker),
    }
}
