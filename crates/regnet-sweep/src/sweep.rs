//! An opened sweep: its store and its work directory. Every sweep command
//! takes a sweep directory (its SQLite store is `DIR/sweep.db`) or a
//! PostgreSQL store URL. Job files — logs, checkpoints, final weights — go to
//! the sweep's work directory: the sweep directory itself, or for a URL the
//! directory recorded at `sweep init` (`--dir`), which should be on a disk
//! every worker host shares so a re-queued job resumes from its checkpoint
//! wherever it lands.

use crate::{Result, SweepError};
use regnet_store::{Location, SweepStore};
use std::path::{Path, PathBuf};

/// A sweep's store and work directory.
pub struct Sweep {
    pub store: Box<dyn SweepStore>,
    /// Where job files go.
    pub dir: PathBuf,
    /// The store's location; a URL names the sweep (`?sweep=NAME`), so
    /// worker processes open the same one.
    pub location: Location,
}

/// A job's own directory (logs, checkpoint, final weights).
pub fn job_dir(dir: &Path, name: &str) -> PathBuf {
    dir.join("jobs").join(name)
}

impl Sweep {
    /// Opens the sweep at `location`; `dir` overrides a URL sweep's work
    /// directory (a sweep directory is its own).
    pub fn open(location: &Location, dir: Option<&Path>) -> Result<Sweep> {
        match location {
            Location::Dir(d) => {
                if dir.is_some_and(|w| w != d) {
                    return Err(SweepError::new(format!(
                        "--dir applies to store URLs; the sweep directory {} is its own work directory",
                        d.display()
                    )));
                }
                Ok(Sweep {
                    store: location.open()?,
                    dir: d.clone(),
                    location: location.clone(),
                })
            }
            Location::Url(url) => {
                let store = regnet_store::PgStore::open(url)?;
                let work = match dir {
                    Some(d) => d.to_path_buf(),
                    None => store
                        .info()?
                        .settings
                        .work_dir
                        .map(PathBuf::from)
                        .ok_or_else(|| {
                            SweepError::new(format!(
                                "{}: the sweep records no work directory; pass --dir",
                                store.url()
                            ))
                        })?,
                };
                // The URL now names the sweep, for the worker processes.
                let location = Location::Url(Box::new(store.url().clone()));
                Ok(Sweep {
                    store: Box::new(store),
                    dir: work,
                    location,
                })
            }
        }
    }

    /// Opens a sweep named on the command line (a directory or a URL).
    pub fn named(sweep: &str) -> Result<Sweep> {
        Sweep::open(&Location::parse(sweep)?, None)
    }
}
