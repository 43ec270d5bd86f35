//! ImageNet-style folders: `DIR/train/<class>/*.JPEG|jpg|png` and
//! `DIR/val/<class>/…` (or `test/`), classes in sorted name order as
//! torchvision's `ImageFolder` numbers them. Images are decoded when a batch
//! is needed, in parallel (rayon), with the standard ImageNet views: training
//! takes a random-resized crop (scale 0.08–1, aspect 3/4–4/3) and a random
//! flip; testing resizes the shorter side to 256/224 of the crop size and
//! takes the centre crop.

use crate::{DataError, Split};
use image::imageops::{self, FilterType};
use image::RgbImage;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One split of an image folder.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    pub classes: Vec<String>,
    /// (file, class index), sorted by class then file name.
    pub items: Vec<(PathBuf, u32)>,
    /// Files left out by [`ImageFolder::drop_unreadable`], with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

impl ImageFolder {
    /// Indexes `dir/train` (or `dir/val`, else `dir/test`, for the test split).
    pub fn index(dir: &Path, split: Split) -> Result<Self, DataError> {
        let names: &[&str] = match split {
            Split::Train => &["train"],
            Split::Test => &["val", "test"],
        };
        let root = names
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_dir())
            .ok_or_else(|| {
                DataError(format!(
                    "'{}' has no {} folder (expected train/<class>/ and val/<class>/ image folders)",
                    dir.display(),
                    names.join(" or ")
                ))
            })?;
        let mut classes: Vec<String> = read_dir(&root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        classes.sort();
        let mut items = Vec::new();
        for (c, name) in classes.iter().enumerate() {
            let mut files: Vec<PathBuf> = read_dir(&root.join(name))?
                .into_iter()
                .filter(|p| {
                    p.extension()
                        .map(|e| e.to_string_lossy().to_ascii_lowercase())
                        .is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
                })
                .collect();
            files.sort();
            items.extend(files.into_iter().map(|f| (f, c as u32)));
        }
        if items.is_empty() {
            return Err(DataError(format!(
                "'{}' holds no .jpg, .jpeg or .png images in class folders",
                root.display()
            )));
        }
        Ok(ImageFolder {
            classes,
            items,
            skipped: Vec::new(),
        })
    }

    /// Decodes every image (in parallel) and leaves out those that fail,
    /// keeping them in `skipped`: for `--skip-bad-images`.
    pub fn drop_unreadable(&mut self) {
        let bad: Vec<Option<String>> = self
            .items
            .par_iter()
            .map(|(p, _)| decode(p).err().map(|e| e.0))
            .collect();
        let mut kept = Vec::with_capacity(self.items.len());
        for (item, err) in std::mem::take(&mut self.items).into_iter().zip(bad) {
            match err {
                Some(e) => self.skipped.push((item.0, e)),
                None => kept.push(item),
            }
        }
        self.items = kept;
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| DataError(format!("cannot read '{}': {e}", dir.display())))?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

/// How an image is turned into a `size` × `size` input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Random-resized crop and random horizontal flip.
    Train { size: u32 },
    /// Shorter side resized to `resize` (pycls `TEST.IM_SIZE`, 256 for
    /// ImageNet), then the centre `size` × `size` crop (`TRAIN.IM_SIZE`).
    Test { resize: u32, size: u32 },
}

impl View {
    pub fn size(self) -> u32 {
        match self {
            View::Train { size } | View::Test { size, .. } => size,
        }
    }
}

/// Decodes one file to RGB, naming it on failure.
pub fn decode(path: &Path) -> Result<RgbImage, DataError> {
    image::open(path)
        .map(|i| i.to_rgb8())
        .map_err(|e| DataError(format!("cannot decode image '{}': {e}", path.display())))
}

/// The images `idx` of `items` under `view`, as N × 3 × size × size bytes
/// (channel-major), decoded in parallel. Image k of the batch draws its
/// crop and flip from `seed` and k, so the result does not depend on the
/// number of decoding threads.
pub fn load_batch(
    items: &[(PathBuf, u32)],
    idx: &[usize],
    view: View,
    seed: u64,
) -> Result<Vec<u8>, DataError> {
    let images: Vec<Vec<u8>> = idx
        .par_iter()
        .enumerate()
        .map(|(k, &i)| {
            let img = decode(&items[i].0)?;
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            Ok(chw(&apply(&img, view, &mut rng)))
        })
        .collect::<Result<_, DataError>>()?;
    Ok(images.concat())
}

/// Applies a view to a decoded image.
pub fn apply(img: &RgbImage, view: View, rng: &mut ChaCha8Rng) -> RgbImage {
    match view {
        View::Train { size } => {
            let (x, y, w, h) = random_resized_crop(img.width(), img.height(), rng);
            let crop = imageops::crop_imm(img, x, y, w, h).to_image();
            let out = imageops::resize(&crop, size, size, FilterType::Triangle);
            if rng.random_bool(0.5) {
                imageops::flip_horizontal(&out)
            } else {
                out
            }
        }
        View::Test { resize, size } => {
            // pycls `scale_and_center_crop`: the long side scales by truncation,
            // the crop offsets round up.
            let (w, h) = (img.width(), img.height());
            let (nw, nh) = if w < h {
                (
                    resize,
                    ((h as f64 / w as f64 * resize as f64) as u32).max(resize),
                )
            } else {
                (
                    ((w as f64 / h as f64 * resize as f64) as u32).max(resize),
                    resize,
                )
            };
            let resized = if (nw, nh) == (w, h) {
                img.clone()
            } else {
                imageops::resize(img, nw, nh, FilterType::Triangle)
            };
            let (x, y) = ((nw - size).div_ceil(2), (nh - size).div_ceil(2));
            imageops::crop_imm(&resized, x, y, size, size).to_image()
        }
    }
}

/// torchvision's `RandomResizedCrop.get_params` (scale 0.08–1, ratio
/// 3/4–4/3, ten tries, then a centre crop of clamped aspect): x, y, w, h.
pub fn random_resized_crop(width: u32, height: u32, rng: &mut ChaCha8Rng) -> (u32, u32, u32, u32) {
    let (wf, hf) = (width as f64, height as f64);
    let area = wf * hf;
    let (lo, hi) = ((3.0f64 / 4.0).ln(), (4.0f64 / 3.0).ln());
    for _ in 0..10 {
        let target = area * rng.random_range(0.08..1.0);
        let aspect = rng.random_range(lo..hi).exp();
        let w = (target * aspect).sqrt().round() as u32;
        let h = (target / aspect).sqrt().round() as u32;
        if w > 0 && h > 0 && w <= width && h <= height {
            let y = rng.random_range(0..=height - h);
            let x = rng.random_range(0..=width - w);
            return (x, y, w, h);
        }
    }
    let ratio = wf / hf;
    let (w, h) = if ratio < 3.0 / 4.0 {
        (width, ((wf / (3.0 / 4.0)).round() as u32).min(height))
    } else if ratio > 4.0 / 3.0 {
        (((hf * 4.0 / 3.0).round() as u32).min(width), height)
    } else {
        (width, height)
    };
    ((width - w) / 2, (height - h) / 2, w, h)
}

/// HWC RGB → CHW bytes.
fn chw(img: &RgbImage) -> Vec<u8> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0u8; 3 * plane];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = p.0[c];
        }
    }
    out
}
