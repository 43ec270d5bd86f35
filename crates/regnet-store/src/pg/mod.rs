//! The shared store for sweeps that span machines: one PostgreSQL database,
//! any number of sweeps in it (every job row names its sweep).
//!
//! Workers on any host claim jobs with `FOR UPDATE SKIP LOCKED`, so claims
//! neither wait on nor collide with one another. Lease times come from the
//! server's clock, so hosts whose clocks disagree still agree on when a lease
//! expires. A dropped connection is opened again and the transaction retried
//! (for `REGNET_STORE_RETRY_SECONDS`, default 300): a database restart or a
//! network blip costs a pause, not a job. The schema is versioned; each
//! migration runs once, under an advisory lock, in its own transaction.
//!
//! The client is the synchronous `postgres` crate: the scheduler and its
//! workers are plain blocking processes that make a few small transactions
//! a second, so an async client (tokio-postgres, sqlx) would add a runtime to
//! every call site and buy nothing; `postgres` is tokio-postgres behind a
//! blocking API, from the same well-kept project.

mod connection;
mod migrations;
mod url;

use connection::{connect, detail, fault, retry_window, transient};
use migrations::{migrate, newer_schema, schema_version, LATEST};
pub use url::PgUrl;

use crate::rows::{
    epoch_columns, epoch_gap, job_columns, job_problems, EpochRow, JobRow, EPOCH_REALS,
};
use crate::{
    after_attempt, Counts, EpochRecord, Job, JobRecord, Lease, NewJob, Outcome, Result, StoreError,
    SweepInfo, SweepStore,
};
use postgres::{Client, Row, Transaction};
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// Unix seconds on the server's clock.
const NOW: &str = "EXTRACT(EPOCH FROM clock_timestamp())::float8";

/// The condition under which a lease is still held.
const HELD: &str = "id = $1 AND lease_token = $2 AND state = 'running'";

/// A sweep in a PostgreSQL database.
pub struct PgStore {
    client: RefCell<Client>,
    url: PgUrl,
    sweep_id: i64,
}

impl PgStore {
    /// Creates sweep `info.name` (or the URL's `sweep`) holding `jobs`, in one
    /// transaction: a failure leaves nothing. An existing sweep of that name
    /// is an error unless `replace`, which deletes it first.
    pub fn create(
        url: &PgUrl,
        info: &SweepInfo,
        jobs: &[JobRecord],
        replace: bool,
    ) -> Result<Self> {
        let name = url.sweep().unwrap_or(&info.name).to_string();
        let url = url.with_sweep(&name);
        let mut client = connect(&url)?;
        migrate(&mut client, &url)?;
        let fail = |e: postgres::Error| StoreError::new(format!("{url}: {}", detail(&e)));
        let mut tx = client.transaction().map_err(fail)?;
        let existing = tx
            .query_opt("SELECT id FROM regnet_sweeps WHERE name = $1", &[&name])
            .map_err(fail)?;
        if existing.is_some() && !replace {
            return Err(StoreError::new(format!(
                "{url} already holds sweep '{name}'; continue it with `regnet sweep run '{url}'`, or pass --force to replace it"
            )));
        }
        tx.execute("DELETE FROM regnet_sweeps WHERE name = $1", &[&name])
            .map_err(fail)?;
        let info_json = serde_json::to_string(info).unwrap_or_default();
        let sweep_id: i64 = tx
            .query_one(
                &format!(
                    "INSERT INTO regnet_sweeps (name, info, created_at) VALUES ($1, $2, {NOW})
                     RETURNING id"
                ),
                &[&name, &info_json],
            )
            .and_then(|r| r.try_get(0))
            .map_err(fail)?;
        for j in jobs {
            insert_job(&mut tx, sweep_id, j).map_err(fail)?;
        }
        tx.commit().map_err(fail)?;
        Ok(PgStore {
            client: RefCell::new(client),
            url,
            sweep_id,
        })
    }

    /// Opens the URL's sweep (or the database's only sweep), migrating an
    /// older schema.
    pub fn open(url: &PgUrl) -> Result<Self> {
        let mut client = connect(url)?;
        let fail = |e: postgres::Error| StoreError::new(format!("{url}: {}", detail(&e)));
        let version = {
            let mut tx = client.transaction().map_err(fail)?;
            schema_version(&mut tx).map_err(fail)?
        };
        match version {
            None => {
                return Err(StoreError::new(format!(
                "no regnet sweeps in {} (create one with `regnet sweep init CONFIG --store URL`)",
                url.shown
            )))
            }
            Some(v) if v > LATEST => return Err(newer_schema(url, v)),
            Some(v) if v < LATEST => migrate(&mut client, url)?,
            Some(_) => {}
        }
        let sweeps = list(&mut client).map_err(fail)?;
        let pick = match url.sweep() {
            Some(name) => sweeps.iter().find(|(_, n)| n == name).ok_or_else(|| {
                StoreError::new(format!(
                    "no sweep '{name}' in {}; it holds: {}",
                    url.shown,
                    names(&sweeps)
                ))
            })?,
            None if sweeps.len() == 1 => &sweeps[0],
            None => {
                return Err(StoreError::new(format!(
                    "{} holds sweeps {}; name one with ?sweep=NAME",
                    url.shown,
                    names(&sweeps)
                )))
            }
        };
        Ok(PgStore {
            url: url.with_sweep(&pick.1),
            sweep_id: pick.0,
            client: RefCell::new(client),
        })
    }

    /// Whether the database holds the URL's sweep (one without regnet's
    /// tables holds none), so a command can create it or continue it.
    pub fn holds(url: &PgUrl) -> Result<bool> {
        let name = url
            .sweep()
            .ok_or_else(|| StoreError::new(format!("{url}: name the sweep with ?sweep=NAME")))?;
        let mut client = connect(url)?;
        let fail = |e: postgres::Error| StoreError::new(format!("{url}: {}", detail(&e)));
        let version = {
            let mut tx = client.transaction().map_err(fail)?;
            schema_version(&mut tx).map_err(fail)?
        };
        if version.is_none() {
            return Ok(false);
        }
        Ok(list(&mut client)
            .map_err(fail)?
            .iter()
            .any(|(_, n)| n == name))
    }

    /// The URL naming this sweep.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }

    /// Runs `f` in a transaction; a dropped connection (or a lost deadlock)
    /// reconnects and runs it again until the retry window closes.
    fn tx<T>(
        &self,
        mut f: impl FnMut(&mut Transaction, i64) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let deadline = Instant::now() + retry_window();
        let mut pause = Duration::from_millis(100);
        loop {
            let attempt = (|| {
                let mut client = self.client.borrow_mut();
                let mut tx = client.transaction()?;
                let out = f(&mut tx, self.sweep_id)?;
                tx.commit()?;
                Ok(out)
            })();
            match attempt {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) && Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(5));
                    if self.client.borrow().is_closed() {
                        if let Ok(c) = connect(&self.url) {
                            *self.client.borrow_mut() = c;
                        }
                    }
                }
                Err(e) => {
                    let message = format!("{}: {}", self.url, detail(&e));
                    return Err(StoreError::of(fault(&e), message));
                }
            }
        }
    }

    fn read_jobs(&self, filter: &str, id: Option<i64>) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {} FROM regnet_jobs j WHERE j.sweep_id = $1 {filter} ORDER BY j.id",
            job_columns("regnet_epochs")
        );
        let rows = self.tx(|tx, sweep| match id {
            Some(id) => tx.query(&sql, &[&sweep, &id]),
            None => tx.query(&sql, &[&sweep]),
        })?;
        let rows: Vec<JobRow> = rows
            .iter()
            .map(job_row)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| StoreError::new(format!("{}: {}", self.url, detail(&e))))?;
        rows.into_iter().map(JobRow::into_job).collect()
    }
}

/// Sweeps of the database: (id, name), oldest first.
fn list(client: &mut Client) -> std::result::Result<Vec<(i64, String)>, postgres::Error> {
    client
        .query("SELECT id, name FROM regnet_sweeps ORDER BY id", &[])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

fn names(sweeps: &[(i64, String)]) -> String {
    if sweeps.is_empty() {
        return "no sweeps".into();
    }
    sweeps
        .iter()
        .map(|s| s.1.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_job(
    tx: &mut Transaction,
    sweep_id: i64,
    j: &JobRecord,
) -> std::result::Result<(), postgres::Error> {
    let s = &j.spec;
    let id: i64 = tx
        .query_one(
            "INSERT INTO regnet_jobs (sweep_id, name, config, flops, params, acts, epochs, state,
                 claims, failures, progress, error, started_at, finished_at, layout)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             RETURNING id",
            &[
                &sweep_id,
                &s.name,
                &s.config.to_string(),
                &(s.flops as i64),
                &(s.params as i64),
                &(s.acts as i64),
                &(s.epochs as i32),
                &j.state.as_str(),
                &(j.claims as i32),
                &(j.failures as i32),
                &j.progress,
                &j.error,
                &j.started_at,
                &j.finished_at,
                &j.layout,
            ],
        )?
        .try_get(0)?;
    for e in &j.epochs {
        upsert_epoch(tx, id, e)?;
    }
    Ok(())
}

/// Writes an epoch's record, replacing one of the same epoch.
fn upsert_epoch(
    tx: &mut Transaction,
    job_id: i64,
    e: &EpochRecord,
) -> std::result::Result<(), postgres::Error> {
    let row = EpochRow::of(e);
    let epoch = row.epoch as i32;
    let mut values: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![&job_id, &epoch];
    values.extend(
        row.reals
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
    );
    values.push(&row.extra);
    let marks: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
    let updates: Vec<String> = regnet_record::VALUES
        .iter()
        .chain(&["extra"])
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    tx.execute(
        &format!(
            "INSERT INTO regnet_epochs (job_id, {}) VALUES ({})
             ON CONFLICT (job_id, epoch) DO UPDATE SET {}",
            epoch_columns(),
            marks.join(", "),
            updates.join(", ")
        ),
        &values,
    )?;
    Ok(())
}

fn job_row(r: &Row) -> std::result::Result<JobRow, postgres::Error> {
    let int = |i: usize| -> std::result::Result<u32, postgres::Error> {
        Ok(r.try_get::<_, i32>(i)? as u32)
    };
    Ok(JobRow {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        config: r.try_get(2)?,
        cx: [r.try_get(3)?, r.try_get(4)?, r.try_get(5)?],
        epochs: int(6)?,
        state: r.try_get(7)?,
        claims: int(8)?,
        failures: int(9)?,
        progress: r.try_get(10)?,
        error: r.try_get(11)?,
        lease_owner: r.try_get(12)?,
        times: [r.try_get(13)?, r.try_get(14)?, r.try_get(15)?],
        epochs_done: r.try_get::<_, i64>(16)? as u32,
        errs: [r.try_get(17)?, r.try_get(18)?, r.try_get(19)?],
        train_seconds: r.try_get(20)?,
        layout: r.try_get(21)?,
    })
}

/// Whether `lease` is still the job's current lease; locks the job's row
/// until the transaction ends, so a concurrent claim waits for this write.
fn holds(tx: &mut Transaction, lease: &Lease) -> std::result::Result<bool, postgres::Error> {
    Ok(tx
        .query_opt(
            &format!("SELECT 1 FROM regnet_jobs WHERE {HELD} FOR UPDATE"),
            &[&lease.job_id, &lease.token],
        )?
        .is_some())
}

/// Re-queues the sweep's running jobs whose lease expired (skipping rows
/// another transaction holds: it is writing under a live lease or claiming).
fn requeue_expired(tx: &mut Transaction, sweep: i64) -> std::result::Result<u64, postgres::Error> {
    tx.execute(
        &format!(
            "UPDATE regnet_jobs SET state = 'pending', lease_token = NULL, lease_owner = NULL,
                 lease_expires = NULL
             WHERE id IN (SELECT id FROM regnet_jobs
                          WHERE sweep_id = $1 AND state = 'running' AND lease_expires < {NOW}
                          FOR UPDATE SKIP LOCKED)"
        ),
        &[&sweep],
    )
}

impl SweepStore for PgStore {
    fn clock(&self) -> Result<f64> {
        self.tx(|tx, _| tx.query_one(&format!("SELECT {NOW}"), &[])?.try_get(0))
    }

    fn info(&self) -> Result<SweepInfo> {
        let text: String = self.tx(|tx, sweep| {
            tx.query_one("SELECT info FROM regnet_sweeps WHERE id = $1", &[&sweep])?
                .try_get(0)
        })?;
        serde_json::from_str(&text)
            .map_err(|e| StoreError::new(format!("{}: sweep info unreadable: {e}", self.url)))
    }

    fn jobs(&self) -> Result<Vec<Job>> {
        self.read_jobs("", None)
    }

    fn job(&self, id: i64) -> Result<Option<Job>> {
        Ok(self.read_jobs("AND j.id = $2", Some(id))?.pop())
    }

    fn counts(&self) -> Result<Counts> {
        let rows = self.tx(|tx, sweep| {
            tx.query(
                "SELECT state, COUNT(*) FROM regnet_jobs WHERE sweep_id = $1 GROUP BY state",
                &[&sweep],
            )?
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)))
            .collect::<std::result::Result<Vec<_>, postgres::Error>>()
        })?;
        Counts::from_rows(rows)
    }

    fn epochs(&self, job_id: i64) -> Result<Vec<EpochRecord>> {
        let rows = self.tx(|tx, _| {
            tx.query(
                &format!(
                    "SELECT {} FROM regnet_epochs WHERE job_id = $1 ORDER BY epoch",
                    epoch_columns()
                ),
                &[&job_id],
            )?
            .iter()
            .map(|r| {
                let mut reals = [None; EPOCH_REALS];
                for (i, v) in reals.iter_mut().enumerate() {
                    *v = r.try_get(i + 1)?;
                }
                Ok(EpochRow {
                    epoch: i64::from(r.try_get::<_, i32>(0)?),
                    reals,
                    extra: r.try_get(EPOCH_REALS + 1)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, postgres::Error>>()
        })?;
        rows.into_iter().map(|r| r.into_record(job_id)).collect()
    }

    fn requeue_expired(&self) -> Result<usize> {
        self.tx(requeue_expired).map(|n| n as usize)
    }

    fn requeue_owner(&self, owner: &str) -> Result<usize> {
        self.tx(|tx, sweep| {
            tx.execute(
                "UPDATE regnet_jobs SET state = 'pending', lease_token = NULL, lease_owner = NULL,
                     lease_expires = NULL
                 WHERE sweep_id = $1 AND state = 'running' AND lease_owner = $2",
                &[&sweep, &owner],
            )
        })
        .map(|n| n as usize)
    }

    fn claim(&self, owner: &str, lease: Duration) -> Result<Option<(Job, Lease)>> {
        let secs = lease.as_secs_f64();
        let claimed = self.tx(|tx, sweep| {
            requeue_expired(tx, sweep)?;
            let row = tx.query_opt(
                &format!(
                    "UPDATE regnet_jobs SET state = 'running', claims = claims + 1,
                         lease_token = claims + 1, lease_owner = $2, lease_expires = {NOW} + $3,
                         started_at = COALESCE(started_at, {NOW})
                     WHERE id = (SELECT id FROM regnet_jobs
                                 WHERE sweep_id = $1 AND state = 'pending'
                                 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING id, lease_token"
                ),
                &[&sweep, &owner, &secs],
            )?;
            let Some(r) = row else {
                return Ok(None);
            };
            let lease = Lease {
                job_id: r.try_get(0)?,
                token: r.try_get(1)?,
            };
            // The job is read in the claim's own transaction: read after it,
            // a connection dropped in between could delay the reply past
            // the lease it grants.
            let job = tx.query_one(
                &format!(
                    "SELECT {} FROM regnet_jobs j WHERE j.sweep_id = $1 AND j.id = $2",
                    job_columns("regnet_epochs")
                ),
                &[&sweep, &lease.job_id],
            )?;
            Ok(Some((lease, job_row(&job)?)))
        })?;
        let Some((lease, row)) = claimed else {
            return Ok(None);
        };
        Ok(Some((row.into_job()?, lease)))
    }

    fn heartbeat(&self, lease: &Lease, duration: Duration, progress: f64) -> Result<bool> {
        let secs = duration.as_secs_f64();
        self.tx(|tx, _| {
            let n = tx.execute(
                &format!(
                    "UPDATE regnet_jobs SET lease_expires = {NOW} + $3, progress = $4 WHERE {HELD}"
                ),
                &[&lease.job_id, &lease.token, &secs, &progress],
            )?;
            Ok(n == 1)
        })
    }

    fn renew(&self, lease: &Lease, duration: Duration) -> Result<bool> {
        let secs = duration.as_secs_f64();
        self.tx(|tx, _| {
            let n = tx.execute(
                &format!("UPDATE regnet_jobs SET lease_expires = {NOW} + $3 WHERE {HELD}"),
                &[&lease.job_id, &lease.token, &secs],
            )?;
            Ok(n == 1)
        })
    }

    fn set_layout(&self, lease: &Lease, layout: &str) -> Result<bool> {
        self.tx(|tx, _| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            tx.execute(
                "UPDATE regnet_jobs SET layout = $2 WHERE id = $1",
                &[&lease.job_id, &layout],
            )?;
            Ok(true)
        })
    }

    fn resume_at(&self, lease: &Lease, epochs_done: u32) -> Result<bool> {
        let done = epochs_done as i32;
        self.tx(|tx, _| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            tx.execute(
                "DELETE FROM regnet_epochs WHERE job_id = $1 AND epoch > $2",
                &[&lease.job_id, &done],
            )?;
            tx.execute(
                "UPDATE regnet_jobs SET progress = $2 WHERE id = $1",
                &[&lease.job_id, &(epochs_done as f64)],
            )?;
            Ok(true)
        })
    }

    fn record_epoch(&self, lease: &Lease, e: &EpochRecord) -> Result<bool> {
        self.tx(|tx, _| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            upsert_epoch(tx, lease.job_id, e)?;
            tx.execute(
                "UPDATE regnet_jobs SET progress = $2 WHERE id = $1",
                &[&lease.job_id, &(e.epoch as f64)],
            )?;
            Ok(true)
        })
    }

    fn finish(&self, lease: &Lease, outcome: &Outcome) -> Result<bool> {
        let max_attempts = self.info()?.max_attempts;
        self.tx(|tx, _| {
            if !holds(tx, lease)? {
                return Ok(false);
            }
            let row = tx.query_one(
                "SELECT failures, layout FROM regnet_jobs WHERE id = $1",
                &[&lease.job_id],
            )?;
            let (failures, layout): (i32, Option<String>) = (row.try_get(0)?, row.try_get(1)?);
            let next = after_attempt(outcome, failures as u32, layout.as_deref(), max_attempts);
            tx.execute(
                &format!(
                    "UPDATE regnet_jobs SET state = $2, failures = $3, layout = $4, error = $5,
                         progress = CASE WHEN $2 = 'done' THEN epochs ELSE progress END,
                         finished_at = CASE WHEN $6 THEN {NOW} ELSE NULL END,
                         lease_token = NULL, lease_owner = NULL, lease_expires = NULL
                     WHERE id = $1"
                ),
                &[
                    &lease.job_id,
                    &next.state.as_str(),
                    &(next.failures as i32),
                    &next.layout,
                    &next.error,
                    &next.finished(),
                ],
            )?;
            Ok(true)
        })
    }

    fn retry_failed(&self) -> Result<usize> {
        self.tx(|tx, sweep| {
            tx.execute(
                "UPDATE regnet_jobs SET state = 'pending', failures = 0, finished_at = NULL
                 WHERE sweep_id = $1 AND state = 'failed'",
                &[&sweep],
            )
        })
        .map(|n| n as usize)
    }

    fn extend(&self, info: &SweepInfo, jobs: &[NewJob]) -> Result<()> {
        let info_json = serde_json::to_string(info).unwrap_or_default();
        let records: Vec<JobRecord> = jobs.iter().cloned().map(JobRecord::new).collect();
        self.tx(|tx, sweep| {
            tx.execute(
                "UPDATE regnet_sweeps SET info = $2 WHERE id = $1",
                &[&sweep, &info_json],
            )?;
            records.iter().try_for_each(|j| insert_job(tx, sweep, j))
        })
    }

    fn check_integrity(&self) -> Result<Vec<String>> {
        let mut problems = self.tx(|tx, sweep| {
            tx.query(
                "SELECT j.name, COUNT(*), MAX(e.epoch)::bigint
                 FROM regnet_epochs e JOIN regnet_jobs j ON j.id = e.job_id
                 WHERE j.sweep_id = $1
                 GROUP BY j.id, j.name HAVING MAX(e.epoch) != COUNT(*)",
                &[&sweep],
            )?
            .iter()
            .map(|r| {
                Ok(epoch_gap(
                    &r.try_get::<_, String>(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                ))
            })
            .collect::<std::result::Result<Vec<_>, postgres::Error>>()
        })?;
        for job in self.jobs()? {
            problems.extend(job_problems(&job));
        }
        Ok(problems)
    }
}
