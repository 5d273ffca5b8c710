//! A card's long rule lists are summarised by log source; `technique --all` lists every rule.

use crate::common::{run_in, scratch};

/// `n` rules tagged T1059.001 in `dir`, the first `on_ps` reading ps_script, the rest
/// process_creation.
fn rules(dir: &std::path::Path, n: usize, on_ps: usize) {
    for i in 0..n {
        let category = if i < on_ps {
            "ps_script"
        } else {
            "process_creation"
        };
        let text = format!(
            "title: Listed rule {i:02}\nid: 0b3f6c1e-5a2d-4e8f-9c10-0000000001{i:02}\nstatus: test\n\
             level: medium\ntags:\n    - attack.execution\n    - attack.t1059.001\nlogsource:\n\
             \x20   product: windows\n    category: {category}\ndetection:\n    selection:\n\
             \x20       CommandLine|contains: 'listed {i}'\n    condition: selection\n"
        );
        std::fs::write(dir.join(format!("r{i:02}.yml")), text).unwrap();
    }
}

#[test]
fn long_lists_are_summarised_unless_all() {
    let dir = scratch();
    rules(dir.path(), 14, 4);
    let args = ["technique", "T1059.001", "--rules", ".", "--no-config"];
    let card = run_in(dir.path(), &args);
    assert_eq!(card.code, 0, "{}", card.stderr);
    assert!(card.stdout.contains("Tagged with T1059.001 (14):\n     10  windows/process_creation/*\n      4  windows/ps_script/*\n"), "{}", card.stdout);
    assert!(card.stdout.contains("`--all` lists every rule"));
    assert!(!card.stdout.contains("Listed rule 00"));
    let all = run_in(dir.path(), &[&args[..], &["--all"]].concat());
    for i in 0..14 {
        assert!(
            all.stdout
                .contains(&format!("  - Listed rule {i:02} [medium/test]")),
            "{i}"
        );
    }
    // Short lists are listed in full whatever the flag.
    let short = scratch();
    rules(short.path(), 3, 1);
    let card = run_in(short.path(), &args);
    assert!(
        card.stdout.contains("  - Listed rule 02 [medium/test]"),
        "{}",
        card.stdout
    );
}
