//! Coverage report: which ATT&CK techniques a rule set covers, how well, and where the gaps are.
//!
//! Built from the knowledge base, the loaded rules and the [`LinkIndex`] (which owns the roll-up:
//! a sub-technique tag covers its parent, each rule counts once per technique). This module adds
//! scope (platforms, tactics, include/ignore, groups, rule status/level), observability classes
//! (guidance techniques are counted apart), tiers (tagged, runnable against a telemetry profile,
//! validated by rule tests), tag problems and the baseline diff. The result is plain data; every
//! renderer (text, Markdown, JSON, CSV, Navigator, HTML) reads the same [`CoverageReport`], whose
//! JSON form is the documented `attacktrace.coverage/1` shape and the input of `--baseline`.
//!
//! Layout: `model` (the report types), `scope` (flags resolved against the knowledge base),
//! `profile` (what telemetry is collected), `build` (the report, step by step) and `baseline`
//! (a previous report and the diff against it).

mod baseline;
mod build;
mod model;
mod profile;
mod scope;

pub use crate::report::AttackSource;
pub use baseline::{Baseline, BaselineTechnique};
pub use build::{build, CoverageInput};
pub use model::*;
pub use profile::{Profile, ProfileEntry};
pub use scope::ScopeOptions;

/// A problem with the user's coverage options (unknown tactic, group, bad profile or baseline):
/// exit code 2. Parse failures keep the parser's error as their source.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// A scope flag names nothing in the knowledge base.
    #[error("{0}")]
    Scope(String),
    #[error("profile {label}: {source}")]
    ProfileSyntax {
        label: String,
        #[source]
        source: serde_norway::Error,
    },
    #[error("profile {label}: {}", problems.join("; "))]
    ProfileEntries {
        label: String,
        problems: Vec<String>,
    },
    #[error("baseline {label}: not an attacktrace coverage JSON file: {source}")]
    BaselineSyntax {
        label: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("baseline {label}: schema `{found}`, expected `{}`", COVERAGE_SCHEMA)]
    BaselineSchema { label: String, found: String },
}
