//! Command-line interface: clap lives only here. Parses arguments, calls the library, picks a
//! renderer, and maps the outcome to the documented exit codes:
//! 0 clean, 1 findings (files that could not be loaded, failed gates), 2 usage or input error.

use crate::attack::{self, KnowledgeBase};
use crate::card::{self, RuleContext};
use crate::link::LinkIndex;
use crate::listing::{self, RuleFilter};
use crate::render::{self, Format};
use crate::rules::{self, RuleSet};
use crate::telemetry::Telemetry;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "attacktrace",
    version,
    about = "Sigma rules against MITRE ATT&CK: technique cards, rule listings, ATT&CK data",
    after_help = "Exit codes: 0 clean, 1 findings, 2 usage or input error."
)]
struct Cli {
    /// ATT&CK data to use: a STIX bundle (2.0 or 2.1; enterprise, mobile or ICS) or a compiled
    /// catalog. Default: the embedded enterprise v18.1 catalog.
    #[arg(long, global = true, value_name = "FILE", env = "ATTACKTRACE_ATTACK")]
    attack: Option<PathBuf>,
    /// ATT&CK version of a bundle that does not state it (STIX 2.0 bundles carry no version).
    #[arg(long, global = true, value_name = "VERSION")]
    attack_version: Option<String>,
    /// Print no notices on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the card of one technique: ATT&CK facts, detection guidance, events, rules, checklist.
    Technique(TechniqueArgs),
    /// List loaded Sigma rules, with a summary of files seen, loaded and reported.
    Rules(RulesArgs),
    /// ATT&CK coverage of a rule set: per-tactic summary, gaps, tiers, Navigator layer, HTML, baseline diff.
    Coverage(CoverageArgs),
    /// ATT&CK data: show what is loaded, or compile a bundle into a catalog.
    #[command(subcommand)]
    Attack(AttackCommand),
    /// Explain a diagnostic code, or list all codes.
    Explain {
        /// The code, e.g. `yaml_error`.
        code: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CardFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

impl From<CardFormat> for Format {
    fn from(f: CardFormat) -> Format {
        match f {
            CardFormat::Text => Format::Text,
            CardFormat::Markdown => Format::Markdown,
            CardFormat::Json => Format::Json,
        }
    }
}

impl From<ListFormat> for Format {
    fn from(f: ListFormat) -> Format {
        match f {
            ListFormat::Text => Format::Text,
            ListFormat::Json => Format::Json,
        }
    }
}

#[derive(Debug, Args)]
struct TechniqueArgs {
    /// Technique ID (`T1059.001`, any case) or an exact or unambiguous partial name.
    query: String,
    /// Sigma rules: files, directories (recursive) or globs. Repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = CardFormat::Text)]
    format: CardFormat,
}

#[derive(Debug, Args)]
struct RulesArgs {
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

#[derive(Debug, Subcommand)]
enum AttackCommand {
    /// Print the active ATT&CK source, domain, version and object counts.
    Info {
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CoverageFormat {
    Text,
    Markdown,
    Json,
    Csv,
    Navigator,
    Html,
}

impl CoverageFormat {
    fn parse(s: &str) -> Option<CoverageFormat> {
        <CoverageFormat as ValueEnum>::from_str(s, true).ok()
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScoreArg {
    Count,
    MaxLevel,
    LevelWeighted,
    Tier,
}

#[derive(Debug, Args)]
struct CoverageArgs {
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
    /// Base URL for the rule links in the Navigator layer (rule paths are appended).
    #[arg(long, value_name = "URL")]
    link_base: Option<String>,
}

/// Outcome of a command, before it becomes an exit code.
enum Outcome {
    Clean,
    Findings,
}

/// An error for the user: printed as `error: ...`, exit code 2.
struct UserError(String);

impl<E: std::fmt::Display> From<E> for UserError {
    fn from(e: E) -> Self {
        UserError(e.to_string())
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with exit 0; usage errors to stderr with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    install_panic_hook();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(Ok(Outcome::Clean)) => ExitCode::SUCCESS,
        Ok(Ok(Outcome::Findings)) => ExitCode::from(1),
        Ok(Err(UserError(msg))) => {
            render::to_stderr(&format!("error: {msg}"));
            ExitCode::from(2)
        }
        Err(_) => {
            let detail = LAST_PANIC
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "unknown".to_string());
            render::to_stderr(&format!(
                "error: internal error ({detail}); this is a bug in attacktrace, please report it with the command line and input that caused it"
            ));
            ExitCode::from(2)
        }
    }
}

/// The message and location of the last panic. Panics are caught (per file in the loader, and
/// around the whole command here) and turned into diagnostics or one clear internal-error line,
/// so the default hook's backtrace noise never reaches the user.
static LAST_PANIC: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(format!("{msg}{at}"));
        }
    }));
}

fn notice(cli_quiet: bool, msg: &str) {
    if !cli_quiet {
        render::to_stderr(&format!("note: {msg}"));
    }
}

fn load_kb(cli: &Cli) -> Result<KnowledgeBase, UserError> {
    match &cli.attack {
        Some(path) => {
            let opts = attack::stix::LoadOptions {
                attack_version: cli.attack_version.clone(),
            };
            let kb = attack::stix::load_path(path, &opts)?;
            if kb.source.version_from == "file-name" {
                notice(
                    cli.quiet,
                    &format!(
                        "ATT&CK version {} taken from the file name (the bundle does not state it; use --attack-version to set it)",
                        kb.source.version
                    ),
                );
            }
            Ok(kb)
        }
        None => Ok(attack::catalog::embedded()),
    }
}

fn load_rules(paths: &[PathBuf]) -> RuleSet {
    rules::load::load(paths, &rules::load::LoadOptions::default())
}

/// The process ends right after output: freeing thousands of parsed rules and the knowledge base
/// one by one costs ~15 ms of a ~100 ms run for nothing, so the memory is handed back to the OS
/// with the process instead.
fn exit_without_freeing<T>(data: T) {
    std::mem::forget(data);
}

fn emit(text: String) -> Result<(), UserError> {
    render::to_stdout(text.as_bytes()).map_err(|e| UserError(format!("writing output: {e}")))
}

fn run(cli: Cli) -> Result<Outcome, UserError> {
    // Debug builds only: lets a test prove that a panic anywhere becomes a clean exit 2.
    #[cfg(debug_assertions)]
    if std::env::var_os("ATTACKTRACE_INJECT_PANIC").is_some() {
        panic!("fault injected by ATTACKTRACE_INJECT_PANIC");
    }
    match &cli.command {
        Command::Technique(args) => {
            let kb = load_kb(&cli)?;
            let resolution = attack::lookup::resolve(&kb, &args.query)?;
            for n in &resolution.notices {
                notice(cli.quiet, n);
            }
            let ruleset = (!args.rules.is_empty()).then(|| load_rules(&args.rules));
            let links = ruleset.as_ref().map(|r| LinkIndex::build(&kb, r));
            if let Some(r) = &ruleset {
                if r.files_reported > 0 {
                    notice(
                        cli.quiet,
                        &format!(
                            "{} of {} rule files could not be loaded; `attacktrace rules PATH` lists them",
                            r.files_reported, r.files_seen
                        ),
                    );
                }
            }
            let ctx = match (&ruleset, &links) {
                (Some(rules), Some(links)) => Some(RuleContext { rules, links }),
                _ => None,
            };
            let card = card::build(
                &kb,
                Telemetry::embedded(),
                resolution.technique,
                resolution.notices.clone(),
                ctx,
            );
            emit(match Format::from(args.format) {
                Format::Text => render::text::card(&card),
                Format::Markdown => render::markdown::card(&card),
                Format::Json => render::json::to_string(&card),
            })?;
            exit_without_freeing((kb, ruleset, links));
            Ok(Outcome::Clean)
        }
        Command::Rules(args) => {
            let kb = load_kb(&cli)?;
            let ruleset = load_rules(&args.paths);
            let links = LinkIndex::build(&kb, &ruleset);
            let filter = RuleFilter {
                technique: match &args.technique {
                    Some(q) => Some(attack::lookup::resolve(&kb, q)?.technique.id.clone()),
                    None => None,
                },
                product: args.product.clone(),
                category: args.category.clone(),
                service: args.service.clone(),
            };
            let listing = listing::rule_listing(&kb, &ruleset, &links, &filter);
            emit(match Format::from(args.format) {
                Format::Json => render::json::to_string(&listing),
                _ => render::text::listing(&listing),
            })?;
            let outcome = if ruleset.files_reported > 0 || !ruleset.reports.is_empty() {
                Outcome::Findings
            } else {
                Outcome::Clean
            };
            exit_without_freeing((kb, ruleset, links));
            Ok(outcome)
        }
        Command::Coverage(args) => run_coverage(&cli, args),
        Command::Attack(AttackCommand::Info { format }) => {
            let kb = load_kb(&cli)?;
            let info = listing::AttackInfo {
                schema: "attacktrace.attack-info/1",
                source: kb.source.clone(),
                stats: attack::stats::stats(&kb),
            };
            emit(match Format::from(*format) {
                Format::Json => render::json::to_string(&info),
                _ => render::text::attack_info(&info),
            })?;
            Ok(Outcome::Clean)
        }
        Command::Attack(AttackCommand::Compile { bundle, output }) => {
            let opts = attack::stix::LoadOptions {
                attack_version: cli.attack_version.clone(),
            };
            let kb = attack::stix::load_path(bundle, &opts)?;
            let catalog = attack::catalog::compile_catalog(&kb);
            render::write_atomic(output, catalog.as_bytes())
                .map_err(|e| UserError(format!("writing {}: {e}", output.display())))?;
            notice(
                cli.quiet,
                &format!(
                    "wrote {} ({} v{}, {} techniques)",
                    output.display(),
                    kb.source.domain,
                    kb.source.version,
                    kb.techniques.len()
                ),
            );
            Ok(Outcome::Clean)
        }
        Command::Explain { code } => {
            match code {
                None => {
                    let mut out = String::new();
                    for c in crate::diag::CODES {
                        out.push_str(&format!(
                            "{:<28} {:<8} {}\n",
                            c.code,
                            c.severity.as_str(),
                            c.summary
                        ));
                    }
                    emit(out)?;
                }
                Some(code) => {
                    let info = crate::diag::lookup(code).ok_or_else(|| {
                        UserError(format!(
                            "unknown code `{code}`; `attacktrace explain` lists them"
                        ))
                    })?;
                    emit(format!(
                        "{} ({})\n{}\n\n{}\n",
                        info.code,
                        info.severity.as_str(),
                        info.summary,
                        info.explanation
                    ))?;
                }
            }
            Ok(Outcome::Clean)
        }
    }
}

fn render_coverage(
    report: &crate::coverage::CoverageReport,
    format: CoverageFormat,
    nav: &render::navigator::NavigatorOptions,
) -> String {
    match format {
        CoverageFormat::Text => render::text::coverage(report),
        CoverageFormat::Markdown => render::markdown::coverage(report),
        CoverageFormat::Json => render::json::to_string(report),
        CoverageFormat::Csv => render::csv::coverage(report),
        CoverageFormat::Navigator => render::navigator::coverage(report, nav),
        CoverageFormat::Html => render::html::coverage(report),
    }
}

fn run_coverage(cli: &Cli, args: &CoverageArgs) -> Result<Outcome, UserError> {
    use crate::coverage::{self, Baseline, CoverageInput, Profile, ScopeOptions};
    // Check every --output before the (slow) load, so a typo fails fast.
    let mut outputs = Vec::new();
    for o in &args.outputs {
        let (f, path) = o.split_once(':').ok_or_else(|| {
            UserError(format!(
                "--output `{o}`: expected FORMAT:PATH, e.g. html:report.html"
            ))
        })?;
        let format = CoverageFormat::parse(f).ok_or_else(|| {
            UserError(format!(
                "--output `{o}`: unknown format `{f}` (text, markdown, json, csv, navigator, html)"
            ))
        })?;
        if path.is_empty() {
            return Err(UserError(format!("--output `{o}`: empty path")));
        }
        outputs.push((format, PathBuf::from(path)));
    }
    let read = |p: &PathBuf, what: &str| {
        std::fs::read_to_string(p)
            .map_err(|e| UserError(format!("reading {what} {}: {e}", p.display())))
    };
    let telemetry = Telemetry::embedded();
    let profile = match &args.profile {
        Some(p) => Some(Profile::parse(
            &p.display().to_string(),
            &read(p, "profile")?,
            telemetry,
        )?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(p) => Some(Baseline::parse(
            &p.display().to_string(),
            &read(p, "baseline")?,
        )?),
        None => None,
    };
    let kb = load_kb(cli)?;
    let ruleset = with_progress(cli.quiet, "loading rules", || {
        rules::load::load(
            &args.paths,
            &rules::load::LoadOptions {
                compile: false,
                ..Default::default()
            },
        )
    });
    if ruleset.files_reported > 0 {
        notice(
            cli.quiet,
            &format!(
                "{} of {} rule files could not be loaded; `attacktrace rules PATH` lists them",
                ruleset.files_reported, ruleset.files_seen
            ),
        );
    }
    let links = LinkIndex::build(&kb, &ruleset);
    let scope = ScopeOptions {
        platforms: args.platforms.clone(),
        tactics: args.tactics.clone(),
        include: args.include.clone(),
        ignore: args.ignore.clone(),
        statuses: args.statuses.clone(),
        levels: args.levels.clone(),
        group: args.group.clone(),
    };
    let report = coverage::build(&CoverageInput {
        kb: &kb,
        telemetry,
        rules: &ruleset,
        links: &links,
        scope: &scope,
        profile: profile.as_ref(),
        validated: None,
        baseline: baseline.as_ref(),
    })?;
    let nav = render::navigator::NavigatorOptions {
        score: match args.score {
            ScoreArg::Count => render::navigator::Score::Count,
            ScoreArg::MaxLevel => render::navigator::Score::MaxLevel,
            ScoreArg::LevelWeighted => render::navigator::Score::LevelWeighted,
            ScoreArg::Tier => render::navigator::Score::Tier,
        },
        link_base: args.link_base.clone(),
    };
    for (format, path) in &outputs {
        render::write_atomic(path, render_coverage(&report, *format, &nav).as_bytes())
            .map_err(|e| UserError(format!("writing {}: {e}", path.display())))?;
    }
    let stdout_format = args
        .format
        .or(outputs.is_empty().then_some(CoverageFormat::Text));
    if let Some(f) = stdout_format {
        emit(render_coverage(&report, f, &nav))?;
    }
    if args.fail_on_loss && report.losses() > 0 {
        if stdout_format.is_none() {
            for c in report.baseline.iter().flat_map(|b| &b.lost) {
                render::to_stderr(&format!(
                    "lost: {} {} ({} -> {})",
                    c.id,
                    c.name,
                    c.before.as_str(),
                    c.after.as_str()
                ));
            }
        }
        render::to_stderr(&format!(
            "error: {} technique(s) lost coverage or tier against the baseline",
            report.losses()
        ));
        return Ok(Outcome::Findings);
    }
    Ok(Outcome::Clean)
}

/// Runs `f`; when stderr is a terminal and `f` takes over a second, shows the elapsed time on stderr
/// (erased afterwards). Silent in pipes, CI logs and with `--quiet`.
fn with_progress<T>(quiet: bool, label: &str, f: impl FnOnce() -> T) -> T {
    use std::io::{IsTerminal, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    if quiet || !std::io::stderr().is_terminal() {
        return f();
    }
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let label = label.to_string();
    let ticker = std::thread::spawn(move || {
        let start = Instant::now();
        let mut shown = false;
        while !flag.load(Ordering::Relaxed) {
            std::thread::park_timeout(Duration::from_millis(100));
            let t = start.elapsed();
            if t > Duration::from_secs(1) && !flag.load(Ordering::Relaxed) {
                let _ = write!(std::io::stderr(), "\r{label}... {:.1}s", t.as_secs_f64());
                shown = true;
            }
        }
        if shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    });
    let out = f();
    done.store(true, Ordering::Relaxed);
    // Wake the ticker so a fast load is not held up by its sleep.
    ticker.thread().unpark();
    let _ = ticker.join();
    out
}
