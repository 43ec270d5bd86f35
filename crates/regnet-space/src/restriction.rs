//! Restrictions that refine a design space: the paper's structural steps
//! (AnyNetX_A → B → C → D → E: shared b, shared g, non-decreasing widths and
//! depths) and ranges on any design metric a model has. One definition
//! serves derived spaces (which sample only models that satisfy them) and
//! the analysis's refinement assistant (which tests them on a population).

use serde_json::Value;
use std::collections::BTreeMap;

/// A comparison of a metric with a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Le,
    Ge,
    Lt,
    Gt,
    Eq,
    /// A whole multiple of the value: pycls's quantization (`w2%=16`,
    /// `regnet_w0%=8`).
    Multiple,
}

impl Op {
    const TOKENS: [(&'static str, Op); 6] = [
        ("%=", Op::Multiple),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Le => a <= b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Gt => a > b,
            Op::Eq => a == b,
            Op::Multiple => (a / b - (a / b).round()).abs() < 1e-9,
        }
    }

    fn token(self) -> &'static str {
        Op::TOKENS
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("?", |(t, _)| t)
    }
}

/// One restriction of a design space.
#[derive(Debug, Clone, PartialEq)]
pub enum Restriction {
    /// One bottleneck ratio for all stages (AnyNetX_B).
    SharedB,
    /// One group width for all stages (AnyNetX_C).
    SharedG,
    /// Stage widths never decrease (AnyNetX_D).
    NonDecreasingW,
    /// Stage depths never decrease (AnyNetX_E).
    NonDecreasingD,
    /// `metric op value` on a design metric (see [`design_metrics`]).
    Range { metric: String, op: Op, value: f64 },
}

impl Restriction {
    /// Whether a model (its pycls config and its metrics) satisfies it;
    /// none when the model lacks what it restricts.
    pub fn holds(&self, config: &Value, metrics: &BTreeMap<String, f64>) -> Option<bool> {
        let list = |key: &str| -> Option<Vec<f64>> {
            config["ANYNET"][key]
                .as_array()?
                .iter()
                .map(Value::as_f64)
                .collect()
        };
        let equal = |v: Vec<f64>| v.windows(2).all(|w| w[0] == w[1]);
        let rising = |v: Vec<f64>| v.windows(2).all(|w| w[1] >= w[0]);
        match self {
            Restriction::SharedB => list("BOT_MULS").map(equal),
            Restriction::SharedG => list("GROUP_WS").map(equal),
            Restriction::NonDecreasingW => list("WIDTHS").map(rising),
            Restriction::NonDecreasingD => list("DEPTHS").map(rising),
            Restriction::Range { metric, op, value } => {
                metrics.get(metric).map(|&v| op.holds(v, *value))
            }
        }
    }

    /// Whether it ties AnyNet stage parameters (exactly countable).
    pub fn is_structural(&self) -> bool {
        !matches!(self, Restriction::Range { .. })
    }

    /// The metric it ranges over, if it is a range.
    pub fn metric(&self) -> Option<&str> {
        match self {
            Restriction::Range { metric, .. } => Some(metric),
            _ => None,
        }
    }
}

impl std::fmt::Display for Restriction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Restriction::SharedB => f.write_str("shared_b"),
            Restriction::SharedG => f.write_str("shared_g"),
            Restriction::NonDecreasingW => f.write_str("non_decreasing_w"),
            Restriction::NonDecreasingD => f.write_str("non_decreasing_d"),
            Restriction::Range { metric, op, value } => write!(f, "{metric}{}{value}", op.token()),
        }
    }
}

impl std::str::FromStr for Restriction {
    type Err = String;

    /// `shared_b`, `shared_g`, `non_decreasing_w`, `non_decreasing_d`, or
    /// `METRIC<=VALUE` (also `>=`, `<`, `>`, `==`, and `%=` for a whole
    /// multiple, pycls's quantization) on a known metric.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "shared_b" => return Ok(Restriction::SharedB),
            "shared_g" => return Ok(Restriction::SharedG),
            "non_decreasing_w" => return Ok(Restriction::NonDecreasingW),
            "non_decreasing_d" => return Ok(Restriction::NonDecreasingD),
            _ => {}
        }
        let bad = || {
            format!(
                "constraint '{s}': write shared_b, shared_g, non_decreasing_w, non_decreasing_d or METRIC<=VALUE (or >=, <, >, ==, or %=Q for a multiple of Q > 0) with a metric of {}",
                METRICS.join(", ")
            )
        };
        let (metric, op, value) = Op::TOKENS
            .iter()
            .find_map(|(tok, op)| s.split_once(tok).map(|(m, v)| (m.trim(), *op, v.trim())))
            .ok_or_else(bad)?;
        let value: f64 = value.parse().map_err(|_| bad())?;
        if !value.is_finite() || !is_metric(metric) || (op == Op::Multiple && value <= 0.0) {
            return Err(bad());
        }
        Ok(Restriction::Range {
            metric: metric.to_string(),
            op,
            value,
        })
    }
}

/// The metrics a range may restrict: complexity, pycls's analysis names,
/// and per-stage values `d1`, `w1`, `b1`, `g1`, ... (stage 1 first).
pub const METRICS: [&str; 17] = [
    "flops",
    "params",
    "acts",
    "regnet_depth",
    "regnet_w0",
    "regnet_wa",
    "regnet_wm",
    "regnet_gw",
    "regnet_bm",
    "anynet_d",
    "anynet_w",
    "anynet_g",
    "anynet_b",
    "e_fit",
    "d1..dN",
    "w1..wN",
    "b1..bN, g1..gN",
];

fn is_metric(m: &str) -> bool {
    let per_stage = m.len() > 1
        && matches!(&m[..1], "d" | "w" | "b" | "g")
        && m[1..].parse::<usize>().is_ok_and(|i| i >= 1);
    per_stage || METRICS[..14].contains(&m)
}

/// A config's design metrics, pycls analysis names: REGNET.{DEPTH, W0, WA,
/// WM, GROUP_W, BOT_MUL} as `regnet_*`; for AnyNet the total depth
/// `anynet_d`, the largest width, group width and bottleneck ratio
/// (`anynet_w|g|b`, the largest bot_mul for b), and with `per_stage` each
/// stage's `d<i>`, `w<i>`, `b<i>` (the paper's ratio, 1 / bot_mul), `g<i>`.
/// The RegNet fit's `e_fit` costs a grid search; [`e_fit`] adds it.
pub fn design_metrics(cfg: &Value, per_stage: bool) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let regnet = &cfg["REGNET"];
    for (key, name) in [
        ("DEPTH", "regnet_depth"),
        ("W0", "regnet_w0"),
        ("WA", "regnet_wa"),
        ("WM", "regnet_wm"),
        ("GROUP_W", "regnet_gw"),
        ("BOT_MUL", "regnet_bm"),
    ] {
        if let Some(v) = regnet[key].as_f64() {
            m.insert(name.to_string(), v);
        }
    }
    let anynet = &cfg["ANYNET"];
    let list = |key: &str| -> Option<Vec<f64>> {
        anynet[key].as_array()?.iter().map(Value::as_f64).collect()
    };
    if let Some(d) = list("DEPTHS") {
        m.insert("anynet_d".into(), d.iter().sum());
    }
    let stages = [
        ("DEPTHS", "d"),
        ("WIDTHS", "w"),
        ("BOT_MULS", "b"),
        ("GROUP_WS", "g"),
    ];
    for (key, short) in stages {
        let Some(v) = list(key) else { continue };
        // b is the paper's bottleneck ratio, 1 / pycls's bot_mul.
        let v: Vec<f64> = if short == "b" {
            v.iter().map(|x| 1.0 / x).collect()
        } else {
            v
        };
        if short != "d" {
            let name = format!("anynet_{short}");
            let raw = if short == "b" {
                list(key).unwrap_or_default()
            } else {
                v.clone()
            };
            m.insert(name, raw.iter().copied().fold(f64::NAN, f64::max));
        }
        if per_stage {
            for (i, x) in v.iter().enumerate() {
                m.insert(format!("{short}{}", i + 1), *x);
            }
        }
    }
    m
}

/// Every metric a range among `restrictions` may read, for one model: its
/// per-stage design metrics, its complexity (`flops`, `params`, `acts`),
/// and `e_fit` when a restriction asks for it (a grid search).
pub fn restriction_metrics(
    restrictions: &[Restriction],
    config: &Value,
    complexity: [f64; 3],
) -> BTreeMap<String, f64> {
    let mut m = design_metrics(config, true);
    for (k, v) in ["flops", "params", "acts"].into_iter().zip(complexity) {
        m.insert(k.into(), v);
    }
    if restrictions.iter().any(|r| r.metric() == Some("e_fit")) {
        if let Some(e) = e_fit(config) {
            m.insert("e_fit".into(), e);
        }
    }
    m
}

/// The RegNet fit's error of an AnyNet config's block widths.
pub fn e_fit(cfg: &Value) -> Option<f64> {
    block_widths(cfg)
        .and_then(|w| crate::fit_regnet(&w).ok())
        .map(|f| f.e_fit)
}

/// Per-block widths of an AnyNet config (each stage's width repeated d times).
pub fn block_widths(cfg: &Value) -> Option<Vec<u64>> {
    let a = &cfg["ANYNET"];
    let d = a["DEPTHS"].as_array()?;
    let w = a["WIDTHS"].as_array()?;
    let mut out = Vec::new();
    for (d, w) in d.iter().zip(w) {
        out.extend(std::iter::repeat_n(w.as_u64()?, d.as_u64()? as usize));
    }
    (!out.is_empty()).then_some(out)
}
