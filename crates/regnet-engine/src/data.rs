//! Image sets as normalized tensors, batched in a seeded order.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_data::ImageSet;
use tch::{Device, Kind, Tensor};

/// A dataset on the training device: N × 3 × H × W floats normalized per
/// channel, and N class indices.
pub struct TensorSet {
    pub images: Tensor,
    pub labels: Tensor,
    pub num_classes: usize,
    /// Training-time augmentation applied to each mini-batch.
    pub augment: Augment,
}

/// Training-time augmentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Augment {
    None,
    /// CIFAR's: random horizontal flip, then a random 32×32 crop of the
    /// image zero-padded by 4 (after normalization, as pycls does).
    FlipPadCrop,
}

impl TensorSet {
    /// Normalizes `set` with per-channel `mean` and `std` (in [0, 1] units).
    pub fn new(set: &ImageSet, mean: [f64; 3], std: [f64; 3], device: Device) -> Self {
        let n = set.len() as i64;
        let s = set.size as i64;
        let images = Tensor::from_slice(&set.pixels)
            .view([n, 3, s, s])
            .to_kind(Kind::Float)
            / 255.0;
        let m = Tensor::from_slice(&mean.map(|v| v as f32)).view([1, 3, 1, 1]);
        let sd = Tensor::from_slice(&std.map(|v| v as f32)).view([1, 3, 1, 1]);
        let labels: Vec<i64> = set.labels.iter().map(|&l| l as i64).collect();
        TensorSet {
            images: ((images - m) / sd).to_device(device),
            labels: Tensor::from_slice(&labels).to_device(device),
            num_classes: set.num_classes,
            augment: Augment::None,
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

    /// Mini-batches in `order` (all of them; the last may be smaller).
    pub fn batches<'a>(
        &'a self,
        order: &'a Tensor,
        batch: usize,
    ) -> impl Iterator<Item = (Tensor, Tensor)> + 'a {
        let n = self.len() as i64;
        (0..n).step_by(batch).map(move |start| {
            let idx = order.narrow(0, start, (batch as i64).min(n - start));
            (
                self.images.index_select(0, &idx),
                self.labels.index_select(0, &idx),
            )
        })
    }
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

/// How many prepared mini-batches may wait for the trainer.
const PREFETCH: usize = 4;

/// The mini-batches of one epoch in `order`, augmented, prepared on a
/// background thread while the trainer computes (bounded prefetch). Dropping
/// the iterator early stops the thread.
pub fn prefetched_batches(
    set: &TensorSet,
    order: &Tensor,
    batch: usize,
    aug_seed: u64,
) -> impl Iterator<Item = (Tensor, Tensor)> {
    let (tx, rx) = std::sync::mpsc::sync_channel(PREFETCH);
    let (images, labels, order) = (
        set.images.shallow_clone(),
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
            let x = augment(&images.index_select(0, &idx), augmentation, &mut rng);
            if tx.send((x, labels.index_select(0, &idx))).is_err() {
                return; // the trainer stopped listening
            }
        }
    });
    rx.into_iter()
}
