//! SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).
//!
//! What GitHub enforces and this writer guarantees: `version` 2.1.0 with `runs[].tool.driver.name`;
//! stable `ruleId`s (the diagnostic codes) with rule metadata (short and full description, help,
//! default level); results with `message.text`, `level` error/warning/note, a location whose
//! `artifactLocation.uri` is relative to the repository root with `uriBaseId` `%SRCROOT%` and
//! `region.startLine` >= 1; `partialFingerprints` that do not move with line numbers; at most
//! 25,000 results per run (the rest are counted in a tool notification). Findings about the run
//! rather than a file (coverage minimums) are tool notifications, as results need a location.

use super::paths::normalise;
use crate::check::{CheckReport, Finding};
use crate::diag::{Code, Severity};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// GitHub's limit of results per run.
pub const MAX_RESULTS: usize = 25_000;

/// Where paths are relative to.
#[derive(Debug, Clone)]
pub struct SarifOptions {
    /// Directory the rule paths are relative to (the working directory of the run).
    pub base: PathBuf,
    /// Repository root; URIs are made relative to it.
    pub root: PathBuf,
    pub tool_version: String,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// Repository-relative URI with `/` separators and percent-encoding of everything but unreserved
/// characters; `None` for a file outside the repository root.
pub fn relative_uri(opts: &SarifOptions, path: &Path) -> Option<String> {
    let abs = normalise(&opts.base, path);
    let root = normalise(Path::new("/"), &opts.root);
    let rel = abs.strip_prefix(&root).ok()?;
    Some(encode_components(rel))
}

fn encode_components(p: &Path) -> String {
    let parts: Vec<String> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(percent_encode(&name_bytes(s))),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// A file outside the repository: an absolute `file://` URI (GitHub shows no annotation for it,
/// but other SARIF viewers can open it).
fn absolute_uri(opts: &SarifOptions, path: &Path) -> String {
    format!(
        "file:///{}",
        encode_components(&normalise(&opts.base, path))
    )
}

/// A file name's raw bytes: on Unix a name need not be UTF-8, and a lossy conversion would point
/// every such name at the same `%EF%BF%BD` URI.
fn name_bytes(s: &std::ffi::OsStr) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(s.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(s.to_string_lossy().into_owned().into_bytes())
    }
}

fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// FNV-1a, 64 bit: a stable hash without a dependency.
pub(super) fn fnv1a(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

pub fn to_sarif(r: &CheckReport, opts: &SarifOptions) -> String {
    let rules: Vec<Value> = Code::all()
        .map(|c| c.info())
        .map(|c| {
            json!({
                "id": c.code,
                "name": c.code,
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.explanation},
                "help": {"text": format!("{}\n\nRun `attacktrace explain {}` for details.", c.explanation, c.code)},
                "defaultConfiguration": {"level": level(c.severity)},
                "properties": {"tags": ["sigma", "attacktrace"], "precision": "very-high"}
            })
        })
        .collect();
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    // GitHub needs a file location on every result; run-level findings (the coverage gate's
    // minimums) become tool notifications instead.
    let (located, run_level): (Vec<&Finding>, Vec<&Finding>) =
        r.findings.iter().partition(|f| f.diagnostic.path.is_some());
    let kept = located.len().min(MAX_RESULTS);
    let results: Vec<Value> = located[..kept]
        .iter()
        .map(|f| result(f, opts, &mut occurrences))
        .collect();
    let mut notes: Vec<Value> = run_level
        .iter()
        .map(|f| {
            json!({
                "level": level(f.diagnostic.severity),
                "descriptor": {"id": f.diagnostic.code},
                "message": {"text": f.diagnostic.message}
            })
        })
        .collect();
    if located.len() > kept {
        notes.push(json!({
            "level": "warning",
            "message": {"text": format!(
                "{} findings were left out: GitHub code scanning accepts at most {MAX_RESULTS} results per run",
                located.len() - kept
            )}
        }));
    }
    let mut invocation = json!({"executionSuccessful": true});
    if !notes.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notes);
    }
    let mut doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "attacktrace",
                "version": opts.tool_version,
                "semanticVersion": opts.tool_version,
                "rules": rules
            }},
            "automationDetails": {"id": "attacktrace/check/"},
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation],
            "properties": run_properties(r),
            "results": results
        }]
    });
    // Keys in sorted order whatever serde_json's map type (the `evtx` crate turns on its
    // `preserve_order`, which would otherwise keep the insertion order of `json!`).
    doc.sort_all_objects();
    // A `Value` has string keys only and its numbers are finite by construction, and the writer is
    // a `Vec`: serialising it cannot fail, so an empty SARIF file can never be written.
    let mut s = serde_json::to_string_pretty(&doc).expect("a serde_json::Value always serialises");
    s.push('\n');
    crate::output::json_safe(s)
}

/// The run's properties: the ATT&CK data (and its file's SHA-256 when not embedded) and the
/// config used, so a reviewer sees what the gate ran with.
fn run_properties(r: &CheckReport) -> serde_json::Value {
    let mut p = serde_json::Map::new();
    for (name, value) in super::check::run_properties(r) {
        p.insert(name, serde_json::Value::String(value));
    }
    serde_json::Value::Object(p)
}

fn result(f: &Finding, opts: &SarifOptions, occurrences: &mut HashMap<String, usize>) -> Value {
    let d = &f.diagnostic;
    let uri = d.path.as_deref().map(|p| match relative_uri(opts, p) {
        Some(rel) => (rel, true),
        None => (absolute_uri(opts, p), false),
    });
    // Stable across line moves: code, file, rule id and the offending source text; a counter keeps
    // identical findings in one file apart.
    let base = fnv1a(&[
        d.code.as_str(),
        uri.as_ref().map_or("", |(u, _)| u.as_str()),
        f.rule_id.as_deref().unwrap_or(""),
        f.source_line
            .as_deref()
            .map(str::trim)
            .unwrap_or(&d.message),
    ]);
    let n = occurrences.entry(base.clone()).or_insert(0);
    *n += 1;
    let mut out = json!({
        "ruleId": d.code,
        // `rules` lists every code in declaration order, so a code's position is its discriminant.
        "ruleIndex": d.code as usize,
        "level": level(d.severity),
        "message": {"text": d.message},
        "partialFingerprints": {"attacktraceFingerprint/v1": format!("{base}:{n}")}
    });
    if let Some((uri, in_repo)) = uri {
        let mut region = json!({"startLine": d.line.unwrap_or(1).max(1)});
        if let Some(c) = d.column {
            region["startColumn"] = json!(c.max(1));
        }
        let mut artifact = json!({ "uri": uri });
        if in_repo {
            artifact["uriBaseId"] = json!("%SRCROOT%");
        }
        out["locations"] = json!([{
            "physicalLocation": {"artifactLocation": artifact, "region": region}
        }]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_repository_relative_and_encoded() {
        let o = SarifOptions {
            base: "/repo/sub".into(),
            root: "/repo".into(),
            tool_version: "0".into(),
        };
        let rel = |p: &str| relative_uri(&o, Path::new(p));
        assert_eq!(
            rel("./rules/a b.yml").as_deref(),
            Some("sub/rules/a%20b.yml")
        );
        assert_eq!(rel("/repo/x/../y.yml").as_deref(), Some("y.yml"));
        assert_eq!(rel("../z.yml").as_deref(), Some("z.yml"));
        assert_eq!(rel("../../elsewhere/r.yml"), None);
        assert_eq!(
            absolute_uri(&o, Path::new("../../elsewhere/r.yml")),
            "file:///elsewhere/r.yml"
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let o = SarifOptions {
            base: "/repo".into(),
            root: "/repo".into(),
            tool_version: "0".into(),
        };
        let latin1 = Path::new(std::ffi::OsStr::from_bytes(b"rules/caf\xe9.yml"));
        let other = Path::new(std::ffi::OsStr::from_bytes(b"rules/caf\xe8.yml"));
        assert_eq!(
            relative_uri(&o, latin1).as_deref(),
            Some("rules/caf%E9.yml")
        );
        assert_eq!(relative_uri(&o, other).as_deref(), Some("rules/caf%E8.yml"));
        assert_eq!(
            relative_uri(&o, Path::new("rules/café.yml")).as_deref(),
            Some("rules/caf%C3%A9.yml")
        );
    }

    #[test]
    fn fingerprint_is_stable() {
        assert_eq!(fnv1a(&["a", "b"]), fnv1a(&["a", "b"]));
        assert_ne!(fnv1a(&["ab", ""]), fnv1a(&["a", "b"]));
    }
}
