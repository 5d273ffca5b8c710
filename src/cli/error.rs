//! The command layer's error: what the user did wrong or what could not be read or written (exit
//! code 2), with the library's error kept as the cause.

use std::path::PathBuf;

/// An error for the user (exit code 2): printed as `error: ...`, then each cause not already in
/// that line as `  caused by: ...`.
#[derive(Debug, thiserror::Error)]
pub(super) enum CliError {
    /// A bad argument or input named by the command itself.
    #[error("{0}")]
    Input(String),
    /// A path argument that does not exist or matches nothing (rules, events).
    #[error("nothing to read: {0}")]
    NothingToRead(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A file named on the command line that is not a regular file or is too large; the read error
    /// names it.
    #[error("{what}: {source}")]
    Read {
        what: String,
        #[source]
        source: crate::input::ReadError,
    },
    #[error(transparent)]
    Source(#[from] crate::attack::source::SourceError),
    #[error(transparent)]
    Attack(#[from] crate::attack::AttackError),
    #[error(transparent)]
    Lookup(#[from] crate::attack::lookup::LookupError),
    #[error(transparent)]
    Update(#[from] crate::attack::update::UpdateError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
    #[error(transparent)]
    Check(#[from] crate::check::pipeline::PipelineError),
    #[error(transparent)]
    Template(#[from] crate::template::TemplateError),
    #[error("test result {}: {source}", path.display())]
    TestResult {
        path: PathBuf,
        #[source]
        source: crate::evidence::saved::SavedResultError,
    },
}

impl CliError {
    /// `map_err` helper for I/O: `what` says what was being done (`writing out.json`).
    pub(super) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}

/// `error: msg`, then the cause chain; a cause whose text the message already quotes is skipped.
pub(super) fn report_error(e: &CliError) {
    error_lines(e)
        .iter()
        .for_each(|l| crate::output::to_stderr(l));
}

fn error_lines(e: &dyn std::error::Error) -> Vec<String> {
    let mut shown = e.to_string();
    let mut lines = vec![format!("error: {shown}")];
    let mut cause = e.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !shown.contains(without_position(&msg)) {
            lines.push(format!("  caused by: {msg}"));
            shown.push_str(&msg);
        }
        cause = c.source();
    }
    lines
}

/// A parser's message without the ` at line L column C` that serde_json and serde_norway append:
/// a message that already names the position in its own way still quotes the same cause.
fn without_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i)
            if msg[i + 9..]
                .split_once(" column ")
                .is_some_and(|(l, c)| l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok()) =>
        {
            &msg[..i]
        }
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("loading failed")]
    struct Outer(#[source] std::io::Error);

    fn gone() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::NotFound, "gone")
    }

    #[test]
    fn causes_are_printed_once() {
        assert_eq!(
            error_lines(&Outer(gone())),
            ["error: loading failed", "  caused by: gone"]
        );
        // A message that already quotes its cause (every existing one) stays one line.
        let quoted = CliError::io("reading x")(gone());
        assert_eq!(error_lines(&quoted), ["error: reading x: gone"]);
        assert_eq!(error_lines(&CliError::Input("bad".into())), ["error: bad"]);
    }

    #[test]
    fn a_parser_position_suffix_does_not_repeat_the_cause() {
        assert_eq!(without_position("EOF at line 1 column 118"), "EOF");
        assert_eq!(
            without_position("at line 3 of a poem"),
            "at line 3 of a poem"
        );
    }
}
