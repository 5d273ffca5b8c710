//! Thin entry point: parse arguments, run, map the result to an exit code.

fn main() -> std::process::ExitCode {
    attacktrace::cli::main()
}
