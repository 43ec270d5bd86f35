//! Where a sweep lives. Every sweep command takes a sweep directory (its
//! SQLite store is `DIR/sweep.db`) or a PostgreSQL store URL
//! (`postgres://USER:PASSWORD@HOST/DB?sweep=NAME`). Job files — logs,
//! checkpoints, final weights — go to the sweep's work directory: the sweep
//! directory itself, or for a URL the directory recorded at `sweep init`
//! (`--dir`), which should be on a disk every worker host shares so a
//! re-queued job resumes from its checkpoint wherever it lands.

use crate::CliError;
use regnet_store::{PgStore, PgUrl, SqliteStore, SweepStore};
use std::path::{Path, PathBuf};

/// A sweep as the user named it.
#[derive(Clone)]
pub enum Target {
    Dir(PathBuf),
    Url(Box<PgUrl>),
}

/// An opened sweep: its store and its work directory.
pub struct Sweep {
    pub store: Box<dyn SweepStore>,
    pub dir: PathBuf,
    pub target: Target,
}

/// The sweep store file inside a sweep directory.
pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("sweep.db")
}

/// A job's own directory (logs, checkpoint, final weights).
pub fn job_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("jobs").join(name)
}

/// The settings key holding a URL sweep's work directory.
pub const WORK_DIR: &str = "work_dir";

impl Target {
    pub fn parse(s: &str) -> Result<Target, CliError> {
        if PgUrl::is_url(s) {
            return Ok(Target::Url(Box::new(PgUrl::parse(s)?)));
        }
        if s.contains("://") {
            return Err(CliError(format!(
                "'{s}': a sweep is a directory or a postgres:// URL"
            )));
        }
        Ok(Target::Dir(PathBuf::from(s)))
    }

    /// Opens the store; `dir` overrides the work directory of a URL sweep.
    pub fn open(&self, dir: Option<&Path>) -> Result<Sweep, CliError> {
        let (store, dir): (Box<dyn SweepStore>, PathBuf) = match self {
            Target::Dir(d) => {
                if dir.is_some_and(|w| w != d) {
                    return Err(CliError(format!(
                        "--dir applies to store URLs; the sweep directory {} is its own work directory",
                        d.display()
                    )));
                }
                (Box::new(SqliteStore::open(&store_path(d))?), d.clone())
            }
            Target::Url(url) => {
                let store = PgStore::open(url)?;
                let work = match dir {
                    Some(d) => d.to_path_buf(),
                    None => work_dir(&store)?,
                };
                // The URL now names the sweep, for the worker processes.
                let target = Target::Url(Box::new(store.url().clone()));
                return Ok(Sweep {
                    store: Box::new(store),
                    dir: work,
                    target,
                });
            }
        };
        Ok(Sweep {
            store,
            dir,
            target: self.clone(),
        })
    }

    /// How to name the sweep on a command line (the password included:
    /// worker processes need it; it is never printed).
    pub fn arg(&self) -> String {
        match self {
            Target::Dir(d) => d.display().to_string(),
            Target::Url(u) => u.full(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Dir(d) => write!(f, "{}", d.display()),
            Target::Url(u) => write!(f, "{u}"),
        }
    }
}

/// The work directory recorded at `sweep init`.
fn work_dir(store: &PgStore) -> Result<PathBuf, CliError> {
    let info = store.info()?;
    info.settings[WORK_DIR]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| {
            CliError(format!(
                "{}: the sweep records no work directory; pass --dir",
                store.url()
            ))
        })
}

/// Opens a sweep named on the command line.
pub fn open(sweep: &str) -> Result<Sweep, CliError> {
    Target::parse(sweep)?.open(None)
}
