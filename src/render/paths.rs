//! Rule paths as reports show them: relative to the repository root, so a report made in CI names
//! `rules/windows/x.yml`, not a runner's checkout directory or the `../` of the working directory
//! the command happened to run in. Lexical only (no file-system access): symlinks are not resolved.

use std::path::{Component, Path, PathBuf};

/// Lexically normalised `base/path`.
pub fn normalise(base: &Path, path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Where rule paths are relative to. The default (no root) shows paths as given.
#[derive(Debug, Clone, Default)]
pub struct RepoPaths {
    /// Directory the rule paths are relative to (the working directory of the run).
    pub base: PathBuf,
    /// Repository root; `None` shows paths as given.
    pub root: Option<PathBuf>,
}

impl RepoPaths {
    /// `path` relative to the root with `/` separators; as given when there is no root or the
    /// file lies outside it.
    pub fn show(&self, path: &str) -> String {
        let Some(root) = &self.root else {
            return path.to_string();
        };
        let abs = normalise(&self.base, Path::new(path));
        let root = normalise(&self.base, root);
        match abs.strip_prefix(&root) {
            Ok(rel) => rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            // Outside the root: as given when that is already plain, else without the detours.
            Err(_)
                if Path::new(path).is_relative()
                    && !Path::new(path)
                        .components()
                        .any(|c| c == Component::ParentDir) =>
            {
                path.to_string()
            }
            Err(_) => abs.to_string_lossy().into_owned(),
        }
    }
}

/// `report` with every finding's path shown from the root, for the CI formats (GitHub annotations,
/// JUnit), whose viewers resolve paths against the repository checkout, not the directory the
/// command ran in. The text and JSON reports keep paths as given.
pub fn rooted(report: &crate::check::CheckReport, paths: &RepoPaths) -> crate::check::CheckReport {
    let mut out = report.clone();
    for f in &mut out.findings {
        if let Some(p) = &f.diagnostic.path {
            let shown = paths.show(&p.to_string_lossy());
            f.diagnostic.path = Some(PathBuf::from(shown));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_from_the_root() {
        let p = RepoPaths {
            base: PathBuf::from("/repo/sub"),
            root: Some(PathBuf::from("/repo")),
        };
        assert_eq!(p.show("rules/a.yml"), "sub/rules/a.yml");
        assert_eq!(p.show("../rules/./b.yml"), "rules/b.yml");
        assert_eq!(p.show("/repo/c.yml"), "c.yml");
        assert_eq!(p.show("/elsewhere/d.yml"), "/elsewhere/d.yml");
        assert_eq!(p.show("/repo/../other/./d.yml"), "/other/d.yml");
        assert_eq!(p.show("../../other/d.yml"), "/other/d.yml");
        assert_eq!(RepoPaths::default().show("x/./y.yml"), "x/./y.yml");
        let rel_root = RepoPaths {
            base: PathBuf::from("/w/repo"),
            root: Some(PathBuf::from("../shared/sigmahq")),
        };
        assert_eq!(
            rel_root.show("../shared/sigmahq/rules/e.yml"),
            "rules/e.yml"
        );
    }
}
