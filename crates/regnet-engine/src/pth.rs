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
    let mut buf = Vec::with_capacity(f.size() as usize);
    f.read_to_end(&mut buf)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(buf)
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
    match &**f {
        Obj::Global(m, n) if m == "torch._utils" && n == "_rebuild_tensor_v2" => {}
        other => return Err(format!("not a tensor ({other:?})")),
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
    let flat = Tensor::f_from_data_size(&bytes, &[n], kind).map_err(|e| e.to_string())?;
    flat.f_as_strided(&size, &stride, Some(offset))
        .map(|t| t.contiguous())
        .map_err(|e| {
            format!("size {size:?} stride {stride:?} offset {offset} outside its storage: {e}")
        })
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
