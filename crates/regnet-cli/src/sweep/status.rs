//! `regnet sweep status` and `regnet sweep export`: read-only views of a sweep.

use crate::format::{plain, table};
use crate::CliError;
use regnet_store::{now, to_csv, to_pycls_json, Job, JobState};
use regnet_sweep::Sweep;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Sweep directory or store URL.
    sweep: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Sweep directory or store URL.
    sweep: String,
    /// pycls-json (pycls sweep.json records) or csv.
    #[arg(long, default_value = "pycls-json")]
    format: String,
    /// Write here instead of to standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn status(a: &Args) -> Result<(), CliError> {
    let sweep = Sweep::named(&a.sweep)?;
    let store = sweep.store.as_ref();
    let info = store.info()?;
    let counts = store.counts()?;
    let jobs = store.jobs()?;
    let running: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.state == JobState::Running)
        .collect();
    let failed: Vec<&Job> = jobs
        .iter()
        .filter(|j| j.error.is_some() && j.state != JobState::Done)
        .collect();
    let eta = eta_seconds(&jobs);
    if a.json {
        let t = now();
        let v = json!({
            "name": info.name,
            "counts": counts,
            "running": running.iter().map(|j| json!({
                "job": j.spec.name, "progress": j.progress, "epochs": j.spec.epochs,
                "node": node(j), "owner": j.lease_owner,
                "lease_left_s": j.lease_expires.map(|e| e - t),
            })).collect::<Vec<_>>(),
            "failures": failed.iter().map(|j| json!({
                "job": j.spec.name, "state": j.state, "failures": j.failures, "error": j.error,
            })).collect::<Vec<_>>(),
            "eta_seconds": eta,
        });
        crate::format::print(&crate::format::to_json(&v, true)?);
        return Ok(());
    }
    say!(
        "sweep {}: {} jobs: {} done, {} running, {} pending, {} failed",
        plain(&info.name),
        counts.total(),
        counts.done,
        counts.running,
        counts.pending,
        counts.failed
    );
    if !running.is_empty() {
        let rows: Vec<Vec<String>> = running
            .iter()
            .map(|j| {
                vec![
                    plain(&j.spec.name),
                    format!("{:.1}/{}", j.progress, j.spec.epochs),
                    plain(node(j)),
                    plain(j.lease_owner.as_deref().unwrap_or_default()),
                ]
            })
            .collect();
        say!(
            "{}",
            table(&["running", "epochs", "node", "worker"], &rows, 1)
        );
    }
    for j in failed {
        say!(
            "{} {} after {} failures: {}",
            plain(&j.spec.name),
            if j.state == JobState::Failed {
                "failed"
            } else {
                "will retry"
            },
            j.failures,
            plain(j.error.as_deref().unwrap_or_default())
        );
    }
    if let Some(s) = eta {
        say!("eta {}", crate::format::duration(s));
    }
    Ok(())
}

/// The host running a job (lease owners are `HOST/PID/SLOT[/slurm-TASK]`).
fn node(j: &Job) -> &str {
    j.lease_owner
        .as_deref()
        .and_then(|o| o.split('/').next())
        .unwrap_or_default()
}

/// Remaining epochs times the mean epoch time, over the jobs running now.
fn eta_seconds(jobs: &[Job]) -> Option<f64> {
    let (secs, epochs) = jobs.iter().fold((0.0, 0u32), |(s, e), j| {
        (s + j.train_seconds, e + j.epochs_done)
    });
    let open = jobs
        .iter()
        .filter(|j| matches!(j.state, JobState::Pending | JobState::Running));
    let left: f64 = open.map(|j| j.spec.epochs as f64 - j.progress).sum();
    if epochs == 0 || left <= 0.0 {
        return None;
    }
    let parallel = jobs
        .iter()
        .filter(|j| j.state == JobState::Running)
        .count()
        .max(1);
    Some(left * secs / epochs as f64 / parallel as f64)
}

pub fn export(a: &ExportArgs) -> Result<(), CliError> {
    let sweep = Sweep::named(&a.sweep)?;
    let store = sweep.store.as_ref();
    let text = match a.format.as_str() {
        "pycls-json" => crate::format::to_json(&to_pycls_json(store, &sweep.dir)?, false)?,
        "csv" => to_csv(store)?,
        other => {
            return Err(CliError::new(format!(
                "--format '{other}': use pycls-json or csv"
            )))
        }
    };
    match &a.out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| CliError::new(format!("cannot write '{}': {e}", p.display())))?,
        None => crate::format::print(&text),
    }
    Ok(())
}
