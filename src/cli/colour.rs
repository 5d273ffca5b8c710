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

    /// The columns a text card wraps at: the terminal's width when stdout is a terminal, else
    /// the fixed [`crate::render::text::WIDTH`], so pipes, files and snapshots never depend on
    /// the window the command ran in.
    pub(super) fn text_width(&self) -> usize {
        use std::io::IsTerminal;
        let fixed = crate::render::text::WIDTH;
        if !std::io::stdout().is_terminal() {
            return fixed;
        }
        // Less the two columns the description's indent adds beyond its wrap width.
        terminal_size::terminal_size()
            .map(|(w, _)| usize::from(w.0))
            .or_else(|| std::env::var("COLUMNS").ok()?.trim().parse().ok())
            .map_or(fixed, |cols: usize| cols.saturating_sub(2))
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
