//! `attacktrace explain`: one diagnostic code, or the list of all.

use super::{emit, CliError, Outcome};
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct ExplainArgs {
    /// The code, e.g. `yaml_error`.
    code: Option<String>,
}

pub(super) fn run(args: &ExplainArgs) -> Result<Outcome, CliError> {
    let Some(code) = &args.code else {
        emit(crate::render::explain::list())?;
        return Ok(Outcome::Clean);
    };
    let info = crate::diag::lookup(code).ok_or_else(|| {
        let hint = crate::diag::closest(code)
            .map(|c| format!("did you mean `{c}`? "))
            .unwrap_or_default();
        CliError::Input(format!(
            "unknown code `{}`; {hint}`attacktrace explain` lists them",
            crate::output::one_line(code)
        ))
    })?;
    emit(crate::render::explain::one(info))?;
    Ok(Outcome::Clean)
}
