//! Thin entry point: parse arguments, run, map the result to an exit code.

// YAML parsing allocates many small values; mimalloc cuts allocator time by a measurable share
// of the whole run (see bench/run.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    attacktrace::cli::main()
}
