#![allow(clippy::print_stderr)]
//! Runs the tag editor over every SigmaHQ rule (skipped without `../shared`): each rule's tags are
//! reversed plus one added tag, the edit must verify, and only tag lines may change.

use attacktrace::tagedit::{rewrite_tags, unified_diff};

#[test]
fn tag_rewrite_verifies_on_every_sigmahq_rule() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let root = shared.join("sigmahq/rules");
    let (mut edited, mut failed) = (0, Vec::new());
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let Ok(doc) = serde_norway::from_str::<serde_norway::Value>(&text) else {
            continue;
        };
        let mut tags: Vec<String> = doc
            .get("tags")
            .and_then(|t| t.as_sequence())
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        tags.reverse();
        tags.push("attack.t9999".to_string());
        match rewrite_tags(&text, 1, &tags) {
            Ok(out) => {
                edited += 1;
                let diff = unified_diff("r", &text, &out);
                for l in diff.lines().skip(2) {
                    if let Some(changed) = l.strip_prefix(['+', '-']) {
                        assert!(
                            changed.trim_start().starts_with("- ") || changed.starts_with("tags:"),
                            "{}: unexpected change {l}",
                            entry.path().display()
                        );
                    }
                }
            }
            Err(e) => failed.push(format!("{}: {e}", entry.path().display())),
        }
    }
    eprintln!("edited {edited} rules, {} refused", failed.len());
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(edited > 3000);
}
