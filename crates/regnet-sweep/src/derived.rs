//! The derived-space file: a parent space (built-in, sweep config, or
//! another derived file) and the restrictions that refine it, the unit the
//! design loop writes and every command taking a space reads.
//!
//! ```yaml
//! NAME: anynetx-a+shared-b
//! DESC: AnyNetX_A with one shared bottleneck ratio
//! DERIVED_FROM: anynetx-a          # a path is relative to this file
//! CONSTRAINTS: [shared_b, "anynet_d<=20"]
//! ```

use crate::config::{open_space, SweepConfig};
use crate::{Result, SweepError};
use regnet_space::{DerivedSpace, Restriction, Space};
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// The key that marks a derived-space file.
pub const DERIVED_FROM: &str = "DERIVED_FROM";

/// Whether a YAML document is a derived-space file.
pub fn is_derived(doc: &Mapping) -> bool {
    doc.contains_key(DERIVED_FROM)
}

/// Reads a derived-space file at `path` (its text `text`): the derived
/// space, and the parent's sweep config (with the derived space in place of
/// its own) when the parent is one.
pub fn read(path: &Path, text: &str) -> Result<(Space, Option<SweepConfig>)> {
    let fail = |m: String| SweepError::new(format!("{}: {m}", path.display()));
    let doc: Mapping =
        regnet_config::yaml::from_str(text).map_err(|e| fail(format!("malformed YAML: {e}")))?;
    for k in doc.keys() {
        let k = k.as_str().unwrap_or("?");
        if !["NAME", "DESC", DERIVED_FROM, "CONSTRAINTS"].contains(&k) {
            return Err(fail(format!(
                "unknown key {k} (a derived space has NAME, DESC, DERIVED_FROM, CONSTRAINTS)"
            )));
        }
    }
    let string = |k: &str| -> Result<Option<String>> {
        match doc.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(fail(format!("{k} must be a string"))),
        }
    };
    let parent = string(DERIVED_FROM)?.ok_or_else(|| fail(format!("{DERIVED_FROM} is missing")))?;
    let restrictions = match doc.get("CONSTRAINTS") {
        Some(Value::Sequence(v)) => v
            .iter()
            .map(|c| {
                c.as_str()
                    .ok_or("every entry of CONSTRAINTS is a string".to_string())
                    .and_then(str::parse)
            })
            .collect::<std::result::Result<Vec<Restriction>, String>>()
            .map_err(|e| fail(format!("CONSTRAINTS: {e}")))?,
        _ => {
            return Err(fail(
                "CONSTRAINTS must be a list, e.g. [shared_b, \"anynet_d<=20\"]".into(),
            ))
        }
    };
    // A parent path is relative to this file.
    let beside = path
        .parent()
        .map(|d| d.join(&parent))
        .filter(|p| p.exists());
    let parent_arg = beside.map_or(parent.clone(), |p| p.display().to_string());
    let (parent_space, parent_cfg) =
        open_space(&parent_arg).map_err(|e| fail(format!("{DERIVED_FROM}: {}", e.message)))?;
    let name = string("NAME")?
        .unwrap_or_else(|| format!("{}+{}", parent_space.name(), list(&restrictions)));
    let desc = string("DESC")?.unwrap_or_else(|| {
        format!(
            "{} restricted to {}",
            parent_space.name(),
            list(&restrictions)
        )
    });
    let space = Space::Derived(Box::new(
        DerivedSpace::new(&name, &desc, parent_space, restrictions).map_err(|e| fail(e.0))?,
    ));
    let cfg = parent_cfg.map(|c| SweepConfig {
        space: space.clone(),
        ..c
    });
    Ok((space, cfg))
}

/// The text of a derived-space file.
pub fn write(name: &str, description: &str, parent: &str, restrictions: &[Restriction]) -> String {
    let mut doc = Mapping::new();
    doc.insert("NAME".into(), name.into());
    doc.insert("DESC".into(), description.into());
    doc.insert(DERIVED_FROM.into(), parent.into());
    let list: Vec<Value> = restrictions
        .iter()
        .map(|r| Value::from(r.to_string()))
        .collect();
    doc.insert("CONSTRAINTS".into(), Value::Sequence(list));
    serde_yaml::to_string(&doc).unwrap_or_default()
}

fn list(r: &[Restriction]) -> String {
    r.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
