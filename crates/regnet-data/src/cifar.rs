//! CIFAR-10 and CIFAR-100 from the official binary files
//! (`cifar-10-batches-bin`, `cifar-100-binary`) or the official python
//! pickles (`cifar-10-batches-py`, `cifar-100-python`, as pycls reads them).

use crate::pickle::{self, numpy_array};
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

    fn subdir(self, f: Format) -> &'static str {
        match (self, f) {
            (Cifar::Ten, Format::Binary) => "cifar-10-batches-bin",
            (Cifar::Hundred, Format::Binary) => "cifar-100-binary",
            (Cifar::Ten, Format::Pickle) => "cifar-10-batches-py",
            (Cifar::Hundred, Format::Pickle) => "cifar-100-python",
        }
    }

    fn files(self, split: Split, f: Format) -> Vec<String> {
        let ext = if f == Format::Binary { ".bin" } else { "" };
        match (self, split) {
            (Cifar::Ten, Split::Train) => (1..=5).map(|i| format!("data_batch_{i}{ext}")).collect(),
            (Cifar::Ten, Split::Test) => vec![format!("test_batch{ext}")],
            (Cifar::Hundred, Split::Train) => vec![format!("train{ext}")],
            (Cifar::Hundred, Split::Test) => vec![format!("test{ext}")],
        }
    }

    /// The label key of a python batch (pycls uses the fine labels).
    fn label_key(self) -> &'static str {
        match self {
            Cifar::Ten => "labels",
            Cifar::Hundred => "fine_labels",
        }
    }

    fn num_classes(self) -> usize {
        match self {
            Cifar::Ten => 10,
            Cifar::Hundred => 100,
        }
    }
}

/// The two official file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Binary,
    Pickle,
}

/// Reads a split from `dir`: the extracted folder itself or its parent, in
/// either official format (binary preferred when both are there).
pub fn load(kind: Cifar, dir: &Path, split: Split) -> Result<ImageSet, DataError> {
    let (root, format) = locate(kind, dir)?;
    let mut set = empty(kind);
    for name in kind.files(split, format) {
        let path = root.join(&name);
        let bytes = std::fs::read(&path)
            .map_err(|e| DataError(format!("cannot read CIFAR file '{}': {e}", path.display())))?;
        append(kind, format, &bytes, &path, &mut set)?;
    }
    Ok(set)
}

/// One batch file's images and labels, from its bytes (`name`: where they
/// came from, named in errors). Separate from reading the file so the
/// bounds are checked on bytes alone (regnet-fuzz).
pub fn parse_batch(
    kind: Cifar,
    format: Format,
    bytes: &[u8],
    name: &Path,
) -> Result<ImageSet, DataError> {
    let mut set = empty(kind);
    append(kind, format, bytes, name, &mut set)?;
    Ok(set)
}

fn empty(kind: Cifar) -> ImageSet {
    ImageSet {
        pixels: Vec::new(),
        labels: Vec::new(),
        size: 32,
        num_classes: kind.num_classes(),
    }
}

fn append(
    kind: Cifar,
    format: Format,
    bytes: &[u8],
    path: &Path,
    set: &mut ImageSet,
) -> Result<(), DataError> {
    match format {
        Format::Binary => append_binary(kind, bytes, path, set),
        Format::Pickle => append_pickle(kind, bytes, path, set),
    }
}

/// Appends a binary batch: records of label byte(s) + 3072 pixel bytes.
fn append_binary(
    kind: Cifar,
    bytes: &[u8],
    path: &Path,
    set: &mut ImageSet,
) -> Result<(), DataError> {
    let record = kind.label_bytes() + PIXELS;
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(DataError(format!(
            "'{}' is not a CIFAR binary file: {} bytes is not a multiple of the {record}-byte record",
            path.display(),
            bytes.len()
        )));
    }
    for rec in bytes.chunks_exact(record) {
        let label = rec[kind.label_bytes() - 1] as u32;
        check_label(kind, path, label as i64)?;
        set.labels.push(label);
        set.pixels.extend_from_slice(&rec[kind.label_bytes()..]);
    }
    Ok(())
}

fn check_label(kind: Cifar, path: &Path, label: i64) -> Result<(), DataError> {
    if label < 0 || label as usize >= kind.num_classes() {
        return Err(DataError(format!(
            "'{}' has label {label}, outside 0..{}",
            path.display(),
            kind.num_classes()
        )));
    }
    Ok(())
}

/// Appends a python batch: a pickled dict with `data` (N x 3072 uint8) and
/// `labels` / `fine_labels`.
fn append_pickle(
    kind: Cifar,
    bytes: &[u8],
    path: &Path,
    set: &mut ImageSet,
) -> Result<(), DataError> {
    let bad = |why: &str| {
        DataError(format!(
            "'{}' is not a CIFAR python batch: {why}",
            path.display()
        ))
    };
    let obj = pickle::parse(bytes).map_err(|e| bad(&e.0))?;
    let data = obj.get("data").ok_or_else(|| bad("no 'data' entry"))?;
    let (shape, dtype, raw) =
        numpy_array(data).ok_or_else(|| bad("'data' is not a numpy array"))?;
    if !dtype.ends_with("u1")
        || shape.len() != 2
        || shape[1] != PIXELS
        || raw.len() != shape[0] * PIXELS
    {
        return Err(bad(&format!(
            "'data' is {dtype} of shape {shape:?}, expected uint8 N x {PIXELS}"
        )));
    }
    let labels = obj
        .get(kind.label_key())
        .and_then(|l| l.items())
        .ok_or_else(|| bad(&format!("no '{}' list", kind.label_key())))?;
    if labels.len() != shape[0] {
        return Err(bad(&format!(
            "{} labels for {} images",
            labels.len(),
            shape[0]
        )));
    }
    for l in labels {
        let v = l.as_int().ok_or_else(|| bad("a label is not an integer"))?;
        check_label(kind, path, v)?;
        set.labels.push(v as u32);
    }
    set.pixels.extend_from_slice(&raw);
    Ok(())
}

fn locate(kind: Cifar, dir: &Path) -> Result<(PathBuf, Format), DataError> {
    for format in [Format::Binary, Format::Pickle] {
        let first = &kind.files(Split::Test, format)[0];
        let found = [dir.to_path_buf(), dir.join(kind.subdir(format))]
            .into_iter()
            .find(|d| d.join(first).is_file());
        if let Some(root) = found {
            return Ok((root, format));
        }
    }
    let (bin, py) = (kind.subdir(Format::Binary), kind.subdir(Format::Pickle));
    Err(DataError(format!(
        "no CIFAR files in '{}' (expected the binary batches there or in {bin}/, or the python batches there or in {py}/)",
        dir.display()
    )))
}
