//! Where a sweep's store is, as users name it: a sweep directory (its SQLite
//! store is `DIR/sweep.db`) or a PostgreSQL URL
//! (`postgres://USER:PASSWORD@HOST/DB?sweep=NAME`). Every command opens and
//! creates stores through here, so the choice of back end is made once.

use crate::copy::JobRecord;
use crate::{PgStore, PgUrl, Result, SqliteStore, StoreError, SweepInfo, SweepStore};
use std::path::{Path, PathBuf};

/// A sweep store's location.
#[derive(Clone)]
pub enum Location {
    Dir(PathBuf),
    Url(Box<PgUrl>),
}

/// The store file inside a sweep directory.
pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("sweep.db")
}

impl Location {
    /// A directory or a `postgres://` URL; other URLs are refused.
    pub fn parse(s: &str) -> Result<Location> {
        if PgUrl::is_url(s) {
            return Ok(Location::Url(Box::new(PgUrl::parse(s)?)));
        }
        if s.contains("://") {
            return Err(StoreError::new(format!(
                "'{s}': a sweep is a directory or a postgres:// URL"
            )));
        }
        Ok(Location::Dir(PathBuf::from(s)))
    }

    /// Opens the existing store.
    pub fn open(&self) -> Result<Box<dyn SweepStore>> {
        Ok(match self {
            Location::Dir(d) => Box::new(SqliteStore::open(&store_path(d))?),
            Location::Url(u) => Box::new(PgStore::open(u)?),
        })
    }

    /// Whether a sweep is stored there already.
    pub fn holds_sweep(&self) -> Result<bool> {
        match self {
            Location::Dir(d) => Ok(store_path(d).exists()),
            Location::Url(u) => PgStore::holds(u),
        }
    }

    /// Creates the store holding `info` and `jobs`, all or nothing; a sweep
    /// already there is refused unless `replace`.
    pub fn create(
        &self,
        info: &SweepInfo,
        jobs: &[JobRecord],
        replace: bool,
    ) -> Result<Box<dyn SweepStore>> {
        match self {
            Location::Dir(d) => {
                let db = store_path(d);
                if db.exists() && !replace {
                    return Err(StoreError::new(format!(
                        "{} already holds a sweep; continue it with `regnet sweep run '{}'`, or pass --force to replace it",
                        d.display(),
                        d.display()
                    )));
                }
                std::fs::create_dir_all(d).map_err(|e| {
                    StoreError::new(format!("cannot create '{}': {e}", d.display()))
                })?;
                Ok(Box::new(SqliteStore::create(&db, info, jobs, replace)?))
            }
            Location::Url(u) => Ok(Box::new(PgStore::create(u, info, jobs, replace)?)),
        }
    }

    /// How to name the store on a command line (a URL's password included:
    /// worker processes need it; it is never printed).
    pub fn arg(&self) -> String {
        match self {
            Location::Dir(d) => d.display().to_string(),
            Location::Url(u) => u.full(),
        }
    }
}

impl std::fmt::Display for Location {
    /// The directory, or the URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(d) => write!(f, "{}", d.display()),
            Location::Url(u) => write!(f, "{u}"),
        }
    }
}
