//! Design spaces by name or file, behind one type.

use crate::anynetx::AnyNetXSpace;
use crate::constraints::{Constraints, Rejection};
use crate::derived::{DerivedSpace, SizeEstimate};
use crate::random::Scalar;
use crate::regnet_space::RegNetSpace;
use crate::sweep::SweepSpace;
use crate::SpaceError;
use num_bigint::BigUint;
use rand::Rng;
use regnet_spec::{ModelSpec, StemType};
use serde::Serialize;
use serde_json::json;
use serde_yaml::Value;

/// Resolution and class count to count samples at, when not the space's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target {
    pub im_size: Option<u64>,
    pub num_classes: Option<u64>,
}

/// ImageNet defaults for the built-in spaces.
const DEFAULT_NUM_CLASSES: u64 = 1000;
/// Most stages a built-in space may be given.
const MAX_STAGES: usize = 8;

/// A drawn model, before constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub spec: ModelSpec,
    pub im_size: u64,
    /// The full pycls config it came from (sweep spaces), if any.
    pub doc: Option<Value>,
}

impl Candidate {
    /// The pycls config of this model (what `regnet describe` reads).
    pub fn config(&self) -> Value {
        self.doc
            .clone()
            .unwrap_or_else(|| regnet_config::to_value(&self.spec, self.im_size))
    }
}

/// One parameter of a space, for `space info`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamInfo {
    pub name: String,
    /// The values it takes, in words.
    pub values: String,
    /// `per_stage`, `shared` or `non_decreasing` for AnyNet stage parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tying: Option<&'static str>,
    /// Exact number of distinct values (of sequences, for stage parameters).
    pub count: String,
}

impl ParamInfo {
    /// A scalar drawn by one of pycls's random functions.
    pub fn scalar(name: &str, s: &Scalar) -> Self {
        ParamInfo {
            name: name.to_string(),
            values: format!("{} in [{}, {}], q = {}", s.rand_type, s.low, s.high, s.q),
            tying: None,
            count: s.support().len().to_string(),
        }
    }
}

/// Everything `space info` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceInfo {
    pub name: String,
    pub description: String,
    /// Exact number of distinct parameter tuples, in decimal.
    pub size: String,
    pub size_log10: f64,
    pub parameters: Vec<ParamInfo>,
    /// What every model of the space shares.
    pub fixed: serde_json::Value,
    /// Constraints applied when sampling.
    pub constraints: Constraints,
    /// Of a derived space: its parent, its restrictions, and whether `size`
    /// is exact or estimated (then `size` is the base's size times the
    /// estimated share, rounded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived: Option<DerivedInfo>,
}

/// What `space info` says about a derived space.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DerivedInfo {
    pub parent: String,
    pub restrictions: Vec<String>,
    pub size: SizeEstimate,
}

/// The stem every model of a built-in space starts with: the paper's
/// 32-wide `simple_stem_in` for ImageNet, or another for other inputs (the
/// CIFAR stem for 32x32 images keeps the resolution for the stages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StemChoice {
    pub kind: StemType,
    pub width: u64,
}

impl Default for StemChoice {
    fn default() -> Self {
        StemChoice {
            kind: StemType::SimpleStemIn,
            width: 32,
        }
    }
}

/// A design space.
#[derive(Debug, Clone, PartialEq)]
pub enum Space {
    AnyNetX(AnyNetXSpace),
    RegNet(RegNetSpace),
    Sweep(SweepSpace),
    Derived(Box<DerivedSpace>),
}

impl Space {
    /// Names of the built-in spaces.
    pub const BUILTIN: [&'static str; 8] = [
        "anynetx-a",
        "anynetx-b",
        "anynetx-c",
        "anynetx-d",
        "anynetx-e",
        "regnet",
        "regnetx",
        "regnety",
    ];

    /// A built-in space; names are case-insensitive and `-`/`_` are optional.
    pub fn builtin(name: &str) -> Option<Space> {
        let key: String = name
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, '-' | '_'))
            .collect();
        match key.as_str() {
            "anynetxa" | "anynetxb" | "anynetxc" | "anynetxd" | "anynetxe" => {
                AnyNetXSpace::variant(key.chars().last()?).map(Space::AnyNetX)
            }
            "regnet" | "regnetx" | "regnety" => RegNetSpace::named(&key).map(Space::RegNet),
            _ => None,
        }
    }

    /// The same built-in space with another stem (sweep configs' `STEM_TYPE`
    /// and `STEM_W`); a sweep space takes its stem from its `BASE_CFG`.
    pub fn with_stem(self, stem: StemChoice) -> Result<Space, SpaceError> {
        match self {
            Space::AnyNetX(s) => Ok(Space::AnyNetX(AnyNetXSpace { stem, ..s })),
            Space::RegNet(s) => Ok(Space::RegNet(RegNetSpace { stem, ..s })),
            Space::Sweep(s) => Err(SpaceError(format!(
                "{}: a sweep config's space takes its stem from SETUP.BASE_CFG",
                s.name
            ))),
            Space::Derived(d) => {
                let base = d.base.clone().with_stem(stem)?;
                Ok(Space::Derived(Box::new(DerivedSpace {
                    base: Box::new(base),
                    ..*d
                })))
            }
        }
    }

    /// The same built-in space with `n` stages instead of the paper's 4
    /// (sweep configs' `NUM_STAGES`: fewer stride-2 stages keep the last
    /// stage's maps larger at small resolutions). AnyNetX spaces draw `n`
    /// per-stage values; RegNet spaces keep the samples whose width rule
    /// gives `n` stages.
    pub fn with_stages(self, n: usize) -> Result<(Space, Constraints), SpaceError> {
        if !(1..=MAX_STAGES).contains(&n) {
            return Err(SpaceError(format!(
                "the number of stages must be between 1 and {MAX_STAGES} (got {n})"
            )));
        }
        let space = match self {
            Space::AnyNetX(s) => Space::AnyNetX(AnyNetXSpace { stages: n, ..s }),
            Space::RegNet(s) => Space::RegNet(s),
            Space::Derived(d) => {
                let (base, c) = d.base.clone().with_stages(n)?;
                return Ok((Space::Derived(Box::new(DerivedSpace { base: Box::new(base), ..*d })), c));
            }
            Space::Sweep(s) => {
                return Err(SpaceError(format!(
                    "{}: a sweep config's space sets its stages in SETUP (CONSTRAINTS.REGNET.NUM_STAGES or its samplers)",
                    s.name
                )))
            }
        };
        let mut constraints = space.default_constraints();
        if let Space::RegNet(_) = space {
            constraints.num_stages = Some((n as u64, n as u64));
        }
        Ok((space, constraints))
    }

    /// The space's name.
    pub fn name(&self) -> &str {
        match self {
            Space::AnyNetX(s) => s.name,
            Space::RegNet(s) => s.name,
            Space::Sweep(s) => &s.name,
            Space::Derived(d) => &d.name,
        }
    }

    /// Exact number of distinct parameter tuples the space allows (of a
    /// derived space: its base's, which [`Space::info`] scales by the
    /// estimated share where restrictions are checked per sample).
    pub fn size(&self) -> BigUint {
        match self {
            Space::AnyNetX(s) => s.size(),
            Space::RegNet(s) => s.ranges.size(),
            Space::Sweep(s) => s.size(),
            Space::Derived(d) => d.base.size(),
        }
    }

    /// Whether a built sample belongs to the space: always, except where a
    /// derived space's restrictions are checked per sample.
    pub fn admits(&self, config: &serde_json::Value, cx: &regnet_spec::Complexity) -> bool {
        match self {
            Space::Derived(d) => d.admits(config, cx),
            _ => true,
        }
    }

    /// Constraints the space itself imposes (before any user band).
    pub fn default_constraints(&self) -> Constraints {
        match self {
            Space::AnyNetX(_) => Constraints::default(),
            Space::RegNet(_) => Constraints {
                num_stages: Some((4, 4)),
                ..Constraints::default()
            },
            Space::Sweep(s) => s.constraints.clone(),
            Space::Derived(d) => d.base.default_constraints(),
        }
    }

    /// Draws one candidate model.
    pub fn draw<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        target: &Target,
    ) -> std::result::Result<Candidate, Rejection> {
        let num_classes = target.num_classes.unwrap_or(DEFAULT_NUM_CLASSES);
        let im_size = target.im_size.unwrap_or(regnet_config::DEFAULT_IM_SIZE);
        let spec = match self {
            Space::AnyNetX(s) => ModelSpec::AnyNet(s.draw(rng, num_classes)?),
            Space::RegNet(s) => ModelSpec::RegNet(s.draw(rng, num_classes)),
            Space::Sweep(s) => return s.try_draw(rng, target).map_err(|_| Rejection::Invalid),
            Space::Derived(d) => return d.base.draw(rng, target),
        };
        Ok(Candidate {
            spec,
            im_size,
            doc: None,
        })
    }

    /// Description, size (exact, or estimated for a derived space whose
    /// restrictions are checked per sample), parameters and constraints.
    pub fn info(&self) -> SpaceInfo {
        let size = self.size();
        let (description, parameters, fixed) = match self {
            Space::AnyNetX(s) => (
                s.description.to_string(),
                s.param_info(),
                json!({
                    "stages": s.stages, "stem_type": s.stem.kind.name(), "stem_w": s.stem.width,
                    "block_type": "res_bottleneck_block", "stride": 2, "bot_mul": "1/b",
                    "compatibility": "each stage's (w, b, g) adjusted as pycls adjust_block_compatibility",
                }),
            ),
            Space::RegNet(s) => (
                s.description.to_string(),
                s.ranges.param_info(),
                json!({
                    "stem_type": s.stem.kind.name(), "stem_w": s.stem.width,
                    "block_type": "res_bottleneck_block", "stride": 2,
                    "se_r": s.se_r, "width_quantum": 8,
                }),
            ),
            Space::Sweep(s) => (
                s.description.clone(),
                s.param_info(),
                serde_json::to_value(&s.base).unwrap_or_default(),
            ),
            Space::Derived(d) => return derived_info(d),
        };
        SpaceInfo {
            name: self.name().to_string(),
            description,
            size_log10: log10(&size),
            size: size.to_string(),
            parameters,
            fixed,
            constraints: self.default_constraints(),
            derived: None,
        }
    }
}

/// A derived space's info: its base's, renamed, with the size scaled by the
/// estimated share where restrictions are checked per sample.
fn derived_info(d: &DerivedSpace) -> SpaceInfo {
    let mut info = d.base.info();
    let (base_size, estimate) = d.estimate(&Target::default());
    if let SizeEstimate::Estimated { share, .. } = estimate {
        info.size_log10 = log10(&base_size) + share.log10();
        info.size = format!("{:.3e}", 10f64.powf(info.size_log10));
    }
    info.name = d.name.clone();
    info.description = d.description.clone();
    info.derived = Some(DerivedInfo {
        parent: d.parent.clone(),
        restrictions: d.restrictions.iter().map(ToString::to_string).collect(),
        size: estimate,
    });
    info
}

/// log10 of a big integer, to double precision.
pub fn log10(n: &BigUint) -> f64 {
    let s = n.to_string();
    let head: f64 = s[..s.len().min(17)].parse().unwrap_or(0.0);
    head.log10() + (s.len() - s.len().min(17)) as f64
}
