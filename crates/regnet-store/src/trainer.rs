//! What trains a sweep's jobs: the built-in engine, or a command of the
//! user's own (pycls's trainer, a PyTorch script), recorded with the sweep
//! so every worker runs the same one.

use serde::{Deserialize, Serialize};

/// A user's training command, run once per job attempt in the job's
/// directory. Its arguments may name `{config}` (the job's config file),
/// `{out_dir}` (the job's directory), `{job}` (its name), `{data}` (the
/// sweep's dataset) and `{epochs}`; each is replaced before the command
/// starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainerCommand {
    /// The program and its arguments (not a shell line).
    pub command: Vec<String>,
    /// How the command reports its epochs.
    pub format: TrainerFormat,
    /// For jsonl: the file (in the job's directory, or absolute) the
    /// trainer appends its records to, read as it grows, instead of its
    /// standard output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// How a trainer reports its epochs on standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainerFormat {
    /// One JSON object per line with `regnet train`'s `log.jsonl` names
    /// (`epoch`, `test_top1_err` required).
    Jsonl,
    /// pycls's own `json_stats: {...}` lines (`train_epoch`, `test_epoch`).
    Pycls,
}

impl TrainerFormat {
    pub const NAMES: &'static str = "jsonl or pycls";

    pub fn name(self) -> &'static str {
        match self {
            TrainerFormat::Jsonl => "jsonl",
            TrainerFormat::Pycls => "pycls",
        }
    }
}

impl std::str::FromStr for TrainerFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" => Ok(TrainerFormat::Jsonl),
            "pycls" => Ok(TrainerFormat::Pycls),
            _ => Err(format!(
                "unknown trainer format '{s}' (allowed: {})",
                TrainerFormat::NAMES
            )),
        }
    }
}

/// The placeholders a trainer command's arguments may name.
pub const PLACEHOLDERS: [&str; 5] = ["{config}", "{out_dir}", "{job}", "{data}", "{epochs}"];

impl TrainerCommand {
    /// Checks the command: a program, and no `{...}` but the placeholders.
    pub fn validate(&self) -> Result<(), String> {
        if self.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(
                "TRAINER.COMMAND: name a program, e.g. [python, train.py, --cfg, \"{config}\"]"
                    .into(),
            );
        }
        match &self.file {
            Some(f) if self.format != TrainerFormat::Jsonl => {
                return Err(format!(
                    "TRAINER.FILE '{f}': only a jsonl trainer reports through a file (pycls logs to its standard output)"
                ))
            }
            Some(f) if f.trim().is_empty() => {
                return Err("TRAINER.FILE: name a file, e.g. metrics.jsonl".into())
            }
            _ => {}
        }
        for arg in &self.command {
            let mut rest = arg.as_str();
            while let Some(i) = rest.find('{') {
                let tail = &rest[i..];
                match PLACEHOLDERS.iter().find(|p| tail.starts_with(**p)) {
                    Some(p) => rest = &tail[p.len()..],
                    None => {
                        return Err(format!(
                            "TRAINER.COMMAND: unknown placeholder in '{arg}' (allowed: {})",
                            PLACEHOLDERS.join(", ")
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    /// The command with its placeholders replaced by `values` (in
    /// [`PLACEHOLDERS`]'s order).
    pub fn resolve(&self, values: [&str; 5]) -> Vec<String> {
        self.command
            .iter()
            .map(|arg| {
                PLACEHOLDERS
                    .iter()
                    .zip(values)
                    .fold(arg.clone(), |a, (p, v)| a.replace(p, v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> TrainerCommand {
        TrainerCommand {
            command: args.iter().map(|s| s.to_string()).collect(),
            format: TrainerFormat::Jsonl,
            file: None,
        }
    }

    #[test]
    fn placeholders_are_checked_and_replaced() {
        let c = cmd(&[
            "python",
            "t.py",
            "--cfg={config}",
            "{out_dir}/x",
            "{job}{epochs}",
        ]);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(
            c.resolve(["/j/config.yaml", "/j", "job-0001", "synthetic:10", "6"]),
            [
                "python",
                "t.py",
                "--cfg=/j/config.yaml",
                "/j/x",
                "job-00016"
            ]
        );
        let e = cmd(&["python", "{cfg}"]).validate().unwrap_err();
        assert!(e.contains("'{cfg}'") && e.contains("{out_dir}"), "{e}");
        assert!(cmd(&[]).validate().is_err());
        assert!(cmd(&[" "]).validate().is_err());
        let mut pycls = cmd(&["python", "run_net.py"]);
        pycls.format = TrainerFormat::Pycls;
        pycls.file = Some("log.jsonl".into());
        assert!(pycls
            .validate()
            .unwrap_err()
            .contains("only a jsonl trainer"));
        assert_eq!("pycls".parse(), Ok(TrainerFormat::Pycls));
        assert!("json"
            .parse::<TrainerFormat>()
            .unwrap_err()
            .contains("jsonl or pycls"));
    }
}
