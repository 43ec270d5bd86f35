//! A reader for the subset of Python's pickle format that data files use:
//! the CIFAR python batches (dicts of numpy arrays and lists, pickled by
//! Python 2 or 3) and PyTorch checkpoints (`data.pkl` inside `torch.save`
//! zips). Nothing is executed: class references and calls are kept as
//! symbolic [`Obj::Global`] / [`Obj::Call`] values for the caller to read.
//!
//! Objects have value semantics: a container that is memoized and then
//! mutated through a later memo reference is not supported (data files do
//! not do that).

use std::fmt;

/// A decoded pickle value.
#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Str(String),
    List(Vec<Obj>),
    Tuple(Vec<Obj>),
    Dict(Vec<(Obj, Obj)>),
    /// `module.name`, a class or function reference.
    Global(String, String),
    /// `callable(*args)` (REDUCE or NEWOBJ), not evaluated.
    Call(Box<Obj>, Vec<Obj>),
    /// `obj.__setstate__(state)` (BUILD), not evaluated.
    Build(Box<Obj>, Box<Obj>),
    /// A persistent id (PyTorch storages).
    PersId(Box<Obj>),
}

/// What went wrong, with the byte offset.
#[derive(Debug, Clone, PartialEq)]
pub struct PickleError(pub String);

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Obj {
    /// The value of key `k` (a str or bytes key) of a dict.
    pub fn get(&self, k: &str) -> Option<&Obj> {
        let Obj::Dict(items) = self else { return None };
        items.iter().find_map(|(key, v)| match key {
            Obj::Str(s) => (s == k).then_some(v),
            other => (other.as_bytes().as_deref() == Some(k.as_bytes())).then_some(v),
        })
    }

    /// Bytes, also from Python 3's protocol-2 form `_codecs.encode(str, 'latin1')`.
    pub fn as_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Obj::Bytes(b) => Some(b.clone()),
            Obj::Call(f, args) if **f == global("_codecs", "encode") => match &args[..] {
                [Obj::Str(s), Obj::Str(enc)] if enc == "latin1" || enc == "latin-1" => {
                    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
                }
                _ => None,
            },
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Obj::Int(i) => Some(*i),
            Obj::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// Items of a list or tuple.
    pub fn items(&self) -> Option<&[Obj]> {
        match self {
            Obj::List(v) | Obj::Tuple(v) => Some(v),
            _ => None,
        }
    }
}

/// `Obj::Global(module, name)`.
pub fn global(module: &str, name: &str) -> Obj {
    Obj::Global(module.into(), name.into())
}

/// A numpy array's shape, dtype string (e.g. `u1`, `<i8`) and raw bytes,
/// from its pickled form (`numpy.core.multiarray._reconstruct` + BUILD).
pub fn numpy_array(o: &Obj) -> Option<(Vec<usize>, String, Vec<u8>)> {
    let Obj::Build(_, state) = o else { return None };
    let s = state.items()?;
    let shape = s
        .get(1)?
        .items()?
        .iter()
        .map(|d| d.as_int().map(|v| v as usize))
        .collect::<Option<Vec<_>>>()?;
    let dtype = match s.get(2)? {
        Obj::Build(call, _) => match &**call {
            Obj::Call(_, args) => match args.first()? {
                Obj::Str(d) => d.clone(),
                Obj::Bytes(d) => String::from_utf8_lossy(d).into_owned(),
                _ => return None,
            },
            _ => return None,
        },
        _ => return None,
    };
    let data = match s.get(4)? {
        Obj::List(_) => return None, // object arrays
        other => other.as_bytes()?,
    };
    Some((shape, dtype, data))
}

/// Decodes one pickle.
pub fn parse(data: &[u8]) -> Result<Obj, PickleError> {
    Machine {
        data,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: std::collections::HashMap::new(),
        copied: 0,
    }
    .run()
}

/// Containers nest at most this deep (data files nest a few levels; a
/// hostile file nesting a million would overflow the stack when dropped).
pub const MAX_DEPTH: usize = 500;

/// Values memo references may copy, beyond this multiple of the input's
/// size, before the pickle is refused (a few hundred bytes can otherwise
/// reference themselves into gigabytes).
const COPY_FACTOR: usize = 16;

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Obj>,
    marks: Vec<usize>,
    /// By memo key: a map, since keys are the file's to choose.
    memo: std::collections::HashMap<usize, Obj>,
    /// Nodes copied out of the memo so far.
    copied: usize,
}

/// Whether `o` nests deeper than `budget` containers.
fn too_deep(o: &Obj, budget: usize) -> bool {
    let deeper = |v: &Obj| budget == 0 || too_deep(v, budget - 1);
    match o {
        Obj::List(v) | Obj::Tuple(v) => v.iter().any(deeper),
        Obj::Dict(kv) => kv.iter().any(|(k, v)| deeper(k) || deeper(v)),
        Obj::Call(f, a) => deeper(f) || a.iter().any(deeper),
        Obj::Build(a, b) => deeper(a) || deeper(b),
        Obj::PersId(a) => deeper(a),
        _ => false,
    }
}

/// Nodes of `o` (bytes and strings count their length).
fn size(o: &Obj) -> usize {
    1 + match o {
        Obj::Bytes(b) => b.len(),
        Obj::Str(s) => s.len(),
        Obj::List(v) | Obj::Tuple(v) => v.iter().map(size).sum(),
        Obj::Dict(kv) => kv.iter().map(|(k, v)| size(k) + size(v)).sum(),
        Obj::Call(f, a) => size(f) + a.iter().map(size).sum::<usize>(),
        Obj::Build(a, b) => size(a) + size(b),
        Obj::PersId(a) => size(a),
        _ => 0,
    }
}

impl Machine<'_> {
    fn err(&self, what: &str) -> PickleError {
        PickleError(format!("pickle: {what} at byte {}", self.pos))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], PickleError> {
        if n > self.data.len() - self.pos {
            return Err(self.err("truncated data"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<usize, PickleError> {
        let b = self.take(n)?;
        Ok(b.iter()
            .rev()
            .fold(0usize, |acc, &x| (acc << 8) | x as usize))
    }

    fn line(&mut self) -> Result<String, PickleError> {
        let rest = &self.data[self.pos..];
        let end = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or_else(|| self.err("unterminated line"))?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }

    fn pop(&mut self) -> Result<Obj, PickleError> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> Result<Vec<Obj>, PickleError> {
        let m = self.marks.pop().ok_or_else(|| self.err("no mark"))?;
        if m > self.stack.len() {
            return Err(self.err("bad mark"));
        }
        Ok(self.stack.split_off(m))
    }

    fn top(&mut self) -> Result<&mut Obj, PickleError> {
        let pos = self.pos;
        self.stack.last_mut().ok_or(PickleError(format!(
            "pickle: stack underflow at byte {pos}"
        )))
    }

    fn put(&mut self, i: usize) -> Result<(), PickleError> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| self.err("memo of nothing"))?;
        self.memo.insert(i, v);
        Ok(())
    }

    fn get(&mut self, i: usize) -> Result<(), PickleError> {
        let n = self
            .memo
            .get(&i)
            .map(size)
            .ok_or_else(|| self.err("unknown memo key"))?;
        self.copied += n;
        if self.copied > COPY_FACTOR * self.data.len() + 1_000_000 {
            return Err(self.err(&format!(
                "memo references copy more than {COPY_FACTOR}x the file's size"
            )));
        }
        let v = self.memo[&i].clone();
        self.stack.push(v);
        Ok(())
    }

    /// Refuses items that would nest a container deeper than [`MAX_DEPTH`].
    fn nest<'o>(&self, items: impl IntoIterator<Item = &'o Obj>) -> Result<(), PickleError> {
        for o in items {
            if too_deep(o, MAX_DEPTH - 1) {
                return Err(self.err(&format!("containers nest deeper than {MAX_DEPTH}")));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, kv: Vec<Obj>) -> Result<(), PickleError> {
        self.nest(&kv)?;
        let pos = self.pos;
        match self.top()? {
            Obj::Dict(items) => {
                let mut it = kv.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    items.push((k, v));
                }
                Ok(())
            }
            // OrderedDict() and friends: keep the items as the call's state.
            Obj::Call(..) | Obj::Build(..) => {
                let target = self.pop()?;
                let mut items = Vec::new();
                let mut it = kv.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    items.push((k, v));
                }
                self.stack
                    .push(Obj::Build(Box::new(target), Box::new(Obj::Dict(items))));
                Ok(())
            }
            _ => Err(PickleError(format!(
                "pickle: SETITEM on a non-dict at byte {pos}"
            ))),
        }
    }

    fn append(&mut self, vs: Vec<Obj>) -> Result<(), PickleError> {
        self.nest(&vs)?;
        let pos = self.pos;
        match self.top()? {
            Obj::List(items) => {
                items.extend(vs);
                Ok(())
            }
            _ => Err(PickleError(format!(
                "pickle: APPEND on a non-list at byte {pos}"
            ))),
        }
    }

    fn run(mut self) -> Result<Obj, PickleError> {
        loop {
            let op = self.take(1)?[0];
            match op {
                0x80 => {
                    self.take(1)?;
                }
                0x95 => {
                    self.take(8)?;
                }
                b'.' => return self.pop(),
                b'(' => self.marks.push(self.stack.len()),
                b'}' => self.stack.push(Obj::Dict(Vec::new())),
                b']' => self.stack.push(Obj::List(Vec::new())),
                b')' => self.stack.push(Obj::Tuple(Vec::new())),
                b'N' => self.stack.push(Obj::None),
                0x88 => self.stack.push(Obj::Bool(true)),
                0x89 => self.stack.push(Obj::Bool(false)),
                b'K' => {
                    let v = self.uint(1)? as i64;
                    self.stack.push(Obj::Int(v));
                }
                b'M' => {
                    let v = self.uint(2)? as i64;
                    self.stack.push(Obj::Int(v));
                }
                b'J' => {
                    let v = self.uint(4)? as u32 as i32 as i64;
                    self.stack.push(Obj::Int(v));
                }
                0x8a => {
                    let n = self.uint(1)?;
                    let b = self.take(n)?.to_vec();
                    if n > 8 {
                        return Err(self.err("integer too large"));
                    }
                    let mut v: i64 = 0;
                    for (i, &x) in b.iter().enumerate() {
                        v |= (x as i64) << (8 * i);
                    }
                    if n > 0 && n < 8 && b[n - 1] & 0x80 != 0 {
                        v -= 1i64 << (8 * n);
                    }
                    self.stack.push(Obj::Int(v));
                }
                b'I' => {
                    let l = self.line()?;
                    let v = match l.as_str() {
                        "01" => Obj::Bool(true),
                        "00" => Obj::Bool(false),
                        s => Obj::Int(s.parse().map_err(|_| self.err("bad INT"))?),
                    };
                    self.stack.push(v);
                }
                b'G' => {
                    let b: [u8; 8] = self.take(8)?.try_into().expect("8 bytes");
                    self.stack.push(Obj::Float(f64::from_be_bytes(b)));
                }
                b'X' | 0x8c | 0x8d => {
                    let n = match op {
                        b'X' => self.uint(4)?,
                        0x8c => self.uint(1)?,
                        _ => self.uint(8)?,
                    };
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Obj::Str(s));
                }
                b'U' | b'T' | b'C' | b'B' | 0x8e => {
                    let n = match op {
                        b'U' | b'C' => self.uint(1)?,
                        b'T' | b'B' => self.uint(4)?,
                        _ => self.uint(8)?,
                    };
                    let b = self.take(n)?.to_vec();
                    self.stack.push(Obj::Bytes(b));
                }
                b'c' => {
                    let (m, n) = (self.line()?, self.line()?);
                    self.stack.push(Obj::Global(m, n));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Obj::Str(m), Obj::Str(n)) => self.stack.push(Obj::Global(m, n)),
                        _ => return Err(self.err("STACK_GLOBAL needs two strings")),
                    }
                }
                b'q' => {
                    let i = self.uint(1)?;
                    self.put(i)?;
                }
                b'r' => {
                    let i = self.uint(4)?;
                    self.put(i)?;
                }
                0x94 => {
                    let i = self.memo.len();
                    self.put(i)?;
                }
                b'h' => {
                    let i = self.uint(1)?;
                    self.get(i)?;
                }
                b'j' => {
                    let i = self.uint(4)?;
                    self.get(i)?;
                }
                b't' => {
                    let v = self.pop_mark()?;
                    self.nest(&v)?;
                    self.stack.push(Obj::Tuple(v));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow"));
                    }
                    let v = self.stack.split_off(self.stack.len() - n);
                    self.nest(&v)?;
                    self.stack.push(Obj::Tuple(v));
                }
                b'l' => {
                    let v = self.pop_mark()?;
                    self.nest(&v)?;
                    self.stack.push(Obj::List(v));
                }
                b'd' => {
                    let v = self.pop_mark()?;
                    self.stack.push(Obj::Dict(Vec::new()));
                    self.set_items(v)?;
                }
                b'R' | 0x81 => {
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let args = args.items().map(<[Obj]>::to_vec).unwrap_or_default();
                    self.nest(args.iter().chain([&f]))?;
                    self.stack.push(Obj::Call(Box::new(f), args));
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    self.nest([&obj, &state])?;
                    self.stack.push(Obj::Build(Box::new(obj), Box::new(state)));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let kv = self.pop_mark()?;
                    self.set_items(kv)?;
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let vs = self.pop_mark()?;
                    self.append(vs)?;
                }
                b'Q' => {
                    let id = self.pop()?;
                    self.nest([&id])?;
                    self.stack.push(Obj::PersId(Box::new(id)));
                }
                other => return Err(self.err(&format!("unsupported opcode 0x{other:02x}"))),
            }
        }
    }
}
