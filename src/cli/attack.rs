//! `attacktrace attack`: what ATT&CK data is loaded, updating the cache, diffing two releases and
//! compiling a bundle into a catalog.

use super::{
    emit, exit_without_freeing, write_file, CardFormat, Cli, CliError, ListFormat, Outcome,
};
use crate::attack::{self, source, update};
use crate::listing;
use crate::render;
use crate::telemetry::listing::{class_listing, ClassFilter};
use crate::telemetry::{ObsClass, Telemetry};
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub(super) enum AttackCommand {
    /// Print the active ATT&CK source, domain, version and object counts.
    Info {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
    },
    /// Download the official STIX bundle into the per-user cache; later runs use it instead of the
    /// embedded catalog (`--attack` and ATTACKTRACE_ATTACK still win).
    Update {
        /// Where to download from. Default: MITRE's attack-stix-data repository for the domain.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// enterprise, mobile or ics.
        #[arg(long, default_value = "enterprise")]
        domain: String,
    },
    /// What changed between two ATT&CK releases. OLD and NEW: a STIX bundle or catalog file,
    /// `embedded`, `cache` (enterprise) or `cache:mobile` / `cache:ics`.
    Diff {
        /// The older release: a bundle file, `embedded`, `cache` or `cache:DOMAIN`.
        old: String,
        /// The newer release, in the same forms.
        new: String,
        /// Sigma rules: list the rules each change affects. Repeatable.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CardFormat::Text)]
        format: CardFormat,
    },
    /// Every technique with its observability class, confidence, reason and basis (ATT&CK
    /// analytics, a reviewed override, or the parent technique).
    Classes {
        #[arg(long, value_enum, default_value_t = TableFormat::Text)]
        format: TableFormat,
        /// Only techniques of this class.
        #[arg(long, value_enum)]
        class: Option<ClassArg>,
        /// Only techniques of this tactic: ID (TA0043), shortname (reconnaissance) or name.
        #[arg(long)]
        tactic: Option<String>,
    },
    /// Compile a STIX bundle into the compact, prose-free catalog the binary embeds.
    Compile {
        /// The STIX bundle.
        bundle: PathBuf,
        /// Where to write the catalog (written atomically).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

pub(super) fn run(cli: &Cli, cmd: &AttackCommand) -> Result<Outcome, CliError> {
    match cmd {
        AttackCommand::Info { format } => info(cli, *format),
        AttackCommand::Update { url, domain } => run_update(cli, url.as_deref(), domain),
        AttackCommand::Diff {
            old,
            new,
            rules,
            format,
        } => diff(cli, old, new, rules, *format),
        AttackCommand::Classes {
            format,
            class,
            tactic,
        } => classes(cli, *format, *class, tactic.clone()),
        AttackCommand::Compile { bundle, output } => compile(cli, bundle, output),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum TableFormat {
    Text,
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ClassArg {
    Portable,
    EnvironmentSpecific,
    NoPortableRule,
}

fn classes(
    cli: &Cli,
    format: TableFormat,
    class: Option<ClassArg>,
    tactic: Option<String>,
) -> Result<Outcome, CliError> {
    let kb = cli.knowledge_base()?;
    let filter = ClassFilter {
        class: class.map(|c| match c {
            ClassArg::Portable => ObsClass::Portable,
            ClassArg::EnvironmentSpecific => ObsClass::EnvironmentSpecific,
            ClassArg::NoPortableRule => ObsClass::NoPortableRule,
        }),
        tactic,
    };
    let listing = class_listing(&kb, Telemetry::embedded(), &filter)
        .map_err(|e| CliError::Input(e.to_string()))?;
    emit(match format {
        TableFormat::Text => render::classes::text(&listing),
        TableFormat::Csv => render::classes::csv(&listing),
        TableFormat::Json => render::json::to_string(&listing),
    })?;
    exit_without_freeing(kb);
    Ok(Outcome::Clean)
}

fn info(cli: &Cli, format: ListFormat) -> Result<Outcome, CliError> {
    let kb = cli.knowledge_base()?;
    let info = listing::AttackInfo {
        schema: "attacktrace.attack-info/1",
        source: kb.source.clone(),
        stats: attack::stats::stats(&kb),
    };
    emit(match format {
        ListFormat::Json => render::json::to_string(&info),
        ListFormat::Text => render::text::attack_info(&info),
    })?;
    Ok(Outcome::Clean)
}

fn run_update(cli: &Cli, url: Option<&str>, domain: &str) -> Result<Outcome, CliError> {
    let domain = update::domain_name(domain)?;
    let dir = update::cache_dir().ok_or(update::UpdateError::NoCacheDir)?;
    let url = url.map_or_else(|| update::default_url(&domain), str::to_string);
    let meta = update::update(&url, &domain, &dir)?;
    emit(format!(
        "downloaded {} v{} ({} bytes, sha256 {}), cached in {}\n",
        meta.domain,
        meta.version,
        meta.bytes,
        meta.sha256,
        update::bundle_path(&dir, &domain).display()
    ))?;
    if domain != "enterprise-attack" {
        cli.notice("only the enterprise cache replaces the embedded catalog; use `--attack cache:DOMAIN` in `attack diff`/`migrate` or `--attack FILE` for this one");
    }
    Ok(Outcome::Clean)
}

fn diff(
    cli: &Cli,
    old: &str,
    new: &str,
    rules: &[PathBuf],
    format: CardFormat,
) -> Result<Outcome, CliError> {
    let (old_kb, new_kb) = (source::from_spec(old)?, source::from_spec(new)?);
    if old_kb.source.domain != new_kb.source.domain {
        cli.notice(&format!(
            "comparing different domains ({} and {})",
            old_kb.source.domain, new_kb.source.domain
        ));
    }
    let mut d = attack::diff::diff(&old_kb, &new_kb);
    if !rules.is_empty() {
        let ruleset = cli.load_rules(rules)?;
        d.attach_rules(&ruleset);
        exit_without_freeing(ruleset);
    }
    emit(match format {
        CardFormat::Text => render::attack_diff::text(&d),
        CardFormat::Markdown => render::attack_diff::markdown(&d),
        CardFormat::Json => render::json::to_string(&d),
    })?;
    exit_without_freeing((old_kb, new_kb));
    Ok(Outcome::Clean)
}

fn compile(
    cli: &Cli,
    bundle: &std::path::Path,
    output: &std::path::Path,
) -> Result<Outcome, CliError> {
    let opts = attack::LoadOptions {
        attack_version: cli.attack_version.clone(),
    };
    let kb = attack::load_path(bundle, &opts)?;
    write_file(output, attack::catalog::compile_catalog(&kb).as_bytes())?;
    cli.notice(&format!(
        "wrote {} ({} v{}, {} techniques)",
        output.display(),
        kb.source.domain,
        kb.source.version,
        kb.techniques.len()
    ));
    Ok(Outcome::Clean)
}
