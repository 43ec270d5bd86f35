//! Writing a model spec as a pycls config dict (what pycls and `regnet describe` read).

use crate::Recipe;
use regnet_spec::{AnyNetSpec, EffNetSpec, ModelSpec, RegNetSpec};
use serde_yaml::{Mapping, Value};

/// The pycls-style config of `model` at `im_size`: `MODEL`, the model's own
/// section with every key written out, and `TRAIN.IM_SIZE`.
pub fn to_value(model: &ModelSpec, im_size: u64) -> Value {
    let (section, body) = match model {
        ModelSpec::AnyNet(s) => ("ANYNET", anynet(s)),
        ModelSpec::RegNet(s) => ("REGNET", regnet(s)),
        ModelSpec::EffNet(s) => ("EN", effnet(s)),
    };
    let activation = match model {
        ModelSpec::AnyNet(s) => s.activation,
        ModelSpec::RegNet(s) => s.activation,
        ModelSpec::EffNet(s) => s.activation,
    };
    mapping([
        (
            "MODEL",
            mapping([
                ("TYPE", model.model_type().into()),
                ("NUM_CLASSES", model.num_classes().into()),
                ("ACTIVATION_FUN", activation.name().into()),
            ]),
        ),
        (section, body),
        ("TRAIN", mapping([("IM_SIZE", im_size.into())])),
    ])
}

/// The complete config of a run: the model (as [`to_value`]) and every key
/// of its recipe ([`Recipe::to_doc`]). Reading it back gives the same model,
/// resolution and recipe, so a run is reproduced from this file alone.
pub fn complete(model: &ModelSpec, im_size: u64, recipe: &Recipe) -> Value {
    let mut doc = to_value(model, im_size);
    let map = doc.as_mapping_mut().expect("to_value writes a mapping");
    for (key, value) in recipe.to_doc() {
        match (map.get_mut(&key), value) {
            (Some(Value::Mapping(have)), Value::Mapping(add)) => have.extend(add),
            (_, value) => {
                map.insert(key, value);
            }
        }
    }
    doc
}

pub(crate) fn mapping<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Mapping(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<Mapping>(),
    )
}

fn list<T: Copy + Into<Value>>(xs: &[T]) -> Value {
    Value::Sequence(xs.iter().map(|&x| x.into()).collect())
}

fn se_pair(se_r: Option<f64>) -> [(&'static str, Value); 2] {
    [
        ("SE_ON", se_r.is_some().into()),
        ("SE_R", se_r.unwrap_or(0.25).into()),
    ]
}

fn anynet(s: &AnyNetSpec) -> Value {
    let [se_on, se_r] = se_pair(s.se_r);
    mapping([
        ("STEM_TYPE", s.stem_type.name().into()),
        ("STEM_W", s.stem_w.into()),
        ("BLOCK_TYPE", s.block_type.name().into()),
        ("DEPTHS", list(&s.depths)),
        ("WIDTHS", list(&s.widths)),
        ("STRIDES", list(&s.strides)),
        ("BOT_MULS", list(&s.bot_muls)),
        ("GROUP_WS", list(&s.group_ws)),
        ("HEAD_W", s.head_w.into()),
        se_on,
        se_r,
    ])
}

fn regnet(s: &RegNetSpec) -> Value {
    let [se_on, se_r] = se_pair(s.se_r);
    mapping([
        ("STEM_TYPE", s.stem_type.name().into()),
        ("STEM_W", s.stem_w.into()),
        ("BLOCK_TYPE", s.block_type.name().into()),
        ("STRIDE", s.stride.into()),
        se_on,
        se_r,
        ("DEPTH", s.depth.into()),
        ("W0", s.w0.into()),
        ("WA", s.wa.into()),
        ("WM", s.wm.into()),
        ("GROUP_W", s.group_w.into()),
        ("BOT_MUL", s.bot_mul.into()),
        ("HEAD_W", s.head_w.into()),
    ])
}

fn effnet(s: &EffNetSpec) -> Value {
    mapping([
        ("STEM_W", s.stem_w.into()),
        ("DEPTHS", list(&s.depths)),
        ("WIDTHS", list(&s.widths)),
        ("EXP_RATIOS", list(&s.exp_ratios)),
        ("SE_R", s.se_r.into()),
        ("STRIDES", list(&s.strides)),
        ("KERNELS", list(&s.kernels)),
        ("HEAD_W", s.head_w.into()),
        ("DC_RATIO", s.dc_ratio.into()),
        ("DROPOUT_RATIO", s.dropout_ratio.into()),
    ])
}
