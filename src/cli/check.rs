//! `attacktrace check`: the CI gate, with config, `--fix` and the coverage gate.

use super::{emit, exit_without_freeing, put, read_input, write_file, Cli, CliError, Outcome};
use crate::check::pipeline::{self, FixEvent};
use crate::check::{self, CheckInput};
use crate::config::{self, Settings};
use crate::coverage::{Baseline, Metric};
use crate::diag::Severity;
use crate::output;
use crate::render;
use crate::render::style::Paint;
use crate::telemetry::Telemetry;
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Github,
    // GitLab Code Quality JSON (`artifacts:reports:codequality`).
    Gitlab,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailLevelArg {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MetricArg {
    Techniques,
    Subtechniques,
    All,
}

#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(value_name = "PATH", required_unless_present_any = ["init", "show_config"])]
    paths: Vec<PathBuf>,
    /// Write a commented `.attacktrace.yml` template in the working directory and exit.
    #[arg(long, conflicts_with_all = ["show_config", "fix"])]
    init: bool,
    /// Print the effective configuration and exit.
    #[arg(long)]
    show_config: bool,
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    format: CheckFormat,
    /// Exit 1 when a finding is at or above this severity (default: from the config, else error).
    #[arg(long, value_enum)]
    fail_level: Option<FailLevelArg>,
    /// Repository root the SARIF, GitHub and JUnit paths are relative to. Default: the enclosing
    /// git repository of the working directory (else the working directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Coverage gate: previous `coverage --format json` output; a technique that lost coverage or
    /// tier is a `coverage_loss` finding.
    #[arg(long, value_name = "FILE")]
    coverage_baseline: Option<PathBuf>,
    /// Coverage gate: minimum share covered (see `--coverage-metric`), per tactic (shortname, TA
    /// ID or name) or `overall`, e.g. `execution=40` (repeatable or comma-separated).
    #[arg(long, value_name = "TACTIC=PCT", value_delimiter = ',')]
    min_coverage: Vec<String>,
    /// What `--min-coverage` measures, as `coverage` reports it: `all` is the headline `Covered:`
    /// figure (techniques and sub-techniques), `techniques` the per-tactic `%` column; guidance
    /// techniques never count.
    #[arg(long, value_enum, default_value_t = MetricArg::All, requires = "min_coverage")]
    coverage_metric: MetricArg,
    /// Rewrite safe tag problems in place: revoked techniques, missing tactic tags, case, repeats.
    #[arg(long)]
    fix: bool,
    /// With `--fix`: print the diff instead of writing; exit 1 when something would change.
    #[arg(long, requires = "fix")]
    dry_run: bool,
    /// Changed-files mode: report only on the PATHs given, but resolve the repository-wide checks
    /// (duplicate ids, titles and file names, `related` links, correlation references) against
    /// every rule under DIR too.
    #[arg(long, value_name = "DIR")]
    repository: Option<PathBuf>,
}

/// `--min-coverage TACTIC=PCT` values.
fn parse_min_coverage(items: &[String]) -> Result<Vec<(String, f64)>, CliError> {
    let bad = |item: &str, why: String| CliError::Input(format!("--min-coverage `{item}`: {why}"));
    items
        .iter()
        .map(|item| {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| bad(item, "expected TACTIC=PCT, e.g. execution=40".into()))?;
            let pct: f64 = v
                .trim()
                .trim_end_matches('%')
                .parse()
                .map_err(|_| bad(item, format!("`{v}` is not a number")))?;
            if !(0.0..=100.0).contains(&pct) {
                return Err(bad(item, "percentage must be between 0 and 100".into()));
            }
            Ok((k.trim().to_string(), pct))
        })
        .collect()
}

fn init(cli: &Cli, cwd: &Path) -> Result<Outcome, CliError> {
    let path = cwd.join(config::CONFIG_FILE_NAME);
    if path.exists() {
        return Err(CliError::Input(format!(
            "{} already exists; not overwriting it",
            path.display()
        )));
    }
    write_file(&path, config::TEMPLATE.as_bytes())?;
    cli.notice(&format!("wrote {}", path.display()));
    Ok(Outcome::Clean)
}

/// The config in use (`--config`, `--no-config` or the repository's), with `--fail-level` applied.
fn settings(cli: &Cli, args: &CheckArgs) -> Result<Settings, CliError> {
    let mut settings = cli.config()?.unwrap_or_default();
    if let Some(level) = args.fail_level {
        settings.fail_level = match level {
            FailLevelArg::Error => Severity::Error,
            FailLevelArg::Warning => Severity::Warning,
            FailLevelArg::Info => Severity::Info,
        };
    }
    for n in &settings.notices {
        cli.notice(n);
    }
    Ok(settings)
}

/// `--fix`: `Some(outcome)` when the command ends here (`--dry-run`); whether files changed.
fn fix(
    cli: &Cli,
    args: &CheckArgs,
    ruleset: &crate::rules::RuleSet,
    kb: &crate::attack::KnowledgeBase,
    settings: &Settings,
) -> Result<(Option<Outcome>, bool), CliError> {
    let run = pipeline::fix_files(ruleset, kb, settings, args.dry_run);
    for event in &run.events {
        output::to_stderr(&match event {
            FixEvent::NotFixed { path, error } => {
                format!("not fixed: {}: {error}", output::path_line(path))
            }
            FixEvent::Fixed { path, line, change } => {
                format!("fixed {}:{line}: {change}", output::path_line(path))
            }
            FixEvent::Skipped(s) => format!("not fixed: {}:{}: {s}", s.path.display(), s.line),
        });
    }
    if let Some(e) = run.fatal {
        return Err(e.into());
    }
    if args.dry_run {
        emit(run.diffs)?;
        cli.notice(&format!(
            "--dry-run: {} file(s) would change",
            run.changed_files
        ));
        let findings = run.changed_files > 0 || run.skipped > 0;
        return Ok((Some(Outcome::findings_if(findings)), false));
    }
    if run.changed_files > 0 {
        cli.notice(&format!("fixed {} file(s)", run.changed_files));
    }
    Ok((None, run.changed_files > 0))
}

fn format_report(args: &CheckArgs, report: &check::CheckReport, cwd: &Path) -> String {
    let root = args
        .root
        .clone()
        .unwrap_or_else(|| config::repository_root(cwd));
    let ci = || {
        render::paths::rooted(
            report,
            &render::paths::RepoPaths {
                base: cwd.to_path_buf(),
                root: Some(root.clone()),
            },
        )
    };
    match args.format {
        CheckFormat::Text => render::check::text(report),
        CheckFormat::Json => render::json::to_string(report),
        CheckFormat::Junit => render::check::junit(&ci()),
        CheckFormat::Github => render::github::annotations(&ci()),
        CheckFormat::Gitlab => render::gitlab::code_quality(report, cwd, &root),
        CheckFormat::Sarif => render::sarif::to_sarif(
            report,
            &render::sarif::SarifOptions {
                root: render::paths::normalise(cwd, &root),
                base: cwd.to_path_buf(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
            },
        ),
    }
}

/// `--repository DIR`: the rules of the repository, for the repository-wide checks only (empty
/// without the flag). A DIR that does not exist or holds no rule file is an input error.
fn repository(cli: &Cli, args: &CheckArgs) -> Result<Vec<crate::rules::RuleRecord>, CliError> {
    let Some(dir) = &args.repository else {
        return Ok(Vec::new());
    };
    let load = || check::load_repository(dir, &cli.rule_options());
    let set = cli.with_progress("loading the repository", load);
    super::require_found(&set)?;
    Ok(set.rules)
}

pub(super) fn run(cli: &Cli, args: &CheckArgs) -> Result<Outcome, CliError> {
    let cwd = std::env::current_dir().map_err(CliError::io("working directory"))?;
    if args.init {
        return init(cli, &cwd);
    }
    let settings = settings(cli, args)?;
    if args.show_config {
        emit(settings.to_yaml())?;
        return Ok(Outcome::Clean);
    }
    let minimums = parse_min_coverage(&args.min_coverage)?;
    let baseline = match &args.coverage_baseline {
        Some(p) => Some((
            p.as_path(),
            Baseline::parse(&p.display().to_string(), &read_input(p, "baseline")?)?,
        )),
        None => None,
    };
    let kb = cli.knowledge_base_with(settings.attack.as_deref())?;
    let telemetry = Telemetry::embedded();
    let context = repository(cli, args)?;
    let (ruleset, mut report) = if args.fix {
        let load = || check::load_rules_with(&args.paths, &cli.rule_options());
        let mut ruleset = cli.require_rules(load)?;
        let (done, changed) = fix(cli, args, &ruleset, &kb, &settings)?;
        if let Some(outcome) = done {
            exit_without_freeing((kb, ruleset));
            return Ok(outcome);
        }
        if changed {
            ruleset = load();
        }
        let input = CheckInput {
            kb: &kb,
            telemetry,
            rules: &ruleset,
            settings: &settings,
        };
        let report = check::run_within(&input, &context);
        (ruleset, report)
    } else {
        // Checked while loading, so that each rule's source is dropped as soon as it is checked.
        let opts = cli.rule_options();
        let load =
            || check::load_and_run_within(&args.paths, &context, &opts, &kb, telemetry, &settings);
        cli.require_rules(load)?
    };
    if baseline.is_some() || !minimums.is_empty() {
        let baseline = baseline.as_ref().map(|(p, b)| (*p, b));
        let metric = match args.coverage_metric {
            MetricArg::Techniques => Metric::Techniques,
            MetricArg::Subtechniques => Metric::Subtechniques,
            MetricArg::All => Metric::All,
        };
        let extra = pipeline::coverage_gate(&kb, telemetry, &ruleset, baseline, &minimums, metric)?;
        report.extend(extra, &settings);
    }
    let out = format_report(args, &report, &cwd);
    let out = match args.format {
        CheckFormat::Github => output::annotation_safe(&out),
        _ => output::document_safe(&out),
    };
    match &args.output {
        Some(path) => write_file(path, out.as_bytes())?,
        None if args.format == CheckFormat::Text => put(&cli.styled(out, Paint::Check))?,
        None => put(&out)?,
    }
    if (args.format != CheckFormat::Text || args.output.is_some()) && !cli.quiet {
        output::to_stderr(render::check::summary(&report).trim_end());
    }
    let outcome = Outcome::findings_if(report.failed());
    exit_without_freeing((kb, ruleset, report, context));
    Ok(outcome)
}
