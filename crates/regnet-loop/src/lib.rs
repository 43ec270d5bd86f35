//! The design loop, as a library: the rules that `regnet refine`, the demo
//! and the Python binding share. Settings and budget ([`Settings`],
//! [`Budget`]), the loop that screens candidates and keeps or drops each
//! one by a sequential comparison on a fresh population ([`Loop`]), and
//! the record it leaves (`chain.json`, `analysis.json`, `report.html`).
//! Training is injected through [`Populations`], so every rule is tested
//! without processes.

mod design_loop;
mod error;
mod policy;
mod populations;
mod settings;

pub use design_loop::{space_name, Loop};
pub use error::{LoopError, Result};
pub use policy::{ordered, Order, Ranked, STRUCTURAL};
pub use populations::{Opened, Populations, StepId};
pub use settings::{Budget, Settings, SETTINGS_FILE};

use std::path::Path;

/// Writes the loop's record into `dir`: `chain.json` (every step and its
/// decision), `analysis.json` and `report.html` (the chain, then the
/// analysis of every population), each replaced atomically so that loops
/// sharing a directory never read a half-written file.
pub fn write_record<P: Populations>(dir: &Path, l: &mut Loop<P>, status: &str) -> Result<()> {
    let analysis = l.record(status)?;
    let chain = l.chain();
    let title = format!("Design loop: {}", chain.name);
    let html = regnet_report::render_chain(chain, &analysis, &title);
    let files = [
        ("chain.json", pretty(chain)?),
        ("analysis.json", pretty(&analysis)?),
        ("report.html", html),
    ];
    for (name, text) in files {
        regnet_record::atomic::write_file(&dir.join(name), text.as_bytes())?;
    }
    Ok(())
}

/// Pretty JSON of a record, as one error line when it cannot be written.
fn pretty<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map_err(|e| LoopError::new(format!("cannot write JSON output: {e}")))
}
