//! Connections: opening one, telling a dropped connection (worth a retry)
//! from a real error, and the server's own words for either.

use super::url::PgUrl;
use crate::{Fault, Result, StoreError};
use postgres::error::SqlState;
use postgres::{Client, NoTls};
use std::time::Duration;

/// How long a store call keeps retrying after a dropped connection.
pub(super) fn retry_window() -> Duration {
    let secs = std::env::var("REGNET_STORE_RETRY_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(300.0);
    Duration::from_secs_f64(secs)
}

/// Whether `e` is worth a retry: the connection dropped, the server is
/// restarting, or the transaction lost a deadlock or serialization race.
pub(super) fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return code.code().starts_with("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::LOCK_NOT_AVAILABLE,
                SqlState::IDLE_IN_TRANSACTION_SESSION_TIMEOUT,
            ]
            .contains(code);
    }
    std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

/// The kind of a failure: a transient one that outlasted the retry window
/// means the store is unreachable, not that the request was wrong.
pub(super) fn fault(e: &postgres::Error) -> Fault {
    match transient(e) {
        true => Fault::Unreachable,
        false => Fault::Final,
    }
}

/// The server's own words when it sent some, else the client's.
pub(super) fn detail(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => match std::error::Error::source(e) {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    }
}

pub(super) fn connect(url: &PgUrl) -> Result<Client> {
    url.config.connect(NoTls).map_err(|e| {
        StoreError::of(
            fault(&e),
            format!(
                "cannot connect to the sweep store {}: {}",
                url.shown,
                detail(&e)
            ),
        )
    })
}
