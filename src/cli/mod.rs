//! Command-line interface: clap lives only here. One file per subcommand owns its arguments and a
//! `run()`: arguments -> options -> library call -> renderer -> outcome. This file holds the global
//! flags, the command list, dispatch, the panic hook and the documented exit codes:
//! 0 clean, 1 findings (files that could not be loaded, failed gates), 2 usage or input error.

mod attack;
mod check;
mod colour;
mod coverage;
mod error;
mod explain;
mod migrate;
mod rules;
mod shell;
mod suggest;
mod technique;
mod test;

use crate::attack::KnowledgeBase;
use crate::config::Settings;
use crate::output;
use crate::rules::RuleSet;
use clap::{Parser, Subcommand, ValueEnum};
use error::{report_error, CliError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `--version`: the crate version and the ATT&CK data built in (the literal is checked against
/// [`crate::attack::catalog::EMBEDDED_VERSION`] by a test).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (embedded ATT&CK: enterprise 18.1)"
);

#[derive(Debug, Parser)]
#[command(
    name = "attacktrace",
    version = VERSION,
    about = "Sigma rules against MITRE ATT&CK: technique cards, rule listings, ATT&CK data",
    after_help = "Exit codes: 0 clean, 1 findings, 2 usage or input error."
)]
struct Cli {
    /// ATT&CK data to use: a STIX bundle (2.0 or 2.1; enterprise, mobile or ICS), a compiled
    /// catalog, `embedded` or `cache[:DOMAIN]`. Default: the config's `attack:`, the cache of
    /// `attack update`, else the embedded enterprise v18.1 catalog.
    #[arg(long, global = true, value_name = "FILE", env = "ATTACKTRACE_ATTACK")]
    attack: Option<PathBuf>,
    /// Configuration file to use; the repository's `.attacktrace.yml` is then not read at all (its
    /// `attack:` key included). Default: `.attacktrace.yml` in the working directory or a parent,
    /// up to the repository root. A pySigma validation config is accepted as is.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read no configuration file: built-in defaults only.
    #[arg(long, global = true, conflicts_with = "config")]
    no_config: bool,
    /// ATT&CK version of a bundle that does not state it (STIX 2.0 bundles carry no version).
    #[arg(long, global = true, value_name = "VERSION")]
    attack_version: Option<String>,
    /// Print no notices on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Largest rule file read, in bytes; larger files are reported (`file_too_large`).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = crate::rules::DEFAULT_MAX_FILE_SIZE)]
    max_file_size: u64,
    /// Follow symbolic links that lead outside the rule directories given (off: reported instead).
    #[arg(long, global = true)]
    follow_symlinks: bool,
    /// Colour text reports: `auto` only on a terminal and without `NO_COLOR`, `always`, `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value_t = colour::ColorArg::Auto,
        hide_possible_values = true
    )]
    color: colour::ColorArg,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the card of one technique: ATT&CK facts, detection guidance, events, rules, checklist.
    Technique(technique::TechniqueArgs),
    /// List loaded Sigma rules, with a summary of files seen, loaded and reported.
    Rules(rules::RulesArgs),
    /// ATT&CK coverage of a rule set: per-tactic summary, gaps, tiers, Navigator layer, HTML, baseline diff.
    Coverage(coverage::CoverageArgs),
    /// Run rules against events: their own tests (`name.tests/`, SigmaHQ regression data),
    /// `--events` (report matches) and `--benign` (every match is a false positive).
    Test(test::TestArgs),
    /// ATT&CK data: show what is loaded, or compile a bundle into a catalog.
    #[command(subcommand)]
    Attack(attack::AttackCommand),
    /// CI gate: validate rules (syntax, detection, ATT&CK tags, repository, log sources), with
    /// config, inline suppressions, SARIF/JUnit/GitHub output, coverage gate and `--fix`.
    Check(check::CheckArgs),
    /// Rewrite rule tags for another ATT&CK release: revoked techniques to their replacement,
    /// tactic tags re-derived from the techniques' tactics in the new release.
    Migrate(migrate::MigrateArgs),
    /// Explain a diagnostic code, or list all codes.
    Explain(explain::ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff) on stdout.
    Man,
    /// Suggest ATT&CK techniques for rules from what their detection matches, learnt from the
    /// tagged rules loaded (`--reference DIR` adds more), with the reasons.
    Suggest(suggest::SuggestArgs),
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

/// Outcome of a command, before it becomes an exit code.
enum Outcome {
    Clean,
    Findings,
}

impl Outcome {
    fn findings_if(failed: bool) -> Outcome {
        if failed {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }
}

/// `--version` naming the release `attack update` cached too: that cache, not the embedded
/// catalog, is the default data then (unless `--attack` or a config names other data).
fn version_with_cache(cached: &str) -> String {
    let base = VERSION.strip_suffix(')').unwrap_or(VERSION);
    format!("{base}; cached: enterprise {cached})")
}

/// Parses the command line; the version text is only dynamic when an enterprise cache exists.
fn parse() -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let mut cmd = Cli::command();
    // The cache is read only when the version is asked for, not on every start-up.
    let asks_version = std::env::args_os().any(|a| a == "--version" || a == "-V");
    let cached = asks_version
        .then(crate::attack::update::cache_dir)
        .flatten()
        .and_then(|dir| crate::attack::update::cached(&dir, "enterprise-attack"));
    if let Some((_, meta)) = cached {
        // Leaked once per process: clap wants a 'static version string.
        let text: &'static str = Box::leak(version_with_cache(&meta.version).into_boxed_str());
        cmd = cmd.version(text);
    }
    let mut matches = cmd.try_get_matches()?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))
}

pub fn main() -> ExitCode {
    let cli = match parse() {
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
        Ok(Err(e)) => {
            report_error(&e);
            ExitCode::from(2)
        }
        Err(_) => {
            let detail = LAST_PANIC
                .lock()
                .ok()
                .and_then(|m| m.clone())
                .unwrap_or_else(|| "unknown".to_string());
            output::to_stderr(&format!(
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

fn run(cli: Cli) -> Result<Outcome, CliError> {
    // Debug builds only: lets a test prove that a panic anywhere becomes a clean exit 2.
    #[cfg(debug_assertions)]
    if std::env::var_os("ATTACKTRACE_INJECT_PANIC").is_some() {
        panic!("fault injected by ATTACKTRACE_INJECT_PANIC");
    }
    match &cli.command {
        Command::Technique(args) => technique::run(&cli, args),
        Command::Rules(args) => rules::run(&cli, args),
        Command::Coverage(args) => coverage::run(&cli, args),
        Command::Check(args) => check::run(&cli, args),
        Command::Test(args) => test::run(&cli, args),
        Command::Attack(cmd) => attack::run(&cli, cmd),
        Command::Migrate(args) => migrate::run(&cli, args),
        Command::Explain(args) => explain::run(args),
        Command::Completions(args) => shell::completions(args),
        Command::Man => shell::man(),
        Command::Suggest(args) => suggest::run(&cli, args),
    }
}

impl Cli {
    /// The config in use: `--config FILE`, none with `--no-config`, else the repository's
    /// `.attacktrace.yml` (see [`crate::config::discover`]). Only commands that need it call this.
    fn config(&self) -> Result<Option<Settings>, CliError> {
        if self.no_config {
            return Ok(None);
        }
        let path = match &self.config {
            Some(p) => p.clone(),
            None => {
                let cwd = std::env::current_dir().map_err(CliError::io("working directory"))?;
                match crate::config::discover(&cwd)? {
                    // Relative to the working directory when below it: reports name it so.
                    Some(p) => p.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(p),
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(Settings::load(&path)?))
    }

    /// The active ATT&CK data (`--attack`, the config's `attack:`, the cache, else embedded). The
    /// config is read only when `--attack` does not decide.
    fn knowledge_base(&self) -> Result<KnowledgeBase, CliError> {
        let configured = match &self.attack {
            Some(_) => None,
            None => self.config()?.and_then(|s| s.attack),
        };
        self.knowledge_base_with(configured.as_deref())
    }

    /// [`Cli::knowledge_base`] when the caller has read the config already.
    fn knowledge_base_with(&self, configured: Option<&Path>) -> Result<KnowledgeBase, CliError> {
        let active = crate::attack::source::active(
            self.attack.as_deref(),
            self.attack_version.as_deref(),
            configured,
        )?;
        for n in &active.notices {
            self.notice(n);
        }
        Ok(active.kb)
    }

    /// Rule-loading options from the global flags; commands adjust `compile` and `keep_source`.
    fn rule_options(&self) -> crate::rules::LoadOptions {
        crate::rules::LoadOptions {
            max_file_size: self.max_file_size,
            follow_symlinks: self.follow_symlinks,
            ..Default::default()
        }
    }

    /// Loads rules; a path that does not exist or matches nothing is an input error.
    fn load_rules(&self, paths: &[PathBuf]) -> Result<RuleSet, CliError> {
        self.load_rules_with(paths, &self.rule_options())
    }

    /// The one way a command turns its rule path arguments into rules: `load` with the command's
    /// options (behind a progress display), then exit 2 when a path does not exist, a glob matches
    /// nothing or a directory holds no rule file, so no command can report 0 over nothing.
    fn load_rules_with(
        &self,
        paths: &[PathBuf],
        opts: &crate::rules::LoadOptions,
    ) -> Result<RuleSet, CliError> {
        self.require_rules(|| crate::rules::load::load(paths, opts))
    }

    /// [`Cli::load_rules_with`] for a command that loads its own way (`check` checks as it loads):
    /// the same progress display and the same refusal of paths that match nothing.
    fn require_rules<T: RuleSetOf>(&self, load: impl FnOnce() -> T) -> Result<T, CliError> {
        let loaded = self.with_progress("loading rules", load);
        require_found(loaded.rule_set())?;
        Ok(loaded)
    }

    fn notice(&self, msg: &str) {
        if !self.quiet {
            output::to_stderr(&format!("note: {msg}"));
        }
    }

    /// One notice when some rule files could not be loaded (the `rules` command lists them).
    fn note_unloaded(&self, rules: &RuleSet) {
        if rules.files_reported > 0 {
            self.notice(&format!(
                "{} of {} rule files could not be loaded; `attacktrace rules PATH` lists them",
                rules.files_reported, rules.files_seen
            ));
        }
    }

    /// Runs `f` with an elapsed-time display on a terminal (not with `--quiet`).
    fn with_progress<T>(&self, label: &str, f: impl FnOnce() -> T) -> T {
        output::with_progress(!self.quiet, label, f)
    }
}

/// What a loader returns that holds the rule set (`check` loads rules and its report together).
trait RuleSetOf {
    fn rule_set(&self) -> &RuleSet;
}

impl RuleSetOf for RuleSet {
    fn rule_set(&self) -> &RuleSet {
        self
    }
}

impl<T> RuleSetOf for (RuleSet, T) {
    fn rule_set(&self) -> &RuleSet {
        &self.0
    }
}

/// Exit 2 when a path argument does not exist or matches no rule file: a run over nothing must
/// not pass a gate (a typo, or a pull request that moved the rules away).
fn require_found(set: &RuleSet) -> Result<(), CliError> {
    nothing_to_read(crate::rules::load::unmatched_paths(set))
}

/// [`require_found`] for any list of `path_not_found` reports.
fn nothing_to_read<'a>(
    unmatched: impl IntoIterator<Item = &'a crate::diag::Diagnostic>,
) -> Result<(), CliError> {
    let unmatched: Vec<String> = unmatched
        .into_iter()
        .map(|d| match &d.path {
            Some(p) => format!("{}: {}", p.display(), d.message),
            None => d.message.clone(),
        })
        .collect();
    if unmatched.is_empty() {
        return Ok(());
    }
    Err(CliError::NothingToRead(unmatched.join("; ")))
}

/// Parses a command line without running it: the tests of the CI examples check that every
/// `attacktrace ...` line they contain is one the binary accepts.
pub fn parses<I, T>(args: I) -> Result<(), clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args).map(drop)
}

/// The process ends right after output: freeing thousands of parsed rules and the knowledge base
/// one by one costs ~15 ms of a ~100 ms run for nothing, so the memory is handed back to the OS
/// with the process instead.
fn exit_without_freeing<T>(data: T) {
    std::mem::forget(data);
}

/// Writes a report to stdout through the last escaping pass every document gets
/// ([`output::document_safe`]).
fn emit(text: String) -> Result<(), CliError> {
    put(&output::document_safe(&text))
}

/// Writes text that already had its last pass (GitHub annotations, see [`output::annotation_safe`]).
fn put(safe: &str) -> Result<(), CliError> {
    output::to_stdout(safe.as_bytes()).map_err(CliError::io("writing output"))
}

/// Writes a report to a file like [`emit`]: the same last pass, then atomically.
fn write_report(path: &Path, text: &str) -> Result<(), CliError> {
    write_file(path, output::document_safe(text).as_bytes())
}

/// Writes a report or file atomically (see [`output::write_atomic`]).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    output::write_atomic(path, bytes).map_err(CliError::io(format!("writing {}", path.display())))
}

/// Reads a whole input file named on the command line (size-capped, regular files only); `what`
/// names it in the error.
fn read_input(path: &Path, what: &str) -> Result<String, CliError> {
    use crate::input::{read_text_capped, ReadError, DEFAULT_CAP};
    read_text_capped(path, DEFAULT_CAP).map_err(|e| match e {
        ReadError::Io { source, .. } => CliError::Io {
            what: format!("reading {what} {}", path.display()),
            source,
        },
        source => CliError::Read {
            what: what.to_string(),
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_names_the_embedded_attack_release() {
        let needle = format!("enterprise {})", crate::attack::catalog::EMBEDDED_VERSION);
        assert!(super::VERSION.ends_with(&needle), "{}", super::VERSION);
        assert!(super::VERSION.starts_with(env!("CARGO_PKG_VERSION")));
        assert_eq!(
            super::version_with_cache("19.0"),
            format!(
                "{} (embedded ATT&CK: enterprise {}; cached: enterprise 19.0)",
                env!("CARGO_PKG_VERSION"),
                crate::attack::catalog::EMBEDDED_VERSION
            )
        );
    }
}
