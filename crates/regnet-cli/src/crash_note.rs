//! A last word when libtorch crashes the process.
//!
//! A crash inside libtorch (SIGSEGV, a heap-corruption abort) cannot be
//! caught; the process dies. Before it does, this handler prints how to rerun
//! in NCHW, the layout that avoids the known channels-last crash, then lets
//! the signal take its default course (the exit status still shows it).

/// The signals a native crash raises.
const CRASH_SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGABRT,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

const NOTE: &[u8] = b"\nregnet: the process crashed inside libtorch. If it crashed while training \
channels-last on CPU, run it again with `--layout nchw` (see docs/engine.md, memory layouts).\n";

extern "C" fn say_and_die(_signal: libc::c_int) {
    // Only async-signal-safe calls here: one write(2). Returning re-raises the
    // fault (SIGSEGV/SIGBUS/SIGILL/SIGFPE) or lets abort() finish (SIGABRT)
    // with the default action, restored by SA_RESETHAND.
    unsafe {
        libc::write(2, NOTE.as_ptr().cast(), NOTE.len());
    }
}

/// Installs the note for the rest of the process's life.
pub fn install() {
    for sig in CRASH_SIGNALS {
        // SAFETY: a zeroed sigaction with a plain handler and an empty mask
        // is valid; the handler only calls write(2).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = say_and_die as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}
