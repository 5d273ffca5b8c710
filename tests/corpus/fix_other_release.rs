//! `check --fix --dry-run` over a temporary copy of SigmaHQ with its v18 `attack.defense-evasion`
//! tags renamed to v19's `attack.stealth` (skipped without `../shared`): against the embedded
//! v18.1 data no rule may be edited towards v18 (issue #11 item 11: 699 files used to gain
//! `attack.defense-evasion` next to `attack.stealth`); each such rule is reported instead.

use attacktrace::attack::catalog;
use attacktrace::check::{self, pipeline};

#[test]
fn fix_never_adds_v18_tactics_to_v19_tagged_rules() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let tmp = crate::common::scratch();
    let mut renamed = 0;
    for entry in walkdir::WalkDir::new(shared.join("sigmahq/rules")).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() || entry.path().extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if !text.contains("attack.defense-evasion") {
            continue;
        }
        renamed += 1;
        let name = format!("{renamed:05}.yml");
        std::fs::write(
            tmp.path().join(name),
            text.replace("attack.defense-evasion", "attack.stealth"),
        )
        .unwrap();
    }
    assert!(renamed > 600, "{renamed}");
    let rules = check::load_rules(&[tmp.path().to_path_buf()]);
    let run = pipeline::fix_files(&rules, &catalog::embedded(), &Default::default(), true);
    assert!(run.fatal.is_none());
    assert!(run.skipped >= renamed, "{} of {renamed}", run.skipped);
    assert!(
        !run.diffs
            .lines()
            .any(|l| l.starts_with('+') && l.contains("attack.defense-evasion")),
        "a v18 tactic was added"
    );
}
