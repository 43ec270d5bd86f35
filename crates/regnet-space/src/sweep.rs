//! User-defined design spaces written as pycls sweep configs
//! (`pycls/sweep/config.py`): `SETUP.BASE_CFG` plus `SETUP.SAMPLERS` that
//! overwrite keys of it, filtered by `SETUP.CONSTRAINTS`.

use crate::constraints::{Band, Constraints};
use crate::random::{RandType, Scalar};
use crate::regnet_space::{RegNetRanges, REGNET_KEYS};
use crate::space::{Candidate, ParamInfo, Target};
use crate::{Result, SpaceError};
use num_bigint::BigUint;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use regnet_config::section::Section;
use regnet_config::ConfigError;
use serde_yaml::{Mapping, Value};
use std::collections::HashSet;

const TOP_LEVEL: &[&str] = &[
    "NAME",
    "DESC",
    "ROOT_DIR",
    "NUM_PROC",
    "SWEEP_CFG_FILE",
    "SETUP",
    "LAUNCH",
    "COLLECT",
    "ANALYZE",
];
const SETUP_KEYS: &[&str] = &[
    "NUM_CONFIGS",
    "NUM_SAMPLES",
    "CHUNK_SIZE",
    "RNG_SEED",
    "BASE_CFG",
    "SAMPLERS",
    "CONSTRAINTS",
];
const SCALAR_KEYS: &[&str] = &["TYPE", "RAND_TYPE", "RANGE", "QUANTIZE"];
const VALUE_KEYS: &[&str] = &["TYPE", "VALUES"];
const LIST_KEYS: &[&str] = &["TYPE", "LENGTH", "ITEM_SAMPLER"];
const REGNET_SAMPLER_KEYS: &[&str] = &["TYPE", "DEPTH", "W0", "WA", "WM", "GROUP_W", "BOT_MUL"];

/// How one config key is sampled (pycls `SAMPLERS` templates).
#[derive(Debug, Clone, PartialEq)]
pub enum SamplerDef {
    /// `int_sampler` / `float_sampler`.
    Scalar { int: bool, dist: Scalar },
    /// `value_sampler`: one of `VALUES`, uniformly.
    Values(Vec<Value>),
    /// `list_sampler`: `LENGTH` independent draws of `ITEM_SAMPLER`.
    List {
        length: usize,
        item: Box<SamplerDef>,
    },
    /// `regnet_sampler`: DEPTH, W0, WA, WM, GROUP_W, BOT_MUL of `REGNET`.
    RegNet(RegNetRanges),
}

impl SamplerDef {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Value {
        match self {
            SamplerDef::Scalar { int: true, dist } => Value::from(dist.sample(rng) as i64),
            SamplerDef::Scalar { int: false, dist } => Value::from(dist.sample(rng)),
            SamplerDef::Values(vs) => vs[rng.random_range(0..vs.len())].clone(),
            SamplerDef::List { length, item } => {
                Value::Sequence((0..*length).map(|_| item.sample(rng)).collect())
            }
            SamplerDef::RegNet(r) => {
                let d = r.draw(rng);
                let vals: [Value; 6] = [
                    d.depth.into(),
                    d.w0.into(),
                    d.wa.into(),
                    d.wm.into(),
                    d.group_w.into(),
                    d.bot_mul.into(),
                ];
                Value::Mapping(
                    REGNET_KEYS
                        .iter()
                        .map(|k| Value::from(*k))
                        .zip(vals)
                        .collect(),
                )
            }
        }
    }

    /// Number of distinct values the sampler can produce.
    fn size(&self) -> BigUint {
        match self {
            SamplerDef::Scalar { dist, .. } => BigUint::from(dist.support().len()),
            SamplerDef::Values(vs) => {
                let distinct: HashSet<String> = vs
                    .iter()
                    .map(|v| serde_yaml::to_string(v).unwrap_or_default())
                    .collect();
                BigUint::from(distinct.len())
            }
            SamplerDef::List { length, item } => item.size().pow(*length as u32),
            SamplerDef::RegNet(r) => r.size(),
        }
    }

    fn describe(&self) -> String {
        match self {
            SamplerDef::Scalar { int, dist } => format!(
                "{} {} in [{}, {}], q = {}",
                if *int { "int" } else { "float" },
                dist.rand_type,
                dist.low,
                dist.high,
                dist.q
            ),
            SamplerDef::Values(vs) => format!("one of {} values", vs.len()),
            SamplerDef::List { length, item } => format!("{length} x ({})", item.describe()),
            SamplerDef::RegNet(_) => "regnet_sampler (DEPTH, W0, WA, WM, GROUP_W, BOT_MUL)".into(),
        }
    }
}

/// A design space defined by a pycls sweep config.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpace {
    pub name: String,
    pub description: String,
    /// `SETUP.BASE_CFG`: the config every sample starts from.
    pub base: Mapping,
    /// `SETUP.SAMPLERS`, in file order: config key → sampler.
    pub samplers: Vec<(String, SamplerDef)>,
    pub constraints: Constraints,
    /// `SETUP.NUM_CONFIGS`, when set.
    pub num_configs: Option<usize>,
    /// `SETUP.RNG_SEED`.
    pub seed: u64,
    /// `SETUP.NUM_SAMPLES`: how many candidates to try at most.
    pub num_samples: u64,
}

impl SweepSpace {
    /// Reads a parsed sweep config document.
    pub fn parse_doc(doc: &Mapping) -> Result<Self> {
        let space = Self::from_doc(doc).map_err(|e| SpaceError(e.0))?;
        space.check_samples()?;
        Ok(space)
    }

    fn from_doc(doc: &Mapping) -> std::result::Result<Self, ConfigError> {
        let root = Section::root(doc, TOP_LEVEL)?;
        let setup = root.child("SETUP", SETUP_KEYS)?;
        let base = match setup.value("BASE_CFG") {
            Some(Value::Mapping(m)) => m.clone(),
            None => Mapping::new(),
            Some(v) => {
                return Err(regnet_config::section::type_error(
                    "SETUP.BASE_CFG",
                    "a mapping (a pycls config)",
                    v,
                ))
            }
        };
        let samplers_sec = setup.child("SAMPLERS", &all_keys(setup.value("SAMPLERS")))?;
        let samplers = samplers_sec
            .keys()
            .into_iter()
            .map(|k| {
                let key = k.as_str().unwrap_or_default().to_string();
                let def = parse_sampler(&samplers_sec, &key)?;
                if matches!(def, SamplerDef::RegNet(_)) && key != "REGNET" {
                    return Err(ConfigError(format!(
                        "SETUP.SAMPLERS.{key}: regnet_sampler can only be used for REGNET"
                    )));
                }
                Ok((key, def))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let num_configs = setup.u64("NUM_CONFIGS", 0)?;
        Ok(SweepSpace {
            name: root.string("NAME", "sweep")?,
            description: root.string("DESC", "")?.trim().to_string(),
            base,
            samplers,
            constraints: parse_constraints(&setup)?,
            num_configs: (num_configs > 0).then_some(num_configs as usize),
            seed: setup.u64("RNG_SEED", 0)?,
            num_samples: setup.u64("NUM_SAMPLES", 1_000_000)?,
        })
    }

    /// A space whose every draw fails is a definition error: say why now.
    fn check_samples(&self) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut last = None;
        for _ in 0..64 {
            match self.try_draw(&mut rng, &Target::default()) {
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(SpaceError(format!(
            "no valid model in 64 draws of SETUP.SAMPLERS over SETUP.BASE_CFG; the last failed with: {}",
            last.map(|e| e.0).unwrap_or_default()
        )))
    }

    /// Draws a config and reads it as a model.
    pub fn try_draw<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        target: &Target,
    ) -> std::result::Result<Candidate, ConfigError> {
        let mut doc = self.base.clone();
        if let Some(n) = target.im_size {
            set_path(&mut doc, "TRAIN.IM_SIZE", n.into());
        }
        if let Some(n) = target.num_classes {
            set_path(&mut doc, "MODEL.NUM_CLASSES", n.into());
        }
        for (key, sampler) in &self.samplers {
            match (sampler, sampler.sample(rng)) {
                (SamplerDef::RegNet(_), Value::Mapping(m)) => {
                    for (k, v) in m {
                        set_path(
                            &mut doc,
                            &format!("REGNET.{}", k.as_str().unwrap_or_default()),
                            v,
                        );
                    }
                }
                (_, v) => set_path(&mut doc, key, v),
            }
        }
        let value = Value::Mapping(doc);
        let cfg = regnet_config::from_value(&value)?;
        Ok(Candidate {
            spec: cfg.model,
            im_size: cfg.im_size,
            doc: Some(value),
        })
    }

    /// Exact number of distinct sampler outputs (product over samplers).
    pub fn size(&self) -> BigUint {
        self.samplers.iter().map(|(_, s)| s.size()).product()
    }

    /// Per-sampler descriptions for `space info`.
    pub fn param_info(&self) -> Vec<ParamInfo> {
        self.samplers
            .iter()
            .map(|(k, s)| ParamInfo {
                name: k.clone(),
                values: s.describe(),
                tying: None,
                count: s.size().to_string(),
            })
            .collect()
    }
}

/// The keys of a mapping value (SAMPLERS takes any config key).
fn all_keys(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Mapping(m)) => m.keys().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn parse_constraints(setup: &Section) -> std::result::Result<Constraints, ConfigError> {
    let c = setup.child("CONSTRAINTS", &["CX", "REGNET"])?;
    let cx = c.child("CX", &["FLOPS", "PARAMS", "ACTS"])?;
    let band = |k: &str| -> std::result::Result<Band, ConfigError> {
        let (lo, hi) = cx.pair(k, (0.0, 0.0))?;
        if lo < 0.0 || hi < 0.0 || (hi > 0.0 && lo > hi) {
            return Err(ConfigError(format!(
                "{} must be [LOW, HIGH] with 0 <= LOW <= HIGH (0 = unbounded), got [{lo}, {hi}]",
                cx.full(k)
            )));
        }
        Ok(Band::from_pycls(lo, hi))
    };
    let regnet = c.child("REGNET", &["NUM_STAGES"])?;
    let (lo, hi) = regnet.pair("NUM_STAGES", (4.0, 4.0))?;
    if lo < 1.0 || lo > hi || lo.fract() != 0.0 || hi.fract() != 0.0 {
        return Err(ConfigError(format!(
            "{} must be [LOW, HIGH] whole numbers with 1 <= LOW <= HIGH (got [{lo}, {hi}])",
            regnet.full("NUM_STAGES")
        )));
    }
    Ok(Constraints {
        flops: band("FLOPS")?,
        params: band("PARAMS")?,
        acts: band("ACTS")?,
        num_stages: Some((lo as u64, hi as u64)),
        time: None,
    })
}

fn parse_sampler(parent: &Section, key: &str) -> std::result::Result<SamplerDef, ConfigError> {
    let raw = parent.value(key);
    let kind = raw
        .and_then(|v| v.get("TYPE"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let full = parent.full(key);
    let allowed = match kind.as_str() {
        "float_sampler" | "int_sampler" => SCALAR_KEYS,
        "value_sampler" => VALUE_KEYS,
        "list_sampler" => LIST_KEYS,
        "regnet_sampler" => REGNET_SAMPLER_KEYS,
        _ => {
            return Err(ConfigError(format!(
                "{full}.TYPE must be one of float_sampler, int_sampler, value_sampler, list_sampler, regnet_sampler (got {})",
                raw.and_then(|v| v.get("TYPE")).map_or("nothing".into(), regnet_config::section::describe)
            )))
        }
    };
    let s = parent.child(key, allowed)?;
    match kind.as_str() {
        "value_sampler" => match s.value("VALUES") {
            Some(Value::Sequence(vs)) if !vs.is_empty() => Ok(SamplerDef::Values(vs.clone())),
            other => Err(ConfigError(format!(
                "{} must be a non-empty list (got {})",
                s.full("VALUES"),
                other.map_or("nothing".into(), regnet_config::section::describe)
            ))),
        },
        "list_sampler" => {
            let length = s.u64("LENGTH", 0)?;
            if length == 0 {
                return Err(ConfigError(format!(
                    "{} must be at least 1",
                    s.full("LENGTH")
                )));
            }
            let item = parse_sampler(&s, "ITEM_SAMPLER")?;
            Ok(SamplerDef::List {
                length: length as usize,
                item: Box::new(item),
            })
        }
        "regnet_sampler" => {
            let d = RegNetRanges::pycls_default();
            let mut r = [(0.0, 0.0); 6];
            for (i, k) in REGNET_KEYS.iter().enumerate() {
                r[i] = s.pair(k, d[i])?;
            }
            RegNetRanges::new(r)
                .map(SamplerDef::RegNet)
                .map_err(|e| ConfigError(format!("{full}.{e}")))
        }
        _ => parse_scalar(&s, kind == "int_sampler"),
    }
}

fn parse_scalar(s: &Section, int: bool) -> std::result::Result<SamplerDef, ConfigError> {
    let rand_type: RandType = s
        .string("RAND_TYPE", "uniform")?
        .parse()
        .map_err(|e| ConfigError(format!("{}: {e}", s.full("RAND_TYPE"))))?;
    let (low, high) = s.pair("RANGE", (0.0, 0.0))?;
    let q = s.f64("QUANTIZE", if int { 1.0 } else { 0.00001 })?;
    if int {
        let range_ints = match s.value("RANGE") {
            Some(Value::Sequence(v)) => v.iter().all(|x| x.as_i64().is_some()),
            _ => true,
        };
        let q_int = s.value("QUANTIZE").is_none_or(|v| v.as_i64().is_some());
        if !range_ints || !q_int {
            return Err(ConfigError(format!(
                "{}: int_sampler needs integer RANGE and QUANTIZE (use float_sampler for fractions)",
                s.name()
            )));
        }
    }
    let dist = Scalar::new(rand_type, low, high, q)
        .map_err(|e| ConfigError(format!("{}: {e}", s.name())))?;
    Ok(SamplerDef::Scalar { int, dist })
}

/// Sets `a.b.c` in `doc`, creating intermediate mappings.
fn set_path(doc: &mut Mapping, dotted: &str, value: Value) {
    let mut parts: Vec<&str> = dotted.split('.').collect();
    let last = parts.pop().unwrap_or(dotted);
    let mut cur = doc;
    for p in parts {
        let entry = cur
            .entry(Value::from(p))
            .or_insert_with(|| Value::Mapping(Mapping::new()));
        if !entry.is_mapping() {
            *entry = Value::Mapping(Mapping::new());
        }
        cur = entry.as_mapping_mut().expect("just made a mapping");
    }
    cur.insert(Value::from(last), value);
}
