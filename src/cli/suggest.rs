//! `attacktrace suggest`: the ATT&CK techniques each rule's detection points at, learnt from the
//! tagged rules loaded (the rules given and `--reference` directories).

use super::{emit, exit_without_freeing, require_found, Cli, CliError, ListFormat, Outcome};
use crate::render;
use crate::suggest::{self, ModelOptions};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(super) struct SuggestArgs {
    /// Sigma rules to suggest techniques for: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// More tagged rules to learn from (e.g. a SigmaHQ checkout); repeatable.
    #[arg(long, value_name = "DIR")]
    reference: Vec<PathBuf>,
    /// Techniques listed per rule.
    #[arg(long, default_value_t = 3, value_name = "K")]
    top: usize,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

pub(super) fn run(cli: &Cli, args: &SuggestArgs) -> Result<Outcome, CliError> {
    let kb = cli.knowledge_base()?;
    let opts = crate::rules::LoadOptions {
        compile: false,
        ..cli.rule_options()
    };
    let (rules, features) = suggest::load_with_features(&args.paths, &opts);
    require_found(&rules)?;
    let (reference, ref_features) = if args.reference.is_empty() {
        Default::default()
    } else {
        let (set, f) = suggest::load_with_features(&args.reference, &opts);
        require_found(&set)?;
        (set, f)
    };
    cli.note_unloaded(&rules);
    let (training, held) =
        suggest::training_set(&reference.rules, &ref_features, &rules.rules, &features);
    if training.is_empty() {
        cli.notice(
            "no rule tagged with a technique was loaded to learn from: pass --reference DIR",
        );
    }
    let model = suggest::train(training.iter().copied(), &ModelOptions::default(), &kb);
    let training = training.len();
    let report = suggest::report(
        &model,
        &kb,
        &rules.rules,
        &features,
        args.top,
        training,
        &held,
    );
    emit(match args.format {
        ListFormat::Json => render::json::to_string(&report),
        ListFormat::Text => render::text::suggestions(&report),
    })?;
    let outcome = Outcome::findings_if(rules.files_reported > 0 || !rules.reports.is_empty());
    exit_without_freeing((kb, rules, reference, ref_features, features, model, report));
    Ok(outcome)
}
