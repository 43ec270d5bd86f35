//! Where two configs differ: what `--resume` reports when its arguments
//! would train another recipe than the run it continues.

use crate::section::display_key;
use serde_yaml::Value;

/// One key whose value differs between two configs.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Dotted key, `OPTIM.BASE_LR` (`TRAIN` when a whole section is missing).
    pub key: String,
    /// The value in the first config and in the second, in YAML's flow
    /// form (`(absent)` when a side does not have the key).
    pub was: String,
    pub now: String,
}

/// The first key (in the first config's order, then the second's) whose
/// value differs; numbers compare by value, so `1` equals `1.0`.
pub fn first_difference(was: &Value, now: &Value) -> Option<Difference> {
    differ(was, now, "")
}

fn differ(a: &Value, b: &Value, path: &str) -> Option<Difference> {
    match (a, b) {
        (Value::Mapping(ma), Value::Mapping(mb)) => {
            let keys = ma.keys().chain(mb.keys().filter(|k| !ma.contains_key(*k)));
            keys.into_iter().find_map(|k| {
                let key = match path {
                    "" => display_key(k),
                    _ => format!("{path}.{}", display_key(k)),
                };
                match (ma.get(k), mb.get(k)) {
                    (Some(x), Some(y)) => differ(x, y, &key),
                    (x, y) => Some(Difference {
                        key,
                        was: show(x),
                        now: show(y),
                    }),
                }
            })
        }
        _ if same(a, b) => None,
        _ => Some(Difference {
            key: path.to_string(),
            was: show(Some(a)),
            now: show(Some(b)),
        }),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Sequence(x), Value::Sequence(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        _ => a == b,
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => serde_yaml::to_string(v)
            .map(|s| s.trim_end().replace('\n', " "))
            .unwrap_or_else(|_| format!("{v:?}")),
    }
}
