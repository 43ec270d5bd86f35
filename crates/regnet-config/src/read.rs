//! Reading a pycls config document into a model spec.

use crate::section::{describe, Section};
use crate::{ConfigError, Result, DEFAULT_IM_SIZE, DEFAULT_NUM_CLASSES};
use regnet_spec::network::Activation;
use regnet_spec::{AnyNetSpec, BlockType, EffNetSpec, ModelSpec, RegNetSpec, StemType};
use serde_yaml::{Mapping, Value};
use std::path::Path;
use std::str::FromStr;

/// Top-level keys of pycls's config (`pycls/core/config.py`).
const TOP_LEVEL: &[&str] = &[
    "MODEL",
    "RESNET",
    "ANYNET",
    "REGNET",
    "EN",
    "VIT",
    "BN",
    "OPTIM",
    "TRAIN",
    "TEST",
    "DATA_LOADER",
    "MEM",
    "CUDNN",
    "PREC_TIME",
    "LAUNCH",
    "NUM_GPUS",
    "OUT_DIR",
    "CFG_DEST",
    "RNG_SEED",
    "LOG_DEST",
    "LOG_PERIOD",
    "DIST_BACKEND",
    "HOST",
    "PORT",
    "DOWNLOAD_CACHE",
    "VERBOSE",
    // This toolkit's own keys (crate::TOOLKIT).
    "TOOLKIT",
];

const MODEL_KEYS: &[&str] = &[
    "TYPE",
    "DEPTH",
    "NUM_CLASSES",
    "LOSS_FUN",
    "ACTIVATION_FUN",
    "ACTIVATION_INPLACE",
    "SCALING_TYPE",
    "SCALING_FACTOR",
];

const ANYNET_KEYS: &[&str] = &[
    "STEM_TYPE",
    "STEM_W",
    "BLOCK_TYPE",
    "DEPTHS",
    "WIDTHS",
    "STRIDES",
    "BOT_MULS",
    "GROUP_WS",
    "HEAD_W",
    "SE_ON",
    "SE_R",
];

const REGNET_KEYS: &[&str] = &[
    "STEM_TYPE",
    "STEM_W",
    "BLOCK_TYPE",
    "STRIDE",
    "SE_ON",
    "SE_R",
    "DEPTH",
    "W0",
    "WA",
    "WM",
    "GROUP_W",
    "BOT_MUL",
    "HEAD_W",
];

const EN_KEYS: &[&str] = &[
    "STEM_W",
    "DEPTHS",
    "WIDTHS",
    "EXP_RATIOS",
    "SE_R",
    "STRIDES",
    "KERNELS",
    "HEAD_W",
    "DC_RATIO",
    "DROPOUT_RATIO",
];

/// A parsed pycls config: the model it describes, its training resolution,
/// and the whole document as given (training sections are read later).
#[derive(Debug, Clone, PartialEq)]
pub struct PyclsConfig {
    pub model: ModelSpec,
    /// `TRAIN.IM_SIZE`.
    pub im_size: u64,
    /// Every section as written in the file.
    pub doc: Mapping,
}

/// Reads and parses a config file; errors are prefixed with the file name.
pub fn load(path: &Path) -> Result<PyclsConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config '{}': {e}", path.display())))?;
    parse_str(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
}

/// Parses a config from YAML (or JSON) text.
pub fn parse_str(text: &str) -> Result<PyclsConfig> {
    let value: Value =
        crate::yaml::from_str(text).map_err(|e| ConfigError(format!("malformed YAML: {e}")))?;
    from_value(&value)
}

/// Parses an already-loaded config document.
pub fn from_value(value: &Value) -> Result<PyclsConfig> {
    let doc = value.as_mapping().ok_or_else(|| {
        ConfigError(format!(
            "a pycls config must be a mapping of sections such as MODEL and REGNET (got {})",
            describe(value)
        ))
    })?;
    Section::root(doc, TOP_LEVEL)?;
    let model_sec = Section::new(doc, "MODEL", MODEL_KEYS)?;
    let anynet = Section::new(doc, "ANYNET", ANYNET_KEYS)?;
    let regnet = Section::new(doc, "REGNET", REGNET_KEYS)?;
    let en = Section::new(doc, "EN", EN_KEYS)?;
    let common = Common::read(&model_sec)?;
    let model = match model_type(&model_sec)? {
        "anynet" => ModelSpec::AnyNet(read_anynet(&anynet, &common)?),
        "regnet" => ModelSpec::RegNet(read_regnet(&regnet, &common)?),
        _ => ModelSpec::EffNet(read_effnet(&en, &common)?),
    };
    let im_size = Section::lenient(doc, "TRAIN")?.u64("IM_SIZE", DEFAULT_IM_SIZE)?;
    // An impossible value is an error at load time, not when first used.
    model.build()?.complexity(im_size)?;
    Ok(PyclsConfig {
        model,
        im_size,
        doc: doc.clone(),
    })
}

fn model_type(model: &Section) -> Result<&'static str> {
    let t = model.string("TYPE", "")?;
    ["anynet", "regnet", "effnet"]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(&t))
        .ok_or_else(|| {
            let got = if t.is_empty() { "nothing".into() } else { format!("'{t}'") };
            ConfigError(format!(
                "MODEL.TYPE must be anynet, regnet or effnet (got {got}); ResNe(X)ts are written as anynet, as in pycls dds_baselines"
            ))
        })
}

/// MODEL keys every model type uses.
struct Common {
    num_classes: u64,
    activation: Activation,
}

impl Common {
    fn read(model: &Section) -> Result<Self> {
        let scaling = model.string("SCALING_TYPE", "")?;
        if !scaling.is_empty() || model.f64("SCALING_FACTOR", 1.0)? != 1.0 {
            return Err(ConfigError(
                "MODEL.SCALING_TYPE / MODEL.SCALING_FACTOR (model scaling) are not supported; write the scaled model's parameters instead".into(),
            ));
        }
        let act = model.string("ACTIVATION_FUN", "relu")?;
        Ok(Common {
            num_classes: model.u64("NUM_CLASSES", DEFAULT_NUM_CLASSES)?,
            activation: parse_named("MODEL.ACTIVATION_FUN", &act)?,
        })
    }
}

fn parse_named<T: FromStr<Err = String>>(key: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: String| ConfigError(format!("{key}: {e}")))
}

fn se_ratio(s: &Section) -> Result<Option<f64>> {
    Ok(if s.bool("SE_ON", false)? {
        Some(s.f64("SE_R", 0.25)?)
    } else {
        None
    })
}

fn read_anynet(s: &Section, c: &Common) -> Result<AnyNetSpec> {
    Ok(AnyNetSpec {
        stem_type: parse_named::<StemType>(
            "ANYNET.STEM_TYPE",
            &s.string("STEM_TYPE", "simple_stem_in")?,
        )?,
        stem_w: s.u64("STEM_W", 32)?,
        block_type: parse_named::<BlockType>(
            "ANYNET.BLOCK_TYPE",
            &s.string("BLOCK_TYPE", "res_bottleneck_block")?,
        )?,
        depths: s.u64_list("DEPTHS")?,
        widths: s.u64_list("WIDTHS")?,
        strides: s.u64_list("STRIDES")?,
        bot_muls: s.f64_list("BOT_MULS")?,
        group_ws: s.u64_list("GROUP_WS")?,
        head_w: s.u64("HEAD_W", 0)?,
        se_r: se_ratio(s)?,
        num_classes: c.num_classes,
        activation: c.activation,
    })
}

fn read_regnet(s: &Section, c: &Common) -> Result<RegNetSpec> {
    Ok(RegNetSpec {
        stem_type: parse_named::<StemType>(
            "REGNET.STEM_TYPE",
            &s.string("STEM_TYPE", "simple_stem_in")?,
        )?,
        stem_w: s.u64("STEM_W", 32)?,
        block_type: parse_named::<BlockType>(
            "REGNET.BLOCK_TYPE",
            &s.string("BLOCK_TYPE", "res_bottleneck_block")?,
        )?,
        stride: s.u64("STRIDE", 2)?,
        se_r: se_ratio(s)?,
        depth: s.u64("DEPTH", 10)?,
        w0: s.u64("W0", 32)?,
        wa: s.f64("WA", 5.0)?,
        wm: s.f64("WM", 2.5)?,
        group_w: s.u64("GROUP_W", 16)?,
        bot_mul: s.f64("BOT_MUL", 1.0)?,
        head_w: s.u64("HEAD_W", 0)?,
        num_classes: c.num_classes,
        activation: c.activation,
    })
}

fn read_effnet(s: &Section, c: &Common) -> Result<EffNetSpec> {
    Ok(EffNetSpec {
        stem_w: s.u64("STEM_W", 32)?,
        depths: s.u64_list("DEPTHS")?,
        widths: s.u64_list("WIDTHS")?,
        exp_ratios: s.f64_list("EXP_RATIOS")?,
        se_r: s.f64("SE_R", 0.25)?,
        strides: s.u64_list("STRIDES")?,
        kernels: s.u64_list("KERNELS")?,
        head_w: s.u64("HEAD_W", 1280)?,
        dc_ratio: s.f64("DC_RATIO", 0.0)?,
        dropout_ratio: s.f64("DROPOUT_RATIO", 0.0)?,
        num_classes: c.num_classes,
        activation: c.activation,
    })
}
