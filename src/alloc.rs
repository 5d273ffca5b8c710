//! Allocator tuning (feature `mimalloc`; without it these do nothing): peak memory while rules
//! load, throughput while events are evaluated.

#[cfg(feature = "mimalloc")]
use mimalloc as _;

// mimalloc's own option setter (linked in through the `mimalloc` crate); declared here rather than
// through the crate's `extended` feature, which would add a dependency for one function.
#[cfg(feature = "mimalloc")]
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` in mimalloc v3's option enum (the
/// version Cargo.lock pins through libmimalloc-sys 0.1.49).
#[cfg(feature = "mimalloc")]
const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// Peak memory, not speed, is what the defaults cost while rules load: loading frees most of what
/// it parses, and with lazy commit plus immediate purging those pages go back to the OS instead of
/// staying resident (see bench/check_memory.sh). Must run before the first allocation reserves
/// mimalloc's first arena, which happens before `main` (the binary calls it from a constructor).
pub extern "C" fn favour_memory() {
    #[cfg(feature = "mimalloc")]
    // SAFETY: plain setters of integer options, called before any allocation or other thread.
    unsafe {
        mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Before events are evaluated: freed pages stay 100 ms before they go back to the OS. Every event
/// is allocated by the reading thread and freed by an evaluating one, and purging each freed page
/// at once made the kernel fault pages back in (a tenth of `test`'s time); 100 ms costs about
/// 15 MiB of peak on 100,000 events, 1 s twice that for no further gain.
pub fn favour_throughput() {
    #[cfg(feature = "mimalloc")]
    // SAFETY: a plain setter of an integer option; mimalloc reads options atomically.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, 100);
    }
}
