//! Typed, strict access to one section of a pycls-style YAML document
//! (e.g. `REGNET`, or `SETUP.CONSTRAINTS.CX` of a sweep config): unknown keys
//! and wrongly typed values are errors that name the full key.

use crate::{ConfigError, Result};
use serde_yaml::{Mapping, Value};

/// One section of a config document, with the keys pycls defines for it.
pub struct Section<'a> {
    name: String,
    map: Option<&'a Mapping>,
}

impl<'a> Section<'a> {
    /// The section `name` of `doc` (absent is fine: every key takes its
    /// default); any key outside `allowed` is an error.
    pub fn new(doc: &'a Mapping, name: &str, allowed: &[&str]) -> Result<Self> {
        Section::at(doc.get(name), name.to_string(), allowed)
    }

    /// The whole document: its keys are top-level keys.
    pub fn root(doc: &'a Mapping, allowed: &[&str]) -> Result<Self> {
        Section::check_keys(doc, "", allowed)?;
        Ok(Section {
            name: String::new(),
            map: Some(doc),
        })
    }

    /// The sub-section `key` of this section.
    pub fn child(&self, key: &str, allowed: &[&str]) -> Result<Section<'a>> {
        Section::at(self.get(key), self.full(key), allowed)
    }

    fn at(value: Option<&'a Value>, name: String, allowed: &[&str]) -> Result<Self> {
        let map = match value {
            None | Some(Value::Null) => None,
            Some(Value::Mapping(m)) => Some(m),
            Some(other) => {
                return Err(ConfigError(format!(
                    "{name} must be a mapping of keys to values (got {})",
                    describe(other)
                )))
            }
        };
        if let Some(m) = map {
            Section::check_keys(m, &name, allowed)?;
        }
        Ok(Section { name, map })
    }

    fn check_keys(map: &Mapping, name: &str, allowed: &[&str]) -> Result<()> {
        for key in map.keys() {
            let k = key.as_str().unwrap_or("");
            if !allowed.contains(&k) {
                let key = display_key(key);
                let allowed = allowed.join(", ");
                return Err(ConfigError(if name.is_empty() {
                    format!("unknown top-level key '{key}' (allowed: {allowed})")
                } else {
                    format!("unknown key {name}.{key} (allowed in {name}: {allowed})")
                }));
            }
        }
        Ok(())
    }

    /// The section's full name, e.g. `SETUP.CONSTRAINTS.CX`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The keys present, in file order.
    pub fn keys(&self) -> Vec<&'a Value> {
        self.map.map(|m| m.keys().collect()).unwrap_or_default()
    }

    /// The raw value of `key`, if set.
    pub fn value(&self, key: &str) -> Option<&'a Value> {
        self.get(key)
    }

    /// A `[LOW, HIGH]` pair of numbers.
    pub fn pair(&self, key: &str, default: (f64, f64)) -> Result<(f64, f64)> {
        let full = self.full(key);
        match self.get(key) {
            None => Ok(default),
            Some(Value::Sequence(v)) if v.len() == 2 => {
                Ok((as_f64(&v[0], &full)?, as_f64(&v[1], &full)?))
            }
            Some(v) => Err(type_error(&full, "a [LOW, HIGH] pair of numbers", v)),
        }
    }

    /// The section `name` of `doc`, any keys allowed (sections this crate
    /// only reads a value or two from, such as `TRAIN`).
    pub fn lenient(doc: &'a Mapping, name: &str) -> Result<Self> {
        let keys: Vec<&str> = match doc.get(name) {
            Some(Value::Mapping(m)) => m.keys().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        Section::new(doc, name, &keys)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// `SECTION.KEY`, for messages.
    pub fn full(&self, key: &str) -> String {
        if self.name.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.name)
        }
    }

    /// A non-negative integer.
    pub fn u64(&self, key: &str, default: u64) -> Result<u64> {
        self.get(key)
            .map_or(Ok(default), |v| as_u64(v, &self.full(key)))
    }

    /// A number.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64> {
        self.get(key)
            .map_or(Ok(default), |v| as_f64(v, &self.full(key)))
    }

    /// A boolean (`True`/`False` as YACS writes them, or `true`/`false`).
    pub fn bool(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(type_error(&self.full(key), "True or False", v)),
        }
    }

    /// A string.
    pub fn string(&self, key: &str, default: &str) -> Result<String> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(type_error(&self.full(key), "a string", v)),
        }
    }

    /// A list of non-negative integers (empty when absent, as pycls's `[]`).
    pub fn u64_list(&self, key: &str) -> Result<Vec<u64>> {
        self.list(key, "a list of non-negative integers", as_u64)
    }

    /// A list of numbers (empty when absent).
    pub fn f64_list(&self, key: &str) -> Result<Vec<f64>> {
        self.list(key, "a list of numbers", as_f64)
    }

    fn list<T>(
        &self,
        key: &str,
        what: &str,
        item: fn(&Value, &str) -> Result<T>,
    ) -> Result<Vec<T>> {
        let full = self.full(key);
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| item(v, &format!("{full}[{i}]")))
                .collect(),
            Some(v) => Err(type_error(&full, what, v)),
        }
    }
}

/// `v` as a non-negative integer, or an error naming `key`.
pub fn as_u64(v: &Value, key: &str) -> Result<u64> {
    let n = as_f64(v, key).map_err(|_| type_error(key, "a non-negative integer", v))?;
    if n < 0.0 || n.fract() != 0.0 || n > u64::MAX as f64 {
        return Err(type_error(key, "a non-negative integer", v));
    }
    Ok(n as u64)
}

/// `v` as a number (YACS-style strings such as "5e-5" included).
pub fn as_f64(v: &Value, key: &str) -> Result<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        // YACS evaluates strings such as "5e-5" (PyYAML reads them as strings).
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|x| x.is_finite())
        .ok_or_else(|| type_error(key, "a number", v))
}

/// "`key` must be `expected` (got ...)".
pub fn type_error(key: &str, expected: &str, got: &Value) -> ConfigError {
    ConfigError(format!("{key} must be {expected} (got {})", describe(got)))
}

/// A short rendering of a YAML value for messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", shown(s)),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => describe(&t.value),
    }
}

/// Text from a file as a message shows it: control characters escaped
/// (`\n`, `\u{1b}`) so the message stays one line and cannot drive a
/// terminal, and cut after 60 characters.
pub fn shown(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(60)
        .flat_map(|c| {
            let e: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            e
        })
        .collect();
    if s.chars().nth(60).is_some() {
        out.push('…');
    }
    out
}

/// A mapping key as text for messages.
pub fn display_key(k: &Value) -> String {
    match k {
        Value::String(s) => shown(s),
        other => describe(other),
    }
}
