//! `attacktrace coverage`: ATT&CK coverage of a rule set in six formats, with baseline diff.

use super::{emit, read_input, write_report, Cli, CliError, Outcome};
use crate::coverage::{self, Baseline, CoverageInput, CoverageReport, Profile, ScopeOptions};
use crate::link::LinkIndex;
use crate::output;
use crate::render::paths::RepoPaths;
use crate::render::style::Paint;
use crate::render::{self, html, navigator};
use crate::telemetry::Telemetry;
use clap::{Args, ValueEnum};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoverageFormat {
    Text,
    Markdown,
    Json,
    Csv,
    Navigator,
    Html,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScoreArg {
    Count,
    MaxLevel,
    LevelWeighted,
    Tier,
}

#[derive(Debug, Args)]
pub(super) struct CoverageArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Format for stdout. Default: text, or nothing when `--output` is given.
    #[arg(long, value_enum)]
    format: Option<CoverageFormat>,
    /// Also write FORMAT to PATH (atomically), e.g. `navigator:layer.json`. Repeatable.
    #[arg(long = "output", short = 'o', value_name = "FORMAT:PATH")]
    outputs: Vec<String>,
    /// Telemetry profile (YAML list of collected Sigma logsources) for the runnable tier.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Previous JSON coverage output to diff against.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Exit 1 when a technique lost coverage or tier against `--baseline`.
    #[arg(long, requires = "baseline")]
    fail_on_loss: bool,
    /// Keep techniques of these platforms (repeatable or comma-separated).
    #[arg(long = "platform", value_delimiter = ',')]
    platforms: Vec<String>,
    /// Keep these tactics: shortname, TA ID or name (repeatable or comma-separated).
    #[arg(long = "tactic", value_delimiter = ',')]
    tactics: Vec<String>,
    /// Keep only techniques matching: technique ID, ID prefix, tactic shortname or TA ID.
    #[arg(long, value_delimiter = ',')]
    include: Vec<String>,
    /// Drop techniques matching: technique ID, ID prefix, tactic shortname or TA ID.
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Count only rules with these statuses (e.g. `stable,test`).
    #[arg(long = "status", value_delimiter = ',')]
    statuses: Vec<String>,
    /// Count only rules with these levels (e.g. `high,critical`).
    #[arg(long = "level", value_delimiter = ',')]
    levels: Vec<String>,
    /// Restrict scope to the techniques an ATT&CK group uses (ID such as G0016, or name).
    #[arg(long)]
    group: Option<String>,
    /// Navigator score.
    #[arg(long, value_enum, default_value_t = ScoreArg::Count)]
    score: ScoreArg,
    /// Base URL for the rule links in the Navigator layer and the HTML report (rule paths from the
    /// repository root are appended), e.g. `https://github.com/ORG/REPO/blob/main`.
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
    /// Repository root the HTML report and Navigator links show rule paths from. Default: the
    /// enclosing git repository of the working directory (else the working directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Judge the rules claiming guidance techniques by their content: a model trained on the
    /// loaded tagged rules (each rule scored without its own share, as `check`'s
    /// `attack_tag_unlikely`) calls a claim a likely mis-tag only when the detection points
    /// elsewhere. Costs about a second on a large repository.
    #[arg(long)]
    score_claims: bool,
    /// Saved `attacktrace test --save FILE` result: fills the validated tier.
    #[arg(long, value_name = "FILE")]
    tests: Option<PathBuf>,
}

impl CoverageArgs {
    /// Every `--output FORMAT:PATH`, checked before the (slow) load so a typo fails fast.
    fn outputs(&self) -> Result<Vec<(CoverageFormat, PathBuf)>, CliError> {
        let bad = |o: &str, why: String| CliError::Input(format!("--output `{o}`: {why}"));
        let mut out: Vec<(CoverageFormat, PathBuf)> = Vec::new();
        for o in &self.outputs {
            let (f, path) = o
                .split_once(':')
                .ok_or_else(|| bad(o, "expected FORMAT:PATH, e.g. html:report.html".into()))?;
            let format = <CoverageFormat as ValueEnum>::from_str(f, true).map_err(|_| {
                bad(
                    o,
                    format!("unknown format `{f}` (text, markdown, json, csv, navigator, html)"),
                )
            })?;
            if path.is_empty() {
                return Err(bad(o, "empty path".into()));
            }
            let path = PathBuf::from(path);
            if out.iter().any(|(_, p)| same_file(p, &path)) {
                return Err(bad(o, "the same path is given to another --output".into()));
            }
            out.push((format, path));
        }
        Ok(out)
    }

    fn scope(&self) -> ScopeOptions {
        ScopeOptions {
            platforms: self.platforms.clone(),
            tactics: self.tactics.clone(),
            include: self.include.clone(),
            ignore: self.ignore.clone(),
            statuses: self.statuses.clone(),
            levels: self.levels.clone(),
            group: self.group.clone(),
        }
    }

    /// `--link-base`, checked before the load like `--output`.
    fn check_link_base(&self) -> Result<(), CliError> {
        match &self.link_base {
            Some(base) => navigator::check_link_base(base)
                .map_err(|e| CliError::Input(format!("--link-base: {e}"))),
            None => Ok(()),
        }
    }

    /// Rule paths from `--root`, else from the repository of the working directory.
    fn repo_paths(&self) -> Result<RepoPaths, CliError> {
        let cwd = std::env::current_dir().map_err(CliError::io("working directory"))?;
        let root = match &self.root {
            Some(r) => r.clone(),
            None => crate::config::repository_root(&cwd),
        };
        Ok(RepoPaths {
            base: cwd,
            root: Some(root),
        })
    }

    fn navigator(&self, paths: &RepoPaths) -> navigator::NavigatorOptions {
        navigator::NavigatorOptions {
            paths: paths.clone(),
            score: match self.score {
                ScoreArg::Count => navigator::Score::Count,
                ScoreArg::MaxLevel => navigator::Score::MaxLevel,
                ScoreArg::LevelWeighted => navigator::Score::LevelWeighted,
                ScoreArg::Tier => navigator::Score::Tier,
            },
            link_base: self.link_base.clone(),
        }
    }
}

/// Whether two output paths name the same file: compared after joining the working directory,
/// dropping `.` and `..`, and resolving the parent directory when it exists (a symlinked folder).
fn same_file(a: &Path, b: &Path) -> bool {
    fn key(p: &Path) -> PathBuf {
        let abs = std::env::current_dir().unwrap_or_default().join(p);
        let mut out = PathBuf::new();
        for c in abs.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other.as_os_str()),
            }
        }
        match (out.parent().map(std::fs::canonicalize), out.file_name()) {
            (Some(Ok(dir)), Some(name)) => dir.join(name),
            _ => out,
        }
    }
    key(a) == key(b)
}

/// How the visual formats show rule paths and links.
struct Views {
    nav: navigator::NavigatorOptions,
    html: html::HtmlOptions,
}

fn render_coverage(report: &CoverageReport, format: CoverageFormat, views: &Views) -> String {
    match format {
        CoverageFormat::Text => render::text::coverage(report),
        CoverageFormat::Markdown => render::markdown::coverage(report),
        CoverageFormat::Json => render::json::to_string(report),
        CoverageFormat::Csv => render::csv::coverage(report),
        CoverageFormat::Navigator => navigator::coverage(report, &views.nav),
        CoverageFormat::Html => html::coverage_with(report, &views.html),
    }
}

pub(super) fn run(cli: &Cli, args: &CoverageArgs) -> Result<Outcome, CliError> {
    let outputs = args.outputs()?;
    args.check_link_base()?;
    let telemetry = Telemetry::embedded();
    let profile = match &args.profile {
        Some(p) => Some(Profile::parse(
            &p.display().to_string(),
            &read_input(p, "profile")?,
            telemetry,
        )?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::parse(
            &p.display().to_string(),
            &read_input(p, "baseline")?,
        )?),
        None => None,
    };
    let kb = cli.knowledge_base()?;
    // Compiled like `rules` does, so the load summary's `not_evaluable` is the same count in both
    // (a loader that skips compiling cannot know it and would report 0).
    // With `--score-claims`, features are read while each rule's source is at hand: the content
    // model scores the rules claiming guidance techniques.
    let (ruleset, features) = if args.score_claims {
        let load = || crate::suggest::load_with_features(&args.paths, &cli.rule_options());
        let (ruleset, features) = cli.require_rules(load)?;
        (ruleset, Some(features))
    } else {
        (cli.load_rules(&args.paths)?, None)
    };
    cli.note_unloaded(&ruleset);
    let templates = ruleset.rules.iter().filter(|r| r.is_template()).count();
    if templates > 0 {
        cli.notice(&format!(
            "{templates} rule(s) tagged {} are AttackTrace correlation templates: not counted as coverage",
            crate::template::TEMPLATE_TAG
        ));
    }
    let links = LinkIndex::build(&kb, &ruleset);
    let validated = match &args.tests {
        Some(p) => Some(
            crate::evidence::saved::validated_rules(&ruleset, &read_input(p, "test result")?)
                .map_err(|source| CliError::TestResult {
                    path: p.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let report = coverage::build(&CoverageInput {
        kb: &kb,
        telemetry,
        rules: &ruleset,
        links: &links,
        scope: &args.scope(),
        profile: profile.as_ref(),
        validated: validated.as_ref(),
        baseline: baseline.as_ref(),
        features: features.as_deref(),
    })?;
    let paths = args.repo_paths()?;
    let views = Views {
        nav: args.navigator(&paths),
        html: html::HtmlOptions {
            paths,
            link_base: args.link_base.clone(),
        },
    };
    for (format, path) in &outputs {
        write_report(path, &render_coverage(&report, *format, &views))?;
    }
    let stdout_format = args
        .format
        .or(outputs.is_empty().then_some(CoverageFormat::Text));
    match stdout_format {
        Some(CoverageFormat::Text) => cli.emit_text(
            render_coverage(&report, CoverageFormat::Text, &views),
            Paint::Coverage,
        )?,
        Some(f) => emit(render_coverage(&report, f, &views))?,
        None => {}
    }
    if !(args.fail_on_loss && report.losses() > 0) {
        return Ok(Outcome::Clean);
    }
    if stdout_format.is_none() {
        for c in report.baseline.iter().flat_map(|b| &b.lost) {
            output::to_stderr(&format!(
                "lost: {} {} ({} -> {})",
                c.id,
                output::one_line(&c.name),
                c.before.as_str(),
                c.after.as_str()
            ));
        }
    }
    output::to_stderr(&format!(
        "error: {} technique(s) lost coverage or tier against the baseline",
        report.losses()
    ));
    Ok(Outcome::Findings)
}
