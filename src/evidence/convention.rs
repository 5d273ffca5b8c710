//! Where a rule's own test events live.
//!
//! - The project's convention: next to `name.yml` a directory `name.tests/` with `positive.jsonl`
//!   (each event must match) and `negative.jsonl` (no event may match).
//! - SigmaHQ's convention: `regression_tests_path: regression_data/.../info.yml` (as an attribute or
//!   in a comment) names an `info.yml` whose `regression_tests_info` lists `.evtx` files with a
//!   `match_count`; the `.evtx` is read, or the `.json` export beside it when the `.evtx` is absent.
//!   Paths are relative to the repository root (the parent of the top-level rule directory holding
//!   the rule, one of [`RULE_DIRS`], or `--root`) and must stay inside it: a path that leaves it is
//!   refused, never read.

use super::model::{CaseKind, CaseResult};
use crate::diag::{Code, Diagnostic};
use serde_norway::Value;
use std::path::{Component, Path, PathBuf};

/// One file of events to run one rule against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSpec {
    pub kind: CaseKind,
    pub file: PathBuf,
    /// Regression `match_count`.
    pub expected: Option<usize>,
    /// Why the file is not read (a link out of the repository): the case fails without reading,
    /// so its outcome says nothing about the file it points to.
    pub refused: Option<String>,
}

/// The project's `name.tests/` cases of a rule file, and a finding for each event file refused.
///
/// An event file (or its `name.tests/` directory) that is a symbolic link leading outside the
/// repository root (see [`confinement_root`]) is refused, unless `follow_symlinks`: its case fails
/// without the file being opened, and a finding says why. A pull request must not turn PASS/FAIL
/// lines into an oracle on a file elsewhere on the runner. Any other entry found is a case, even a FIFO or a dangling link, so
/// reading it reports the problem instead of the case vanishing.
pub fn project_cases(rule_path: &Path, follow_symlinks: bool) -> (Vec<CaseSpec>, Vec<Diagnostic>) {
    let mut cases = Vec::new();
    let mut refused = Vec::new();
    let Some(stem) = rule_path.file_stem() else {
        return (cases, refused);
    };
    let mut dir_name = stem.to_os_string();
    dir_name.push(".tests");
    let dir = rule_path.with_file_name(dir_name);
    let root = confinement_root(rule_path);
    for (name, kind) in [
        ("positive.jsonl", CaseKind::Positive),
        ("negative.jsonl", CaseKind::Negative),
    ] {
        let file = dir.join(name);
        if std::fs::symlink_metadata(&file).is_err() {
            continue;
        }
        let finding =
            (!follow_symlinks && escapes(&root, &file)).then(|| outside_root(&file, &root));
        cases.push(CaseSpec {
            kind,
            refused: finding.as_ref().map(|d| d.message.clone()),
            file,
            expected: None,
        });
        refused.extend(finding);
    }
    (cases, refused)
}

/// The directory a rule's own test files must stay in: its repository root (the parent of the
/// `rules/` directory holding it), else the rule file's own directory.
pub fn confinement_root(rule_path: &Path) -> PathBuf {
    repository_root(rule_path).unwrap_or_else(|| match rule_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

/// Whether `path` resolves (through symbolic links) outside `root`. A path that does not resolve
/// (dangling link, loop) does not escape: opening it fails and says so.
pub fn escapes(root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok() && !crate::input::is_within(root, path)
}

/// The finding for a test event file refused because it leads outside `root`.
pub fn outside_root(path: &Path, root: &Path) -> Diagnostic {
    Diagnostic::new(
        Code::SymlinkOutsideRoot,
        format!(
            "test events lead outside {} through a symbolic link; not read (pass \
             --follow-symlinks to read them)",
            root.display()
        ),
    )
    .at(path)
}

/// The `regression_tests_path` value of a rule file's text: a top-level attribute or the same in a
/// comment (SigmaHQ comments it out while a test is pending review, and still ships the data).
pub fn regression_path(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let l = line.strip_prefix('#').map_or(line, str::trim_start);
        let v = l.strip_prefix("regression_tests_path")?.trim_start();
        let v = v.strip_prefix(':')?.trim();
        let v = v.trim_matches(|c| c == '\'' || c == '"');
        (!v.is_empty()).then(|| v.to_string())
    })
}

/// The top-level rule directories of a SigmaHQ-layout repository, side by side under its root
/// (SigmaHQ's layout: its CI runs `rules`, `rules-emerging-threats` and `rules-threat-hunting`; the
/// others hold rules too). A name here is all it takes for a new one to be recognised.
pub const RULE_DIRS: &[&str] = &[
    "rules",
    "rules-emerging-threats",
    "rules-threat-hunting",
    "rules-compliance",
    "rules-dfir",
    "deprecated",
    "unsupported",
];

/// The repository root of a rule: the parent of the nearest ancestor directory named as one of
/// [`RULE_DIRS`].
pub fn repository_root(rule_path: &Path) -> Option<PathBuf> {
    rule_path
        .ancestors()
        .skip(1)
        .find(|a| {
            a.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| RULE_DIRS.contains(&n))
        })
        .and_then(Path::parent)
        .map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        })
}

/// A repository-relative path that [`inside_root`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefused {
    #[error("`{0}` is not a plain relative path inside the repository root; refused")]
    NotPlain(String),
    #[error("`{0}` leads outside the repository root through a symbolic link; refused")]
    Escapes(String),
}

/// Joins a repository-relative path, refusing absolute paths, `..` and symlinks that lead outside.
pub fn inside_root(root: &Path, rel: &str) -> Result<PathBuf, PathRefused> {
    let p = Path::new(rel);
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(PathRefused::NotPlain(rel.to_string()));
    }
    let joined = root.join(p);
    if let (Ok(r), Ok(j)) = (root.canonicalize(), joined.canonicalize()) {
        if !j.starts_with(&r) {
            return Err(PathRefused::Escapes(rel.to_string()));
        }
    }
    Ok(joined)
}

/// A read error as one message with its I/O cause (never any of the file's content).
pub(super) fn read_problem(e: &crate::input::ReadError) -> String {
    match e {
        crate::input::ReadError::Io { source, .. } => format!("{e}: {source}"),
        _ => e.to_string(),
    }
}

/// Regression cases of a rule, or findings explaining why there are none. `root` overrides the
/// repository root found from the rule's path (`test --root`).
pub fn regression_cases(
    rule_path: &Path,
    value: &str,
    root: Option<&Path>,
) -> Result<Vec<CaseSpec>, Diagnostic> {
    let refuse = |msg: String| Diagnostic::new(Code::RegressionPathRefused, msg).at(rule_path);
    let bad = |msg: String| Diagnostic::new(Code::RegressionDataError, msg).at(rule_path);
    let root = root
        .map(Path::to_path_buf)
        .or_else(|| repository_root(rule_path))
        .ok_or_else(|| {
            bad(format!(
                "regression_tests_path `{value}`: the rule is not under a top-level rule directory \
                 ({}), so the repository root is unknown (pass --root)",
                RULE_DIRS.join(", ")
            ))
        })?;
    let info_path = inside_root(&root, value).map_err(|e| refuse(e.to_string()))?;
    // Capped and regular files only: a FIFO planted as `info.yml` must not hang the run.
    let text = crate::input::read_text_capped(&info_path, crate::input::DEFAULT_CAP)
        .map_err(|e| bad(read_problem(&e)))?;
    let info: Value = serde_norway::from_str(&text)
        .map_err(|e| bad(format!("{}: not YAML: {e}", info_path.display())))?;
    let tests = match info.get("regression_tests_info") {
        Some(Value::Sequence(tests)) => tests,
        None | Some(Value::Null) => {
            return Err(Diagnostic::new(
                Code::RegressionTestsNone,
                format!(
                    "{} lists no `regression_tests_info` (no active regression test)",
                    info_path.display()
                ),
            )
            .at(rule_path))
        }
        Some(_) => {
            return Err(bad(format!(
                "{}: `regression_tests_info` is not a list",
                info_path.display()
            )))
        }
    };
    let mut cases = Vec::new();
    for t in tests {
        let kind = t.get("type").and_then(Value::as_str).unwrap_or("evtx");
        let Some(path) = t.get("path").and_then(Value::as_str) else {
            return Err(bad(format!(
                "{}: a test entry has no `path`",
                info_path.display()
            )));
        };
        if !kind.eq_ignore_ascii_case("evtx") {
            return Err(bad(format!(
                "{}: test type `{kind}` is not supported (only EVTX)",
                info_path.display()
            )));
        }
        let file = event_file(&root, path).map_err(|e| match e {
            Missing::Refused(e) => refuse(e.to_string()),
            Missing::Neither(evtx) => bad(format!(
                "{}: neither the listed event file {} nor its JSON export is there",
                info_path.display(),
                evtx.display()
            )),
        })?;
        let expected = t
            .get("match_count")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        cases.push(CaseSpec {
            kind: CaseKind::Regression,
            file,
            expected,
            refused: None,
        });
    }
    Ok(cases)
}

/// Why a listed regression event file cannot be read.
enum Missing {
    Refused(PathRefused),
    /// Neither the `.evtx` (this path) nor the `.json` beside it exists.
    Neither(PathBuf),
}

/// The file of a listed `.evtx`: itself when present, else the `.json` export beside it. Any entry
/// at the path counts as present (a FIFO or dangling link then fails when read, and says so).
fn event_file(root: &Path, listed: &str) -> Result<PathBuf, Missing> {
    let evtx = inside_root(root, listed).map_err(Missing::Refused)?;
    if std::fs::symlink_metadata(&evtx).is_ok() {
        return Ok(evtx);
    }
    let json = Path::new(listed).with_extension("json");
    let json = inside_root(root, &json.to_string_lossy()).map_err(Missing::Refused)?;
    if json.is_file() {
        Ok(json)
    } else {
        Err(Missing::Neither(evtx))
    }
}

/// SigmaHQ's verdict on a regression case (see `docs` in the README): fewer matches than
/// `match_count` (or none) fails; more only warns, since upstream's CI accepts it and asks for the
/// count to be updated. The matched lines are kept only when there is something to look at.
pub fn judge_regression(c: &mut CaseResult) -> bool {
    let (matched, events) = (c.matched, c.events);
    let passed = matched > 0 && c.expected.is_none_or(|n| matched >= n);
    if !passed && events > 0 {
        c.message = Some(match c.expected {
            Some(n) if matched > 0 => {
                format!("{matched} of {events} events matched, expected at least {n}")
            }
            _ => format!("none of {events} events matched"),
        });
    }
    if let Some(n) = c.expected.filter(|&n| passed && matched > n) {
        c.warning = Some(format!(
            "{matched} events matched, more than match_count {n} (consider updating match_count)"
        ));
    }
    if passed && c.warning.is_none() {
        c.matched_lines.clear();
    }
    passed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_regression_path_in_attribute_or_comment() {
        assert_eq!(
            regression_path("title: x\nregression_tests_path: regression_data/a/info.yml\n"),
            Some("regression_data/a/info.yml".into())
        );
        assert_eq!(
            regression_path("# regression_tests_path: 'regression_data/b/info.yml'\n"),
            Some("regression_data/b/info.yml".into())
        );
        assert_eq!(regression_path("title: regression_tests_path\n"), None);
        assert_eq!(regression_path("  regression_tests_path_x: 1\n"), None);
    }

    #[test]
    fn root_is_parent_of_rules() {
        assert_eq!(
            repository_root(Path::new("/repo/rules/windows/x.yml")),
            Some(PathBuf::from("/repo"))
        );
        assert_eq!(
            repository_root(Path::new("rules/x.yml")),
            Some(PathBuf::from("."))
        );
        assert_eq!(repository_root(Path::new("other/x.yml")), None);
        assert_eq!(
            repository_root(Path::new("/repo/rules-emerging-threats/2024/x.yml")),
            Some(PathBuf::from("/repo"))
        );
        assert_eq!(
            repository_root(Path::new("/repo/rules-threat-hunting/windows/x.yml")),
            Some(PathBuf::from("/repo"))
        );
    }

    #[test]
    fn escapes_are_refused() {
        let root = Path::new(".");
        for bad in ["../x/info.yml", "/etc/passwd", "a/../../b"] {
            assert!(inside_root(root, bad).is_err(), "{bad}");
        }
        assert!(inside_root(root, "regression_data/x/info.yml").is_ok());
    }

    #[test]
    fn project_cases_next_to_rule() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events/pack");
        let (cases, refused) = project_cases(&dir.join("rules/proc_whoami.yml"), false);
        assert!(refused.is_empty());
        let kinds: Vec<_> = cases.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![CaseKind::Positive, CaseKind::Negative]);
    }

    #[cfg(unix)]
    #[test]
    fn own_test_links_out_of_the_root_are_refused_unless_followed() {
        let dir = tempfile::tempdir().unwrap();
        let tests = dir.path().join("repo/rules/r.tests");
        std::fs::create_dir_all(&tests).unwrap();
        std::fs::write(dir.path().join("secret"), "{}").unwrap();
        std::fs::write(tests.join("negative.jsonl"), "{}").unwrap();
        std::os::unix::fs::symlink("../../../secret", tests.join("positive.jsonl")).unwrap();
        let rule = dir.path().join("repo/rules/r.yml");
        let (cases, refused) = project_cases(&rule, false);
        assert_eq!(cases.len(), 2);
        assert!(cases[0].refused.is_some() && cases[1].refused.is_none());
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].code, Code::SymlinkOutsideRoot);
        let (cases, refused) = project_cases(&rule, true);
        assert!(refused.is_empty() && cases.iter().all(|c| c.refused.is_none()));
    }
}
