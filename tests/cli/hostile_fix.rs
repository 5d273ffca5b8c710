//! Hostile and awkward inputs for the two commands that write rules, `check --fix` and `migrate`
//! (issue #11): rules tagged for another ATT&CK release, symlinked rules (inside and leading out
//! of the repository), private file modes, a BOM, comments on dropped duplicates, tags with
//! surrounding spaces and a 250-byte file name. Each case snapshots exit code, stdout, stderr and
//! the rule file afterwards, beside assertions on what must never happen.

use std::fs;
use std::path::Path;

use crate::common::{root, run_in, scratch, Run};

/// A valid rule around `tags` (the YAML lines of the `tags:` block, without the key).
fn rule(tags: &str) -> String {
    format!(
        "title: fix case\nid: 6b1e5a86-0f3a-4c55-9d0e-1a2b3c4d5e6f\nstatus: test\ndescription: d\nauthor: a\ndate: 2024-01-01\ntags:\n{tags}logsource:\n    category: process_creation\n    product: windows\ndetection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\nlevel: low\n"
    )
}

/// Exit code, stdout, stderr, then the named files as they are after the run.
fn transcript(o: &Run, dir: &Path, files: &[&str]) -> String {
    let mut s = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        o.code, o.stdout, o.stderr
    );
    for f in files {
        let text = fs::read(dir.join(f)).map_or_else(
            |e| format!("<{}>\n", e.kind()),
            |b| String::from_utf8_lossy(&b).into_owned(),
        );
        s.push_str(&format!("--- file {f}\n{text}"));
    }
    s
}

const STEALTH: &str = "    - attack.stealth\n    - attack.t1027\n";

/// Item 11: v19 tactic tags against the embedded v18.1 data are not "fixed" towards v18.
#[test]
fn fix_leaves_rules_of_another_release_alone() {
    let tmp = scratch();
    let d = tmp.path();
    let text = rule(STEALTH);
    fs::write(d.join("r.yml"), &text).unwrap();
    // A second document in the same file that does need a fix is still fixed.
    fs::write(
        d.join("mixed.yml"),
        format!("{}---\n{}", rule("    - attack.T1059\n"), text),
    )
    .unwrap();
    let dry = run_in(d, &["check", "--fix", "--dry-run", "r.yml", "mixed.yml"]);
    assert_eq!(dry.code, 1);
    assert!(
        !dry.stdout.contains("+    - attack.defense-evasion"),
        "{}",
        dry.stdout
    );
    insta::assert_snapshot!("fix_other_release_dry_run", transcript(&dry, d, &[]));
    let fix = run_in(d, &["check", "--fix", "r.yml", "mixed.yml"]);
    assert_eq!(fix.code, 1, "attack_version_mismatch is an error");
    assert_eq!(fs::read_to_string(d.join("r.yml")).unwrap(), text);
    insta::assert_snapshot!("fix_other_release", transcript(&fix, d, &["mixed.yml"]));
    // With matching data the same rule is not skipped.
    let v19 = root().join("tests/fixtures/versions/v19-mini.json");
    let o = run_in(
        d,
        &[
            "--attack",
            v19.to_str().unwrap(),
            "check",
            "--fix",
            "--dry-run",
            "r.yml",
        ],
    );
    assert!(
        !o.stderr.contains("attack_version_mismatch"),
        "{}",
        o.stderr
    );
}

#[test]
fn fix_keeps_bom_comments_and_reports_whitespace() {
    let tmp = scratch();
    let d = tmp.path();
    fs::write(
        d.join("bom.yml"),
        format!(
            "\u{feff}{}",
            rule("    - attack.execution\n    - attack.T1059\n")
        ),
    )
    .unwrap();
    fs::write(
        d.join("dup.yml"),
        rule("    - attack.execution\n    - attack.t1059  # first reason\n    # about the copy\n    - attack.t1059  # second reason\n"),
    )
    .unwrap();
    fs::write(
        d.join("space.yml"),
        rule("    - ' attack.execution '\n    - attack.t1059\n"),
    )
    .unwrap();
    let o = run_in(d, &["check", "--fix", "bom.yml", "dup.yml", "space.yml"]);
    assert!(fs::read(d.join("bom.yml"))
        .unwrap()
        .starts_with(b"\xef\xbb\xbf"));
    insta::assert_snapshot!(
        "fix_bom_comments_whitespace",
        transcript(&o, d, &["bom.yml", "dup.yml", "space.yml"])
    );
}

#[test]
fn fix_works_on_a_250_byte_file_name() {
    let tmp = scratch();
    let d = tmp.path();
    let name = "r".repeat(246) + ".yml";
    assert_eq!(name.len(), 250);
    fs::write(
        d.join(&name),
        rule("    - attack.execution\n    - attack.T1059\n"),
    )
    .unwrap();
    let o = run_in(d, &["check", "--fix", &name]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(fs::read_to_string(d.join(&name))
        .unwrap()
        .contains("    - attack.t1059\n"));
    assert_eq!(
        fs::read_dir(d).unwrap().count(),
        1,
        "no temporary file left"
    );
}

#[cfg(unix)]
#[test]
fn fix_and_migrate_keep_modes_and_never_write_through_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = scratch();
    let d = tmp.path();
    fs::create_dir_all(d.join("repo/rules")).unwrap();
    fs::create_dir_all(d.join("elsewhere")).unwrap();
    let needs_fix = rule("    - attack.execution\n    - attack.T1059\n");
    fs::write(d.join("elsewhere/secret.yml"), &needs_fix).unwrap();
    fs::write(d.join("repo/rules/private.yml"), &needs_fix).unwrap();
    fs::write(d.join("repo/rules/target.yml"), &needs_fix).unwrap();
    fs::set_permissions(
        d.join("repo/rules/private.yml"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink("../../elsewhere/secret.yml", d.join("repo/rules/out.yml")).unwrap();
    std::os::unix::fs::symlink("target.yml", d.join("repo/rules/in.yml")).unwrap();
    let repo = d.join("repo");
    let dry = run_in(
        &repo,
        &[
            "check",
            "--fix",
            "--dry-run",
            "rules/out.yml",
            "rules/in.yml",
        ],
    );
    assert_eq!(dry.stdout, "", "a symlinked rule's content is never diffed");
    let o = run_in(
        &repo,
        &[
            "check",
            "--fix",
            "rules/out.yml",
            "rules/in.yml",
            "rules/private.yml",
        ],
    );
    insta::assert_snapshot!("fix_symlinks_and_mode", transcript(&o, &repo, &[]));
    assert_eq!(
        fs::read_to_string(d.join("elsewhere/secret.yml")).unwrap(),
        needs_fix
    );
    assert_eq!(
        fs::read_to_string(d.join("repo/rules/target.yml")).unwrap(),
        needs_fix
    );
    for link in ["out.yml", "in.yml"] {
        let meta = fs::symlink_metadata(repo.join("rules").join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} still a link");
    }
    let private = repo.join("rules/private.yml");
    assert!(fs::read_to_string(&private)
        .unwrap()
        .contains("attack.t1059\n"));
    let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a private rule stays private");

    // `migrate` goes through the same editor.
    let fx = root().join("tests/fixtures/versions");
    let (v18, v19) = (fx.join("v18-mini.json"), fx.join("v19-mini.json"));
    fs::write(
        d.join("elsewhere/secret.yml"),
        rule("    - attack.defense-evasion\n    - attack.t1562.001\n"),
    )
    .unwrap();
    let before = fs::read_to_string(d.join("elsewhere/secret.yml")).unwrap();
    let m = run_in(
        &repo,
        &[
            "migrate",
            "--from",
            v18.to_str().unwrap(),
            "--to",
            v19.to_str().unwrap(),
            "rules/out.yml",
        ],
    );
    assert!(
        m.stdout.contains("symbolic link"),
        "{}\n{}",
        m.stdout,
        m.stderr
    );
    assert_eq!(
        fs::read_to_string(d.join("elsewhere/secret.yml")).unwrap(),
        before
    );
    assert!(fs::symlink_metadata(repo.join("rules/out.yml"))
        .unwrap()
        .file_type()
        .is_symlink());
}
