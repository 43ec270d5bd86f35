//! The versioned schema: each migration runs once, in order, under an
//! advisory lock, in its own transaction; a newer schema is refused.

use super::connection::detail;
use super::url::PgUrl;
use crate::{Result, StoreError};
use postgres::{Client, Transaction};

/// The schema's migrations in order: version `i + 1` is `MIGRATIONS[i]`.
/// A shipped migration is never edited; a change is a new entry.
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE regnet_sweeps (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    info TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE regnet_jobs (
    id BIGSERIAL PRIMARY KEY,
    sweep_id BIGINT NOT NULL REFERENCES regnet_sweeps(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    flops BIGINT NOT NULL,
    params BIGINT NOT NULL,
    acts BIGINT NOT NULL,
    epochs INTEGER NOT NULL CHECK (epochs > 0),
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    claims INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    lease_token BIGINT,
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION,
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    error TEXT,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    UNIQUE (sweep_id, name)
);
CREATE INDEX regnet_jobs_queue ON regnet_jobs (sweep_id, state, id);
CREATE TABLE regnet_epochs (
    job_id BIGINT NOT NULL REFERENCES regnet_jobs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL CHECK (epoch > 0),
    lr DOUBLE PRECISION NOT NULL,
    train_loss DOUBLE PRECISION NOT NULL,
    train_top1_err DOUBLE PRECISION NOT NULL,
    test_top1_err DOUBLE PRECISION NOT NULL,
    test_top5_err DOUBLE PRECISION NOT NULL,
    test_ema_top1_err DOUBLE PRECISION,
    test_ema_top5_err DOUBLE PRECISION,
    images_per_s DOUBLE PRECISION NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, epoch)
);
",
    // 2: the memory layout of each job's last attempt (NCHW after a crash).
    "ALTER TABLE regnet_jobs ADD COLUMN layout TEXT;",
    // 3: each epoch's last learning rate (older rows read theirs as lr).
    "ALTER TABLE regnet_epochs ADD COLUMN lr_end DOUBLE PRECISION;",
    // 4: what a trainer of the user's own need not report may be unknown
    // (NULL), and what else it reports is kept (extra, JSON text).
    "ALTER TABLE regnet_epochs ALTER COLUMN lr DROP NOT NULL,
         ALTER COLUMN train_loss DROP NOT NULL,
         ALTER COLUMN train_top1_err DROP NOT NULL,
         ALTER COLUMN test_top5_err DROP NOT NULL,
         ALTER COLUMN images_per_s DROP NOT NULL,
         ADD COLUMN extra TEXT;",
];

/// The newest schema version this build knows.
pub(super) const LATEST: i32 = MIGRATIONS.len() as i32;

/// Advisory lock key serializing migrations ("regnet" in ASCII).
const MIGRATION_LOCK: i64 = 0x7265_676e_6574;

/// The schema version of the database, `None` when it holds no regnet store.
pub(super) fn schema_version(
    tx: &mut Transaction,
) -> std::result::Result<Option<i32>, postgres::Error> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('regnet_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    let v: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM regnet_schema", &[])?
        .try_get(0)?;
    Ok(Some(v.unwrap_or(0)))
}

pub(super) fn newer_schema(url: &PgUrl, v: i32) -> StoreError {
    StoreError::new(format!(
        "{}: store schema version {v} is newer than this regnet's ({LATEST}); use a newer regnet",
        url.shown
    ))
}

/// Brings the schema to `LATEST` (creating it in an empty database); a
/// newer schema is refused with nothing written.
pub(super) fn migrate(client: &mut Client, url: &PgUrl) -> Result<()> {
    let fail =
        |e: postgres::Error| StoreError::new(format!("{}: migrating: {}", url.shown, detail(&e)));
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    let current = schema_version(&mut tx).map_err(fail)?;
    if let Some(v) = current.filter(|v| *v > LATEST) {
        return Err(newer_schema(url, v));
    }
    if current.is_none() {
        tx.batch_execute(
            "CREATE TABLE regnet_schema (
                 version INTEGER PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .map_err(fail)?;
    }
    let from = current.unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO regnet_schema (version) VALUES ($1)",
            &[&(i as i32 + 1)],
        )
        .map_err(fail)?;
    }
    tx.commit().map_err(fail)
}
