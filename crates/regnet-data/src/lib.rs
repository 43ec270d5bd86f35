//! Datasets as plain arrays of 8-bit images (N × 3 × H × W, channel-major)
//! with integer labels, and weights files as raw tensor bytes. The engine
//! turns them into tensors; nothing here depends on it.

pub mod cifar;
pub mod idx;
pub mod imagefolder;
pub mod npy;
pub mod pickle;
pub mod resample;
pub mod subset;
pub mod synthetic;
pub mod weights;

/// Which half of a dataset: training or held-out test images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// A dataset that cannot be read, with the file and the reason; one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DataError(pub String);

/// A labelled image set held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// N × 3 × size × size bytes, channel-major per image.
    pub pixels: Vec<u8>,
    pub labels: Vec<u32>,
    /// Height and width of every (square) image.
    pub size: usize,
    pub num_classes: usize,
}

impl ImageSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images `idx` (in that order), e.g. a [`subset::balanced`] subset.
    pub fn select(&self, idx: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(idx.len() * 3 * self.size * self.size);
        for &i in idx {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            pixels,
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            size: self.size,
            num_classes: self.num_classes,
        }
    }

    /// Bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = 3 * self.size * self.size;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Per-channel mean and standard deviation over all pixels, in [0, 1] units.
    pub fn channel_stats(&self) -> ([f64; 3], [f64; 3]) {
        let plane = self.size * self.size;
        let mut sum = [0f64; 3];
        let mut sq = [0f64; 3];
        for img in self.pixels.chunks(3 * plane) {
            for c in 0..3 {
                for &p in &img[c * plane..(c + 1) * plane] {
                    let v = p as f64 / 255.0;
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }
        }
        let n = (self.len() * plane).max(1) as f64;
        let mean = sum.map(|s| s / n);
        let std = [0, 1, 2].map(|c| (sq[c] / n - mean[c] * mean[c]).max(1e-12).sqrt());
        (mean, std)
    }
}
