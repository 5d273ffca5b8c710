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
    /// Largest rule file read, in bytes; larger files are reported (`file_too_large`).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = rules::DEFAULT_MAX_FILE_SIZE)]
    max_file_size: u64,
    /// Follow symbolic links that lead outside the rule directories given (off: reported instead).
    #[arg(long, global = true)]
    follow_symlinks: bool,
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
    /// Run rules against events: their own tests (`name.tests/`, SigmaHQ regression data),
    /// `--events` (report matches) and `--benign` (every match is a false positive).
    Test(TestArgs),
    /// ATT&CK data: show what is loaded, or compile a bundle into a catalog.
    #[command(subcommand)]
    Attack(AttackCommand),
    /// CI gate: validate rules (syntax, detection, ATT&CK tags, repository, log sources), with
    /// config, inline suppressions, SARIF/JUnit/GitHub output, coverage gate and `--fix`.
    Check(CheckArgs),
    /// Rewrite rule tags for another ATT&CK release: revoked techniques to their replacement,
    /// tactic tags re-derived from the techniques' tactics in the new release.
    Migrate(MigrateArgs),
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
        old: String,
        new: String,
        /// Sigma rules: list the rules each change affects. Repeatable.
        #[arg(long = "rules", value_name = "PATH")]
        rules: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = CardFormat::Text)]
        format: CardFormat,
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
    /// Saved `attacktrace test --save FILE` result: fills the validated tier.
    #[arg(long, value_name = "FILE")]
    tests: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct MigrateArgs {
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
            crate::output::to_stderr(&format!("error: {msg}"));
            ExitCode::from(2)
        }
        Err(_) => {
            let detail = LAST_PANIC
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "unknown".to_string());
            crate::output::to_stderr(&format!(
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

/// One notice when some rule files could not be loaded (the `rules` command lists them).
fn note_unloaded(quiet: bool, rules: &RuleSet) {
    if rules.files_reported > 0 {
        notice(
            quiet,
            &format!(
                "{} of {} rule files could not be loaded; `attacktrace rules PATH` lists them",
                rules.files_reported, rules.files_seen
            ),
        );
    }
}

fn notice(cli_quiet: bool, msg: &str) {
    if !cli_quiet {
        crate::output::to_stderr(&format!("note: {msg}"));
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
        None => {
            // No --attack / ATTACKTRACE_ATTACK: the repository's `.attacktrace.yml` `attack:` key,
            // then the cache from `attack update`, then the embedded catalog.
            if let Some(path) = configured_attack()? {
                let opts = attack::stix::LoadOptions {
                    attack_version: cli.attack_version.clone(),
                };
                return Ok(attack::stix::load_path(&path, &opts)?);
            }
            // A broken cache is not fatal.
            let dir = attack::update::cache_dir();
            let cached = dir.as_deref().and_then(|d| {
                attack::update::load_cached(d, "enterprise-attack", &Default::default())
            });
            match cached {
                Some(Ok(kb)) => Ok(kb),
                Some(Err(e)) => {
                    notice(
                        cli.quiet,
                        &format!("ignoring the ATT&CK cache ({e}); using the embedded catalog; run `attacktrace attack update` to repair it"),
                    );
                    Ok(attack::catalog::embedded())
                }
                None => Ok(attack::catalog::embedded()),
            }
        }
    }
}

/// The `attack:` key of the `.attacktrace.yml` found from the working directory, if any.
fn configured_attack() -> Result<Option<PathBuf>, UserError> {
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(None);
    };
    match crate::config::discover(&cwd) {
        Some(file) => Ok(crate::config::Settings::load(&file)?.attack),
        None => Ok(None),
    }
}

/// Rule-loading options from the global flags; commands adjust `compile` and `keep_source`.
fn rule_options(cli: &Cli) -> rules::LoadOptions {
    rules::LoadOptions {
        max_file_size: cli.max_file_size,
        follow_symlinks: cli.follow_symlinks,
        ..Default::default()
    }
}

fn load_rules(cli: &Cli, paths: &[PathBuf]) -> RuleSet {
    rules::load::load(paths, &rule_options(cli))
}

/// The process ends right after output: freeing thousands of parsed rules and the knowledge base
/// one by one costs ~15 ms of a ~100 ms run for nothing, so the memory is handed back to the OS
/// with the process instead.
fn exit_without_freeing<T>(data: T) {
    std::mem::forget(data);
}

fn emit(text: String) -> Result<(), UserError> {
    crate::output::to_stdout(text.as_bytes()).map_err(|e| UserError(format!("writing output: {e}")))
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
            let ruleset = (!args.rules.is_empty()).then(|| load_rules(&cli, &args.rules));
            let links = ruleset.as_ref().map(|r| LinkIndex::build(&kb, r));
            if let Some(r) = &ruleset {
                note_unloaded(cli.quiet, r);
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
            let ruleset = load_rules(&cli, &args.paths);
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
        Command::Check(args) => run_check(&cli, args),
        Command::Test(args) => run_test(&cli, args),
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
        Command::Attack(AttackCommand::Update { url, domain }) => {
            run_attack_update(&cli, url, domain)
        }
        Command::Attack(AttackCommand::Diff {
            old,
            new,
            rules,
            format,
        }) => run_attack_diff(&cli, old, new, rules, *format),
        Command::Migrate(args) => run_migrate(&cli, args),
        Command::Attack(AttackCommand::Compile { bundle, output }) => {
            let opts = attack::stix::LoadOptions {
                attack_version: cli.attack_version.clone(),
            };
            let kb = attack::stix::load_path(bundle, &opts)?;
            let catalog = attack::catalog::compile_catalog(&kb);
            crate::output::write_atomic(output, catalog.as_bytes())
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
                ..rule_options(cli)
            },
        )
    });
    note_unloaded(cli.quiet, &ruleset);
    let links = LinkIndex::build(&kb, &ruleset);
    let validated = match &args.tests {
        Some(p) => Some(
            validated_rules(&ruleset, &read(p, "test result")?)
                .map_err(|e| UserError(format!("test result {}: {e}", p.display())))?,
        ),
        None => None,
    };
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
        validated: validated.as_ref(),
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
        crate::output::write_atomic(path, render_coverage(&report, *format, &nav).as_bytes())
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
                crate::output::to_stderr(&format!(
                    "lost: {} {} ({} -> {})",
                    c.id,
                    c.name,
                    c.before.as_str(),
                    c.after.as_str()
                ));
            }
        }
        crate::output::to_stderr(&format!(
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Args)]
struct TestArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Event files or directories (JSON, JSON Lines, arrays, concatenated documents); report
    /// which rules match which events. Repeatable.
    #[arg(long = "events", value_name = "PATH")]
    events: Vec<PathBuf>,
    /// Benign event files or directories: every match is a false positive (exit 1). Repeatable.
    #[arg(long = "benign", value_name = "PATH")]
    benign: Vec<PathBuf>,
    /// Evaluate every rule on every event instead of only rules whose logsource can apply.
    #[arg(long)]
    no_routing: bool,
    /// Skip the rules' own tests (`name.tests/`, `regression_tests_path`).
    #[arg(long)]
    no_own_tests: bool,
    /// Evaluate every routed rule with the engine, without the literal prefilter (for comparison).
    #[arg(long)]
    no_prefilter: bool,
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    format: TestFormat,
    /// Also write the JSON result to FILE (atomically), for `coverage --tests FILE`.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Events read from one file at most; more is a finding.
    #[arg(long, value_name = "N", default_value_t = crate::evidence::ReadLimits::default().max_events)]
    max_events: usize,
    /// Bytes per line at most; a longer line is a finding.
    #[arg(long, value_name = "BYTES", default_value_t = crate::evidence::ReadLimits::default().max_line_bytes)]
    max_line_bytes: usize,
}

fn run_test(cli: &Cli, args: &TestArgs) -> Result<Outcome, UserError> {
    use crate::evidence::{self, FieldMap, ReadLimits, TestInputs, TestOptions};
    // The raw detection is kept for the evaluation prefilter (`evidence::prefilter`).
    let ruleset = with_progress(cli.quiet, "loading rules", || {
        rules::load::load(
            &args.paths,
            &rules::load::LoadOptions {
                keep_source: true,
                ..rule_options(cli)
            },
        )
    });
    note_unloaded(cli.quiet, &ruleset);
    let opts = TestOptions {
        routing: !args.no_routing,
        limits: ReadLimits {
            max_events: args.max_events,
            max_line_bytes: args.max_line_bytes,
            max_event_bytes: ReadLimits::default()
                .max_event_bytes
                .max(args.max_line_bytes),
        },
        own_tests: !args.no_own_tests,
        prefilter: !args.no_prefilter,
    };
    let inputs = TestInputs {
        events: args.events.clone(),
        benign: args.benign.clone(),
    };
    let report = with_progress(cli.quiet, "evaluating", || {
        evidence::run(
            &ruleset,
            Telemetry::embedded(),
            FieldMap::embedded(),
            &inputs,
            &opts,
        )
    });
    if let Some(path) = &args.save {
        crate::output::write_atomic(path, render::json::to_string(&report).as_bytes())
            .map_err(|e| UserError(format!("writing {}: {e}", path.display())))?;
    }
    emit(match args.format {
        TestFormat::Text => render::test_report::text(&report),
        TestFormat::Json => render::json::to_string(&report),
        TestFormat::Junit => render::test_report::junit(&report),
    })?;
    let outcome = if report.failed() {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    exit_without_freeing((ruleset, report));
    Ok(outcome)
}

// ---- check ------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
    Sarif,
    Junit,
    Github,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailLevelArg {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(value_name = "PATH", required_unless_present_any = ["init", "show_config"])]
    paths: Vec<PathBuf>,
    /// Configuration file. Default: `.attacktrace.yml` in the working directory or a parent, up to
    /// the repository root. A pySigma validation config is accepted as is.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Coverage gate: previous `coverage --format json` output; a technique that lost coverage or
    /// tier is a `coverage_loss` finding.
    #[arg(long, value_name = "FILE")]
    coverage_baseline: Option<PathBuf>,
    /// Coverage gate: minimum share of techniques covered, per tactic (shortname, TA ID or name) or
    /// `overall`, e.g. `execution=40` (repeatable or comma-separated).
    #[arg(long, value_name = "TACTIC=PCT", value_delimiter = ',')]
    min_coverage: Vec<String>,
    /// Rewrite safe tag problems in place: revoked techniques, missing tactic tags, case, repeats.
    #[arg(long)]
    fix: bool,
    /// With `--fix`: print the diff instead of writing; exit 1 when something would change.
    #[arg(long, requires = "fix")]
    dry_run: bool,
}

/// Nearest ancestor of `dir` holding `.git`, else `dir`.
fn repository_root(dir: &std::path::Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

fn parse_min_coverage(items: &[String]) -> Result<Vec<(String, f64)>, UserError> {
    items
        .iter()
        .map(|item| {
            let (k, v) = item.split_once('=').ok_or_else(|| {
                UserError(format!(
                    "--min-coverage `{item}`: expected TACTIC=PCT, e.g. execution=40"
                ))
            })?;
            let pct: f64 = v.trim().trim_end_matches('%').parse().map_err(|_| {
                UserError(format!("--min-coverage `{item}`: `{v}` is not a number"))
            })?;
            if !(0.0..=100.0).contains(&pct) {
                return Err(UserError(format!(
                    "--min-coverage `{item}`: percentage must be between 0 and 100"
                )));
            }
            Ok((k.trim().to_string(), pct))
        })
        .collect()
}

fn run_check(cli: &Cli, args: &CheckArgs) -> Result<Outcome, UserError> {
    use crate::{check, config};
    let cwd = std::env::current_dir().map_err(|e| UserError(format!("working directory: {e}")))?;
    if args.init {
        let path = cwd.join(config::CONFIG_FILE_NAME);
        if path.exists() {
            return Err(UserError(format!(
                "{} already exists; not overwriting it",
                path.display()
            )));
        }
        crate::output::write_atomic(&path, config::TEMPLATE.as_bytes())
            .map_err(|e| UserError(format!("writing {}: {e}", path.display())))?;
        notice(cli.quiet, &format!("wrote {}", path.display()));
        return Ok(Outcome::Clean);
    }
    let config_path = args.config.clone().or_else(|| config::discover(&cwd));
    let mut settings = match &config_path {
        Some(p) => config::Settings::load(p)?,
        None => config::Settings::default(),
    };
    if let Some(level) = args.fail_level {
        settings.fail_level = match level {
            FailLevelArg::Error => crate::diag::Severity::Error,
            FailLevelArg::Warning => crate::diag::Severity::Warning,
            FailLevelArg::Info => crate::diag::Severity::Info,
        };
    }
    for n in &settings.notices {
        notice(cli.quiet, n);
    }
    if args.show_config {
        emit(settings.to_yaml())?;
        return Ok(Outcome::Clean);
    }
    let minimums = parse_min_coverage(&args.min_coverage)?;
    let baseline = match &args.coverage_baseline {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| UserError(format!("reading baseline {}: {e}", p.display())))?;
            Some(crate::coverage::Baseline::parse(
                &p.display().to_string(),
                &text,
            )?)
        }
        None => None,
    };
    let kb = load_kb(cli)?;
    let mut ruleset = with_progress(cli.quiet, "loading rules", || {
        check::load_rules_with(&args.paths, &rule_options(cli))
    });
    if args.fix {
        let plans = check::fix::plan_all(&ruleset, &kb);
        let mut diffs = String::new();
        let mut changed_files = 0usize;
        for (path, fixes) in &plans {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UserError(format!("reading {}: {e}", path.display())))?;
            let new = match check::fix::apply(&text, fixes) {
                Ok(t) => t,
                Err(e) => {
                    crate::output::to_stderr(&format!("not fixed: {}: {e}", path.display()));
                    continue;
                }
            };
            if new == text {
                continue;
            }
            changed_files += 1;
            if args.dry_run {
                diffs.push_str(&crate::tagedit::unified_diff(
                    &path.display().to_string(),
                    &text,
                    &new,
                ));
            } else {
                crate::output::write_atomic(path, new.as_bytes())
                    .map_err(|e| UserError(format!("writing {}: {e}", path.display())))?;
                for fix in fixes {
                    for c in &fix.changes {
                        crate::output::to_stderr(&format!("fixed {}:{}: {c}", path.display(), fix.line));
                    }
                }
            }
        }
        if args.dry_run {
            emit(diffs)?;
            notice(
                cli.quiet,
                &format!("--dry-run: {changed_files} file(s) would change"),
            );
            exit_without_freeing((kb, ruleset));
            return Ok(if changed_files > 0 {
                Outcome::Findings
            } else {
                Outcome::Clean
            });
        }
        if changed_files > 0 {
            notice(cli.quiet, &format!("fixed {changed_files} file(s)"));
            ruleset = check::load_rules_with(&args.paths, &rule_options(cli));
        }
    }
    let telemetry = Telemetry::embedded();
    let mut report = check::run(&check::CheckInput {
        kb: &kb,
        telemetry,
        rules: &ruleset,
        settings: &settings,
    });
    if baseline.is_some() || !minimums.is_empty() {
        let links = LinkIndex::build(&kb, &ruleset);
        let scope = crate::coverage::ScopeOptions::default();
        let cov = crate::coverage::build(&crate::coverage::CoverageInput {
            kb: &kb,
            telemetry,
            rules: &ruleset,
            links: &links,
            scope: &scope,
            profile: None,
            validated: None,
            baseline: baseline.as_ref(),
        })?;
        let extra =
            check::gate::coverage_findings(&cov, args.coverage_baseline.as_deref(), &minimums)
                .map_err(UserError)?;
        report.extend(extra, &settings);
        exit_without_freeing((links, cov));
    }
    let out = match args.format {
        CheckFormat::Text => render::check::text(&report),
        CheckFormat::Json => render::json::to_string(&report),
        CheckFormat::Junit => render::check::junit(&report),
        CheckFormat::Github => render::github::annotations(&report),
        CheckFormat::Sarif => render::sarif::to_sarif(
            &report,
            &render::sarif::SarifOptions {
                root: repository_root(&cwd),
                base: cwd.clone(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
            },
        ),
    };
    match &args.output {
        Some(path) => crate::output::write_atomic(path, out.as_bytes())
            .map_err(|e| UserError(format!("writing {}: {e}", path.display())))?,
        None => emit(out)?,
    }
    if (args.format != CheckFormat::Text || args.output.is_some()) && !cli.quiet {
        crate::output::to_stderr(render::check::summary(&report).trim_end());
    }
    let outcome = if report.failed() {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    exit_without_freeing((kb, ruleset, report));
    Ok(outcome)
}

/// ATT&CK data named on the command line: a file, `embedded`, `cache` or `cache:<domain>`.
fn load_kb_spec(spec: &str) -> Result<KnowledgeBase, UserError> {
    if spec == "embedded" {
        return Ok(attack::catalog::embedded());
    }
    if let Some(rest) = spec.strip_prefix("cache") {
        if rest.is_empty() || rest.starts_with(':') {
            let domain =
                attack::update::domain_name(rest.strip_prefix(':').unwrap_or("enterprise"))?;
            let dir = attack::update::cache_dir()
                .ok_or_else(|| UserError(attack::update::UpdateError::NoCacheDir.to_string()))?;
            return match attack::update::load_cached(&dir, &domain, &Default::default()) {
                Some(kb) => Ok(kb?),
                None => Err(UserError(format!(
                    "no cached {domain} bundle in {}; run `attacktrace attack update`",
                    dir.display()
                ))),
            };
        }
    }
    Ok(attack::stix::load_path(
        std::path::Path::new(spec),
        &Default::default(),
    )?)
}

fn run_attack_update(cli: &Cli, url: &Option<String>, domain: &str) -> Result<Outcome, UserError> {
    let domain = attack::update::domain_name(domain)?;
    let dir = attack::update::cache_dir()
        .ok_or_else(|| UserError(attack::update::UpdateError::NoCacheDir.to_string()))?;
    let url = url
        .clone()
        .unwrap_or_else(|| attack::update::default_url(&domain));
    let meta = attack::update::update(&url, &domain, &dir)?;
    emit(format!(
        "cached {} {} ({} bytes, sha256 {}) in {}\n",
        meta.domain,
        meta.version,
        meta.bytes,
        meta.sha256,
        attack::update::bundle_path(&dir, &domain).display()
    ))?;
    if domain != "enterprise-attack" {
        notice(
            cli.quiet,
            "only the enterprise cache replaces the embedded catalog; use `--attack cache:DOMAIN` in `attack diff`/`migrate` or `--attack FILE` for this one",
        );
    }
    Ok(Outcome::Clean)
}

fn run_attack_diff(
    cli: &Cli,
    old: &str,
    new: &str,
    rules: &[PathBuf],
    format: CardFormat,
) -> Result<Outcome, UserError> {
    let (old_kb, new_kb) = (load_kb_spec(old)?, load_kb_spec(new)?);
    if old_kb.source.domain != new_kb.source.domain {
        notice(
            cli.quiet,
            &format!(
                "comparing different domains ({} and {})",
                old_kb.source.domain, new_kb.source.domain
            ),
        );
    }
    let mut d = attack::diff::diff(&old_kb, &new_kb);
    if !rules.is_empty() {
        let ruleset = load_rules(cli, rules);
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

fn run_migrate(cli: &Cli, args: &MigrateArgs) -> Result<Outcome, UserError> {
    let from = match &args.from {
        Some(spec) => load_kb_spec(spec)?,
        None => load_kb(cli)?,
    };
    let to = load_kb_spec(&args.to)?;
    let ruleset = load_rules(cli, &args.paths);
    if ruleset.files_reported > 0 {
        notice(
            cli.quiet,
            &format!(
                "{} of {} rule files could not be loaded and are not migrated; `attacktrace rules PATH` lists them",
                ruleset.files_reported, ruleset.files_seen
            ),
        );
    }
    let plan = crate::migrate::plan(&from, &to, &ruleset);
    let edits = crate::migrate::apply(&plan, args.dry_run);
    let failed = edits.iter().any(|e| e.error.is_some());
    match args.format {
        ListFormat::Json => {
            emit(render::json::to_string(&crate::migrate::Report::new(
                &plan,
                &edits,
                args.dry_run,
            )))?;
        }
        ListFormat::Text => {
            let report = render::migrate::text(&plan, &edits, args.dry_run);
            if args.dry_run {
                emit(edits.iter().map(|e| e.diff.as_str()).collect())?;
                if !cli.quiet {
                    for line in report.lines() {
                        crate::output::to_stderr(line);
                    }
                }
            } else {
                emit(report)?;
            }
        }
    }
    let outcome = if plan.questions() > 0 || failed {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    exit_without_freeing((from, to, ruleset));
    Ok(outcome)
}

/// Indexes of the loaded rules that a saved test result marks validated, matched by path and
/// document, else by rule ID.
fn validated_rules(
    ruleset: &RuleSet,
    text: &str,
) -> Result<std::collections::BTreeSet<usize>, String> {
    let report: crate::evidence::TestReport =
        serde_json::from_str(text).map_err(|e| format!("not a test result: {e}"))?;
    if report.schema != crate::evidence::model::SCHEMA {
        return Err(format!(
            "schema `{}`, expected `{}`",
            report.schema,
            crate::evidence::model::SCHEMA
        ));
    }
    let mut out = std::collections::BTreeSet::new();
    for r in report.rules.iter().filter(|r| r.validated) {
        let found = ruleset
            .rules
            .iter()
            .position(|x| x.path == r.path && x.document == r.document)
            .or_else(|| {
                r.id.as_ref()
                    .and_then(|id| ruleset.rules.iter().position(|x| x.id.as_ref() == Some(id)))
            });
        out.extend(found);
    }
    Ok(out)
}
