//! Loading Sigma rules from files, directories and globs into a [`RuleSet`].
//!
//! This is the only I/O-heavy stage of the tool, so it runs once, in parallel, and hands immutable
//! records to the rest. Every file found is accounted for: it either yields at least one
//! [`RuleRecord`] or at least one report (a [`Diagnostic`]), so `files_seen = files_loaded +
//! files_reported` holds and nothing is skipped silently. Each file is parsed once into YAML values;
//! metadata, tags and the compiled detection all come from those values.

use super::compile::{compile_detection_noted, one_line, value_kind};
use super::model::{DetectionState, LogSource, RuleKind, RuleRecord, RuleSet};
use super::tags::parse_attack_tag;
use crate::diag::{Code, Diagnostic};
use rayon::prelude::*;
use serde::Deserialize;
use serde_norway::{Mapping, Value};
use std::collections::HashSet;
use std::fs;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Default for [`LoadOptions::max_file_size`]: far above any real rule, low enough to stop accidents.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// How rules are loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadOptions {
    /// Files larger than this many bytes are reported (`file_too_large`) and not parsed.
    pub max_file_size: u64,
    /// Compile detections for the evaluator. Off leaves every detection rule at
    /// [`DetectionState::NotCompiled`], for commands that only link metadata.
    pub compile: bool,
    /// Keep each document's parsed YAML and the file text on [`RuleRecord::source`] (for `check`).
    pub keep_source: bool,
    /// Follow symbolic links that lead outside the directory being walked. Off by default: a rule
    /// repository from a pull request must not make CI read files elsewhere on the runner.
    pub follow_symlinks: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            compile: true,
            keep_source: false,
            follow_symlinks: false,
        }
    }
}

/// Loads every rule reachable from `paths` (files, directories walked recursively, or glob patterns).
///
/// Directories contribute only `.yml`/`.yaml` files and skip hidden directories; files named
/// explicitly (or matched by a glob) are read whatever their extension. Output is independent of
/// thread scheduling: files are processed in path order, rules sorted by (path, document), reports by
/// (path, line). Never panics on bad input; problems become reports.
///
/// Counting: `files_*` count files (a file reached twice counts once). Every entry named like a
/// rule is a file: one that fails to open or read (a dangling link, a FIFO, a device) and a
/// symlink refused for leading outside the walked directory are seen and reported, so
/// `files_seen = files_loaded + files_reported` matches the reports. Reports that concern no file
/// (a path that matches nothing, a symlink loop, a linked directory refused) are listed in
/// `reports` but not counted as files. A file may load and still carry reports (a later document
/// failed).
pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> RuleSet {
    load_visiting(paths, opts, |_| ()).0
}

/// [`load`] that hands each file's records to `visit` on the loading thread as soon as they are
/// built, so a caller can finish with a rule and shrink it (drop its source) before the next file:
/// the whole set's sources never sit in memory at once. Results come back in file order; a file
/// reached twice is visited twice but only its first result is kept, like its records.
pub fn load_visiting<T: Send>(
    paths: &[PathBuf],
    opts: &LoadOptions,
    visit: impl Fn(&mut [RuleRecord]) -> T + Sync,
) -> (RuleSet, Vec<T>) {
    let Found {
        mut files,
        mut reports,
        mut refused,
    } = collect_files(paths, opts);
    files.sort();
    files.dedup();
    refused.sort();
    refused.dedup();

    let outcomes: Vec<(FileOutcome, T)> = files
        .par_iter()
        .map(|p| {
            let mut outcome = load_file(p, opts);
            let visited = visit(&mut outcome.rules);
            (outcome, visited)
        })
        .collect();
    let mut visited = Vec::with_capacity(outcomes.len());

    let mut set = RuleSet::default();
    // The same file reached through a symlink or a `./`-prefixed argument is loaded once, under the
    // first path in sort order.
    let mut seen_ids = HashSet::new();
    for (outcome, result) in outcomes {
        if let Some(id) = outcome.id {
            if !seen_ids.insert(id) {
                continue;
            }
        }
        visited.push(result);
        set.files_seen += 1;
        if outcome.rules.is_empty() {
            set.files_reported += 1;
        } else {
            set.files_loaded += 1;
        }
        set.rules.extend(outcome.rules);
        reports.extend(outcome.reports);
    }
    // A rule file refused in the walk is seen and reported, like one that failed to open.
    set.files_seen += refused.len();
    set.files_reported += refused.len();
    reports.sort();
    set.reports = reports;
    (set, visited)
}

/// Parses one file's text (already decoded, BOM removed) into records and reports.
///
/// Exposed so callers holding text that is not on disk (stdin, tests) get the same behaviour as
/// [`load`]; `path` is only used to label results.
pub fn load_text(
    path: &Path,
    text: &str,
    opts: &LoadOptions,
) -> (Vec<RuleRecord>, Vec<Diagnostic>) {
    let mut rules = Vec::new();
    let mut reports = Vec::new();
    let starts = document_starts(text);
    let shared_text: Option<std::sync::Arc<str>> = opts.keep_source.then(|| text.into());
    let mut documents = 0usize;
    // serde_norway's document iterator repeats an error forever (and can panic when driven past an
    // unknown-anchor error), so stop at the first error.
    for (index, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let line = starts.get(index).or(starts.last()).copied().unwrap_or(1);
        let value = match Value::deserialize(doc) {
            Ok(v) => v,
            Err(e) => {
                let loc = e.location();
                reports.push(
                    Diagnostic::new(Code::YamlError, one_line(&e.to_string()))
                        .at(path)
                        .line(
                            Some(loc.as_ref().map_or(line, |l| l.line())),
                            loc.map(|l| l.column()),
                        ),
                );
                break;
            }
        };
        if value.is_null() {
            // An empty document: comments only, or a trailing `---`.
            continue;
        }
        documents += 1;
        let Value::Mapping(map) = value else {
            reports.push(
                Diagnostic::new(
                    Code::NotAMapping,
                    format!(
                        "document {} is {}, not a mapping of rule attributes",
                        index + 1,
                        value_kind(&value)
                    ),
                )
                .at(path)
                .line(Some(line), None),
            );
            continue;
        };
        let doc = Doc {
            path,
            text,
            index,
            line,
            end_line: starts.get(index + 1).map(|next| next - 1),
            shared_text: shared_text.as_ref(),
        };
        match build_record(&doc, map, opts) {
            Ok(record) => rules.push(record),
            Err(problems) => reports.extend(problems),
        }
    }
    if documents == 0 && reports.is_empty() {
        reports.push(
            Diagnostic::new(
                Code::NotAMapping,
                "empty file: no YAML document (only blank lines or comments)",
            )
            .at(path),
        );
    }
    (rules, reports)
}

/// Result of one file; `id` identifies the file on disk to drop duplicates.
struct FileOutcome {
    id: Option<FileId>,
    rules: Vec<RuleRecord>,
    reports: Vec<Diagnostic>,
}

/// Identity of a file on disk: (device, inode) on Unix, the canonical path elsewhere. Deliberately
/// not `Copy`, so the code is the same on both.
#[cfg(unix)]
#[derive(Clone, PartialEq, Eq, Hash)]
struct FileId(u64, u64);
#[cfg(not(unix))]
type FileId = PathBuf;

#[cfg(unix)]
fn file_id(meta: &fs::Metadata, _path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId(meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &fs::Metadata, path: &Path) -> Option<FileId> {
    fs::canonicalize(path).ok()
}

fn load_file(path: &Path, opts: &LoadOptions) -> FileOutcome {
    let report = |d: Diagnostic| FileOutcome {
        id: None,
        rules: Vec::new(),
        reports: vec![d.at(path)],
    };
    let io_error = |what: &str, e: std::io::Error| {
        report(Diagnostic::new(
            Code::IoError,
            format!("cannot {what}: {e}"),
        ))
    };
    // Regular files only, opened without blocking: a FIFO or device named like a rule is reported,
    // never waited on or read without end.
    let (mut file, meta) = match crate::input::open_regular(path) {
        Ok(opened) => opened,
        Err(crate::input::ReadError::NotRegular { kind, .. }) => {
            return report(Diagnostic::new(
                Code::IoError,
                format!("not a regular file ({kind}); not read"),
            ))
        }
        Err(crate::input::ReadError::Io { source, .. }) => return io_error("open file", source),
        Err(e) => return report(Diagnostic::new(Code::IoError, format!("cannot open: {e}"))),
    };
    let id = file_id(&meta, path);
    let too_large = |size: u64| FileOutcome {
        id: id.clone(),
        ..report(Diagnostic::new(
            Code::FileTooLarge,
            format!(
                "file is {size} bytes, over the limit of {} bytes",
                opts.max_file_size
            ),
        ))
    };
    if meta.len() > opts.max_file_size {
        return too_large(meta.len());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize + 1);
    // `take` guards against a file that grows between the size check and the read.
    if let Err(e) = (&mut file)
        .take(opts.max_file_size.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        return FileOutcome {
            id,
            ..io_error("read file", e)
        };
    }
    if bytes.len() as u64 > opts.max_file_size {
        return too_large(bytes.len() as u64);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let column =
                valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
            return FileOutcome {
                id,
                ..report(
                    Diagnostic::new(
                        Code::NotUtf8,
                        format!(
                            "invalid UTF-8 at byte offset {} (line {line}); re-encode the file as UTF-8",
                            e.valid_up_to()
                        ),
                    )
                    .line(Some(line), Some(column)),
                )
            };
        }
    };
    // Last line of defence: a parser bug must cost one file, not the whole run.
    match catch_unwind(AssertUnwindSafe(|| load_text(path, text, opts))) {
        Ok((rules, reports)) => FileOutcome { id, rules, reports },
        Err(_) => FileOutcome {
            id,
            ..report(Diagnostic::new(
                Code::YamlError,
                "the YAML parser failed unexpectedly on this file (internal error)",
            ))
        },
    }
}

/// What the path arguments expand to.
#[derive(Default)]
struct Found {
    /// Candidate files, to open (a FIFO or a dangling link among them is reported when opened).
    files: Vec<PathBuf>,
    /// Problems with the arguments and the walk.
    reports: Vec<Diagnostic>,
    /// Rule files refused without opening (symlinks leading outside the walked root): seen and
    /// reported, never loaded.
    refused: Vec<PathBuf>,
}

/// Expands the path arguments into candidate files; problems with the arguments become reports.
fn collect_files(paths: &[PathBuf], opts: &LoadOptions) -> Found {
    let mut found = Found::default();
    for arg in paths {
        let before = found.files.len() + found.refused.len();
        let pattern = arg.to_string_lossy();
        let is_glob = pattern.contains(['*', '?', '[']) && fs::symlink_metadata(arg).is_err();
        if is_glob {
            expand_glob(arg, &pattern, opts, &mut found);
        } else {
            match fs::metadata(arg) {
                Ok(m) if m.is_dir() => walk_dir(arg, opts, &mut found),
                // Regular or not (a FIFO, a device): opening it says which, without blocking.
                Ok(_) => found.files.push(arg.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => found
                    .reports
                    .push(Diagnostic::new(Code::PathNotFound, "no such file or directory").at(arg)),
                Err(e) => found
                    .reports
                    .push(Diagnostic::new(Code::IoError, format!("cannot access: {e}")).at(arg)),
            }
        }
        let found_nothing = found.files.len() + found.refused.len() == before;
        let already_reported = found
            .reports
            .last()
            .is_some_and(|d| d.path.as_deref() == Some(arg.as_path()));
        if found_nothing && !already_reported {
            let msg = if is_glob {
                "the glob pattern matched no rule file"
            } else {
                "no .yml or .yaml file found in this directory"
            };
            found
                .reports
                .push(Diagnostic::new(Code::PathNotFound, msg).at(arg));
        }
    }
    found
}

fn expand_glob(arg: &Path, pattern: &str, opts: &LoadOptions, found: &mut Found) {
    // Like the directory walk, `*` does not match hidden names (`.git`).
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let matches = match glob::glob_with(pattern, options) {
        Ok(m) => m,
        Err(e) => {
            found.reports.push(
                Diagnostic::new(Code::PathNotFound, format!("invalid glob pattern: {e}")).at(arg),
            );
            return;
        }
    };
    for entry in matches {
        match entry {
            Ok(p) if p.is_dir() => walk_dir(&p, opts, found),
            Ok(p) => found.files.push(p),
            Err(e) => found.reports.push(
                Diagnostic::new(Code::IoError, format!("cannot read: {}", e.error())).at(e.path()),
            ),
        }
    }
}

fn walk_dir(root: &Path, opts: &LoadOptions, found: &mut Found) {
    // Symlinks are followed (so loops are detected) but, unless asked, only while they stay inside
    // the walked root; only symlinks are resolved, so a plain tree costs no extra system calls.
    let canonical_root = fs::canonicalize(root).ok();
    let mut outside = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            if e.depth() > 0 && e.file_type().is_dir() && is_hidden(e.file_name()) {
                return false;
            }
            if opts.follow_symlinks || e.depth() == 0 || !e.path_is_symlink() {
                return true;
            }
            match (fs::canonicalize(e.path()), &canonical_root) {
                (Ok(target), Some(root)) if !target.starts_with(root) => {
                    // Only a link the walk would have used is worth a report: a directory or a
                    // rule file (a linked `.jsonl` of a rule's tests is not the loader's concern).
                    let is_dir = e.file_type().is_dir();
                    let is_rule = !is_dir && has_rule_extension(e.path());
                    if is_dir || is_rule {
                        outside.push((e.path().to_path_buf(), is_rule));
                    }
                    false
                }
                _ => true,
            }
        });
    for entry in walker {
        match entry {
            // Files and also FIFOs, sockets and devices named like rules: opening them reports
            // them (without blocking), so they are seen and counted, not silently left out.
            Ok(e) => {
                if !e.file_type().is_dir() && has_rule_extension(e.path()) {
                    found.files.push(e.into_path());
                }
            }
            Err(e) => walk_error(root, e, found),
        }
    }
    for (path, is_rule) in outside {
        found.reports.push(
            Diagnostic::new(
                Code::SymlinkOutsideRoot,
                format!(
                    "symbolic link leads outside {}; not followed (pass --follow-symlinks to follow it)",
                    root.display()
                ),
            )
            .at(&path),
        );
        if is_rule {
            found.refused.push(path);
        }
    }
}

/// A walk error: a dangling link named like a rule is a file (opening it reports it and counts
/// it); loops and unreadable directories are reported as they are.
fn walk_error(root: &Path, e: walkdir::Error, found: &mut Found) {
    let path = e.path().unwrap_or(root).to_path_buf();
    let dangling = e.loop_ancestor().is_none()
        && has_rule_extension(&path)
        && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink())
        && fs::metadata(&path).is_err();
    if dangling {
        found.files.push(path);
        return;
    }
    let msg = match (e.loop_ancestor(), e.io_error()) {
        // walkdir reports the ancestor canonicalised (absolute); show it relative to the current
        // directory when possible, so output does not depend on where the checkout lives.
        (Some(ancestor), _) => {
            let shown = std::env::current_dir()
                .ok()
                .and_then(|cwd| ancestor.strip_prefix(cwd).ok().map(Path::to_path_buf))
                .map(|p| {
                    if p.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        p.display().to_string()
                    }
                })
                .unwrap_or_else(|| ancestor.display().to_string());
            format!("symbolic link loop: points back to {shown}")
        }
        (None, Some(io)) => format!("cannot read: {io}"),
        (None, None) => format!("cannot read: {e}"),
    };
    found
        .reports
        .push(Diagnostic::new(Code::IoError, msg).at(path));
}

/// The reports of path arguments that exist nowhere or match no rule file: a run over nothing
/// must not pass, so commands treat these as input errors (exit 2).
pub fn unmatched_paths(set: &RuleSet) -> impl Iterator<Item = &Diagnostic> {
    set.reports.iter().filter(|d| d.code == Code::PathNotFound)
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn has_rule_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
}

/// 1-based start line of each YAML document, in the order the parser yields them.
///
/// The parser yields an implicit first document when anything but comments and directives comes
/// before the first `---` (or when there is no `---` at all), then one document per `---` marker.
/// A `---` at column 0 is always a marker: YAML forbids it inside content.
fn document_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut first_content = None;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let marker = line
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker {
            starts.push(i + 1);
        } else if starts.is_empty() && first_content.is_none() {
            let t = line.trim_start();
            if !t.is_empty() && !t.starts_with('#') && !line.starts_with('%') {
                first_content = Some(i + 1);
            }
        }
    }
    if first_content.is_some() || starts.is_empty() {
        starts.insert(0, first_content.unwrap_or(1));
    }
    starts
}

/// Where a document sits, for labelling its records and reports.
struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
    index: usize,
    line: usize,
    end_line: Option<usize>,
    shared_text: Option<&'a std::sync::Arc<str>>,
}

impl Doc<'_> {
    /// Line of the top-level `key:` in this document, else the document's line. Only called on the
    /// (rare) problem path, so the extra scan costs nothing in the common case.
    fn key_line(&self, key: &str) -> usize {
        self.text
            .split('\n')
            .enumerate()
            .skip(self.line - 1)
            .take_while(|(i, _)| self.end_line.is_none_or(|end| *i < end))
            .find(|(_, l)| {
                l.strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or(self.line, |(i, _)| i + 1)
    }

    fn report(&self, code: Code, key: &str, msg: String) -> Diagnostic {
        Diagnostic::new(code, msg)
            .at(self.path)
            .line(Some(self.key_line(key)), None)
    }
}

/// Collects every problem of a document before giving up on it, so one run shows them all.
struct Problems<'a> {
    doc: &'a Doc<'a>,
    list: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn wrong_type(&mut self, key: &str, expected: &str, found: &Value) {
        let top = key.split('.').next().unwrap_or(key);
        let msg = format!("`{key}` must be {expected}, found {}", value_kind(found));
        self.list.push(self.doc.report(Code::WrongType, top, msg));
    }

    fn missing(&mut self, key: &str, kind: &str) {
        let msg = format!("{kind} document has no `{key}` attribute");
        self.list.push(
            Diagnostic::new(Code::MissingField, msg)
                .at(self.doc.path)
                .line(Some(self.doc.line), None),
        );
    }

    /// An optional string attribute; `null` counts as absent.
    fn string(&mut self, map: &Mapping, key: &str) -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                self.wrong_type(key, "a string", other);
                None
            }
        }
    }

    /// Dates are often written unquoted; any scalar is accepted and kept as written.
    fn scalar(&mut self, map: &Mapping, key: &str) -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Null => None,
            other => {
                self.wrong_type(key, "a date or string", other);
                None
            }
        }
    }

    fn string_list(&mut self, map: &Mapping, key: &str) -> Vec<String> {
        match map.get(key) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Sequence(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.wrong_type(&format!("{key}[{}]", i + 1), "a string", other),
                    }
                }
                out
            }
            Some(other) => {
                self.wrong_type(key, "a list of strings", other);
                Vec::new()
            }
        }
    }

    fn logsource(&mut self, value: &Value) -> LogSource {
        let Value::Mapping(m) = value else {
            self.wrong_type("logsource", "a mapping", value);
            return LogSource::default();
        };
        let mut ls = LogSource::default();
        for (k, v) in m {
            let Some(k) = k.as_str() else {
                self.wrong_type("logsource", "a mapping with string keys", k);
                continue;
            };
            let s = match v {
                Value::String(s) => s.to_lowercase(),
                Value::Null => continue,
                other => {
                    self.wrong_type(&format!("logsource.{k}"), "a string", other);
                    continue;
                }
            };
            match k {
                "product" => ls.product = Some(s),
                "category" => ls.category = Some(s),
                "service" => ls.service = Some(s),
                _ => {} // `definition` and custom keys are free text
            }
        }
        ls
    }
}

fn build_record(
    doc: &Doc,
    mut map: Mapping,
    opts: &LoadOptions,
) -> Result<RuleRecord, Vec<Diagnostic>> {
    let kind = if map.contains_key("correlation") {
        RuleKind::Correlation
    } else if map.contains_key("filter") {
        RuleKind::Filter
    } else {
        RuleKind::Detection
    };
    let kind_name = match kind {
        RuleKind::Detection => "detection rule",
        RuleKind::Correlation => "correlation rule",
        RuleKind::Filter => "filter",
    };
    let mut p = Problems {
        doc,
        list: Vec::new(),
    };

    let title = match map.get("title") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => {
            p.missing("title", kind_name);
            String::new()
        }
        Some(other) => {
            p.wrong_type("title", "a string", other);
            String::new()
        }
    };
    let id = p.string(&map, "id");
    let status = p.string(&map, "status");
    let level = p.string(&map, "level");
    let description = p.string(&map, "description");
    let author = p.string(&map, "author");
    let date = p.scalar(&map, "date");
    let modified = p.scalar(&map, "modified");
    let tags = p.string_list(&map, "tags");
    let references = p.string_list(&map, "references");
    let falsepositives = p.string_list(&map, "falsepositives");
    let logsource = match map.get("logsource") {
        Some(v) if !v.is_null() => p.logsource(v),
        _ => {
            if kind == RuleKind::Detection {
                p.missing("logsource", kind_name);
            }
            LogSource::default()
        }
    };
    let detection_value = if kind == RuleKind::Detection {
        match map.swap_remove("detection") {
            Some(v @ Value::Mapping(_)) => Some(v),
            None | Some(Value::Null) => {
                p.missing("detection", kind_name);
                None
            }
            Some(other) => {
                p.wrong_type("detection", "a mapping", &other);
                None
            }
        }
    } else {
        None
    };
    if !p.list.is_empty() {
        return Err(p.list);
    }

    let mut attack: Vec<_> = tags.iter().filter_map(|t| parse_attack_tag(t)).collect();
    attack.sort();
    attack.dedup();

    let mut diagnostics = Vec::new();
    let kept_detection = match (doc.shared_text, &detection_value) {
        (Some(_), Some(v)) => Some(v.clone()),
        _ => None,
    };
    let mut capped = Vec::new();
    let (detection, compiled) = match detection_value {
        None => (DetectionState::NotApplicable, None),
        Some(_) if !opts.compile => (DetectionState::NotCompiled, None),
        Some(value) => match compile_detection_noted(&title, value, &mut capped) {
            Ok(rule) => (DetectionState::Compiled, Some(rule)),
            Err(reason) => {
                diagnostics.push(doc.report(
                    Code::DetectionNotEvaluable,
                    "detection",
                    reason.clone(),
                ));
                (DetectionState::NotEvaluable { reason }, None)
            }
        },
    };
    for note in capped {
        diagnostics.push(doc.report(Code::WindashExpansionCapped, "detection", note));
    }

    Ok(RuleRecord {
        path: doc.path.to_path_buf(),
        document: doc.index,
        line: doc.line,
        kind,
        id,
        title,
        status,
        level,
        description,
        author,
        date,
        modified,
        tags,
        attack,
        logsource,
        references,
        falsepositives,
        detection,
        diagnostics,
        compiled,
        source: doc.shared_text.map(|text| {
            if let Some(d) = kept_detection {
                map.insert(Value::String("detection".into()), d);
            }
            std::sync::Arc::new(super::model::RawDocument {
                text: std::sync::Arc::clone(text),
                map,
                end_line: doc.end_line,
            })
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::AttackTag;

    const RULE: &str = "title: Test\nid: r-1\nlogsource:\n  product: Windows\n  category: Process_Creation\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\ntags:\n  - attack.execution\n  - attack.t1059.001\n  - attack.T1059.001\n  - cve.2021-1\n";

    fn text(t: &str) -> (Vec<RuleRecord>, Vec<Diagnostic>) {
        load_text(Path::new("r.yml"), t, &LoadOptions::default())
    }

    fn codes(d: &[Diagnostic]) -> Vec<(Code, Option<usize>)> {
        d.iter().map(|d| (d.code, d.line)).collect()
    }

    #[test]
    fn document_starts_follow_markers() {
        assert_eq!(document_starts(""), vec![1]);
        assert_eq!(document_starts("a: 1\n"), vec![1]);
        assert_eq!(document_starts("# c\n\na: 1\n"), vec![3]);
        assert_eq!(document_starts("# c\n---\na: 1\n"), vec![2]);
        assert_eq!(document_starts("a: 1\n---\nb: 2\n"), vec![1, 2]);
        assert_eq!(
            document_starts("%YAML 1.2\n---\na: 1\r\n--- \r\nb: 1"),
            vec![2, 4]
        );
        assert_eq!(document_starts("a: |\n  ---\n----\n"), vec![1]);
    }

    #[test]
    fn loads_metadata_tags_and_compiles() {
        let (rules, reports) = text(RULE);
        assert!(reports.is_empty(), "{reports:?}");
        let r = &rules[0];
        assert_eq!(r.title, "Test");
        assert_eq!(r.id.as_deref(), Some("r-1"));
        assert_eq!(r.logsource.key(), "windows/process_creation/*");
        assert_eq!(
            r.attack,
            vec![
                AttackTag::Technique("T1059.001".into()),
                AttackTag::Tactic("execution".into())
            ]
        );
        assert_eq!(r.detection, DetectionState::Compiled);
        assert!(r.compiled.is_some());
    }

    #[test]
    fn wrong_types_are_all_reported_at_their_line() {
        let (rules, reports) = text(RULE.replace("id: r-1", "id: 1").as_str());
        assert!(rules.is_empty());
        assert_eq!(codes(&reports), vec![(Code::WrongType, Some(2))]);
        let (_, reports) = text("title: {a: 1}\nlogsource: x\ndetection: []\ntags: attack.t1059\n");
        assert_eq!(
            codes(&reports),
            vec![
                (Code::WrongType, Some(1)),
                (Code::WrongType, Some(4)),
                (Code::WrongType, Some(2)),
                (Code::WrongType, Some(3))
            ]
        );
        assert!(reports[1]
            .message
            .contains("`tags` must be a list of strings"));
    }

    #[test]
    fn multi_document_lines_and_partial_failure() {
        let t = format!("{RULE}---\n- a list\n---\n# empty\n---\n{RULE}---\nbad: [\n");
        let (rules, reports) = text(&t);
        assert_eq!(rules.len(), 2);
        assert_eq!((rules[0].document, rules[0].line), (0, 1));
        assert_eq!((rules[1].document, rules[1].line), (3, 19));
        assert_eq!(
            codes(&reports),
            vec![(Code::NotAMapping, Some(15)), (Code::YamlError, Some(36))]
        );
    }

    #[test]
    fn empty_and_scalar_files() {
        for t in ["", "# nothing\n", "---\n---\n"] {
            let (rules, reports) = text(t);
            assert!(rules.is_empty());
            assert_eq!(codes(&reports), vec![(Code::NotAMapping, None)], "{t:?}");
        }
        let (_, reports) = text("just text\n");
        assert_eq!(codes(&reports), vec![(Code::NotAMapping, Some(1))]);
    }

    #[test]
    fn yaml_errors_stop_the_file_without_panicking() {
        let (_, reports) = text("a: &x 1\nb: *y\n---\nc: 1\n");
        assert_eq!(codes(&reports), vec![(Code::YamlError, Some(2))]);
        assert_eq!(reports[0].column, Some(4));
    }

    #[test]
    fn correlation_filter_and_compile_off() {
        let (rules, reports) = text(
            "title: C\ncorrelation:\n  type: event_count\n---\ntitle: F\nfilter:\n  rules: []\n",
        );
        assert!(reports.is_empty(), "{reports:?}");
        assert_eq!(rules[0].kind, RuleKind::Correlation);
        assert_eq!(rules[1].kind, RuleKind::Filter);
        assert!(rules
            .iter()
            .all(|r| r.detection == DetectionState::NotApplicable));
        let off = LoadOptions {
            compile: false,
            ..LoadOptions::default()
        };
        let (rules, _) = load_text(Path::new("r.yml"), RULE, &off);
        assert_eq!(rules[0].detection, DetectionState::NotCompiled);
    }

    #[test]
    fn not_evaluable_keeps_the_rule() {
        let t = RULE.replace("condition: sel", "condition: sel | count() by Image > 3");
        let (rules, reports) = text(&t);
        assert!(reports.is_empty());
        assert!(
            matches!(&rules[0].detection, DetectionState::NotEvaluable { reason } if reason.contains("count()"))
        );
        assert_eq!(
            codes(&rules[0].diagnostics),
            vec![(Code::DetectionNotEvaluable, Some(6))]
        );
    }

    #[cfg(unix)]
    #[test]
    fn fifos_and_links_in_a_folder_are_seen_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let rules = dir.path().join("rules");
        fs::create_dir_all(rules.join("sub")).unwrap();
        fs::write(rules.join("sub/ok.yml"), RULE).unwrap();
        fs::write(dir.path().join("outside.yml"), RULE).unwrap();
        let fifo = std::ffi::CString::new(rules.join("pipe.yml").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::os::unix::fs::symlink("sub/ok.yml", rules.join("inside.yml")).unwrap();
        std::os::unix::fs::symlink("gone.yml", rules.join("dangling.yml")).unwrap();
        std::os::unix::fs::symlink("../outside.yml", rules.join("out.yml")).unwrap();
        let set = load(std::slice::from_ref(&rules), &LoadOptions::default());
        // The link inside the root loads (once: it is the same file as sub/ok.yml).
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rules[0].path, rules.join("inside.yml"));
        let codes: Vec<_> = set.reports.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            vec![Code::IoError, Code::SymlinkOutsideRoot, Code::IoError]
        );
        assert_eq!(
            (set.files_seen, set.files_loaded, set.files_reported),
            (4, 1, 3)
        );
        // Named explicitly, a FIFO is reported and counted too, never waited on.
        let set = load(&[rules.join("pipe.yml")], &LoadOptions::default());
        assert_eq!((set.files_seen, set.files_reported), (1, 1));
        assert!(
            set.reports[0].message.contains("a FIFO"),
            "{:?}",
            set.reports
        );
        assert_eq!(unmatched_paths(&set).count(), 0);
    }

    #[test]
    fn unmatched_paths_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let set = load(
            &[dir.path().to_path_buf(), dir.path().join("missing")],
            &LoadOptions::default(),
        );
        assert_eq!(unmatched_paths(&set).count(), 2);
        assert_eq!(set.files_seen, 0);
    }
}
