//! PyTorch `torch.save` files (`.pth`, `.pt`, pycls `.pyth`): a zip archive
//! holding `data.pkl` (the pickled object, tensors as persistent references
//! to storages) and one raw little-endian file per storage under `data/`.
//! Read without Python: the pickle is decoded symbolically
//! ([`regnet_data::pickle`]) and each `torch._utils._rebuild_tensor_v2` call
//! is rebuilt here from its storage, offset, size and stride.

use crate::import::ImportError;
use regnet_data::pickle::{self, Obj};
use std::io::Read;
use std::path::Path;
use tch::{Kind, Tensor};

/// The state dict in a `torch.save` file: the saved dict itself, or its
/// `model_state` (pycls checkpoints), `state_dict` or `model` entry.
pub fn read_state_dict(path: &Path) -> Result<Vec<(String, Tensor)>, ImportError> {
    let fail =
        |why: String| ImportError(format!("cannot read weights '{}': {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| fail(format!("not a torch.save zip archive ({e})")))?;
    let pkl = (0..zip.len())
        .filter_map(|i| zip.name_for_index(i).map(str::to_string))
        .find(|n| n.ends_with("data.pkl"))
        .ok_or_else(|| fail("no data.pkl in the archive".into()))?;
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    let obj = pickle::parse(&entry(&mut zip, &pkl).map_err(fail)?).map_err(|e| fail(e.0))?;
    let dict = ["model_state", "state_dict", "model"]
        .iter()
        .find_map(|k| obj.get(k).and_then(dict_items))
        .or_else(|| dict_items(&obj))
        .ok_or_else(|| {
            fail("the saved object is not a state dict (nor holds one in model_state)".into())
        })?;
    // A dict of other things (a checkpoint without its model_state) is not
    // a state dict: say what it holds instead of failing on its first entry.
    if dict.iter().any(|(_, v)| !is_tensor(v)) {
        let keys: Vec<String> = dict
            .iter()
            .take(8)
            .map(|(k, _)| match k {
                Obj::Str(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        return Err(fail(format!(
            "holds no state dict: its entries are {} (a state dict of tensors, or one in model_state, state_dict or model)",
            keys.join(", ")
        )));
    }
    dict.iter()
        .map(|(k, v)| {
            let name = match k {
                Obj::Str(s) => s.clone(),
                other => return Err(fail(format!("a state-dict key is not a string: {other:?}"))),
            };
            let t = tensor(v, &mut zip, &prefix).map_err(|e| fail(format!("{name}: {e}")))?;
            Ok((name, t))
        })
        .collect()
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

fn entry<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Vec<u8>, String> {
    let mut f = zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    // The declared size reserves at most what the entry's own bytes could
    // hold uncompressed; the data that arrives decides the rest.
    let reserve = f.size().min(f.compressed_size().saturating_mul(4));
    let mut buf = Vec::with_capacity(reserve.min(1 << 30) as usize);
    f.read_to_end(&mut buf)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(buf)
}

/// Whether a pickled value is a saved tensor.
fn is_tensor(v: &Obj) -> bool {
    matches!(v, Obj::Call(f, _) if matches!(&**f, Obj::Global(m, n) if m == "torch._utils" && n == "_rebuild_tensor_v2"))
}

/// Rebuilds `_rebuild_tensor_v2(storage, offset, size, stride, ...)`.
fn tensor<R: Read + std::io::Seek>(
    v: &Obj,
    zip: &mut zip::ZipArchive<R>,
    prefix: &str,
) -> Result<Tensor, String> {
    let Obj::Call(f, args) = v else {
        return Err("not a tensor".into());
    };
    if !is_tensor(v) {
        return Err(format!("not a tensor ({f:?})"));
    }
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
    let kind = storage_kind(storage)?;
    let bytes = entry(zip, &format!("{prefix}data/{key}"))?;
    let n = (bytes.len() / kind.elt_size_in_bytes()) as i64;
    let layout = format!("size {size:?} stride {stride:?} offset {offset}");
    check_view(&size, &stride, offset, n).map_err(|why| format!("{layout}: {why}"))?;
    let flat = Tensor::f_from_data_size(&bytes, &[n], kind)
        .map_err(|e| crate::error::first_line(&e.to_string()))?;
    flat.f_as_strided(&size, &stride, Some(offset))
        .and_then(|t| t.f_contiguous())
        .map_err(|e| {
            format!(
                "{layout} outside its storage: {}",
                crate::error::first_line(&e.to_string())
            )
        })
}

/// Elements a view may have beyond its storage's (a stride-0 expansion),
/// at most: a few bytes must not expand into gigabytes.
const MAX_EXPANDED: i64 = 1 << 24;

/// Checks a view of `storage` elements before it is materialized: sizes,
/// strides and offset non-negative, the last element inside the storage,
/// and no more elements than the storage holds (or [`MAX_EXPANDED`]).
fn check_view(size: &[i64], stride: &[i64], offset: i64, storage: i64) -> Result<(), String> {
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

fn storage_kind(name: &str) -> Result<Kind, String> {
    Ok(match name {
        "FloatStorage" => Kind::Float,
        "DoubleStorage" => Kind::Double,
        "HalfStorage" => Kind::Half,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        other => return Err(format!("unsupported storage type {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::check_view;

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
}
