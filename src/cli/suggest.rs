//! `attacktrace suggest`: the ATT&CK techniques each rule's detection points at, learnt from the
//! tagged rules loaded (the rules given and `--reference` directories).

use super::{emit, exit_without_freeing, require_found, Cli, CliError, ListFormat, Outcome};
use crate::render;
use crate::rules::RuleRecord;
use crate::suggest::{self, ModelOptions, RuleFeatures};
use clap::Args;
use std::collections::HashSet;
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
    // The rules given teach too, unless the reference already holds the same rule (same file, or
    // a copy with the same `id`).
    let known: HashSet<&PathBuf> = reference.rules.iter().map(|r| &r.path).collect();
    let known_ids: HashSet<&str> = reference
        .rules
        .iter()
        .filter_map(|r| r.id.as_deref())
        .collect();
    let in_reference = |r: &RuleRecord| {
        known.contains(&r.path) || r.id.as_deref().is_some_and(|id| known_ids.contains(id))
    };
    let training: Vec<(&RuleRecord, &RuleFeatures)> = reference
        .rules
        .iter()
        .zip(&ref_features)
        .chain(
            rules
                .rules
                .iter()
                .zip(&features)
                .filter(|(r, _)| !in_reference(r)),
        )
        .filter(|(r, _)| suggest::is_training_rule(r))
        .collect();
    if training.is_empty() {
        cli.notice(
            "no rule tagged with a technique was loaded to learn from: pass --reference DIR",
        );
    }
    let model = suggest::train(training.iter().copied(), &ModelOptions::default(), &kb);
    let held = held_out(&rules.rules, &training);
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

/// Per rule given: its index among the training rules (the model's order) when it, or its copy
/// in the reference (same `id`), teaches, so it is scored without its own tags' pull.
fn held_out(rules: &[RuleRecord], training: &[(&RuleRecord, &RuleFeatures)]) -> Vec<Option<usize>> {
    let mut by_place = std::collections::HashMap::new();
    let mut by_id = std::collections::HashMap::new();
    for (i, (r, _)) in training.iter().enumerate() {
        by_place.insert((&r.path, r.line), i);
        if let Some(id) = r.id.as_deref() {
            by_id.entry(id).or_insert(i);
        }
    }
    rules
        .iter()
        .map(|r| {
            by_place
                .get(&(&r.path, r.line))
                .or_else(|| r.id.as_deref().and_then(|id| by_id.get(id)))
                .copied()
        })
        .collect()
}
