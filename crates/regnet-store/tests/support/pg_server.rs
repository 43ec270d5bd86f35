//! A real PostgreSQL server for tests: Debian's package, started once per
//! test process on a free loopback port in a temporary data directory, with
//! password authentication over TCP (user `regnet`, password `secret`).
//! It stops and its directory is deleted when the test process exits, however
//! it exits: a shell holds the server and waits for the test's end of a pipe.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const USER: &str = "regnet";
pub const PASSWORD: &str = "secret";

pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    /// Closing it (at process exit) stops the server.
    _lifeline: Mutex<ChildStdin>,
    /// The shell holding the server (it outlives the test process by design).
    _shell: Mutex<Child>,
}

/// The process's server, started on first use.
pub fn server() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// PostgreSQL's programs: `REGNET_PG_BIN`, else the newest Debian install.
fn bin_dir() -> PathBuf {
    if let Ok(d) = std::env::var("REGNET_PG_BIN") {
        return PathBuf::from(d);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server not installed (Debian package postgresql; ./scripts/test installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("postgres").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found
        .pop()
        .expect("no PostgreSQL server under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A loopback port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> PgServer {
    let bin = bin_dir();
    let dir = std::env::temp_dir().join(format!("regnet-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pw"), PASSWORD).unwrap();
    // PostgreSQL refuses to run as root: run it as Debian's postgres user then.
    let as_user = if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(ok.success());
        "runuser -u postgres -- "
    } else {
        ""
    };
    let d = dir.display();
    let b = bin.display();
    let init = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{as_user}{b}/initdb -D {d}/data -U {USER} --pwfile={d}/pw --auth-host=scram-sha-256 \
             --auth-local=trust --no-sync -E UTF8 --locale=C > {d}/initdb.log 2>&1"
        ))
        .status()
        .unwrap();
    assert!(init.success(), "initdb failed: see {d}/initdb.log");
    let port = free_port();
    let mut shell = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{as_user}{b}/postgres -D {d}/data -p {port} -k {d} -c listen_addresses=127.0.0.1 \
             -c fsync=off -c synchronous_commit=off -c max_connections=300 > {d}/server.log 2>&1 &
             cat > /dev/null
             {as_user}{b}/pg_ctl -D {d}/data stop -m immediate > /dev/null 2>&1
             rm -rf {d}"
        ))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let lifeline = shell.stdin.take().unwrap();
    wait_ready(port, &dir);
    PgServer {
        port,
        bin,
        _lifeline: Mutex::new(lifeline),
        _shell: Mutex::new(shell),
    }
}

fn wait_ready(port: u16, dir: &Path) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "PostgreSQL did not start: {}",
            std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl PgServer {
    /// A URL of database `db` as the test user.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL in database `db` with psql; returns its (unaligned) output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let mut child = Command::new(self.bin.join("psql"))
            .arg(self.url(db))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A fresh, empty database; returns its URL.
    pub fn database(&self, name: &str) -> String {
        self.psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"),
        );
        self.url(name)
    }
}
