//! `regnet`: design network design spaces from the command line.

/// `println!` for a command's output: a reader that stops reading
/// (`regnet sweep status DIR | head -1`) ends the command quietly instead
/// of a panic (see `format::print`).
macro_rules! say {
    () => {
        $crate::format::print("")
    };
    ($($arg:tt)*) => {
        $crate::format::print(&format!($($arg)*))
    };
}

mod commands;
mod crash_note;
mod datasource;
mod error;
mod format;
mod refine;
mod resolve;
mod session;
mod sweep;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Design network design spaces: describe and count models exactly as pycls
/// does, the RegNet paper's way.
#[derive(Parser)]
#[command(name = "regnet", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The end-to-end mini-study: AnyNetX_A vs RegNetX on Fashion-MNIST (synthetic data where it is not installed).
    Demo(commands::demo::Args),
    /// Show a model's stages and its exact flops, params and activations.
    Describe(commands::describe::Args),
    /// List every zoo model with its complexity.
    Zoo(commands::zoo::Args),
    /// Design spaces: list, info, sample, stats.
    Space(commands::space::Args),
    /// Compare populations (sweeps or pycls sweep.json files) in one HTML report.
    Compare(commands::analyze::CompareArgs),
    /// Fit the RegNet quantized linear rule (w0, wa, wm) to per-block widths.
    Fit(commands::fit::Args),
    /// What predicts run time here: time models, fit time against flops,
    /// params and activations (for describe/space --time-model).
    TimeModel(commands::time_model::Args),
    /// Train one model (exit code 3 when the loss diverges).
    Train(commands::train::Args),
    /// Top-1 / top-5 error of weights on a dataset's test split.
    Eval(commands::eval::EvalArgs),
    /// Eval-mode logits of weights for an N x 3 x H x W .npy array.
    Predict(commands::eval::PredictArgs),
    /// The design loop: screen restrictions in a population, test the best
    /// on a fresh one, keep it when not worse; repeat (resumable).
    Refine(refine::Args),
    /// Population studies: init, run (here, on many machines or on Slurm), status, export, analyze.
    Sweep(sweep::Args),
    /// Hand trained weights on: safetensors, torchvision or pycls state dicts, TorchScript, ONNX.
    Export(commands::export::Args),
}

pub use error::CliError;

fn main() -> ExitCode {
    regnet_engine::keep_large_allocations_on_heap();

    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => commands::demo::run(&args),
        Command::Describe(args) => commands::describe::run(&args),
        Command::Zoo(args) => commands::zoo::run(&args),
        Command::TimeModel(args) => commands::time_model::run(&args),
        Command::Space(args) => commands::space::run(&args),
        Command::Compare(args) => commands::analyze::compare(&args),
        Command::Fit(args) => commands::fit::run(&args),
        Command::Eval(args) => commands::eval::eval(&args),
        Command::Predict(args) => commands::eval::predict(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::Refine(args) => refine::run(&args),
        Command::Sweep(args) => match sweep::run(&args) {
            Ok(0) => Ok(()),
            Ok(code) => return ExitCode::from(code),
            Err(e) => Err(e),
        },
        Command::Train(args) => match commands::train::run(&args) {
            Ok(false) => return ExitCode::from(commands::train::EXIT_DIVERGED),
            other => other.map(|_| ()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError { message: msg, .. }) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
