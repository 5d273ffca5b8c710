//! `attacktrace completions SHELL` and `attacktrace man`: generated from the clap definition, so
//! they never drift from the real flags. Both write to stdout (redirect them where the shell or
//! `man` looks).

use super::{put, Cli, CliError, Outcome};
use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell to write a completion script for.
    #[arg(value_enum)]
    shell: Shell,
}

pub(super) fn completions(args: &CompletionsArgs) -> Result<Outcome, CliError> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "attacktrace", &mut out);
    put(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Clean)
}

/// The man page (roff) of the top-level command, subcommands listed.
pub(super) fn man() -> Result<Outcome, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(CliError::io("rendering the man page"))?;
    put(&String::from_utf8_lossy(&out))?;
    Ok(Outcome::Clean)
}
