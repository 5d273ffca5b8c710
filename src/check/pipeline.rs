//! `check` around the validators: `--fix` applied to the files, and the coverage gate. Returns data;
//! the command layer prints it.

use super::{fix, gate, Finding};
use crate::attack::KnowledgeBase;
use crate::coverage::{self, Baseline, CoverageError, CoverageInput, ScopeOptions};
use crate::link::LinkIndex;
use crate::rules::RuleSet;
use crate::tagedit::{self, ApplyError, DocEdit};
use crate::telemetry::Telemetry;
use std::path::{Path, PathBuf};

/// Why `check` could not finish (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("reading {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Edit {
        path: PathBuf,
        #[source]
        source: tagedit::TagEditError,
    },
    #[error(transparent)]
    Coverage(#[from] CoverageError),
    /// A coverage gate argument the data cannot satisfy (an unknown tactic).
    #[error(transparent)]
    Gate(#[from] gate::GateError),
}

/// What `--fix` did to one file, in file order.
#[derive(Debug)]
pub enum FixEvent {
    /// One change written (not reported with `--dry-run`).
    Fixed {
        path: PathBuf,
        line: usize,
        change: String,
    },
    /// The file's edit did not verify, could not be made safely, or its path is not a regular
    /// file; it is untouched.
    NotFixed { path: PathBuf, error: ApplyError },
    /// A rule left alone because its tags belong to another ATT&CK release than the data.
    Skipped(fix::Skipped),
}

/// The result of `--fix` over a rule set.
#[derive(Debug, Default)]
pub struct FixRun {
    pub events: Vec<FixEvent>,
    /// With `--dry-run`: the unified diff of every file that would change.
    pub diffs: String,
    pub changed_files: usize,
    /// Rules left alone (`FixEvent::Skipped`).
    pub skipped: usize,
    /// A read or write failure that stopped the run; the events before it happened.
    pub fatal: Option<PipelineError>,
}

/// Plans the safe tag fixes of every rule and applies them per file with
/// [`tagedit::apply_edits`]; with `dry_run` nothing is written and the diffs are collected.
/// `settings` turns the opt-in tag ordering on ([`fix::orders_tags`]).
pub fn fix_files(
    rules: &RuleSet,
    kb: &KnowledgeBase,
    settings: &crate::config::Settings,
    dry_run: bool,
) -> FixRun {
    let mut run = FixRun::default();
    let plan = fix::plan_all(rules, kb, settings);
    run.skipped = plan.skipped.len();
    run.events
        .extend(plan.skipped.into_iter().map(FixEvent::Skipped));
    for (path, fixes) in &plan.by_file {
        let edits: Vec<DocEdit<'_>> = fixes
            .iter()
            .map(|f| DocEdit {
                line: f.line,
                tags: &f.tags,
            })
            .collect();
        let applied = match tagedit::apply_edits(path, &edits, !dry_run) {
            Ok(a) => a,
            Err(error) if per_file(&error) => {
                run.events.push(FixEvent::NotFixed {
                    path: path.clone(),
                    error,
                });
                continue;
            }
            Err(error) => {
                run.fatal = Some(fatal(path, error));
                break;
            }
        };
        if !applied.changed() {
            continue;
        }
        run.changed_files += 1;
        if dry_run {
            run.diffs
                .push_str(&applied.diff(&crate::output::path_line(path)));
            continue;
        }
        for fix in fixes {
            run.events
                .extend(fix.changes.iter().map(|c| FixEvent::Fixed {
                    path: path.clone(),
                    line: fix.line,
                    change: c.clone(),
                }));
        }
    }
    run
}

/// A failure that concerns this file only: an edit that cannot be made safely, or an output path
/// the writer refuses (a symlink or not a regular file). Other I/O failures stop the run.
fn per_file(e: &ApplyError) -> bool {
    match e {
        ApplyError::Edit(_) | ApplyError::Symlink => true,
        ApplyError::Write(io) => io.kind() == std::io::ErrorKind::InvalidInput,
        ApplyError::Read(r) => !matches!(r, crate::input::ReadError::Io { .. }),
    }
}

fn fatal(path: &Path, error: ApplyError) -> PipelineError {
    let path = path.to_path_buf();
    match error {
        ApplyError::Read(crate::input::ReadError::Io { source, .. }) => {
            PipelineError::Read { path, source }
        }
        // Not reached (`per_file`); kept as a typed cause rather than a panic.
        e @ (ApplyError::Read(_) | ApplyError::Symlink) => PipelineError::Read {
            path,
            source: std::io::Error::other(e),
        },
        ApplyError::Write(source) => PipelineError::Write { path, source },
        ApplyError::Edit(e) => PipelineError::Edit { path, source: e },
    }
}

/// The coverage gate's findings: losses against `baseline` (read from `baseline_path`) and
/// per-tactic `minimums` (percentages).
pub fn coverage_gate(
    kb: &KnowledgeBase,
    telemetry: &Telemetry,
    rules: &RuleSet,
    baseline: Option<(&Path, &Baseline)>,
    minimums: &[(String, f64)],
    metric: crate::coverage::Metric,
) -> Result<Vec<Finding>, PipelineError> {
    let links = LinkIndex::build(kb, rules);
    let cov = coverage::build(&CoverageInput {
        kb,
        telemetry,
        rules,
        links: &links,
        scope: &ScopeOptions::default(),
        profile: None,
        validated: None,
        baseline: baseline.map(|(_, b)| b),
        // The gate reads totals only: no model to train.
        features: None,
    })?;
    Ok(gate::coverage_findings(
        &cov,
        baseline.map(|(p, _)| p),
        minimums,
        metric,
    )?)
}
