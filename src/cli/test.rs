//! `attacktrace test`: run rules against their own tests and given events.

use super::{emit, exit_without_freeing, write_file, Cli, CliError, Outcome};
use crate::evidence::{self, FieldMap, ReadLimits, TestInputs, TestOptions};
use crate::render;
use crate::telemetry::Telemetry;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TestFormat {
    Text,
    Json,
    Junit,
}

#[derive(Debug, Args)]
pub(super) struct TestArgs {
    /// Sigma rules: files, directories (recursive) or globs.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Event files or directories (EVTX, JSON, JSON Lines, arrays, concatenated documents); report
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
    #[arg(long, value_name = "N", default_value_t = ReadLimits::default().max_events)]
    max_events: usize,
    /// Bytes per line at most; a longer line is a finding.
    #[arg(long, value_name = "BYTES", default_value_t = ReadLimits::default().max_line_bytes)]
    max_line_bytes: usize,
    /// Repository root for SigmaHQ `regression_tests_path` values, instead of the parent of the
    /// top-level rule directory (`rules/`, `rules-emerging-threats/`, ...) holding each rule; JUnit
    /// paths are shown from it too (default: the git repository of the working directory).
    #[arg(long, value_name = "DIR")]
    root: Option<PathBuf>,
    /// Event field holding the time correlations order events by (repeatable or comma list, tried
    /// in order). Default: TimeCreated (EVTX SystemTime), SystemTime, @timestamp, UtcTime, timestamp.
    #[arg(long = "timestamp-field", value_name = "NAME", value_delimiter = ',')]
    timestamp_fields: Vec<String>,
}

impl TestArgs {
    /// JUnit paths from `--root`, else from the git repository of the working directory.
    fn repo_paths(&self) -> Result<crate::render::paths::RepoPaths, CliError> {
        let cwd = std::env::current_dir().map_err(CliError::io("working directory"))?;
        let root = self
            .root
            .clone()
            .unwrap_or_else(|| crate::config::repository_root(&cwd));
        Ok(crate::render::paths::RepoPaths {
            base: cwd,
            root: Some(root),
        })
    }

    fn options(&self, cli: &Cli) -> TestOptions {
        TestOptions {
            routing: !self.no_routing,
            limits: ReadLimits {
                max_events: self.max_events,
                max_line_bytes: self.max_line_bytes,
                max_event_bytes: ReadLimits::default()
                    .max_event_bytes
                    .max(self.max_line_bytes),
                ..ReadLimits::default()
            },
            own_tests: !self.no_own_tests,
            prefilter: !self.no_prefilter,
            follow_symlinks: cli.follow_symlinks,
            root: self.root.clone(),
            timestamp_fields: self.timestamp_fields.clone(),
        }
    }
}

pub(super) fn run(cli: &Cli, args: &TestArgs) -> Result<Outcome, CliError> {
    // The raw detection is kept for the evaluation prefilter (`evidence::prefilter`).
    let load = crate::rules::LoadOptions {
        keep_source: true,
        ..cli.rule_options()
    };
    let ruleset = cli.load_rules_with(&args.paths, &load)?;
    cli.note_unloaded(&ruleset);
    let inputs = TestInputs {
        events: args.events.clone(),
        benign: args.benign.clone(),
    };
    let options = args.options(cli);
    super::nothing_to_read(&evidence::run::unmatched_inputs(&inputs, &options))?;
    crate::alloc::favour_throughput();
    let report = cli.with_progress("evaluating", || {
        evidence::run(
            &ruleset,
            Telemetry::embedded(),
            FieldMap::embedded(),
            &inputs,
            &options,
        )
    });
    if let Some(path) = &args.save {
        write_file(path, render::json::to_string(&report).as_bytes())?;
    }
    emit(match args.format {
        TestFormat::Text => render::test_report::text(&report),
        TestFormat::Json => render::json::to_string(&report),
        TestFormat::Junit => render::test_report::junit_with(&report, &args.repo_paths()?),
    })?;
    let outcome = Outcome::findings_if(report.failed());
    exit_without_freeing((ruleset, report));
    Ok(outcome)
}
