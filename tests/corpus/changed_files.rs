//! Changed-files mode on SigmaHQ: one rule whose `derived`/`similar` links point at rules elsewhere
//! in the repository is clean of `dangling_related` with `--repository`, and is not without it.

use crate::common::{command, root, shared};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Every `.yml` file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The first file whose every `derived`/`similar` link names an id defined in another file.
fn rule_with_live_links(dir: &Path) -> PathBuf {
    let texts: Vec<(PathBuf, String)> = files(dir)
        .into_iter()
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap_or_default();
            (p, t)
        })
        .collect();
    let ids: HashSet<&str> = texts
        .iter()
        .filter_map(|(_, t)| t.lines().find_map(|l| l.strip_prefix("id: ")))
        .map(str::trim)
        .collect();
    texts
        .iter()
        .find(|(_, t)| {
            let lines: Vec<&str> = t.lines().collect();
            let links: Vec<&str> = lines
                .windows(2)
                .filter(|w| {
                    let kind = w[1].trim();
                    kind == "type: derived" || kind == "type: similar"
                })
                .filter_map(|w| w[0].trim().strip_prefix("- id: "))
                .map(str::trim)
                .collect();
            !links.is_empty() && links.iter().all(|id| ids.contains(id))
        })
        .map(|(p, _)| p.clone())
        .expect("a SigmaHQ rule with derived or similar links")
}

fn dangling(args: &[&str]) -> bool {
    let out = command(&root()).args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.code() != Some(2), "{stdout}");
    stdout.contains("\"dangling_related\"")
}

#[test]
fn sigmahq_rule_with_repository_has_no_dangling_related() {
    let Some(shared) = shared() else {
        return;
    };
    let dir = shared.join("sigmahq/rules");
    let file = rule_with_live_links(&dir);
    let (file, dir) = (file.to_str().unwrap(), dir.to_str().unwrap());
    let base = ["check", "--no-config", "--format", "json", file];
    assert!(dangling(&base), "{file} alone: its links point outside");
    assert!(
        !dangling(&[&base[..], &["--repository", dir]].concat()),
        "{file} with --repository"
    );
}
