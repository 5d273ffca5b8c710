//! `--color`: whether a text report on stdout is coloured, and the call into the one styling
//! helper ([`crate::render::style`]).

use super::{output, put, Cli, CliError};
use crate::render::style::{self, Paint};
use clap::ValueEnum;
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ColorArg {
    Auto,
    Always,
    Never,
}

impl Cli {
    /// Whether text reports on stdout get colour (`--color`, `NO_COLOR`, a terminal).
    fn colour(&self) -> bool {
        use std::io::IsTerminal;
        let choice = match self.color {
            ColorArg::Auto => None,
            ColorArg::Always => Some(true),
            ColorArg::Never => Some(false),
        };
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|v| v == "dumb");
        style::enabled(choice, std::io::stdout().is_terminal(), no_color, dumb)
    }

    /// [`super::emit`] for a text report, coloured when [`Cli::colour`] says so.
    pub(super) fn emit_text(&self, text: String, what: Paint) -> Result<(), CliError> {
        put(&self.styled(output::document_safe(&text), what))
    }

    /// Text that had its last pass ([`output::document_safe`]), coloured when [`Cli::colour`]
    /// says so.
    pub(super) fn styled<'a>(&self, safe: Cow<'a, str>, what: Paint) -> Cow<'a, str> {
        match self.colour() {
            true => Cow::Owned(style::paint(&safe, what)),
            false => safe,
        }
    }
}
