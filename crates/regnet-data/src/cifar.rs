//! CIFAR-10 and CIFAR-100 from the official binary files
//! (`cifar-10-batches-bin`, `cifar-100-binary`).

use crate::{DataError, ImageSet, Split};
use std::path::{Path, PathBuf};

/// Which CIFAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cifar {
    /// 10 classes; records are 1 label byte + 3072 pixel bytes.
    Ten,
    /// 100 classes; records are a coarse and a fine label byte + 3072 pixel bytes
    /// (the fine label is used, as pycls does).
    Hundred,
}

const PIXELS: usize = 3 * 32 * 32;

impl Cifar {
    fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }

    fn subdir(self) -> &'static str {
        match self {
            Cifar::Ten => "cifar-10-batches-bin",
            Cifar::Hundred => "cifar-100-binary",
        }
    }

    fn files(self, split: Split) -> Vec<String> {
        match (self, split) {
            (Cifar::Ten, Split::Train) => (1..=5).map(|i| format!("data_batch_{i}.bin")).collect(),
            (Cifar::Ten, Split::Test) => vec!["test_batch.bin".into()],
            (Cifar::Hundred, Split::Train) => vec!["train.bin".into()],
            (Cifar::Hundred, Split::Test) => vec!["test.bin".into()],
        }
    }

    fn num_classes(self) -> usize {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }
}

/// Reads a split from `dir`: the extracted folder itself or its parent.
pub fn load(kind: Cifar, dir: &Path, split: Split) -> Result<ImageSet, DataError> {
    let root = locate(kind, dir)?;
    let record = kind.label_bytes() + PIXELS;
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for name in kind.files(split) {
        let path = root.join(&name);
        let bytes = std::fs::read(&path)
            .map_err(|e| DataError(format!("cannot read CIFAR file '{}': {e}", path.display())))?;
        if bytes.is_empty() || bytes.len() % record != 0 {
            return Err(DataError(format!(
                "'{}' is not a CIFAR binary file: {} bytes is not a multiple of the {record}-byte record",
                path.display(),
                bytes.len()
            )));
        }
        for rec in bytes.chunks_exact(record) {
            let label = rec[kind.label_bytes() - 1] as u32;
            if label as usize >= kind.num_classes() {
                return Err(DataError(format!(
                    "'{}' has label {label}, outside 0..{}",
                    path.display(),
                    kind.num_classes()
                )));
            }
            labels.push(label);
            pixels.extend_from_slice(&rec[kind.label_bytes()..]);
        }
    }
    Ok(ImageSet {
        pixels,
        labels,
        size: 32,
        num_classes: kind.num_classes(),
    })
}

fn locate(kind: Cifar, dir: &Path) -> Result<PathBuf, DataError> {
    let first = &kind.files(Split::Test)[0];
    [dir.to_path_buf(), dir.join(kind.subdir())]
        .into_iter()
        .find(|d| d.join(first).exists())
        .ok_or_else(|| {
            DataError(format!(
                "no CIFAR binary files in '{}' (expected {first} there or in {}/)",
                dir.display(),
                kind.subdir()
            ))
        })
}
