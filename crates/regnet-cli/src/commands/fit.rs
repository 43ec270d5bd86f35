//! `regnet fit`: the quantized linear parameterization closest to a model's widths.

use crate::{resolve, CliError};
use regnet_space::fit_regnet;

#[derive(clap::Args)]
pub struct Args {
    /// Zoo model or config whose per-block widths to fit (instead of --widths).
    model: Option<String>,
    /// Per-block widths, comma-separated: 24,56,152,152,...
    #[arg(long, value_delimiter = ',', value_name = "W1,W2,...")]
    widths: Option<Vec<u64>>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let widths = match (&args.widths, &args.model) {
        (Some(w), None) => w.clone(),
        (None, Some(m)) => {
            let net = resolve::model(m, None, None)?.spec.build()?;
            net.stages
                .iter()
                .flat_map(|s| s.blocks.iter().map(|b| b.w_out()))
                .collect()
        }
        _ => {
            return Err(CliError::new(
                "give either --widths W1,W2,... or a model name or config, not both".into(),
            ))
        }
    };
    let fit = fit_regnet(&widths)?;
    if args.json {
        crate::format::print(&crate::format::to_json(&fit, false)?);
    } else {
        say!(
            "d {}  w0 {}  wa {}  wm {}  e_fit {:.6}",
            fit.d,
            fit.w0,
            fit.wa,
            fit.wm,
            fit.e_fit
        );
        say!("widths     {widths:?}");
        say!("widths_fit {:?}", fit.widths_fit);
    }
    Ok(())
}
