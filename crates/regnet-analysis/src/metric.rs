//! The complexity measure normalized EDFs equalize: a type, so a caller
//! cannot ask for a measure the models do not have and get NaN weights.

use serde::Serialize;

/// flops, params or acts (pycls's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ComplexityMetric {
    #[default]
    Flops,
    Params,
    Acts,
}

impl ComplexityMetric {
    /// The metric's name in a population's metrics.
    pub fn name(self) -> &'static str {
        match self {
            ComplexityMetric::Flops => "flops",
            ComplexityMetric::Params => "params",
            ComplexityMetric::Acts => "acts",
        }
    }
}

impl std::fmt::Display for ComplexityMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ComplexityMetric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flops" => Ok(ComplexityMetric::Flops),
            "params" => Ok(ComplexityMetric::Params),
            "acts" => Ok(ComplexityMetric::Acts),
            _ => Err(format!("'{s}': use flops, params or acts")),
        }
    }
}
