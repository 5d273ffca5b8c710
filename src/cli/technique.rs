//! `attacktrace technique`: the card of one technique.

use super::{emit, exit_without_freeing, CardFormat, Cli, CliError, Outcome};
use crate::card::{self, RuleContext};
use crate::link::LinkIndex;
use crate::render;
use crate::render::style::Paint;
use crate::suggest::Ranker;
use crate::telemetry::Telemetry;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(super) struct TechniqueArgs {
    /// Technique ID (`T1059.001`, any case) or an exact or unambiguous partial name.
    query: String,
    /// Sigma rules: files, directories (recursive) or globs. Repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = CardFormat::Text)]
    format: CardFormat,
    /// Print a Sigma correlation rule template to adapt instead of the card (scanning, password
    /// guessing and spraying, denial of service). Environment-specific, never counted as coverage.
    #[arg(long, conflicts_with_all = ["rules", "format"])]
    template: bool,
    /// List every rule on the card; by default a list longer than 12 rules is summarised by log
    /// source.
    #[arg(long)]
    all: bool,
}

pub(super) fn run(cli: &Cli, args: &TechniqueArgs) -> Result<Outcome, CliError> {
    let kb = cli.knowledge_base()?;
    let resolution = crate::attack::lookup::resolve(&kb, &args.query)?;
    for n in &resolution.notices {
        cli.notice(n);
    }
    if args.template {
        emit(crate::template::template_for(&resolution.technique.id)?.to_string())?;
        return Ok(Outcome::Clean);
    }
    let (ruleset, ranker) = if args.rules.is_empty() {
        (None, None)
    } else {
        let (set, features) = crate::suggest::load_with_features(&args.rules, &cli.rule_options());
        super::require_found(&set)?;
        let ranker = Ranker::new(&set, features, &kb, resolution.technique);
        (Some(set), Some(ranker))
    };
    let links = ruleset.as_ref().map(|r| LinkIndex::build(&kb, r));
    if let Some(r) = &ruleset {
        cli.note_unloaded(r);
    }
    let ctx = match (&ruleset, &links) {
        (Some(rules), Some(links)) => Some(RuleContext {
            rules,
            links,
            ranker: ranker.as_ref(),
        }),
        _ => None,
    };
    let card = card::build(
        &kb,
        Telemetry::embedded(),
        resolution.technique,
        resolution.notices.clone(),
        ctx,
    );
    match args.format {
        CardFormat::Text => cli.emit_text(
            render::text::card_at(&card, args.all, cli.text_width()),
            Paint::Card,
        )?,
        CardFormat::Markdown => emit(render::markdown::card(&card))?,
        CardFormat::Json => emit(render::json::to_string(&card))?,
    }
    exit_without_freeing((kb, ruleset, links, ranker));
    Ok(Outcome::Clean)
}
