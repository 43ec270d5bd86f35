//! MNIST-layout IDX files: MNIST and Fashion-MNIST (Debian ships the latter
//! as the package `dataset-fashion-mnist`, under
//! `/usr/share/datasets/fashion-mnist`).
//!
//! A split is an image file (`*-images-idx3-ubyte`, magic 0x00000803: count,
//! rows, columns, then one byte per pixel) and a label file
//! (`*-labels-idx1-ubyte`, magic 0x00000801: count, then one byte per label),
//! plain or gzipped (`.gz`). The 28x28 gray images enter the networks as
//! 32x32 three-channel images: zero-padded by 2 pixels on each side and the
//! gray value copied to every channel, so configs made for CIFAR's 32x32
//! inputs (`res_stem_cifar`) run unchanged.

use crate::{DataError, ImageSet, Split};
use flate2::read::GzDecoder;
use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where Debian's `dataset-fashion-mnist` puts the files.
pub const FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Side of the images as the networks see them.
pub const SIZE: usize = 32;

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const CLASSES: usize = 10;

/// The file prefix of a split (`train` or `t10k`).
fn prefix(split: Split) -> &'static str {
    match split {
        Split::Train => "train",
        Split::Test => "t10k",
    }
}

/// Reads a split of an MNIST-layout dataset in `dir` (10 classes).
pub fn load(dir: &Path, split: Split) -> Result<ImageSet, DataError> {
    let p = prefix(split);
    let images_path = find(dir, &format!("{p}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{p}-labels-idx1-ubyte"))?;
    let (images, rows, cols) = match parse(&read_file(&images_path)?, &images_path)? {
        IdxFile::Images { pixels, rows, cols } => (pixels, rows, cols),
        IdxFile::Labels(_) => {
            return Err(wrong_kind(
                &images_path,
                "image",
                LABELS_MAGIC,
                IMAGES_MAGIC,
            ))
        }
    };
    let IdxFile::Labels(labels) = parse(&read_file(&labels_path)?, &labels_path)? else {
        return Err(wrong_kind(
            &labels_path,
            "label",
            IMAGES_MAGIC,
            LABELS_MAGIC,
        ));
    };
    let n = labels.len();
    if images.len() != n * rows * cols {
        return Err(DataError(format!(
            "{} holds {} images but {} holds {n} labels",
            images_path.display(),
            images.len() / (rows * cols).max(1),
            labels_path.display()
        )));
    }
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(DataError(format!(
            "{}: label {l} of image {i} is out of range (classes 0-{})",
            labels_path.display(),
            CLASSES - 1
        )));
    }
    Ok(ImageSet {
        pixels: to_rgb32(&images, n, rows, cols),
        labels: labels.into_iter().map(u32::from).collect(),
        size: SIZE,
        num_classes: CLASSES,
    })
}

/// `name.gz` or `name` in `dir`.
fn find(dir: &Path, name: &str) -> Result<PathBuf, DataError> {
    let gz = dir.join(format!("{name}.gz"));
    let plain = dir.join(name);
    [gz, plain]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            DataError(format!(
                "'{}' holds no {name} or {name}.gz (an MNIST-layout dataset needs train- and t10k- images and labels)",
                dir.display()
            ))
        })
}

/// One IDX file's content.
#[derive(Debug)]
pub enum IdxFile {
    /// Pixels (row-major per image), rows, columns.
    Images {
        pixels: Vec<u8>,
        rows: usize,
        cols: usize,
    },
    /// One byte per label.
    Labels(Vec<u8>),
}

/// Parses an IDX file's bytes, gunzipped first when `name` (where they
/// came from, named in errors) ends in `.gz`. Separate from reading the
/// file so the bounds are checked on bytes alone (regnet-fuzz).
pub fn parse(file: &[u8], name: &Path) -> Result<IdxFile, DataError> {
    let bytes = if name.extension().and_then(|e| e.to_str()) == Some("gz") {
        Cow::Owned(inflate(file, name)?)
    } else {
        Cow::Borrowed(file)
    };
    match be_u32(&bytes, 0, name)? {
        IMAGES_MAGIC => parse_images(&bytes, name),
        LABELS_MAGIC => parse_labels(&bytes, name),
        magic => Err(DataError(format!(
            "'{}' is not an IDX image or label file: magic number 0x{magic:08x}, expected 0x{IMAGES_MAGIC:08x} or 0x{LABELS_MAGIC:08x}",
            name.display()
        ))),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError(format!("cannot read '{}': {e}", path.display())))
}

fn wrong_kind(path: &Path, want: &str, magic: u32, expected: u32) -> DataError {
    DataError(format!(
        "'{}' is not an IDX {want} file: magic number 0x{magic:08x}, expected 0x{expected:08x}",
        path.display()
    ))
}

/// A gzip stream's content, refused when it inflates beyond
/// [`MAX_INFLATION`] times its size before it exhausts memory.
fn inflate(file: &[u8], name: &Path) -> Result<Vec<u8>, DataError> {
    let limit = (file.len() as u64)
        .saturating_mul(MAX_INFLATION)
        .max(1 << 26);
    let mut out = Vec::new();
    GzDecoder::new(file)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError(format!("'{}' is not valid gzip: {e}", name.display())))?;
    if out.len() as u64 > limit {
        return Err(DataError(format!(
            "'{}' inflates to more than {limit} bytes ({MAX_INFLATION}x its size): not IDX data",
            name.display()
        )));
    }
    Ok(out)
}

/// How many times its size a gzipped IDX file may inflate to (at least
/// 64 MiB); Fashion-MNIST's inflate about 2x.
const MAX_INFLATION: u64 = 64;

/// Big-endian u32 at `at`, or an error naming the file as truncated.
fn be_u32(bytes: &[u8], at: usize, path: &Path) -> Result<u32, DataError> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| truncated(path, at + 4, bytes.len()))
}

fn truncated(path: &Path, want: usize, got: usize) -> DataError {
    DataError(format!(
        "'{}' is truncated: {got} bytes, its header promises {want}",
        path.display()
    ))
}

fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxFile, DataError> {
    let n = be_u32(bytes, 4, path)? as usize;
    let rows = be_u32(bytes, 8, path)? as usize;
    let cols = be_u32(bytes, 12, path)? as usize;
    if rows == 0 || cols == 0 || rows > SIZE || cols > SIZE {
        return Err(DataError(format!(
            "'{}': images of {rows}x{cols} pixels (this reader takes up to {SIZE}x{SIZE})",
            path.display()
        )));
    }
    let want = n
        .checked_mul(rows * cols)
        .and_then(|p| p.checked_add(16))
        .unwrap_or(usize::MAX);
    if bytes.len() < want {
        return Err(truncated(path, want, bytes.len()));
    }
    Ok(IdxFile::Images {
        pixels: bytes[16..want].to_vec(),
        rows,
        cols,
    })
}

fn parse_labels(bytes: &[u8], path: &Path) -> Result<IdxFile, DataError> {
    let n = be_u32(bytes, 4, path)? as usize;
    let want = 8 + n;
    if bytes.len() < want {
        return Err(truncated(path, want, bytes.len()));
    }
    Ok(IdxFile::Labels(bytes[8..want].to_vec()))
}

/// rows x cols gray images, centred in SIZE x SIZE zero-padded frames, gray
/// copied to three channels (channel-major per image).
fn to_rgb32(gray: &[u8], n: usize, rows: usize, cols: usize) -> Vec<u8> {
    let (top, left) = ((SIZE - rows) / 2, (SIZE - cols) / 2);
    let plane = SIZE * SIZE;
    let mut out = vec![0u8; n * 3 * plane];
    for (i, img) in gray.chunks_exact(rows * cols).enumerate() {
        let dst = &mut out[i * 3 * plane..(i + 1) * 3 * plane];
        for (r, row) in img.chunks_exact(cols).enumerate() {
            let at = (top + r) * SIZE + left;
            for c in 0..3 {
                dst[c * plane + at..c * plane + at + cols].copy_from_slice(row);
            }
        }
    }
    out
}
