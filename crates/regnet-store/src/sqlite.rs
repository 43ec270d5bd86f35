//! The embedded default store: one SQLite file in WAL mode, so a scheduler,
//! its worker processes and `sweep status` read and write it concurrently.

use crate::rows::{
    epoch_columns, epoch_gap, job_columns, job_problems, EpochRow, JobRow, EPOCH_REALS,
};
use crate::{
    after_attempt, now, Counts, EpochRecord, Fault, Job, JobRecord, Lease, NewJob, Outcome, Result,
    StoreError, SweepInfo, SweepStore,
};
use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Version of the schema below; a store of another version is refused.
const SCHEMA_VERSION: i64 = 5;

/// Upgrades from older schema versions, in order: `(from, sql)`.
const UPGRADES: &[(i64, &str)] = &[
    // 3: the memory layout of each job's last attempt.
    (2, "ALTER TABLE jobs ADD COLUMN layout TEXT;"),
    // 4: each epoch's last learning rate (older rows read theirs as lr).
    (3, "ALTER TABLE epochs ADD COLUMN lr_end REAL;"),
    // 5: what a trainer of the user's own need not report may be unknown
    // (NULL), and what else it reports is kept (extra, JSON text). SQLite
    // drops NOT NULL only by copying the table.
    (
        4,
        "CREATE TABLE epochs_v5 (
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            epoch INTEGER NOT NULL CHECK (epoch > 0),
            lr REAL, lr_end REAL, train_loss REAL, train_top1_err REAL,
            test_top1_err REAL NOT NULL, test_top5_err REAL,
            test_ema_top1_err REAL, test_ema_top5_err REAL,
            images_per_s REAL, seconds REAL NOT NULL, extra TEXT,
            PRIMARY KEY (job_id, epoch)
        );
        INSERT INTO epochs_v5 (job_id, epoch, lr, lr_end, train_loss, train_top1_err,
            test_top1_err, test_top5_err, test_ema_top1_err, test_ema_top5_err,
            images_per_s, seconds)
        SELECT job_id, epoch, lr, lr_end, train_loss, train_top1_err, test_top1_err,
            test_top5_err, test_ema_top1_err, test_ema_top5_err, images_per_s, seconds
        FROM epochs;
        DROP TABLE epochs;
        ALTER TABLE epochs_v5 RENAME TO epochs;",
    ),
];

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    config TEXT NOT NULL,
    flops INTEGER NOT NULL,
    params INTEGER NOT NULL,
    acts INTEGER NOT NULL,
    epochs INTEGER NOT NULL CHECK (epochs > 0),
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    claims INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    lease_token INTEGER,
    lease_owner TEXT,
    lease_expires REAL,
    progress REAL NOT NULL DEFAULT 0,
    error TEXT,
    started_at REAL,
    finished_at REAL,
    layout TEXT
);
CREATE TABLE epochs (
    job_id INTEGER NOT NULL REFERENCES jobs(id),
    epoch INTEGER NOT NULL CHECK (epoch > 0),
    lr REAL,
    lr_end REAL,
    train_loss REAL,
    train_top1_err REAL,
    test_top1_err REAL NOT NULL,
    test_top5_err REAL,
    test_ema_top1_err REAL,
    test_ema_top5_err REAL,
    images_per_s REAL,
    seconds REAL NOT NULL,
    extra TEXT,
    PRIMARY KEY (job_id, epoch)
);
";

/// How long a call waits for another process's write lock before failing
/// (seconds; `REGNET_STORE_BUSY_TIMEOUT` changes it, e.g. for tests).
fn busy_timeout() -> Duration {
    let secs = std::env::var("REGNET_STORE_BUSY_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(20.0);
    Duration::from_secs_f64(secs)
}

/// A sweep store in one SQLite file.
pub struct SqliteStore {
    conn: RefCell<Connection>,
    path: PathBuf,
}

impl SqliteStore {
    /// Creates a new store holding `info` and `jobs`, all or nothing: the file
    /// is written under a temporary name and renamed into place, so a failed
    /// or interrupted `init` (or `migrate-store`) leaves no partial sweep
    /// behind. An existing store is refused unless `replace`, which deletes
    /// it (with its write-ahead log) once the new one is written.
    pub fn create(
        path: &Path,
        info: &SweepInfo,
        jobs: &[JobRecord],
        replace: bool,
    ) -> Result<Self> {
        if path.exists() && !replace {
            return Err(StoreError::new(format!(
                "{} already exists",
                path.display()
            )));
        }
        regnet_record::atomic::write_atomically::<StoreError>(path, |tmp| {
            write_new(tmp, info, jobs)?;
            // A stale write-ahead log must not be replayed into the new file.
            for suffix in ["-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            Ok(())
        })?;
        Self::open(path)
    }

    /// Opens an existing store, checking that it is one.
    pub fn open(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(StoreError::new(format!(
                "no sweep store at {} (create one with `regnet sweep init`)",
                path.display()
            )));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| db_error(path, e))?;
        conn.busy_timeout(busy_timeout())
            .map_err(|e| db_error(path, e))?;
        let store = SqliteStore {
            conn: RefCell::new(conn),
            path: path.to_path_buf(),
        };
        store.check_schema()?;
        store
            .conn
            .borrow()
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_error(path, e))?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<()> {
        let version: Option<String> = self
            .conn
            .borrow()
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match version.and_then(|v| v.parse::<i64>().ok()) {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(v) if UPGRADES.iter().any(|(from, _)| *from == v) => self.upgrade(v),
            Some(v) => Err(StoreError::new(format!(
                "{}: store schema version {v}, this regnet reads version {SCHEMA_VERSION}",
                self.path.display()
            ))),
            None => Err(StoreError::new(format!(
                "{} is not a regnet sweep store (no schema version)",
                self.path.display()
            ))),
        }
    }

    /// Applies the upgrades from version `from` on, in one transaction.
    fn upgrade(&self, from: i64) -> Result<()> {
        self.write(|tx| {
            for (v, sql) in UPGRADES.iter().filter(|(v, _)| *v >= from) {
                tx.execute_batch(sql)?;
                tx.execute(
                    "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
                    [(v + 1).to_string()],
                )?;
            }
            Ok(())
        })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        db_error(&self.path, e)
    }

    /// Runs `f` in an immediate (write-locking) transaction.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.conn.borrow_mut();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error(&self.path, e))?;
        let out = f(&tx).map_err(|e| db_error(&self.path, e))?;
        tx.commit().map_err(|e| db_error(&self.path, e))?;
        Ok(out)
    }

    fn read_jobs(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Job>> {
        let conn = self.conn.borrow();
        let sql = format!(
            "SELECT {} FROM jobs j {filter} ORDER BY j.id",
            job_columns("epochs")
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(args, job_row)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| r.into_job()).collect()
    }
}

/// Writes the schema, info and jobs into a fresh file in one transaction.
fn write_new(path: &Path, info: &SweepInfo, jobs: &[JobRecord]) -> Result<()> {
    let mut conn = Connection::open(path).map_err(|e| db_error(path, e))?;
    let tx = conn.transaction().map_err(|e| db_error(path, e))?;
    let run = |tx: &rusqlite::Transaction| -> rusqlite::Result<()> {
        tx.execute_batch(SCHEMA)?;
        let info_json = serde_json::to_string(info).unwrap_or_default();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('info', ?2)",
            params![SCHEMA_VERSION.to_string(), info_json],
        )?;
        insert_jobs(tx, jobs)?;
        Ok(())
    };
    run(&tx).map_err(|e| db_error(path, e))?;
    tx.commit().map_err(|e| db_error(path, e))
}

/// Inserts job records (and their epochs) after the existing ones.
fn insert_jobs(tx: &rusqlite::Transaction, jobs: &[JobRecord]) -> rusqlite::Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO jobs (name, config, flops, params, acts, epochs, state, claims,
             failures, progress, error, started_at, finished_at, layout)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING id",
    )?;
    for j in jobs {
        let s = &j.spec;
        let id: i64 = insert.query_row(
            params![
                s.name,
                s.config.to_string(),
                s.flops as i64,
                s.params as i64,
                s.acts as i64,
                s.epochs,
                j.state.as_str(),
                j.claims,
                j.failures,
                j.progress,
                j.error,
                j.started_at,
                j.finished_at,
                j.layout
            ],
            |r| r.get(0),
        )?;
        for e in &j.epochs {
            insert_epoch(tx, id, e)?;
        }
    }
    Ok(())
}

/// Writes an epoch's record, replacing one of the same epoch.
fn insert_epoch(tx: &rusqlite::Transaction, job_id: i64, e: &EpochRecord) -> rusqlite::Result<()> {
    use rusqlite::types::Value;
    let row = EpochRow::of(e);
    let mut values = vec![Value::Integer(job_id), Value::Integer(row.epoch)];
    values.extend(row.reals.iter().map(|v| v.map_or(Value::Null, Value::Real)));
    values.push(row.extra.map_or(Value::Null, Value::Text));
    let marks = (1..=values.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>();
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO epochs (job_id, {}) VALUES ({})",
            epoch_columns(),
            marks.join(", ")
        ),
        rusqlite::params_from_iter(values),
    )?;
    Ok(())
}

fn job_row(r: &rusqlite::Row) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        name: r.get(1)?,
        config: r.get(2)?,
        cx: [r.get(3)?, r.get(4)?, r.get(5)?],
        epochs: r.get(6)?,
        state: r.get(7)?,
        claims: r.get(8)?,
        failures: r.get(9)?,
        progress: r.get(10)?,
        error: r.get(11)?,
        lease_owner: r.get(12)?,
        times: [r.get(13)?, r.get(14)?, r.get(15)?],
        epochs_done: r.get(16)?,
        errs: [r.get(17)?, r.get(18)?, r.get(19)?],
        train_seconds: r.get(20)?,
        layout: r.get(21)?,
    })
}

/// One line naming the store and what went wrong, for the usual failures.
fn db_error(path: &Path, e: rusqlite::Error) -> StoreError {
    let p = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::of(
            Fault::Unreachable,
            format!(
            "{p} is locked by another process (waited {} s); is another program holding it open?",
            busy_timeout().as_secs_f64()
        ),
        ),
        Some(ErrorCode::NotADatabase) => StoreError::new(format!(
            "{p} is not a regnet sweep store (not an SQLite database)"
        )),
        Some(ErrorCode::DatabaseCorrupt) => StoreError::new(format!(
            "{p} is corrupt ({e}); restore it from a copy or start a new sweep"
        )),
        Some(ErrorCode::CannotOpen) => {
            // SQLite does not say why; the file system does (read-only, say).
            let io = std::fs::OpenOptions::new().append(true).open(path).err();
            let why = io.as_ref().map_or(String::new(), |io| format!(" ({io})"));
            let fault = io.as_ref().map_or(Fault::Final, Fault::of_io);
            StoreError::of(fault, format!("cannot open {p}: {e}{why}"))
        }
        Some(ErrorCode::ReadOnly) => {
            StoreError::of(Fault::Storage, format!("{p} is read-only: {e}"))
        }
        // A full disk, or a write the file system below refused (SQLite
        // calls a disk turned read-only under it an I/O error).
        Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure) => {
            StoreError::of(Fault::Storage, format!("{p}: {e}"))
        }
        _ => StoreError::new(format!("{p}: {e}")),
    }
}

/// The condition under which a lease is still held.
const HELD: &str = "id = ?1 AND lease_token = ?2 AND state = 'running'";

impl SweepStore for SqliteStore {
    fn clock(&self) -> Result<f64> {
        Ok(now())
    }

    fn info(&self) -> Result<SweepInfo> {
        let text: String = self
            .conn
            .borrow()
            .query_row("SELECT value FROM meta WHERE key = 'info'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.err(e))?;
        serde_json::from_str(&text).map_err(|e| {
            StoreError::new(format!(
                "{}: sweep info unreadable: {e}",
                self.path.display()
            ))
        })
    }

    fn jobs(&self) -> Result<Vec<Job>> {
        self.read_jobs("", [])
    }

    fn job(&self, id: i64) -> Result<Option<Job>> {
        Ok(self.read_jobs("WHERE j.id = ?1", [id])?.pop())
    }

    fn counts(&self) -> Result<Counts> {
        let conn = self.conn.borrow();
        let mut stmt = conn
            .prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Counts::from_rows(rows)
    }

    fn epochs(&self, job_id: i64) -> Result<Vec<EpochRecord>> {
        let conn = self.conn.borrow();
        let sql = format!(
            "SELECT {} FROM epochs WHERE job_id = ?1 ORDER BY epoch",
            epoch_columns()
        );
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([job_id], |r| {
                let mut reals = [None; EPOCH_REALS];
                for (i, v) in reals.iter_mut().enumerate() {
                    *v = r.get(i + 1)?;
                }
                Ok(EpochRow {
                    epoch: r.get(0)?,
                    reals,
                    extra: r.get(EPOCH_REALS + 1)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| r.into_record(job_id)).collect()
    }

    fn requeue_expired(&self) -> Result<usize> {
        self.write(|tx| requeue_expired(tx, now()))
    }

    fn requeue_owner(&self, owner: &str) -> Result<usize> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'pending', lease_token = NULL, lease_owner = NULL,
                     lease_expires = NULL
                 WHERE state = 'running' AND lease_owner = ?1",
                [owner],
            )
        })
    }

    fn claim(&self, owner: &str, lease: Duration) -> Result<Option<(Job, Lease)>> {
        let t = now();
        let claimed = self.write(|tx| {
            requeue_expired(tx, t)?;
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM jobs WHERE state = 'pending' ORDER BY id LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else { return Ok(None) };
            let token: i64 = tx.query_row(
                "UPDATE jobs SET state = 'running', claims = claims + 1,
                     lease_token = claims + 1, lease_owner = ?2, lease_expires = ?3,
                     started_at = COALESCE(started_at, ?4)
                 WHERE id = ?1 RETURNING lease_token",
                params![id, owner, t + lease.as_secs_f64(), t],
                |r| r.get(0),
            )?;
            Ok(Some(Lease { job_id: id, token }))
        })?;
        let Some(lease) = claimed else {
            return Ok(None);
        };
        let job = self
            .read_jobs("WHERE j.id = ?1", [lease.job_id])?
            .pop()
            .ok_or_else(|| StoreError::new(format!("job {} vanished", lease.job_id)))?;
        Ok(Some((job, lease)))
    }

    fn heartbeat(&self, lease: &Lease, duration: Duration, progress: f64) -> Result<bool> {
        let expires = now() + duration.as_secs_f64();
        self.write(|tx| {
            let n = tx.execute(
                &format!("UPDATE jobs SET lease_expires = ?3, progress = ?4 WHERE {HELD}"),
                params![lease.job_id, lease.token, expires, progress],
            )?;
            Ok(n == 1)
        })
    }

    fn renew(&self, lease: &Lease, duration: Duration) -> Result<bool> {
        let expires = now() + duration.as_secs_f64();
        self.write(|tx| {
            let n = tx.execute(
                &format!("UPDATE jobs SET lease_expires = ?3 WHERE {HELD}"),
                params![lease.job_id, lease.token, expires],
            )?;
            Ok(n == 1)
        })
    }

    fn set_layout(&self, lease: &Lease, layout: &str) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                &format!("UPDATE jobs SET layout = ?3 WHERE {HELD}"),
                params![lease.job_id, lease.token, layout],
            )?;
            Ok(n == 1)
        })
    }

    fn resume_at(&self, lease: &Lease, epochs_done: u32) -> Result<bool> {
        self.write(|tx| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM epochs WHERE job_id = ?1 AND epoch > ?2",
                params![lease.job_id, epochs_done],
            )?;
            tx.execute(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1",
                params![lease.job_id, epochs_done],
            )?;
            Ok(true)
        })
    }

    fn record_epoch(&self, lease: &Lease, e: &EpochRecord) -> Result<bool> {
        self.write(|tx| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            insert_epoch(tx, lease.job_id, e)?;
            tx.execute(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1",
                params![lease.job_id, e.epoch],
            )?;
            Ok(true)
        })
    }

    fn finish(&self, lease: &Lease, outcome: &Outcome) -> Result<bool> {
        let max_attempts = self.info()?.max_attempts;
        let t = now();
        self.write(|tx| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            let (failures, layout): (u32, Option<String>) = tx.query_row(
                "SELECT failures, layout FROM jobs WHERE id = ?1",
                [lease.job_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let next = after_attempt(outcome, failures, layout.as_deref(), max_attempts);
            tx.execute(
                "UPDATE jobs SET state = ?2, failures = ?3, layout = ?4, error = ?5,
                     progress = CASE WHEN ?2 = 'done' THEN epochs ELSE progress END,
                     finished_at = CASE WHEN ?6 THEN ?7 ELSE NULL END,
                     lease_token = NULL, lease_owner = NULL, lease_expires = NULL
                 WHERE id = ?1",
                params![
                    lease.job_id,
                    next.state.as_str(),
                    next.failures,
                    next.layout,
                    next.error,
                    next.finished(),
                    t
                ],
            )?;
            Ok(true)
        })
    }

    fn retry_failed(&self) -> Result<usize> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = 'pending', failures = 0, finished_at = NULL
                 WHERE state = 'failed'",
                [],
            )
        })
    }

    fn extend(&self, info: &SweepInfo, jobs: &[NewJob]) -> Result<()> {
        let info_json = serde_json::to_string(info).unwrap_or_default();
        let records: Vec<JobRecord> = jobs.iter().cloned().map(JobRecord::new).collect();
        self.write(|tx| {
            tx.execute(
                "UPDATE meta SET value = ?1 WHERE key = 'info'",
                params![info_json],
            )?;
            insert_jobs(tx, &records)
        })
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        let conn = self.conn.borrow();
        let sqlite: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let mut problems = Vec::new();
        if sqlite != "ok" {
            problems.push(format!("SQLite integrity check: {sqlite}"));
        }
        let mut stmt = conn
            .prepare(
                "SELECT j.name, COUNT(*), MAX(e.epoch) FROM epochs e JOIN jobs j ON j.id = e.job_id
                 GROUP BY e.job_id HAVING MAX(e.epoch) != COUNT(*)",
            )
            .map_err(|e| self.err(e))?;
        let gaps = stmt
            .query_map([], |r| {
                Ok(epoch_gap(&r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        problems.extend(gaps);
        drop(stmt);
        drop(conn);
        for job in self.jobs()? {
            problems.extend(job_problems(&job));
        }
        Ok(problems)
    }
}

/// Whether `lease` is still the job's current lease.
fn holds(tx: &rusqlite::Transaction, lease: &Lease) -> rusqlite::Result<bool> {
    tx.query_row(
        &format!("SELECT COUNT(*) FROM jobs WHERE {HELD}"),
        params![lease.job_id, lease.token],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n == 1)
}

fn requeue_expired(tx: &rusqlite::Transaction, t: f64) -> rusqlite::Result<usize> {
    tx.execute(
        "UPDATE jobs SET state = 'pending', lease_token = NULL, lease_owner = NULL,
             lease_expires = NULL
         WHERE state = 'running' AND lease_expires < ?1",
        [t],
    )
}
