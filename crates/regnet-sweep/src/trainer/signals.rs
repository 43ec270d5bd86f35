//! SIGTERM and SIGINT to a job process running a trainer: noted, so the
//! job can end the trainer's process group before it goes (the trainer is
//! in a group of its own, which a terminal's Ctrl-C does not reach).

use std::sync::atomic::{AtomicI32, Ordering};

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(sig: libc::c_int) {
    SIGNAL.store(sig, Ordering::SeqCst);
}

/// Notes SIGTERM and SIGINT instead of dying at once.
pub fn on_interrupt() {
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGTERM, note as *const () as libc::sighandler_t);
        libc::signal(libc::SIGINT, note as *const () as libc::sighandler_t);
    }
}

/// The signal received, if any.
pub fn interrupted() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// Ends the process by `sig` as if no handler were installed, so whoever
/// waits for it sees how it was stopped.
pub fn die_by(sig: i32) -> ! {
    // SAFETY: restoring the default action and raising the signal.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
    std::process::exit(128 + sig)
}
