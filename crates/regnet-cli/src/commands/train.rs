//! `regnet train`: train one model and keep its log, metrics and weights.

use crate::datasource::DataSource;
use crate::session::pick_device;
use crate::{crash_note, resolve, session, CliError};
use indicatif::{ProgressBar, ProgressStyle};
use regnet_config::Recipe;
use regnet_engine::train::{
    checkpoint_epoch, train, BatchProgress, EpochRecord, Observer, Status, StepTrace, Stop,
};
use serde_json::json;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Exit code of a run whose loss became NaN or infinite (the same as a
/// diverged sweep job's).
pub use regnet_sweep::protocol::EXIT_DIVERGED;

#[derive(clap::Args)]
pub struct Args {
    /// Zoo model name or pycls config (its OPTIM/TRAIN/TEST/BN sections give the recipe).
    model: String,
    /// Dataset: synthetic[:N] (N training images, N/5 test; default 5000),
    /// cifar10:DIR or cifar100:DIR (official binary or python batches),
    /// imagefolder:DIR (DIR/train/<class>/*.jpg|png and DIR/val/<class>/...).
    #[arg(long, default_value = "synthetic", value_name = "DATA")]
    data: String,
    /// Epochs (OPTIM.MAX_EPOCH).
    #[arg(long)]
    epochs: Option<usize>,
    /// Mini-batch size (TRAIN.BATCH_SIZE).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Base learning rate (OPTIM.BASE_LR).
    #[arg(long)]
    lr: Option<f64>,
    /// Output directory (default: runs/<model name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// auto (CUDA when present), cpu or cuda.
    #[arg(long, default_value = "auto")]
    device: String,
    /// CPU threads for libtorch.
    #[arg(long)]
    threads: Option<usize>,
    /// Seed of initialization and shuffles (RNG_SEED).
    #[arg(long)]
    seed: Option<u64>,
    /// Mixed precision (TRAIN.MIXED_PRECISION): float16 autocast with loss
    /// scaling on CUDA.
    #[arg(long)]
    amp: bool,
    /// When the learning rate changes: `epoch` (once per epoch, as pycls's
    /// get_epoch_lr; the default) or `iter` (every mini-batch, the schedule
    /// at the fractional epoch). Recorded in metrics.json.
    /// (Default: the config's TOOLKIT.LR_UPDATE, else `epoch`.)
    #[arg(long, value_name = "WHEN")]
    lr_update: Option<regnet_config::LrUpdate>,
    /// Memory layout: auto (channels-last on CPU, except the convs libtorch
    /// is known to crash on; NCHW on CUDA), nchw (if training ever dies
    /// with a crash signal), or channels-last (every conv, unguarded).
    #[arg(long, value_name = "LAYOUT", default_value = "auto")]
    layout: regnet_engine::layout::Layout,
    /// Continue the run in --out from its last epoch checkpoint (same
    /// arguments: one that changes the recorded config or data is refused).
    #[arg(long)]
    resume: bool,
    /// Image folders: leave out images that cannot be decoded (reported with
    /// a count) instead of stopping at the first.
    #[arg(long)]
    skip_bad_images: bool,
    /// Write one JSON line per SGD step to FILE: epoch, step, lr, loss, the
    /// total gradient norm before clipping and the five parameters with the
    /// largest gradient norms (to see which layer a blow-up starts in).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
}

/// The per-epoch checkpoint inside a run directory.
const CHECKPOINT: &str = "checkpoint.safetensors";

/// Runs training; `Ok(true)` when it finished, `Ok(false)` when it diverged.
pub fn run(args: &Args) -> Result<bool, CliError> {
    let m = resolve::model(&args.model, None, None)?;
    let (mut recipe, warnings) = match &m.doc {
        Some(doc) => Recipe::from_doc(doc)?,
        None => (Recipe::default(), Vec::new()),
    };
    for w in warnings {
        eprintln!("warning: {w}");
    }
    apply_overrides(&mut recipe, args)?;
    let source = DataSource::parse(&args.data)?;
    let device = pick_device(&args.device)?;
    if let Some(t) = args.threads {
        regnet_engine::set_threads(t);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&m.name));
    prepare_out(&out, args.resume)?;

    let mut s = session::prepare(
        m.spec,
        &recipe,
        &source,
        m.im_size,
        device,
        args.layout,
        args.skip_bad_images,
    )?;
    let record = s.record(&source, device, regnet_engine::threads());
    if args.resume {
        same_run(&out, &s, &recipe, &record)?;
    }
    s.write_run_files(&out, &recipe, &record)?;
    crash_note::install();
    let (cx, im_size) = (s.cx, s.im_size);
    eprintln!(
        "training {} ({} flops, {} params at {im_size}x{im_size}) on {} {} images, {:?}, {} epochs",
        m.name,
        cx.flops,
        cx.params,
        s.train_len,
        source.name(),
        device,
        recipe.epochs
    );
    let checkpoint = out.join(CHECKPOINT);
    if args.resume {
        keep_logged_epochs(&out.join("log.jsonl"), checkpoint_epoch(&checkpoint)?)?;
    }
    let log_path = out.join("log.jsonl");
    let mut log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| CliError::io("open the run's log", &log_path, e))?;
    let mut log_error = None;
    let start = std::time::Instant::now();
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} batches  {per_sec}  loss {msg}  eta {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let trace = match &args.trace {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| CliError::io("create the step trace", p, e))?,
        )),
        None => None,
    };
    let observer = Progress {
        bar: bar.clone(),
        log: &mut log,
        log_error: &mut log_error,
        epochs: recipe.epochs,
        trace,
    };
    let (status, logs) = train(
        &mut s.model,
        &s.train,
        &s.test,
        &recipe,
        Some(&checkpoint),
        observer,
    )?;
    bar.finish_and_clear();
    if let Some(e) = log_error {
        // The log is the run's record: a run that cannot keep it stops.
        return Err(CliError::new(format!(
            "cannot write the run's log '{}': {e}; training stopped after epoch {} (fix it and continue with --resume)",
            log_path.display(),
            logs.last().map_or(0, |r| r.epoch)
        )));
    }
    s.save_weights(&out)?;
    let last: Option<&EpochRecord> = logs.last();
    let metrics = json!({
        "name": m.name,
        "status": status,
        "epochs": last.map_or(0, |e| e.epoch),
        "test_top1_err": last.map(|e| e.test_top1_err),
        "test_top5_err": last.and_then(|e| e.test_top5_err),
        "test_ema_top1_err": last.and_then(|e| e.test_ema_top1_err),
        "train_loss": last.and_then(|e| e.train_loss),
        "seconds": start.elapsed().as_secs_f64(),
        "flops": cx.flops, "params": cx.params, "acts": cx.acts,
        "run": record,
    });
    crate::session::write_text(&out.join("metrics.json"), &format!("{metrics}\n"))?;
    eprintln!("wrote {}", out.display());
    Ok(status == Status::Done)
}

fn apply_overrides(r: &mut Recipe, a: &Args) -> Result<(), CliError> {
    if let Some(e) = a.epochs {
        r.epochs = e;
    }
    if let Some(b) = a.batch_size {
        r.batch_size = b;
    }
    if let Some(lr) = a.lr {
        r.base_lr = lr;
    }
    if let Some(s) = a.seed {
        r.seed = s;
    }
    r.mixed_precision |= a.amp;
    if let Some(u) = a.lr_update {
        r.lr_update = u;
    }
    if r.epochs == 0 || r.batch_size == 0 {
        return Err(CliError::new(
            "--epochs and --batch-size must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Refuses to resume a run with arguments that would train another recipe,
/// model or data than the run recorded: one line names the key and both values.
fn same_run(
    out: &Path,
    s: &session::Session,
    recipe: &Recipe,
    record: &regnet_record::RunRecord,
) -> Result<(), CliError> {
    let path = out.join(session::RUN_CONFIG);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| CliError::io("read the run's config", &path, e))?;
    let was: serde_yaml::Value = regnet_config::yaml::from_str(&text)
        .map_err(|e| CliError::new(format!("'{}': {e}", path.display())))?;
    let now = regnet_config::complete(&s.spec, s.im_size, recipe);
    if let Some(d) = regnet_config::first_difference(&was, &now) {
        return Err(CliError::new(format!(
            "--resume: {} was {} in the run ({}), the arguments now give {}; resume with the run's arguments",
            d.key,
            d.was,
            path.display(),
            d.now
        )));
    }
    let recorded = session::read_record(out)?;
    if recorded.data != record.data {
        return Err(CliError::new(format!(
            "--resume: --data was '{}' in the run, now '{}'; resume with the run's data",
            recorded.data, record.data
        )));
    }
    Ok(())
}

/// Refuses to overwrite an earlier run's results, and to resume nothing.
fn prepare_out(out: &Path, resume: bool) -> Result<(), CliError> {
    if resume && !out.join(CHECKPOINT).exists() {
        return Err(CliError::new(format!(
            "--resume: {} holds no {CHECKPOINT} to resume from",
            out.display()
        )));
    }
    if !resume && out.join("log.jsonl").exists() {
        return Err(CliError::new(format!(
            "{} already holds a run (log.jsonl); resume it with --resume, or choose another --out",
            out.display()
        )));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| CliError::new(format!("cannot create '{}': {e}", out.display())))
}

/// Drops log records of epochs the checkpoint does not include (a run killed
/// after logging an epoch but before checkpointing it repeats that epoch).
fn keep_logged_epochs(log: &Path, epochs_done: usize) -> Result<(), CliError> {
    let text = match std::fs::read_to_string(log) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        read => read.map_err(|e| CliError::io("read", log, e))?,
    };
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["epoch"].as_u64())
                .is_some_and(|e| e as usize <= epochs_done)
        })
        .collect();
    let text: String = kept.iter().map(|l| format!("{l}\n")).collect();
    crate::session::write_text(log, &text)
}

/// Shows a progress bar within epochs, prints and logs every epoch.
struct Progress<'a> {
    bar: ProgressBar,
    log: &'a mut std::fs::File,
    /// Why the log could not be written (the run then stops).
    log_error: &'a mut Option<std::io::Error>,
    epochs: usize,
    /// `--trace`: where each step's line goes.
    trace: Option<std::io::BufWriter<std::fs::File>>,
}

/// Gradient norms a step trace line lists: the largest few.
const TRACE_TOP: usize = 5;

impl Observer for Progress<'_> {
    fn traces_steps(&self) -> bool {
        self.trace.is_some()
    }

    fn step(&mut self, mut t: StepTrace) {
        let Some(w) = self.trace.as_mut() else { return };
        t.norms.sort_by(|a, b| b.1.total_cmp(&a.1));
        t.norms.truncate(TRACE_TOP);
        let line = json!({
            "epoch": t.epoch, "step": t.step, "lr": t.lr, "loss": t.loss,
            "grad_norm": t.grad_norm, "top": t.norms,
        });
        if let Err(e) = writeln!(w, "{line}") {
            self.bar
                .suspend(|| eprintln!("warning: step trace not written: {e}"));
            self.trace = None;
        }
    }

    fn batch(&mut self, p: BatchProgress) -> ControlFlow<()> {
        if p.done == 1 {
            self.bar.reset();
            self.bar.set_length(p.total as u64);
            self.bar
                .set_prefix(format!("epoch {}/{}", p.epoch + 1, self.epochs));
        }
        self.bar.set_position(p.done as u64);
        self.bar.set_message(format!("{:.3}", p.loss));
        ControlFlow::Continue(())
    }

    /// Logs the epoch; a log that cannot be written stops the run before
    /// the checkpoint would say the epoch is done.
    fn epoch(&mut self, e: &EpochRecord) -> ControlFlow<Stop> {
        self.bar.suspend(|| print_epoch(e, self.epochs));
        let line = serde_json::to_string(e).map_err(std::io::Error::other);
        match line.and_then(|l| writeln!(self.log, "{l}").and_then(|()| self.log.flush())) {
            Ok(()) => ControlFlow::Continue(()),
            Err(err) => {
                *self.log_error = Some(err);
                ControlFlow::Break(Stop::Unrecorded)
            }
        }
    }
}

fn print_epoch(e: &EpochRecord, epochs: usize) {
    let ema = e
        .test_ema_top1_err
        .map_or(String::new(), |v| format!("  ema err {v:.2}%"));
    // The engine reports every field; NaN would show one it did not.
    let v = |x: Option<f64>| x.unwrap_or(f64::NAN);
    eprintln!(
        "epoch {}/{epochs}  lr {:.4}  loss {:.3}  train err {:.2}%  test err {:.2}% (top-5 {:.2}%){ema}  {:.0} img/s  {:.1} s",
        e.epoch,
        v(e.lr),
        v(e.train_loss),
        v(e.train_top1_err),
        e.test_top1_err,
        v(e.test_top5_err),
        v(e.images_per_s),
        e.seconds
    );
}
