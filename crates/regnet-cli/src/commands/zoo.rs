//! `regnet zoo`: every zoo model with its complexity.

use crate::format::{short, table};
use crate::CliError;
use regnet_spec::zoo::zoo;
use serde_json::json;

#[derive(clap::Args)]
pub struct Args {
    /// Print a JSON array instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let mut rows = Vec::new();
    let mut records = Vec::new();
    for e in zoo() {
        let spec = e.spec();
        let cx = spec.build()?.complexity(e.im_size)?;
        records.push(json!({
            "name": e.name,
            "aliases": e.aliases,
            "type": spec.model_type(),
            "im_size": e.im_size,
            "flops": cx.flops,
            "params": cx.params,
            "acts": cx.acts,
        }));
        rows.push(vec![
            e.name.to_string(),
            e.aliases.join(", "),
            spec.model_type().to_string(),
            e.im_size.to_string(),
            short(cx.flops),
            short(cx.params),
            short(cx.acts),
        ]);
    }
    if args.json {
        crate::format::print(&serde_json::Value::Array(records).to_string());
    } else {
        let header = [
            "name", "aliases", "type", "im_size", "flops", "params", "acts",
        ];
        crate::format::print(&table(&header, &rows, 3));
    }
    Ok(())
}
