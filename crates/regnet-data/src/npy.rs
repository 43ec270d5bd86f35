//! `.npy` float32 arrays (NumPy's format, version 1–3), read with every
//! declared size checked against the bytes present: a header that claims
//! more data than the file holds is refused before anything is allocated.

use crate::DataError;
use std::io::Read;
use std::path::Path;

/// Dimensions an array may have at most (NumPy's own limit is 64).
const MAX_DIMS: usize = 32;

/// A float32 array: its shape and its values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Reads a little-endian float32 `.npy` file (`descr` `<f4`, C order).
pub fn read_f32(path: &Path) -> Result<Array, DataError> {
    let fail = |m: String| DataError(format!("{}: {m}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".into()));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(1 << 30) as usize);
    std::fs::File::open(path)
        .and_then(|f| f.take(meta.len()).read_to_end(&mut bytes))
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    parse(&bytes).map_err(fail)
}

/// Parses the bytes of a float32 `.npy` file.
pub fn parse(bytes: &[u8]) -> Result<Array, String> {
    let magic = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != magic {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!(".npy version {v} is not supported (1, 2 or 3)")),
    };
    let end = start
        .checked_add(len)
        .filter(|&e| e <= bytes.len())
        .ok_or("the header is longer than the file")?;
    let header = std::str::from_utf8(&bytes[start..end]).map_err(|_| "the header is not text")?;
    let descr = field(header, "descr")
        .and_then(quoted)
        .ok_or("the header has no 'descr' string")?;
    if !matches!(descr, "<f4" | "=f4") {
        // Debug-quoted and cut short: the header is the file author's text.
        let shown: String = descr.chars().take(24).collect();
        return Err(format!(
            "holds {shown:?}, not little-endian float32 (<f4): convert it with x.astype(np.float32)"
        ));
    }
    if field(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("is in Fortran order: save it with np.ascontiguousarray(x)".into());
    }
    let shape = shape(header)?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(4).map(|b| (n, b)));
    let data = &bytes[end..];
    match count {
        Some((n, b)) if b == data.len() => Ok(Array {
            shape,
            data: data
                .chunks_exact(4)
                .take(n)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        }),
        _ => Err(format!(
            "the header's shape {shape:?} does not match the {} data bytes that follow it",
            data.len()
        )),
    }
}

/// The text after `'key':` in a header dict, up to the end of the dict.
fn field<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    ["'", "\""].iter().find_map(|q| {
        let k = format!("{q}{key}{q}");
        let at = header.find(&k)? + k.len();
        let rest = header[at..].trim_start().strip_prefix(':')?;
        Some(rest.trim_start())
    })
}

/// The quoted string a value starts with.
fn quoted(v: &str) -> Option<&str> {
    let q = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &v[1..];
    Some(&rest[..rest.find(q)?])
}

/// The `shape` tuple of a header.
fn shape(header: &str) -> Result<Vec<usize>, String> {
    let bad = || "the header's 'shape' is not a tuple of whole numbers".to_string();
    let v = field(header, "shape").ok_or("the header has no 'shape'")?;
    let inner = v.strip_prefix('(').ok_or_else(bad)?;
    let inner = &inner[..inner.find(')').ok_or_else(bad)?];
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if dims.len() > MAX_DIMS {
        return Err(format!("{} dimensions: at most {MAX_DIMS}", dims.len()));
    }
    Ok(dims)
}
