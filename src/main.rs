//! Thin entry point: parse arguments, run, map the result to an exit code.

// The allocator items below exist with the `mimalloc` feature (on by default); without it the
// system allocator is used and the build compiles no C.

// YAML parsing allocates many small values; mimalloc cuts allocator time by a measurable share
// of the whole run (see bench/run.sh).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Peak memory, not speed, is what the defaults cost here: loading a rule set frees most of what it
/// parses, and with lazy commit plus immediate purging those pages go back to the OS instead of
/// staying resident (see bench/check_memory.sh). The options must be set before the first
/// allocation reserves mimalloc's first arena, which happens before `main`: hence a constructor.
#[cfg(feature = "mimalloc")]
extern "C" fn tune_allocator() {
    // SAFETY: plain setters of integer options, called before any allocation or other thread.
    unsafe {
        mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Runs [`tune_allocator`] as an ELF constructor, before the Rust runtime allocates anything.
#[cfg(all(feature = "mimalloc", target_os = "linux"))]
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

fn main() -> std::process::ExitCode {
    // Elsewhere, as early as Rust allows (the first arena may already be committed).
    #[cfg(all(feature = "mimalloc", not(target_os = "linux")))]
    tune_allocator();
    attacktrace::cli::main()
}
