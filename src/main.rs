//! Thin entry point: parse arguments, run, map the result to an exit code.

// The allocator items below exist with the `mimalloc` feature (on by default); without it the
// system allocator is used and the build compiles no C.

// YAML parsing allocates many small values; mimalloc cuts allocator time by a measurable share
// of the whole run (see bench/run.sh).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs [`attacktrace::alloc::favour_memory`] as an ELF constructor, before the Rust runtime
/// allocates anything.
#[cfg(all(feature = "mimalloc", target_os = "linux"))]
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = attacktrace::alloc::favour_memory;

fn main() -> std::process::ExitCode {
    // Elsewhere, as early as Rust allows (the first arena may already be committed).
    #[cfg(all(feature = "mimalloc", not(target_os = "linux")))]
    attacktrace::alloc::favour_memory();
    attacktrace::cli::main()
}
