//! `attacktrace migrate`: rewrite rule tags for another ATT&CK release.

use super::{emit, exit_without_freeing, Cli, CliError, ListFormat, Outcome};
use crate::attack::source;
use crate::migrate::{self, Report};
use crate::output;
use crate::render;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(super) struct MigrateArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// The release to migrate to: a STIX bundle or catalog file, `embedded` or `cache`.
    #[arg(long, value_name = "ATTACK")]
    to: String,
    /// The release the tags were written for. Default: the active ATT&CK data (`--attack`, the
    /// cache, else the embedded catalog).
    #[arg(long, value_name = "ATTACK")]
    from: Option<String>,
    /// Change nothing; print the unified diff of every edit on stdout (the report goes to stderr).
    #[arg(long)]
    dry_run: bool,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

pub(super) fn run(cli: &Cli, args: &MigrateArgs) -> Result<Outcome, CliError> {
    let from = match &args.from {
        Some(spec) => source::from_spec(spec)?,
        None => cli.knowledge_base()?,
    };
    let to = source::from_spec(&args.to)?;
    let ruleset = cli.load_rules(&args.paths)?;
    if ruleset.files_reported > 0 {
        cli.notice(&format!(
            "{} of {} rule files could not be loaded and are not migrated; `attacktrace rules PATH` lists them",
            ruleset.files_reported, ruleset.files_seen
        ));
    }
    let plan = migrate::plan(&from, &to, &ruleset);
    let edits = migrate::apply(&plan, args.dry_run);
    match args.format {
        ListFormat::Json => emit(render::json::to_string(&Report::new(
            &plan,
            &edits,
            args.dry_run,
        )))?,
        ListFormat::Text => {
            let report = render::migrate::text(&plan, &edits, args.dry_run);
            if args.dry_run {
                emit(edits.iter().map(|e| e.diff.as_str()).collect())?;
                if !cli.quiet {
                    report.lines().for_each(output::to_stderr);
                }
            } else {
                emit(report)?;
            }
        }
    }
    let failed = edits.iter().any(|e| e.error.is_some());
    let outcome = Outcome::findings_if(plan.questions() > 0 || failed);
    exit_without_freeing((from, to, ruleset));
    Ok(outcome)
}
