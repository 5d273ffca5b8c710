//! Diagnostics as data: a stable code, a severity, a location and a one-line message.
//!
//! The core produces [`Diagnostic`]s; renderers in `render/` turn them into text, JSON and later
//! SARIF/JUnit. Codes are registered once in [`CODES`] with a summary and an explanation so that
//! `attacktrace explain CODE` and the code-list snapshot test read the same table.

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One finding about one place.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub path: Option<PathBuf>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic with the registered severity of `code`.
    ///
    /// Panics in debug builds when `code` is not registered, so a typo is caught by any test.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        let info = lookup(code);
        debug_assert!(info.is_some(), "unregistered diagnostic code {code}");
        Diagnostic {
            path: None,
            line: None,
            column: None,
            code,
            severity: info.map(|i| i.severity).unwrap_or(Severity::Error),
            message: message.into(),
        }
    }

    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn line(mut self, line: Option<usize>, column: Option<usize>) -> Self {
        self.line = line;
        self.column = column;
        self
    }
}

/// Registry entry of a diagnostic code.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CodeInfo {
    pub code: &'static str,
    pub severity: Severity,
    /// One line: what the code means.
    pub summary: &'static str,
    /// Longer text for `explain`: what it checks, why it matters, how to fix.
    pub explanation: &'static str,
}

pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    CODES.iter().find(|c| c.code == code)
}

/// Every diagnostic code the tool can emit. Codes are stable: never rename one, add a new one.
pub static CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "io_error",
        severity: Severity::Error,
        summary: "A file or directory could not be read.",
        explanation: "What it checks: reading a file or listing a directory failed (permissions, \
            a file that disappeared during the walk, a broken or looping symlink).\n\
            Why it matters: the file's rules are missing from every count.\n\
            Fix: make the file readable or exclude it from the paths given.",
    },
    CodeInfo {
        code: "path_not_found",
        severity: Severity::Error,
        summary: "A path or glob given on the command line matched nothing.",
        explanation: "What it checks: every rule path, directory or glob given must name at least one \
            file.\nWhy it matters: a typo in a CI configuration would otherwise silently check \
            nothing.\nFix: correct the path.",
    },
    CodeInfo {
        code: "not_utf8",
        severity: Severity::Error,
        summary: "The rule file is not valid UTF-8.",
        explanation: "What it checks: Sigma rules are YAML, which must be UTF-8 here.\n\
            Why it matters: the file cannot be parsed; its rules are missing.\n\
            Fix: re-encode the file as UTF-8.",
    },
    CodeInfo {
        code: "file_too_large",
        severity: Severity::Error,
        summary: "The rule file exceeds the maximum size.",
        explanation: "What it checks: rule files larger than the limit (default 8 MiB) are not \
            parsed.\nWhy it matters: no real rule is that large; a huge file is a mistake or an \
            attack on the CI runner.\nFix: split the file or raise the limit.",
    },
    CodeInfo {
        code: "yaml_error",
        severity: Severity::Error,
        summary: "The file is not valid YAML.",
        explanation: "What it checks: the YAML parser's error, with line and column.\n\
            Why it matters: the rule cannot be loaded.\nFix: correct the syntax at the given \
            position.",
    },
    CodeInfo {
        code: "not_a_mapping",
        severity: Severity::Error,
        summary: "The YAML document is not a mapping (it is a list, a scalar or empty).",
        explanation: "What it checks: a Sigma rule is a YAML mapping of attributes.\n\
            Why it matters: a list or scalar at the top level is not a rule.\n\
            Fix: make the document a mapping with title, logsource and detection.",
    },
    CodeInfo {
        code: "missing_field",
        severity: Severity::Error,
        summary: "A required rule attribute is missing (title, logsource or detection).",
        explanation: "What it checks: detection rules need `title`, `logsource` and `detection`; \
            correlation rules need `correlation`; filters need `filter`.\n\
            Why it matters: the rule cannot be linked or evaluated.\nFix: add the attribute.",
    },
    CodeInfo {
        code: "wrong_type",
        severity: Severity::Error,
        summary: "A rule attribute has the wrong type (e.g. tags is not a list of strings).",
        explanation: "What it checks: the types the Sigma specification gives for title, id, \
            status, level, tags, logsource, references and falsepositives.\n\
            Why it matters: a wrongly typed attribute is usually a YAML indentation mistake and \
            its value would be lost.\nFix: use the type the specification requires.",
    },
    CodeInfo {
        code: "detection_not_evaluable",
        severity: Severity::Info,
        summary: "The detection cannot be compiled by the evaluation engine; the rule is kept for \
            linking and coverage.",
        explanation: "What it checks: sigma-rust compiles the detection (modifiers, condition, \
            regular expressions). Unsupported constructs (the `expand` modifier, legacy `| count()` \
            aggregations, `near`) and invalid ones end here.\n\
            Why it matters: the rule still counts as tagged, but can never reach the runnable or \
            validated tiers.\nFix: rewrite the construct, or accept the limitation.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "duplicate code {}", c.code);
            assert!(
                c.code
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_' || ch.is_ascii_digit()),
                "code {} is not snake_case",
                c.code
            );
            assert!(!c.summary.is_empty() && !c.explanation.is_empty());
        }
    }

    #[test]
    fn new_takes_registered_severity() {
        let d = Diagnostic::new("detection_not_evaluable", "x");
        assert_eq!(d.severity, Severity::Info);
        assert_eq!(lookup("nope").map(|c| c.code), None);
    }
}
