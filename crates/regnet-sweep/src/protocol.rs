//! The job-process protocol: how a worker tells the scheduler how its
//! attempt ended, and what the scheduler records for each ending.
//!
//! A worker holds a lease on one job. It records every epoch and the end of
//! the attempt itself, under the lease, and exits 0; or exits with
//! [`EXIT_DIVERGED`] after recording the divergence as a failure; or with
//! [`EXIT_ABANDONED`] when it lost the lease (someone else owns the job: it
//! wrote nothing more). Any other ending — another exit code, a signal, a
//! kill by the stall watchdog — is the scheduler's to record.

use regnet_store::Outcome;
use std::time::Duration;

/// Exit code of a job whose loss diverged (recorded as a failure).
pub const EXIT_DIVERGED: u8 = 3;
/// Exit code of a job that stopped because its lease was taken over or its
/// scheduler died; it wrote nothing more.
pub const EXIT_ABANDONED: u8 = 4;

/// Exit code of a job that could not write its files or its records
/// (disk full, read-only, over quota): nothing about the job is wrong, so
/// the scheduler stops the sweep instead of spending the job's retries;
/// the job keeps its recorded epochs and checkpoint and resumes on rerun.
pub const EXIT_STORAGE: u8 = 5;

/// Whether an error message is a storage fault: the operating system's
/// texts for a full, read-only, over-quota or failing file system, as
/// `std::io` and SQLite print them (SQLite reports a write refused below
/// it, a disk turned read-only say, as a disk I/O error).
pub fn storage_fault(msg: &str) -> bool {
    [
        "No space left on device",
        "Read-only file system",
        "Disk quota exceeded",
        "Input/output error",
        "database or disk is full",
        "attempt to write a readonly database",
        "disk I/O error",
        "StorageFull",
        "ReadOnlyFilesystem",
        "QuotaExceeded",
    ]
    .iter()
    .any(|t| msg.contains(t))
}

/// The variable through which the scheduler names the sweep to a job
/// process (a store URL may carry a password, which `ps` would show).
pub const SWEEP_ENV: &str = "REGNET_SWEEP";

/// Signals of a native crash (libtorch's channels-last bug raises SIGSEGV or
/// SIGABRT); other signals (SIGKILL, SIGTERM) come from outside the job.
pub const CRASH_SIGNALS: [i32; 5] = [
    libc::SIGSEGV,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// How a worker process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exit code 0: the worker recorded its attempt.
    Success,
    /// [`EXIT_ABANDONED`]: the worker lost its lease and wrote nothing more.
    Abandoned,
    /// [`EXIT_STORAGE`]: the worker could not write (disk full, read-only).
    Storage,
    /// Another exit code.
    Code(i32),
    /// Killed by a signal.
    Signal(i32),
}

impl Exit {
    /// From a process's exit status.
    pub fn of(status: std::process::ExitStatus) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(0), _) => Exit::Success,
            (Some(c), _) if c == EXIT_ABANDONED as i32 => Exit::Abandoned,
            (Some(c), _) if c == EXIT_STORAGE as i32 => Exit::Storage,
            (Some(c), _) => Exit::Code(c),
            (None, Some(s)) => Exit::Signal(s),
            (None, None) => Exit::Code(-1),
        }
    }
}

/// What the scheduler records for an ending (nothing when the worker
/// recorded it itself): a crash signal is [`Outcome::Crashed`] (retried once
/// in NCHW by the store), anything else a failure naming the cause and the
/// worker's log. `stalled_for` is set when the watchdog killed the worker.
pub fn outcome_of(exit: Exit, stalled_for: Option<Duration>, log: &str) -> Option<Outcome> {
    let why = match (stalled_for, exit) {
        (_, Exit::Success | Exit::Abandoned | Exit::Storage) => return None,
        (Some(t), _) => format!("stalled: no progress for {:.0} s, killed", t.as_secs_f64()),
        (None, Exit::Code(c)) => format!("worker exited with code {c}"),
        (None, Exit::Signal(s)) => format!("worker killed ({})", signal_name(s)),
    };
    let msg = format!("{why}; see {log}");
    Some(match exit {
        Exit::Signal(s) if stalled_for.is_none() && CRASH_SIGNALS.contains(&s) => {
            Outcome::Crashed(msg)
        }
        _ => Outcome::Failed(msg),
    })
}

/// `signal: 11 (SIGSEGV)`, as the standard library prints exit statuses.
fn signal_name(s: i32) -> String {
    let name = match s {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal: {s}"),
    };
    format!("signal: {s} ({name})")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts as std::io and SQLite print them for a full, read-only
    /// and failing disk; a lost lease or a bad config is not one.
    #[test]
    fn storage_faults_are_told_from_other_errors() {
        for errno in [libc::ENOSPC, libc::EROFS, libc::EDQUOT, libc::EIO] {
            let e = std::io::Error::from_raw_os_error(errno).to_string();
            assert!(storage_fault(&format!("cannot write 'x': {e}")), "{e}");
        }
        for sqlite in [
            "/w/sweep.db: database or disk is full",
            "/w/sweep.db: disk I/O error",
            "/w/sweep.db: attempt to write a readonly database",
        ] {
            assert!(storage_fault(sqlite), "{sqlite}");
        }
        for other in [
            "lease lost",
            "diverged: the training loss became NaN",
            "cannot open /w/x: No such file or directory (os error 2)",
        ] {
            assert!(!storage_fault(other), "{other}");
        }
        assert_eq!(Exit::of(exit_status(EXIT_STORAGE)), Exit::Storage);
        assert_eq!(outcome_of(Exit::Storage, None, "log"), None);
    }

    fn exit_status(code: u8) -> std::process::ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        std::process::ExitStatus::from_raw(i32::from(code) << 8)
    }
}
