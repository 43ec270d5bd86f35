//! `regnet describe`: a model's stages and exact complexity.

use crate::format::{short, table, thousands};
use crate::{resolve, CliError};
use regnet_spec::network::PartProfile;
use regnet_spec::time_model::TimeModel;
use regnet_spec::{Network, Profile, Stage, StageParams};
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// Zoo model name or alias (see `regnet zoo`), or a pycls YAML config file.
    model: String,
    /// Input resolution (default: the model's TRAIN.IM_SIZE; 224 for ImageNet models).
    #[arg(long, value_name = "N")]
    im_size: Option<u64>,
    /// Number of classes of the classifier (default: the model's MODEL.NUM_CLASSES).
    #[arg(long, value_name = "N")]
    num_classes: Option<u64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Also predict its run time with a time model of some machine
    /// (`regnet time-model fit`).
    #[arg(long, value_name = "FILE")]
    time_model: Option<std::path::PathBuf>,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let m = resolve::model(&args.model, args.im_size, args.num_classes)?;
    let net = m.spec.build()?;
    let profile = net.profile(m.im_size)?;
    if let Some(note) = net.small_input_note(m.im_size) {
        eprintln!("note: {note}");
    }
    let time = args
        .time_model
        .as_deref()
        .map(TimeModel::load)
        .transpose()
        .map_err(CliError::new)?;
    let predicted = time
        .as_ref()
        .map(|t| predicted(t, &profile.total, m.im_size));
    if args.json {
        let config = serde_json::to_value(regnet_config::to_value(&m.spec, m.im_size))
            .map_err(|e| CliError::new(format!("the model's config as JSON: {e}")))?;
        let out = json!({
            "name": m.name,
            "type": m.spec.model_type(),
            "im_size": m.im_size,
            "num_classes": net.num_classes(),
            "stages": net.stages.iter().zip(&profile.stages).map(stage_json).collect::<Vec<_>>(),
            "block_widths": net.stages.iter().flat_map(|s| s.blocks.iter().map(|b| b.w_out())).collect::<Vec<_>>(),
            "flops": profile.total.flops,
            "params": profile.total.params,
            "acts": profile.total.acts,
            "config": config,
            "time_ms": predicted.as_ref().map(|p| &p.1),
        });
        crate::format::print(&out.to_string());
    } else {
        print_human(&m.name, m.spec.model_type(), m.im_size, &net, &profile);
        if let Some((lines, _)) = &predicted {
            say!();
            for l in lines {
                say!("{l}");
            }
        }
    }
    Ok(())
}

/// The predicted times as lines to print and as JSON; a resolution other
/// than the model's is said (the fit's measures are counted at `im_size`).
fn predicted(t: &TimeModel, cx: &regnet_spec::Complexity, im_size: u64) -> (Vec<String>, Value) {
    let mut lines = vec![format!("predicted time on {}:", t.setting())];
    lines.push(format!("  inference {}", t.infer.describe(cx)));
    if let Some(f) = &t.train {
        lines.push(format!("  training step {}", f.describe(cx)));
    }
    if im_size != t.im_size {
        lines.push(format!(
            "  (the model was fitted at {0}x{0}; this one is counted at {1}x{1})",
            t.im_size, im_size
        ));
    }
    let j = json!({
        "setting": t.setting(),
        "infer": t.infer.predict_ms(cx),
        "train": t.train.as_ref().map(|f| f.predict_ms(cx)),
        "infer_median_error": t.infer.median_error,
    });
    (lines, j)
}

fn stage_json(stage_and_part: (&Stage, &PartProfile)) -> Value {
    let (s, part) = stage_and_part;
    let mut v = json!({
        "depth": s.depth(),
        "width": s.width(),
        "stride": s.stride(),
        "out_size": part.out_size,
    });
    let extra = match s.params {
        StageParams::Plain => json!({"bot_mul": null, "group_w": null}),
        StageParams::Bottleneck { bot_mul, group_w } => {
            json!({"bot_mul": bot_mul, "group_w": group_w, "groups": s.groups()})
        }
        StageParams::MbConv { exp_ratio, kernel } => {
            json!({"exp_ratio": exp_ratio, "kernel": kernel})
        }
    };
    if let (Value::Object(o), Value::Object(e)) = (&mut v, extra) {
        o.extend(e);
    }
    v
}

fn print_human(name: &str, model_type: &str, im_size: u64, net: &Network, p: &Profile) {
    say!(
        "{name}: {model_type} at {im_size}x{im_size}, {} classes, {} activation",
        net.num_classes(),
        net.activation
    );
    let t = &p.total;
    say!(
        "  flops   {:>8}  ({} multiply-adds)",
        short(t.flops),
        thousands(t.flops)
    );
    say!(
        "  params  {:>8}  ({})",
        short(t.params),
        thousands(t.params)
    );
    say!("  acts    {:>8}  ({})", short(t.acts), thousands(t.acts));
    say!();
    let effnet = net
        .stages
        .iter()
        .any(|s| matches!(s.params, StageParams::MbConv { .. }));
    let mut header = vec!["part", "depth", "width", "stride"];
    header.extend(if effnet {
        vec!["exp_ratio", "kernel"]
    } else {
        vec!["bot_mul", "group_w", "groups"]
    });
    header.extend(["out", "flops", "params", "acts"]);
    let dash = || "-".to_string();
    let blanks = if effnet { 2 } else { 3 };
    let mut rows = vec![part_row(
        format!("stem ({})", net.stem.kind),
        [
            dash(),
            net.stem.w_out().to_string(),
            net.stem.downsampling().to_string(),
        ],
        vec![dash(); blanks],
        &p.stem,
    )];
    for (i, (s, part)) in net.stages.iter().zip(&p.stages).enumerate() {
        let design = match s.params {
            StageParams::Plain => vec![dash(); blanks],
            StageParams::Bottleneck { bot_mul, group_w } => {
                vec![
                    format!("{bot_mul}"),
                    group_w.to_string(),
                    s.groups().to_string(),
                ]
            }
            StageParams::MbConv { exp_ratio, kernel } => {
                vec![format!("{exp_ratio}"), kernel.to_string()]
            }
        };
        let shape = [
            s.depth().to_string(),
            s.width().to_string(),
            s.stride().to_string(),
        ];
        rows.push(part_row(format!("stage {}", i + 1), shape, design, part));
    }
    let head_name = match &net.head.conv {
        Some(c) => format!("head (conv {}, fc)", c.conv.w_out),
        None => "head (fc)".to_string(),
    };
    rows.push(part_row(
        head_name,
        [dash(), net.num_classes().to_string(), dash()],
        vec![dash(); blanks],
        &p.head,
    ));
    crate::format::print(&table(&header, &rows, 1));
}

fn part_row(
    name: String,
    shape: [String; 3],
    design: Vec<String>,
    part: &PartProfile,
) -> Vec<String> {
    let mut row = vec![name];
    row.extend(shape);
    row.extend(design);
    row.push(format!("{0}x{0}", part.out_size));
    row.extend([part.cx.flops, part.cx.params, part.cx.acts].map(short));
    row
}
