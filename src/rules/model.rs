//! Plain data types for loaded Sigma rules.
//!
//! The loader (`load.rs`) turns every file it finds into either [`RuleRecord`]s or [`FileReport`]s;
//! the link index and every command read these records and never touch YAML again.

use crate::diag::Diagnostic;
use serde::Serialize;
use std::path::PathBuf;

/// What kind of Sigma document this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A detection rule (`logsource` + `detection`).
    Detection,
    /// A correlation rule (`correlation:` key); has no detection of its own.
    Correlation,
    /// A Sigma filter (`filter:` key) that amends other rules.
    Filter,
}

/// Sigma `logsource` triple (lower-cased for matching; the original case is rarely meaningful).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LogSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl LogSource {
    /// `product/category/service` with `*` for a missing part, e.g. `windows/process_creation/*`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.product.as_deref().unwrap_or("*"),
            self.category.as_deref().unwrap_or("*"),
            self.service.as_deref().unwrap_or("*")
        )
    }

    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }
}

/// An `attack.*` tag, classified.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum AttackTag {
    /// `attack.t1059.001` -> `T1059.001`.
    Technique(String),
    /// `attack.execution` -> `execution` (shortname, with `_` normalised to `-`).
    Tactic(String),
    /// `attack.g0016` -> `G0016`.
    Group(String),
    /// `attack.s0002` -> `S0002`.
    Software(String),
    /// `attack.m1036` / `attack.ds0009` / `attack.c0010` and other ID-shaped tags.
    Other(String),
}

/// Whether the detection could be compiled for the evaluator, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DetectionState {
    /// Compiled; the rule can be evaluated against events.
    Compiled,
    /// Correlation rules and filters have no standalone detection.
    NotApplicable,
    /// Kept for linking and coverage, but cannot be evaluated.
    NotEvaluable { reason: String },
    /// Compilation was not attempted (loaded with `LoadOptions { compile: false, .. }`), so whether it
    /// would compile is unknown.
    NotCompiled,
}

/// One Sigma document that was loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRecord {
    /// Path as found by the walk (relative to the given root when the root was relative).
    pub path: PathBuf,
    /// 0-based index of the YAML document in a multi-document file.
    pub document: usize,
    /// 1-based line where the document starts.
    pub line: usize,
    pub kind: RuleKind,
    pub id: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub level: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    /// Raw tags as written.
    pub tags: Vec<String>,
    /// Parsed `attack.*` tags, deduplicated and sorted.
    pub attack: Vec<AttackTag>,
    pub logsource: LogSource,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub detection: DetectionState,
    /// Non-fatal findings about this document (for `check`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    /// The compiled detection when `detection` is [`DetectionState::Compiled`]; shared, not cloned,
    /// because the evaluation stages only read it.
    #[serde(skip)]
    pub compiled: Option<std::sync::Arc<super::eval::Detection>>,
    /// The parsed document and its file text, kept only with `LoadOptions { keep_source: true, .. }`
    /// because `check` needs the raw detection, custom attributes and real line numbers.
    #[serde(skip)]
    pub source: Option<std::sync::Arc<RawDocument>>,
}

/// The YAML of one document as parsed, plus the whole file text it came from (shared by the
/// documents of one file).
#[derive(Debug, Clone)]
pub struct RawDocument {
    pub text: std::sync::Arc<str>,
    /// Top-level attributes, detection included.
    pub map: serde_norway::Mapping,
    /// 1-based last line of the document (`None`: until the end of the file).
    pub end_line: Option<usize>,
}

impl RuleRecord {
    /// Technique IDs (upper case) this rule is tagged with, in tag order, deduplicated.
    pub fn technique_tags(&self) -> impl Iterator<Item = &str> {
        self.attack.iter().filter_map(|t| match t {
            AttackTag::Technique(id) => Some(id.as_str()),
            _ => None,
        })
    }

    pub fn tactic_tags(&self) -> impl Iterator<Item = &str> {
        self.attack.iter().filter_map(|t| match t {
            AttackTag::Tactic(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// An AttackTrace correlation template (tagged `attacktrace.template`): a sketch to adapt,
    /// never counted as coverage.
    pub fn is_template(&self) -> bool {
        self.tags
            .iter()
            .any(|t| t.eq_ignore_ascii_case(crate::template::TEMPLATE_TAG))
    }
}

/// A file (or document) that was found but not loaded, with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub diagnostic: Diagnostic,
}

/// Result of loading rule paths: counts always add up (`files_seen = files_loaded + files_reported`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleSet {
    /// Loaded documents, sorted by (path, document).
    pub rules: Vec<RuleRecord>,
    /// Files (or documents) not loaded, sorted by path and line.
    pub reports: Vec<Diagnostic>,
    pub files_seen: usize,
    /// Files from which at least one document loaded.
    pub files_loaded: usize,
    /// Files from which nothing loaded.
    pub files_reported: usize,
}
