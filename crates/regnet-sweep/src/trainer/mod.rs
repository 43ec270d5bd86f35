//! A sweep job trained by a command of the user's own (`TRAINER` in the
//! sweep config): the job process writes the job's config, starts the
//! command, relays each epoch it reports to the store under the job's
//! lease, keeps the lease alive while it runs, and records how it ended —
//! the same guarantees as a job on the built-in engine, so the store, the
//! scheduler and every analysis see no difference.

mod process;
mod relay;
mod report;
mod signals;

pub use process::{Output, Stream, Trainer, MAX_LINE};
pub use relay::{Relay, Step};
pub use report::{Reader, Report};
pub use signals::{die_by, interrupted, on_interrupt};

use crate::protocol::SWEEP_ENV;
use crate::{Result, SweepError};
use regnet_store::{Job, Lease, Outcome, SweepStore, TrainerCommand, TrainerFormat};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// The config files a trainer is given (`{config}`): the job's complete
/// config as this toolkit reads it, and for pycls-format trainers the same
/// without this toolkit's own keys (pycls refuses unknown ones) and with
/// `OUT_DIR` set to the job's directory.
pub const CONFIG_FILE: &str = "config.yaml";
pub const PYCLS_CONFIG_FILE: &str = "pycls.yaml";

/// Output lines quoted in a failure.
const TAIL: usize = 3;

/// Everything one attempt of an external trainer needs.
pub struct Attempt<'a> {
    pub store: &'a dyn SweepStore,
    pub lease: &'a Lease,
    pub job: &'a Job,
    pub trainer: &'a TrainerCommand,
    /// The job's directory (the trainer's working and output directory).
    pub dir: &'a Path,
    /// The sweep's dataset, as `regnet train --data` takes it.
    pub data: &'a str,
    pub sweep_name: &'a str,
    /// `cpu` or `cuda:K`, as the scheduler placed the job.
    pub device: &'a str,
    /// CPU threads the job may use.
    pub threads: usize,
    /// How long a heartbeat keeps the lease.
    pub lease_for: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Every epoch recorded; the job is done in the store.
    Done,
    /// Recorded in the store as a failed attempt, with this message.
    Failed(String),
    /// The lease was lost or the scheduler is gone: nothing more written.
    Abandoned(String),
    /// The job process was asked to stop (this signal); the trainer is gone.
    Interrupted(i32),
}

/// Runs one attempt and records its end; `Err` only for a store or file
/// failure of the job process itself.
pub fn run(a: &Attempt) -> Result<Ending> {
    let epochs = a.job.spec.epochs;
    let mut relay = Relay::new(a.store.epochs(a.job.id)?, epochs);
    if !a.store.resume_at(a.lease, relay.done())? {
        return Ok(Ending::Abandoned("lease lost".into()));
    }
    if relay.done() == epochs {
        // An earlier attempt recorded every epoch and died before finishing.
        return finish(a, Ok(()), &relay);
    }
    let dir = std::path::absolute(a.dir)
        .map_err(|e| SweepError::new(format!("{}: {e}", a.dir.display())))?;
    let config = write_configs(a, &dir)?;
    let argv = a.trainer.resolve([
        &config.display().to_string(),
        &dir.display().to_string(),
        &a.job.spec.name,
        a.data,
        &epochs.to_string(),
    ]);
    eprintln!(
        "{}: {} epochs from epoch {}, trainer: {}",
        a.job.spec.name,
        epochs,
        relay.done(),
        quoted(&argv)
    );
    let env = environment(a, &dir, &config);
    let records = a.trainer.file.as_ref().map(|f| dir.join(f));
    let mut t = match Trainer::start(&argv, &dir, &env, &[SWEEP_ENV], records.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            let why = format!("cannot start the trainer '{}': {e}", argv[0]);
            return finish(a, Err(why), &relay);
        }
    };
    let end = watch(a, &mut t, &mut relay);
    match end {
        Watched::Exited(status, tail) => {
            finish(a, exit_result(status, &relay, epochs, &tail), &relay)
        }
        Watched::Bad(why) => {
            t.kill();
            finish(a, Err(why), &relay)
        }
        Watched::Stop(ending) => {
            t.kill();
            Ok(ending)
        }
        Watched::Store(e) => {
            t.kill();
            Err(e)
        }
    }
}

/// How watching the trainer ended.
enum Watched {
    /// It exited with this status; its last output lines.
    Exited(std::process::ExitStatus, Vec<String>),
    /// It printed something that cannot be recorded.
    Bad(String),
    /// The attempt must stop (lease lost, scheduler gone, interrupted).
    Stop(Ending),
    /// The store failed.
    Store(SweepError),
}

/// Reads the trainer's output until it exits, recording its epochs and
/// renewing the lease.
fn watch(a: &Attempt, t: &mut Trainer, relay: &mut Relay) -> Watched {
    let mut reader = Reader::new(a.trainer.format);
    let mut tail: VecDeque<String> = VecDeque::new();
    // Line numbers of the stream records come on, for messages.
    let from_file = a.trainer.file.is_some();
    // Streams still open: stdout, stderr and the record file if any.
    let mut open = 2 + i32::from(from_file);
    let mut line_no = 0usize;
    let mut epoch_start = Instant::now();
    let mut fraction = 0.0;
    let every = (a.lease_for / 6).clamp(Duration::from_millis(200), Duration::from_secs(2));
    let mut beat = Instant::now();
    let parent = std::os::unix::process::parent_id();
    let mut exited: Option<(std::process::ExitStatus, Instant)> = None;
    loop {
        match t.lines.recv_timeout(Duration::from_millis(100)) {
            Ok(Output::Line(stream, line)) => {
                match stream {
                    Stream::Stderr => eprintln!("{line}"),
                    Stream::Stdout => println!("{line}"),
                    Stream::File => {}
                }
                if stream != Stream::File {
                    keep(&mut tail, &line);
                }
                if stream == Stream::Stderr || from_file != (stream == Stream::File) {
                    continue;
                }
                line_no += 1;
                let step = match reader.line(&line) {
                    Ok(Report::Epoch { mut record, timed }) => {
                        if !timed {
                            record.seconds = epoch_start.elapsed().as_secs_f64();
                        }
                        relay.take(record)
                    }
                    Ok(Report::Progress(f)) => {
                        fraction = f;
                        continue;
                    }
                    Ok(Report::Output) => continue,
                    Err(why) => Err(why),
                };
                match step {
                    Ok(Step::Record(e)) => match a.store.record_epoch(a.lease, &e) {
                        Ok(true) => {
                            eprintln!("epoch {}  test err {:.2}%", e.epoch, e.test_top1_err);
                        }
                        Ok(false) => return Watched::Stop(Ending::Abandoned("lease lost".into())),
                        Err(e) => return Watched::Store(e.into()),
                    },
                    Ok(Step::Skip) => {}
                    Err(why) => {
                        let source = match &a.trainer.file {
                            Some(f) => format!("{f}: this attempt's line"),
                            None => "trainer output line".into(),
                        };
                        return Watched::Bad(bad_line(&source, line_no, &why, &line));
                    }
                }
                epoch_start = Instant::now();
                fraction = 0.0;
            }
            Ok(Output::Closed(_)) => open -= 1,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = 0,
        }
        if let Some(sig) = interrupted() {
            return Watched::Stop(Ending::Interrupted(sig));
        }
        if beat.elapsed() >= every {
            beat = Instant::now();
            if std::os::unix::process::parent_id() != parent {
                return Watched::Stop(Ending::Abandoned("the scheduler is gone".into()));
            }
            let progress = f64::from(relay.done()) + fraction;
            match a.store.heartbeat(a.lease, a.lease_for, progress) {
                Ok(true) => {}
                Ok(false) => return Watched::Stop(Ending::Abandoned("lease lost".into())),
                // The store down or its disk full: as when a record fails.
                Err(e) if e.fault.is_outside_the_job() => return Watched::Store(e.into()),
                Err(e) => eprintln!("heartbeat: {e}"),
            }
        }
        if exited.is_none() {
            match t.exited() {
                Ok(Some(status)) => exited = Some((status, Instant::now())),
                Ok(None) => {}
                Err(e) => {
                    return Watched::Store(SweepError::new(format!(
                        "cannot watch the trainer: {e}"
                    )))
                }
            }
        }
        // Its output is read to the end (a moment at most once it exited).
        if let Some((status, at)) = exited {
            if open <= 0 || at.elapsed() > Duration::from_secs(2) {
                return Watched::Exited(status, tail.into_iter().collect());
            }
        }
    }
}

fn keep(tail: &mut VecDeque<String>, line: &str) {
    if line.trim().is_empty() {
        return;
    }
    if tail.len() == TAIL {
        tail.pop_front();
    }
    tail.push_back(clip(line));
}

/// A line cut to a readable length for a one-line message.
fn clip(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_string(),
    }
}

fn bad_line(source: &str, n: usize, why: &str, line: &str) -> String {
    format!("{source} {n}: {why}: {}", clip(line))
}

/// What an exit means: every epoch reported and code 0 is success.
fn exit_result(
    status: std::process::ExitStatus,
    relay: &Relay,
    epochs: u32,
    tail: &[String],
) -> std::result::Result<(), String> {
    use std::os::unix::process::ExitStatusExt;
    let last = if tail.is_empty() {
        String::new()
    } else {
        format!("; last output: {}", tail.join(" | "))
    };
    match (status.code(), status.signal()) {
        (Some(0), _) if relay.done() == epochs => Ok(()),
        (Some(0), _) if relay.done() == 0 => Err(format!(
            "the trainer exited with code 0 and reported no epoch (expected lines such as {}){last}",
            example_line()
        )),
        (Some(0), _) => Err(format!(
            "the trainer exited with code 0 after {} of {epochs} epochs{last}",
            relay.done()
        )),
        (Some(c), _) => Err(format!("the trainer exited with code {c}{last}")),
        (None, Some(s)) => Err(format!("the trainer was killed by signal {s}{last}")),
        (None, None) => Err(format!("the trainer ended without a status{last}")),
    }
}

fn example_line() -> &'static str {
    r#"{"epoch": 1, "test_top1_err": 41.5}"#
}

/// Records the attempt's end: done, or a failure with its message.
fn finish(a: &Attempt, result: std::result::Result<(), String>, relay: &Relay) -> Result<Ending> {
    let (outcome, ending) = match result {
        Ok(()) if relay.done() == a.job.spec.epochs => (Outcome::Done, Ending::Done),
        Ok(()) => {
            let why = format!(
                "only {} of {} epochs recorded",
                relay.done(),
                a.job.spec.epochs
            );
            (Outcome::Failed(why.clone()), Ending::Failed(why))
        }
        Err(why) => (Outcome::Failed(why.clone()), Ending::Failed(why)),
    };
    Ok(match a.store.finish(a.lease, &outcome)? {
        true => ending,
        false => Ending::Abandoned("lease lost".into()),
    })
}

/// Writes the trainer's config file(s); returns the one `{config}` names.
fn write_configs(a: &Attempt, dir: &Path) -> Result<PathBuf> {
    let write = |name: &str, value: &serde_json::Value| -> Result<PathBuf> {
        let path = dir.join(name);
        let text = serde_yaml::to_string(value)
            .map_err(|e| SweepError::new(format!("{}: its config: {e}", a.job.spec.name)))?;
        std::fs::write(&path, text)
            .map_err(|e| SweepError::new(format!("cannot write '{}': {e}", path.display())))?;
        Ok(path)
    };
    let ours = write(CONFIG_FILE, &a.job.spec.config)?;
    if a.trainer.format != TrainerFormat::Pycls {
        return Ok(ours);
    }
    let mut pycls = a.job.spec.config.clone();
    if let Some(m) = pycls.as_object_mut() {
        m.remove(regnet_config::TOOLKIT);
        m.insert("OUT_DIR".into(), dir.display().to_string().into());
    }
    write(PYCLS_CONFIG_FILE, &pycls)
}

/// The trainer's environment: where the job is and what it trains on, the
/// device it was placed on, and the CPU threads it may use.
fn environment(a: &Attempt, dir: &Path, config: &Path) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("REGNET_JOB", a.job.spec.name.clone()),
        ("REGNET_JOB_DIR", dir.display().to_string()),
        ("REGNET_CONFIG", config.display().to_string()),
        ("REGNET_DATA", a.data.to_string()),
        ("REGNET_EPOCHS", a.job.spec.epochs.to_string()),
        ("REGNET_SWEEP_NAME", a.sweep_name.to_string()),
        ("REGNET_ATTEMPT", a.job.claims.to_string()),
        ("REGNET_DEVICE", a.device.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for k in ["OMP_NUM_THREADS", "MKL_NUM_THREADS"] {
        if std::env::var_os(k).is_none() {
            env.push((k.into(), a.threads.to_string()));
        }
    }
    let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
    env.push((
        "CUDA_VISIBLE_DEVICES".into(),
        cuda_visible(a.device, visible.as_deref()),
    ));
    env
}

/// The `CUDA_VISIBLE_DEVICES` a job placed on `device` gets: the one GPU
/// (`cuda:K` is the K-th of those visible to the scheduler), or none on CPU.
pub fn cuda_visible(device: &str, visible: Option<&str>) -> String {
    let Some(k) = device
        .strip_prefix("cuda:")
        .and_then(|k| k.parse::<usize>().ok())
    else {
        return String::new();
    };
    match visible {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .nth(k)
            .unwrap_or_default()
            .to_string(),
        None => k.to_string(),
    }
}

/// The command as a shell would show it.
fn quoted(argv: &[String]) -> String {
    argv.iter()
        .map(|a| shlex::try_quote(a).map_or_else(|_| a.clone(), |q| q.into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_sees_only_its_own_gpu() {
        assert_eq!(cuda_visible("cuda:1", None), "1");
        assert_eq!(cuda_visible("cuda:1", Some("4,6,7")), "6");
        assert_eq!(cuda_visible("cpu", Some("0,1")), "");
    }

    #[test]
    fn failures_quote_the_last_output() {
        use std::os::unix::process::ExitStatusExt;
        let relay = Relay::new(vec![], 3);
        let tail = vec![
            "Traceback (most recent call last):".into(),
            "KeyError: 'x'".into(),
        ];
        let e =
            exit_result(std::process::ExitStatus::from_raw(1 << 8), &relay, 3, &tail).unwrap_err();
        assert_eq!(
            e,
            "the trainer exited with code 1; last output: Traceback (most recent call last): | KeyError: 'x'"
        );
        let e = exit_result(std::process::ExitStatus::from_raw(0), &relay, 3, &[]).unwrap_err();
        assert!(
            e.contains("reported no epoch") && e.contains("test_top1_err"),
            "{e}"
        );
        let e = exit_result(std::process::ExitStatus::from_raw(9), &relay, 3, &[]).unwrap_err();
        assert_eq!(e, "the trainer was killed by signal 9");
        assert_eq!(clip(&"x".repeat(500)).len(), 163);
    }
}
