//! `attacktrace rules`: list loaded rules with a load summary.

use super::{emit, exit_without_freeing, Cli, CliError, ListFormat, Outcome};
use crate::link::LinkIndex;
use crate::listing::{self, RuleFilter};
use crate::render;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub(super) struct RulesArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Only rules covering this technique (directly or via a sub-technique).
    #[arg(long)]
    technique: Option<String>,
    /// Only rules whose logsource has this product.
    #[arg(long)]
    product: Option<String>,
    /// Only rules whose logsource has this category.
    #[arg(long)]
    category: Option<String>,
    /// Only rules whose logsource has this service.
    #[arg(long)]
    service: Option<String>,
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

pub(super) fn run(cli: &Cli, args: &RulesArgs) -> Result<Outcome, CliError> {
    let kb = cli.knowledge_base()?;
    let ruleset = cli.load_rules(&args.paths)?;
    let links = LinkIndex::build(&kb, &ruleset);
    let filter = RuleFilter {
        technique: match &args.technique {
            Some(q) => Some(crate::attack::lookup::resolve(&kb, q)?.technique.id.clone()),
            None => None,
        },
        product: args.product.clone(),
        category: args.category.clone(),
        service: args.service.clone(),
    };
    let listing = listing::rule_listing(&kb, &ruleset, &links, &filter);
    emit(match args.format {
        ListFormat::Json => render::json::to_string(&listing),
        ListFormat::Text => render::text::listing(&listing),
    })?;
    let outcome = Outcome::findings_if(ruleset.files_reported > 0 || !ruleset.reports.is_empty());
    exit_without_freeing((kb, ruleset, links));
    Ok(outcome)
}
