//! Weights files other people save, read without a deep-learning framework:
//! safetensors, and PyTorch `torch.save` archives (`.pth`, `.pt`, pycls
//! `.pyth`): a zip holding `data.pkl` (the pickled object, tensors as
//! persistent references to storages) and one raw little-endian file per
//! storage under `data/`. The pickle is decoded symbolically
//! ([`crate::pickle`]) and each `torch._utils._rebuild_tensor_v2` call
//! becomes a [`SavedTensor`]: its storage's bytes and a view checked
//! against them, so the engine materializes only what the file holds.
//! Reading bytes, not files, lets regnet-fuzz check every bound. Writing
//! `torch.save` archives ([`write_state_dict`], [`write_dict`]) lives here
//! too, so the two sides of the format are read and kept together.

mod array;
mod save;

pub use array::{Array, Data, StateDict};
pub use save::{write_dict, write_state_dict, Value};

use crate::pickle::{self, Obj};
use std::io::{Cursor, Read, Seek};

/// Element types of saved tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F64,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }
}

/// One saved tensor: `size`/`stride`/`offset` (in elements) over
/// `storage`, already checked to stay inside it ([`check_view`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SavedTensor {
    pub dtype: Dtype,
    pub storage: Vec<u8>,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
    pub offset: i64,
}

impl SavedTensor {
    /// Elements in its storage.
    pub fn storage_len(&self) -> i64 {
        (self.storage.len() / self.dtype.size()) as i64
    }
}

/// The named tensors of a weights file's bytes: safetensors, or a
/// `torch.save` zip's state dict, told apart by content; a one-line error
/// saying what the bytes are otherwise.
pub fn read(bytes: &[u8]) -> Result<Vec<(String, SavedTensor)>, String> {
    // Legacy torch.save opens with its magic number pickled at protocol 2:
    // PROTO 2, LONG1 of 10 bytes.
    const LEGACY: [u8; 4] = [0x80, 0x02, 0x8a, 0x0a];
    if bytes.starts_with(b"PK\x03\x04") {
        return read_torch_save(Cursor::new(bytes), bytes.len() as u64);
    }
    if bytes.starts_with(&LEGACY) {
        return Err("a legacy (pre-zip) torch.save file; re-save it with PyTorch 1.6 or later: torch.save(torch.load(f), f)".into());
    }
    // safetensors: an 8-byte header length, then its JSON header.
    if bytes.get(8) != Some(&b'{') {
        return Err("neither a safetensors file nor a torch.save zip (.pth, .pt, .pyth)".into());
    }
    read_safetensors(bytes)
}

fn read_safetensors(bytes: &[u8]) -> Result<Vec<(String, SavedTensor)>, String> {
    use safetensors::Dtype as S;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a valid safetensors file: {e:?}"))?;
    let mut out: Vec<(String, SavedTensor)> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let dtype = match view.dtype() {
                S::F32 => Dtype::F32,
                S::F64 => Dtype::F64,
                S::F16 => Dtype::F16,
                S::BF16 => Dtype::BF16,
                S::I64 => Dtype::I64,
                S::I32 => Dtype::I32,
                S::I16 => Dtype::I16,
                S::I8 => Dtype::I8,
                S::U8 => Dtype::U8,
                S::BOOL => Dtype::Bool,
                other => return Err(format!("{}: unsupported dtype {other:?}", shown(&name))),
            };
            let size: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
            let stride = contiguous_strides(&size);
            let t = SavedTensor {
                dtype,
                storage: view.data().to_vec(),
                size,
                stride,
                offset: 0,
            };
            check_view(&t.size, &t.stride, 0, t.storage_len())
                .map_err(|why| format!("{}: {why}", shown(&name)))?;
            Ok((name, t))
        })
        .collect::<Result<_, String>>()?;
    // The header is a JSON object: its order is not the file's; sort for
    // a stable result.
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Row-major strides of `size`.
/// Row-major strides of a tensor of `size` (what torch.save and safetensors
/// tensors have when written contiguous).
fn contiguous_strides(size: &[i64]) -> Vec<i64> {
    let mut stride = vec![1i64; size.len()];
    for i in (0..size.len().saturating_sub(1)).rev() {
        stride[i] = stride[i + 1].saturating_mul(size[i + 1].max(1));
    }
    stride
}

/// The state dict in a `torch.save` archive: the saved dict itself, or its
/// `model_state` (pycls checkpoints), `state_dict` or `model` entry.
fn read_torch_save<R: Read + Seek>(
    file: R,
    len: u64,
) -> Result<Vec<(String, SavedTensor)>, String> {
    let mut zip =
        zip::ZipArchive::new(file).map_err(|e| format!("not a torch.save zip archive ({e})"))?;
    let pkl = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).map(str::to_string))
        .find(|n| n.ends_with("data.pkl"))
        .ok_or("no data.pkl in the archive")?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    let obj = pickle::parse(&entry(&mut zip, &pkl, len)?).map_err(|e| e.0)?;
    let dict = ["model_state", "state_dict", "model"]
        .iter()
        .find_map(|k| obj.get(k).and_then(dict_items))
        .or_else(|| dict_items(&obj))
        .ok_or("the saved object is not a state dict (nor holds one in model_state)")?;
    // A dict of other things (a checkpoint without its model_state) is not
    // a state dict: say what it holds instead of failing on its first entry.
    if dict.iter().any(|(_, v)| !is_tensor(v)) {
        let keys: Vec<String> = dict.iter().take(8).map(|(k, _)| key_text(k)).collect();
        return Err(format!(
            "holds no state dict: its entries are {} (a state dict of tensors, or one in model_state, state_dict or model)",
            keys.join(", ")
        ));
    }
    dict.iter()
        .map(|(k, v)| {
            let Obj::Str(name) = k else {
                return Err(format!("a state-dict key is not a string: {}", key_text(k)));
            };
            let t =
                tensor(v, &mut zip, &prefix, len).map_err(|e| format!("{}: {e}", shown(name)))?;
            Ok((name.clone(), t))
        })
        .collect()
}

/// A key as an error shows it: quoted, escaped, cut to 40 characters.
fn key_text(k: &Obj) -> String {
    match k {
        Obj::Str(s) => shown(s),
        other => format!("{other:?}").chars().take(40).collect(),
    }
}

/// A name from the file as an error shows it: Debug-quoted (escapes
/// control characters) and cut to 40 characters.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    format!("{cut:?}")
}

/// The items of a dict or of an `OrderedDict(...)` with its items set.
fn dict_items(o: &Obj) -> Option<&[(Obj, Obj)]> {
    match o {
        Obj::Dict(items) => Some(items),
        // OrderedDict() then SETITEMS; a later BUILD adds attributes (_metadata).
        Obj::Build(inner, state) => match (&**inner, &**state) {
            (Obj::Call(..), Obj::Dict(items)) => Some(items),
            (inner, _) => dict_items(inner),
        },
        _ => None,
    }
}

/// An entry's bytes. torch.save stores its entries uncompressed (and this
/// zip reader inflates nothing), so an entry holds at most the archive's
/// `archive_len` bytes: its declared sizes, which a file can set to
/// anything, bound nothing.
fn entry<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    archive_len: u64,
) -> Result<Vec<u8>, String> {
    let f = zip
        .by_name(name)
        .map_err(|e| format!("{}: {e}", shown(name)))?;
    let mut buf = Vec::with_capacity(f.size().min(archive_len) as usize);
    f.take(archive_len + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("{}: {e}", shown(name)))?;
    if buf.len() as u64 > archive_len {
        return Err(format!(
            "{}: holds more bytes than the {archive_len}-byte archive",
            shown(name)
        ));
    }
    Ok(buf)
}

/// Whether a pickled value is a saved tensor.
fn is_tensor(v: &Obj) -> bool {
    matches!(v, Obj::Call(f, _) if matches!(&**f, Obj::Global(m, n) if m == "torch._utils" && n == "_rebuild_tensor_v2"))
}

/// Reads `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
fn tensor<R: Read + Seek>(
    v: &Obj,
    zip: &mut zip::ZipArchive<R>,
    prefix: &str,
    archive_len: u64,
) -> Result<SavedTensor, String> {
    let Obj::Call(_, args) = v else {
        return Err("not a tensor".into());
    };
    let ints =
        |o: Option<&Obj>| -> Option<Vec<i64>> { o?.items()?.iter().map(Obj::as_int).collect() };
    let (Some(Obj::PersId(pid)), Some(offset), Some(size), Some(stride)) = (
        args.first(),
        args.get(1).and_then(Obj::as_int),
        ints(args.get(2)),
        ints(args.get(3)),
    ) else {
        return Err("unexpected tensor arguments".into());
    };
    let pid = pid.items().ok_or("bad storage reference")?;
    let (Some(Obj::Global(_, storage)), Some(Obj::Str(key))) = (pid.get(1), pid.get(2)) else {
        return Err("bad storage reference".into());
    };
    let dtype = storage_dtype(storage)?;
    let t = SavedTensor {
        dtype,
        storage: entry(zip, &format!("{prefix}data/{key}"), archive_len)?,
        size,
        stride,
        offset,
    };
    check_view(&t.size, &t.stride, offset, t.storage_len()).map_err(|why| {
        format!(
            "size {:?} stride {:?} offset {offset}: {why}",
            t.size, t.stride
        )
    })?;
    Ok(t)
}

/// Elements a view may have beyond its storage's (a stride-0 expansion),
/// at most: a few bytes must not expand into gigabytes.
pub const MAX_EXPANDED: i64 = 1 << 24;

/// Checks a view of `storage` elements before it is materialized: sizes,
/// strides and offset non-negative, the last element inside the storage,
/// and no more elements than the storage holds (or [`MAX_EXPANDED`]).
pub fn check_view(size: &[i64], stride: &[i64], offset: i64, storage: i64) -> Result<(), String> {
    if size.len() != stride.len() {
        return Err("sizes and strides differ in length".into());
    }
    if size.iter().chain(stride).chain([&offset]).any(|&v| v < 0) {
        return Err("negative size, stride or offset".into());
    }
    let numel = size
        .iter()
        .try_fold(1i64, |n, &d| n.checked_mul(d))
        .ok_or("its element count overflows")?;
    if numel == 0 {
        return Ok(());
    }
    let last = size
        .iter()
        .zip(stride)
        .try_fold(offset, |a, (&d, &s)| a.checked_add((d - 1).checked_mul(s)?))
        .ok_or("its extent overflows")?;
    if last >= storage {
        return Err(format!(
            "reaches element {last} of a {storage}-element storage"
        ));
    }
    if numel > storage.max(MAX_EXPANDED) {
        return Err(format!(
            "expands {storage} stored elements into {numel} (at most {MAX_EXPANDED})"
        ));
    }
    Ok(())
}

fn storage_dtype(name: &str) -> Result<Dtype, String> {
    Ok(match name {
        "FloatStorage" => Dtype::F32,
        "DoubleStorage" => Dtype::F64,
        "HalfStorage" => Dtype::F16,
        "BFloat16Storage" => Dtype::BF16,
        "LongStorage" => Dtype::I64,
        "IntStorage" => Dtype::I32,
        "ShortStorage" => Dtype::I16,
        "CharStorage" => Dtype::I8,
        "ByteStorage" => Dtype::U8,
        "BoolStorage" => Dtype::Bool,
        other => return Err(format!("unsupported storage type {}", shown(other))),
    })
}

#[cfg(test)]
mod tests {
    use super::{check_view, contiguous_strides};

    #[test]
    fn views_are_checked_against_their_storage() {
        // A 2x3 view of 6 elements, its transpose, and an offset slice.
        assert!(check_view(&[2, 3], &[3, 1], 0, 6).is_ok());
        assert!(check_view(&[3, 2], &[1, 3], 0, 6).is_ok());
        assert!(check_view(&[2], &[1], 4, 6).is_ok());
        assert!(check_view(&[0, 5], &[5, 1], 0, 0).is_ok());
        // Past the end, negative, mismatched, overflowing.
        assert!(check_view(&[2, 3], &[3, 1], 1, 6)
            .unwrap_err()
            .contains("element 6"));
        assert!(check_view(&[-1], &[1], 0, 6)
            .unwrap_err()
            .contains("negative"));
        assert!(check_view(&[2], &[1, 1], 0, 6)
            .unwrap_err()
            .contains("length"));
        let huge = check_view(&[i64::MAX, 4], &[0, 0], 0, 1).unwrap_err();
        assert!(huge.contains("overflows"), "{huge}");
        // Stride 0 expands one stored float: a little is allowed, 2^30 is not.
        assert!(check_view(&[1000], &[0], 0, 1).is_ok());
        let e = check_view(&[1 << 30], &[0], 0, 1).unwrap_err();
        assert!(
            e.contains("expands 1 stored elements into 1073741824"),
            "{e}"
        );
    }

    #[test]
    fn contiguous_strides_are_row_major() {
        assert_eq!(contiguous_strides(&[2, 3, 4]), [12, 4, 1]);
        assert_eq!(contiguous_strides(&[5]), [1]);
        assert!(contiguous_strides(&[]).is_empty());
        // A zero dimension keeps the others' strides (as PyTorch does).
        assert_eq!(contiguous_strides(&[3, 0, 2]), [2, 2, 1]);
    }
}
