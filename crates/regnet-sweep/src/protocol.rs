//! The job-process protocol: how a worker tells the scheduler how its
//! attempt ended, and what the scheduler records for each ending.
//!
//! A worker holds a lease on one job. It records every epoch and the end of
//! the attempt itself, under the lease, and exits 0; or exits with
//! [`EXIT_DIVERGED`] after recording the divergence as a failure; or with
//! [`EXIT_ABANDONED`] when it lost the lease (someone else owns the job: it
//! wrote nothing more). Any other ending — another exit code, a signal, a
//! kill by the stall watchdog — is the scheduler's to record.

use regnet_store::{Fault, Outcome};
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

/// Exit code of a job that could not reach the store within its retry
/// window (a database down, a network outage): as for [`EXIT_STORAGE`],
/// the sweep stops and the job resumes from its checkpoint on rerun.
pub const EXIT_UNREACHABLE: u8 = 6;

/// The exit code of a job ended by a fault outside it; none for a final
/// failure, which the job records itself.
pub fn exit_code_of(fault: Fault) -> Option<u8> {
    match fault {
        Fault::Storage => Some(EXIT_STORAGE),
        Fault::Unreachable => Some(EXIT_UNREACHABLE),
        Fault::Final => None,
    }
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
    /// [`EXIT_STORAGE`] or [`EXIT_UNREACHABLE`]: the worker met a fault
    /// outside its job (a full disk, the store down) and wrote nothing more.
    Outside(Fault),
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
            (Some(c), _) if c == EXIT_STORAGE as i32 => Exit::Outside(Fault::Storage),
            (Some(c), _) if c == EXIT_UNREACHABLE as i32 => Exit::Outside(Fault::Unreachable),
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
        (_, Exit::Success | Exit::Abandoned | Exit::Outside(_)) => return None,
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

    /// A fault outside the job travels as its own exit code, and the
    /// scheduler records nothing for it.
    #[test]
    fn faults_outside_the_job_have_their_exit_codes() {
        for fault in [Fault::Storage, Fault::Unreachable] {
            let code = exit_code_of(fault).unwrap();
            assert_eq!(Exit::of(exit_status(code)), Exit::Outside(fault));
            assert_eq!(outcome_of(Exit::Outside(fault), None, "log"), None);
        }
        assert_eq!(exit_code_of(Fault::Final), None);
        assert!(matches!(
            outcome_of(Exit::of(exit_status(1)), None, "log"),
            Some(Outcome::Failed(_))
        ));
    }

    fn exit_status(code: u8) -> std::process::ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        std::process::ExitStatus::from_raw(i32::from(code) << 8)
    }
}
