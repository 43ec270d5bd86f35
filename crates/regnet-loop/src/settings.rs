//! What a design loop is run with, kept in its directory (`refine.yaml`)
//! so that a rerun continues the same loop, and the budget it may spend.

use crate::error::{LoopError, Result};
use crate::policy::Order;
use regnet_analysis::Boundary;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// The settings file in a refine directory.
pub const SETTINGS_FILE: &str = "refine.yaml";

/// Everything a loop's decisions depend on, except the budget's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The starting space: a built-in space and restrictions on it.
    pub start: String,
    pub restrictions: Vec<String>,
    /// The flops band every population is sampled in (LO:HI).
    pub flops: String,
    /// The dataset, as `regnet train --data` takes it.
    pub data: String,
    /// The recipe: a short-form sweep config's text, without the keys the
    /// loop sets (SPACE, NAME, DESC, FLOPS, DATA, NUM_CONFIGS, SEED).
    pub recipe: String,
    pub budget: Budget,
    /// Points of error a restriction may cost and still be kept.
    pub margin: f64,
    /// Sequential comparison: models per look, looks, boundary, level.
    pub round: usize,
    pub looks: usize,
    pub boundary: Boundary,
    pub alpha: f64,
    /// Models of a parent the candidates are screened on.
    pub screen: usize,
    /// How the candidates are ordered (a loop started before this setting
    /// existed ordered them by gain, and replays so).
    #[serde(default = "Order::legacy")]
    pub order: Order,
    /// Sampling seed of the first population (step k samples with seed + k).
    pub seed: u64,
    /// The PostgreSQL database of the stores (without a password), if
    /// they are not SQLite files in the step directories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

impl Settings {
    /// The settings stored in `dir`, if a loop was started there.
    pub fn read(dir: &Path) -> Result<Option<Settings>> {
        let path = dir.join(SETTINGS_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| LoopError::new(format!("cannot read '{}': {e}", path.display())))?;
        serde_yaml::from_str(&text)
            .map(Some)
            .map_err(|e| LoopError::new(format!("{}: {e}", path.display())))
    }

    /// Stores the settings in `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(SETTINGS_FILE);
        let text = serde_yaml::to_string(self).map_err(|e| LoopError::new(e.to_string()))?;
        Ok(regnet_record::atomic::write_file(&path, text.as_bytes())?)
    }

    /// The first setting in which `other` differs, by name, ignoring the
    /// budget (a loop may be given more, or less, to continue).
    pub fn differs(&self, other: &Settings) -> Option<&'static str> {
        let same_but_budget = Settings {
            budget: self.budget,
            ..other.clone()
        };
        if *self == same_but_budget {
            return None;
        }
        let o = other;
        [
            (
                "SPACE",
                self.start != o.start || self.restrictions != o.restrictions,
            ),
            ("--flops", self.flops != o.flops),
            ("--data", self.data != o.data),
            ("--recipe", self.recipe != o.recipe),
            ("--margin", self.margin != o.margin),
            ("--round", self.round != o.round),
            ("--looks", self.looks != o.looks),
            ("--boundary", self.boundary != o.boundary),
            ("--alpha", self.alpha != o.alpha),
            ("--screen", self.screen != o.screen),
            ("--order", self.order != o.order),
            ("--seed", self.seed != o.seed),
            ("--store", self.store != o.store),
        ]
        .into_iter()
        .find_map(|(name, differs)| differs.then_some(name))
    }
}

/// How much a loop may train: a number of models (all populations
/// together), or training time summed over models (one worker's time:
/// with two workers about half of it passes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Budget {
    Models(usize),
    Time(Duration),
}

impl std::str::FromStr for Budget {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || {
            format!("--budget '{s}': give a number of models (e.g. 120) or a training time (e.g. 6h, 90m, 600s)")
        };
        let t = s.trim();
        if let Ok(n) = t.parse::<usize>() {
            return (n > 0).then_some(Budget::Models(n)).ok_or_else(bad);
        }
        let unit = match t.chars().last() {
            Some('h') => 3600.0,
            Some('m') => 60.0,
            Some('s') => 1.0,
            _ => return Err(bad()),
        };
        let v: f64 = t[..t.len() - 1].parse().map_err(|_| bad())?;
        Duration::try_from_secs_f64(v * unit)
            .ok()
            .filter(|d| !d.is_zero())
            .map(Budget::Time)
            .ok_or_else(bad)
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Budget::Models(n) => write!(f, "{n}"),
            Budget::Time(d) => write!(f, "{}s", d.as_secs_f64()),
        }
    }
}

impl TryFrom<String> for Budget {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        s.parse()
    }
}

impl From<Budget> for String {
    fn from(b: Budget) -> String {
        b.to_string()
    }
}
