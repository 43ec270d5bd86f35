//! ImageNet-style folders: `DIR/train/<class>/*.JPEG|jpg|png` and
//! `DIR/val/<class>/…` (or `test/`), classes in sorted name order as
//! torchvision's `ImageFolder` numbers them. Images are decoded when a batch
//! is needed, in parallel (rayon), with the standard ImageNet views: training
//! takes a random-resized crop (scale 0.08–1, aspect 3/4–4/3) and a random
//! flip; testing resizes the shorter side to 256/224 of the crop size and
//! takes the centre crop. Crop, resize, flip and normalization are one pass
//! into the batch ([`crate::resample`]).

use crate::resample::{resample, Normalize, Window};
use crate::{DataError, Split};
use image::{DynamicImage, Rgb, RgbImage};
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
        // Class folders by their own paths (a name that is not UTF-8 is
        // shown lossily but still read).
        let mut folders: Vec<PathBuf> = read_dir(&root)?
            .into_iter()
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        let classes: Vec<String> = folders
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let mut items = Vec::new();
        for (c, folder) in folders.iter().enumerate() {
            let mut files: Vec<PathBuf> = read_dir(folder)?
                .into_iter()
                .filter(|p| {
                    p.extension()
                        .map(|e| e.to_string_lossy().to_ascii_lowercase())
                        .is_some_and(|e| EXTENSIONS.contains(&e.as_str()))
                })
                // Regular files only: a FIFO named *.png would block a read.
                .filter(|p| p.is_file())
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

/// Decodes one file to RGB as PIL's `Image.open(f).convert("RGB")` does
/// (torchvision's `ImageFolder` loader), naming the file on failure: alpha
/// is dropped, gray is replicated, EXIF orientation is not applied, 16-bit
/// colour keeps its high byte, and 16-bit gray (PIL's mode `I;16`) is
/// clipped at 255 rather than scaled.
pub fn decode(path: &Path) -> Result<RgbImage, DataError> {
    let bytes = std::fs::read(path)
        .map_err(|e| DataError(format!("cannot read image '{}': {e}", path.display())))?;
    decode_bytes(&bytes, path)
}

/// The most one decoded image may take (256 MiB: an 8-bit RGB image of
/// about 9,000 x 9,000 pixels, 16-bit of 6,500 x 6,500); a file declaring
/// more, such as a small PNG that inflates to a huge flat image, is
/// refused before its pixels are allocated.
pub const MAX_DECODED_BYTES: u64 = 256 << 20;

/// [`decode`] on a file's bytes (`name`: where they came from, named in
/// errors; the format is read from the bytes, not the name).
pub fn decode_bytes(bytes: &[u8], name: &Path) -> Result<RgbImage, DataError> {
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DataError(format!("cannot read image '{}': {e}", name.display())))?;
    reader.limits(limits);
    let img = reader.decode().map_err(|e| {
        // Some decoder errors end in a newline or span lines: one line.
        let why = e.to_string();
        let why: Vec<&str> = why
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        DataError(format!(
            "cannot decode image '{}': {}",
            name.display(),
            why.join("; ")
        ))
    })?;
    let high = |v: u16| (v >> 8) as u8;
    Ok(match img {
        DynamicImage::ImageLuma16(g) => RgbImage::from_fn(g.width(), g.height(), |x, y| {
            let v = g.get_pixel(x, y).0[0].min(255) as u8;
            Rgb([v, v, v])
        }),
        DynamicImage::ImageRgb16(c) => RgbImage::from_fn(c.width(), c.height(), |x, y| {
            Rgb(c.get_pixel(x, y).0.map(high))
        }),
        DynamicImage::ImageRgba16(c) => RgbImage::from_fn(c.width(), c.height(), |x, y| {
            let [r, g, b, _] = c.get_pixel(x, y).0;
            Rgb([high(r), high(g), high(b)])
        }),
        DynamicImage::ImageLumaA16(g) => RgbImage::from_fn(g.width(), g.height(), |x, y| {
            let v = high(g.get_pixel(x, y).0[0]);
            Rgb([v, v, v])
        }),
        other => other.into_rgb8(),
    })
}

/// Writes the images `idx` of `items` under `view`, image k normalized by
/// `norms[k]`, into `out` as N × 3 × size × size floats (channel-major),
/// decoded and resampled in parallel straight into place ([`resample`]).
/// Image k draws its crop and flip from `seed` and k, so the result does
/// not depend on the number of decoding threads.
pub fn load_batch(
    items: &[(PathBuf, u32)],
    idx: &[usize],
    view: View,
    seed: u64,
    norms: &[Normalize],
    out: &mut [f32],
) -> Result<(), DataError> {
    let size = view.size();
    let per_image = 3 * (size * size) as usize;
    assert_eq!(out.len(), idx.len() * per_image, "batch buffer size");
    out.par_chunks_mut(per_image)
        .zip(idx.par_iter().zip(norms))
        .enumerate()
        .try_for_each(|(k, (dst, (&i, norm)))| {
            let img = decode(&items[i].0)?;
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (window, flip) = geometry(img.width(), img.height(), view, &mut rng);
            resample(&img, window, size, flip, norm, dst)
                .map_err(|e| DataError(format!("cannot resample '{}': {e}", items[i].0.display())))
        })
}

/// Where a view takes an image's pixels from, and whether it mirrors them:
/// a training view's random-resized crop and flip (drawn from `rng` in that
/// order), a test view's resize and centre crop. pycls's
/// `scale_and_center_crop` sizes the long side by truncation and rounds the
/// crop offsets up.
pub fn geometry(width: u32, height: u32, view: View, rng: &mut ChaCha8Rng) -> (Window, bool) {
    match view {
        View::Train { .. } => {
            let (x, y, w, h) = random_resized_crop(width, height, rng);
            (Window::Crop { x, y, w, h }, rng.random_bool(0.5))
        }
        View::Test { resize, size } => {
            let long = |a: u32, b: u32| ((a as f64 / b as f64 * resize as f64) as u32).max(resize);
            let (w, h) = if width < height {
                (resize, long(height, width))
            } else {
                (long(width, height), resize)
            };
            let (x, y) = ((w - size).div_ceil(2), (h - size).div_ceil(2));
            (Window::Resized { w, h, x, y }, false)
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
