//! PostgreSQL store URLs: parsing, the sweep they name, and hiding the
//! password in everything printed.

use crate::{Result, StoreError};
use postgres::Config;
use std::time::Duration;

/// A store URL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE?sweep=NAME`.
/// `sweep` picks one sweep of the database (optional when it holds one);
/// every other parameter is PostgreSQL's own (`sslmode`, `connect_timeout`…).
#[derive(Clone)]
pub struct PgUrl {
    pub(super) config: Config,
    pub(super) sweep: Option<String>,
    /// The URL without its password, for messages.
    pub(super) shown: String,
    /// The URL as given, less `sweep`, for worker command lines.
    pub(super) raw: String,
}

impl PgUrl {
    /// Whether `s` names a PostgreSQL store rather than a directory.
    pub fn is_url(s: &str) -> bool {
        s.starts_with("postgres://") || s.starts_with("postgresql://")
    }

    pub fn parse(url: &str) -> Result<Self> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut sweep = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.strip_prefix("sweep=") {
                Some(name) => sweep = Some(name.to_string()),
                None => rest.push(pair),
            }
        }
        let shown = hide_password(base);
        let pg_url = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config: Config = pg_url
            .parse()
            .map_err(|e| StoreError::new(format!("bad store URL '{shown}': {e}")))?;
        if config.get_password().is_none() {
            // libpq's variable, so a password need not sit in a URL or a script.
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                config.password(pw);
            }
        }
        if config.get_application_name().is_none() {
            config.application_name("regnet");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_options().is_none() {
            // A worker frozen inside a transaction (stopped, partitioned)
            // must not hold its row locks forever: the server ends such a
            // session after a minute, and a waiter gives up after 30 s
            // (then retries, like a dropped connection).
            config.options("-c idle_in_transaction_session_timeout=60000 -c lock_timeout=30000");
        }
        if sweep.as_deref() == Some("") {
            return Err(StoreError::new(format!(
                "store URL '{shown}': empty sweep name"
            )));
        }
        Ok(PgUrl {
            config,
            sweep,
            shown,
            raw: pg_url,
        })
    }

    /// The sweep the URL names, if any.
    pub fn sweep(&self) -> Option<&str> {
        self.sweep.as_deref()
    }

    /// The URL with its password and sweep, to hand to a worker process
    /// (never printed: `Display` hides the password).
    pub fn full(&self) -> String {
        match &self.sweep {
            Some(s) => PgUrl::with_query(&self.raw, &format!("sweep={s}")),
            None => self.raw.clone(),
        }
    }

    /// The URL and sweep without the password, to keep in a file: opened
    /// again, it takes the password from PGPASSWORD.
    pub fn without_password(&self) -> String {
        let base = replace_password(&self.raw, "");
        match &self.sweep {
            Some(s) => PgUrl::with_query(&base, &format!("sweep={s}")),
            None => base,
        }
    }

    /// `url` with `pair` added to its query.
    fn with_query(url: &str, pair: &str) -> String {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{pair}")
    }

    /// The same database, naming sweep `name`.
    pub fn with_sweep(&self, name: &str) -> PgUrl {
        PgUrl {
            sweep: Some(name.to_string()),
            ..self.clone()
        }
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.sweep {
            Some(s) => write!(f, "{}?sweep={s}", self.shown),
            None => f.write_str(&self.shown),
        }
    }
}

/// `scheme://user:secret@host` → `scheme://user:***@host`.
fn hide_password(url: &str) -> String {
    replace_password(url, ":***")
}

/// `url` with its password replaced by `with` (which holds the colon).
fn replace_password(url: &str, with: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}{with}@{host}")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::PgUrl;

    #[test]
    fn a_url_kept_in_a_file_has_no_password_and_a_shown_one_hides_it() {
        let u =
            PgUrl::parse("postgres://ann:s3cret@db.lab:5433/sw?sslmode=disable&sweep=a/b").unwrap();
        let base = "db.lab:5433/sw?sslmode=disable&sweep=a/b";
        assert_eq!(u.without_password(), format!("postgres://ann@{base}"));
        assert_eq!(u.full(), format!("postgres://ann:s3cret@{base}"));
        assert_eq!(u.to_string(), "postgres://ann:***@db.lab:5433/sw?sweep=a/b");
        let plain = PgUrl::parse("postgres://ann@db.lab/sw").unwrap();
        assert_eq!(plain.without_password(), "postgres://ann@db.lab/sw");
    }
}
