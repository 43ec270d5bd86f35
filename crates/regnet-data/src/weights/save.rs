//! `torch.save` files written without Python: a zip archive (entries
//! stored, not compressed) holding `data.pkl`, the pickled object with each
//! tensor as a persistent reference to a storage, and one little-endian
//! file per storage under `data/`. Only the globals PyTorch's weights-only
//! loader allows are used (`collections.OrderedDict`,
//! `torch._utils._rebuild_tensor_v2`, typed storages), so `torch.load`
//! reads them with its safe default.

use super::{contiguous_strides, Array, Data};
use crate::DataError;
use std::io::Write;
use std::path::Path;

type Result<T> = std::result::Result<T, DataError>;

/// A value of the pickled object.
pub enum Value<'a> {
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// An `OrderedDict` of tensors (a state dict).
    StateDict(&'a [Array]),
}

/// Writes `state` as the state dict `torch.save(model.state_dict(), path)` writes.
pub fn write_state_dict(state: &[Array], path: &Path) -> Result<()> {
    write(path, &Value::StateDict(state))
}

/// Writes a dict of `entries` (a pycls checkpoint, say).
pub fn write_dict(entries: &[(&str, Value)], path: &Path) -> Result<()> {
    let mut p = Pickler::default();
    p.out.extend_from_slice(b"\x80\x02}"); // PROTO 2, EMPTY_DICT
    p.out.push(b'(');
    for (k, v) in entries {
        p.string(k);
        p.value(v);
    }
    p.out.extend_from_slice(b"u."); // SETITEMS, STOP
    archive(path, &p)
}

fn write(path: &Path, v: &Value) -> Result<()> {
    let mut p = Pickler::default();
    p.out.extend_from_slice(b"\x80\x02");
    p.value(v);
    p.out.push(b'.');
    archive(path, &p)
}

/// The pickle and the storages it references, in order.
#[derive(Default)]
struct Pickler<'a> {
    out: Vec<u8>,
    storages: Vec<&'a Array>,
}

impl<'a> Pickler<'a> {
    fn value(&mut self, v: &Value<'a>) {
        match v {
            Value::Int(i) => self.int(*i),
            Value::Float(f) => {
                self.out.push(b'G');
                self.out.extend_from_slice(&f.to_be_bytes());
            }
            Value::Str(s) => self.string(s),
            Value::StateDict(state) => self.state_dict(state),
        }
    }

    fn global(&mut self, module: &str, name: &str) {
        self.out.push(b'c');
        for part in [module, name] {
            self.out.extend_from_slice(part.as_bytes());
            self.out.push(b'\n');
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push(b'X');
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
    }

    fn int(&mut self, i: i64) {
        if let Ok(small) = u8::try_from(i) {
            self.out.extend_from_slice(&[b'K', small]);
        } else if let Ok(word) = i32::try_from(i) {
            self.out.push(b'J');
            self.out.extend_from_slice(&word.to_le_bytes());
        } else {
            self.out.extend_from_slice(&[0x8a, 8]); // LONG1, 8 bytes two's complement
            self.out.extend_from_slice(&i.to_le_bytes());
        }
    }

    fn tuple(&mut self, items: &[i64]) {
        self.out.push(b'(');
        for &i in items {
            self.int(i);
        }
        self.out.push(b't');
    }

    /// `collections.OrderedDict()`, then its items.
    fn state_dict(&mut self, state: &'a [Array]) {
        self.global("collections", "OrderedDict");
        self.out.extend_from_slice(b")R(");
        for a in state {
            self.string(&a.name);
            self.tensor(a);
        }
        self.out.push(b'u');
    }

    /// `_rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())`
    /// with the storage as persistent id `('storage', type, key, 'cpu', numel)`.
    fn tensor(&mut self, a: &'a Array) {
        let key = self.storages.len().to_string();
        self.storages.push(a);
        self.global("torch._utils", "_rebuild_tensor_v2");
        self.out.extend_from_slice(b"((");
        self.string("storage");
        let storage = match a.data {
            Data::F32(_) => "FloatStorage",
            Data::I64(_) => "LongStorage",
        };
        self.global("torch", storage);
        self.string(&key);
        self.string("cpu");
        self.int(a.numel() as i64);
        self.out.extend_from_slice(b"tQ"); // TUPLE, BINPERSID
        self.int(0);
        let shape: Vec<i64> = a.shape.iter().map(|&d| d as i64).collect();
        self.tuple(&shape);
        self.tuple(&contiguous_strides(&shape));
        self.out.push(0x89); // NEWFALSE: requires_grad
        self.global("collections", "OrderedDict");
        self.out.extend_from_slice(b")RtR"); // backward hooks; TUPLE, REDUCE
    }
}

/// The zip archive `torch.load` reads: `archive/data.pkl`, `archive/data/N`,
/// `archive/byteorder`, `archive/version`.
fn archive(path: &Path, p: &Pickler) -> Result<()> {
    let fail =
        |e: &dyn std::fmt::Display| DataError(format!("cannot write '{}': {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut entry = |name: &str, bytes: &[u8]| -> Result<()> {
        zip.start_file(format!("archive/{name}"), options)
            .map_err(|e| fail(&e))?;
        zip.write_all(bytes).map_err(|e| fail(&e))
    };
    entry("data.pkl", &p.out)?;
    entry("byteorder", b"little")?;
    for (i, a) in p.storages.iter().enumerate() {
        entry(&format!("data/{i}"), &a.le_bytes())?;
    }
    entry("version", b"3\n")?;
    let mut inner = zip.finish().map_err(|e| fail(&e))?;
    inner.flush().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickle_integers_and_strides_by_hand() {
        let mut p = Pickler::default();
        p.int(5);
        p.int(300);
        p.int(-1);
        p.int(1 << 40);
        assert_eq!(
            p.out,
            [
                vec![b'K', 5],
                vec![b'J', 44, 1, 0, 0],
                vec![b'J', 255, 255, 255, 255],
                vec![0x8a, 8, 0, 0, 0, 0, 0, 1, 0, 0],
            ]
            .concat()
        );
        assert_eq!(contiguous_strides(&[64, 3, 7, 7]), [147, 49, 7, 1]);
        assert_eq!(contiguous_strides(&[]), Vec::<i64>::new());
    }
}
