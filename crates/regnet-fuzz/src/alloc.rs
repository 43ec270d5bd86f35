//! A counting global allocator: the peak of live heap bytes while one input
//! is read, so a reader that allocates from a declared size instead of the
//! bytes present is caught before it exhausts a machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting. A binary that fuzzes installs it with
/// `#[global_allocator] static A: Counting = Counting;`.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Requests above this fail (a null pointer: Rust's allocation error) so a
/// declared 2^40-byte buffer is a found input, not a machine out of memory.
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// The most a reader may hold at once for an input of `len` bytes: 64
/// times its size plus 64 MiB (decoded images, inflated gzip and parsed
/// trees are larger than their files, but not by more).
pub fn budget(len: usize) -> usize {
    len.saturating_mul(64).saturating_add(64 << 20)
}

/// Starts counting one input: the peak restarts at the live bytes, and
/// requests beyond `limit` more fail.
pub fn start(limit: usize) {
    let live = LIVE.load(Ordering::SeqCst);
    PEAK.store(live, Ordering::SeqCst);
    LIMIT.store(live.saturating_add(limit), Ordering::SeqCst);
}

/// Ends counting: the peak above the live bytes at [`start`]
/// (`baseline`), and lifts the limit.
pub fn finish(baseline: usize) -> usize {
    LIMIT.store(usize::MAX, Ordering::SeqCst);
    PEAK.load(Ordering::SeqCst).saturating_sub(baseline)
}

/// Live heap bytes now.
pub fn live() -> usize {
    LIVE.load(Ordering::SeqCst)
}

// SAFETY: every call is forwarded to `System` unchanged; the counters are
// atomics and a refused request returns null, as an allocator may.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = LIVE.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
        if now > LIMIT.load(Ordering::SeqCst) {
            LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
            return std::ptr::null_mut();
        }
        PEAK.fetch_max(now, Ordering::SeqCst);
        // SAFETY: the caller's layout is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}
