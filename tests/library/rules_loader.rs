//! The rule loader on the fixtures in `tests/fixtures/rules/`: exact counts, one report code per
//! broken file, and the path handling (globs, overlap, loops, limits) on temporary trees.

use attacktrace::rules::{load, AttackTag, DetectionState, LoadOptions, RuleKind, RuleSet};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

fn load_default(paths: &[PathBuf]) -> RuleSet {
    load(paths, &LoadOptions::default())
}

fn assert_counts_add_up(set: &RuleSet) {
    assert_eq!(
        set.files_seen,
        set.files_loaded + set.files_reported,
        "{set:#?}"
    );
}

fn file_name(p: &Option<PathBuf>) -> String {
    p.as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn valid_fixtures_all_load() {
    let set = load_default(&[fixtures().join("valid")]);
    assert_counts_add_up(&set);
    assert!(set.reports.is_empty(), "{:#?}", set.reports);
    assert_eq!(
        (set.files_seen, set.files_loaded, set.files_reported),
        (10, 10, 0)
    );
    assert_eq!(set.rules.len(), 11);

    let by_name = |name: &str| -> Vec<&attacktrace::rules::RuleRecord> {
        set.rules
            .iter()
            .filter(|r| r.path.file_name().is_some_and(|n| n == name))
            .collect()
    };

    let ps = by_name("win_proc_creation_encoded_powershell.yml")[0];
    assert_eq!(ps.detection, DetectionState::Compiled);
    assert!(ps.compiled.is_some());
    assert_eq!(ps.logsource.key(), "windows/process_creation/*");
    assert_eq!(
        ps.attack,
        vec![
            AttackTag::Technique("T1059.001".into()),
            AttackTag::Tactic("execution".into())
        ]
    );
    assert_eq!(ps.date.as_deref(), Some("2025-01-15"));
    assert_eq!(ps.line, 1);

    let sec = by_name("win_security_4688_whoami.yml")[0];
    assert_eq!(sec.logsource.key(), "windows/*/security");
    let compiled = sec.compiled.as_ref().expect("compiled");
    let event = |json: &str| {
        attacktrace::rules::eval::Event::new(
            serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json).unwrap(),
        )
    };
    let hit = event(r#"{"EventID": 4688, "NewProcessName": "C:\\Windows\\System32\\whoami.exe"}"#);
    let miss = event(r#"{"EventID": 4688, "NewProcessName": "C:\\Windows\\notepad.exe"}"#);
    assert!(compiled.is_match(&hit));
    assert!(!compiled.is_match(&miss));

    let aws = by_name("aws_cloudtrail_stop_logging.yml")[0];
    assert!(aws
        .attack
        .contains(&AttackTag::Tactic("defense-evasion".into())));

    let recon = by_name("proxy_recon_scanner_user_agent.yml")[0];
    assert_eq!(recon.technique_tags().collect::<Vec<_>>(), vec!["T1595"]);
    assert_eq!(
        recon.tactic_tags().collect::<Vec<_>>(),
        vec!["reconnaissance"]
    );

    let multi = by_name("multi_document.yml");
    assert_eq!(
        multi
            .iter()
            .map(|r| (r.document, r.line))
            .collect::<Vec<_>>(),
        vec![(0, 2), (1, 20)]
    );

    let corr = by_name("correlation_failed_logons.yml")[0];
    assert_eq!(corr.kind, RuleKind::Correlation);
    assert_eq!(corr.detection, DetectionState::NotApplicable);

    let legacy = by_name("legacy_count_aggregation.yml")[0];
    match &legacy.detection {
        DetectionState::NotEvaluable { reason } => {
            assert!(reason.starts_with("legacy aggregation"), "{reason}");
            assert!(reason.contains("count(WorkstationName)"), "{reason}");
        }
        other => panic!("expected not evaluable, got {other:?}"),
    }
    assert_eq!(legacy.diagnostics.len(), 1);
    assert_eq!(
        legacy.diagnostics[0].code.as_str(),
        "detection_not_evaluable"
    );
    assert_eq!(legacy.diagnostics[0].line, Some(13));

    let crlf = by_name("crlf_line_endings.yml")[0];
    assert!(!crlf.title.contains('\r'));
    assert_eq!(crlf.detection, DetectionState::Compiled);
    let bom = by_name("utf8_bom.yml")[0];
    assert!(bom.title.starts_with("Rule Saved"), "{:?}", bom.title);
    assert_eq!(bom.detection, DetectionState::Compiled);
}

#[test]
fn broken_fixtures_are_each_reported() {
    let set = load_default(&[fixtures().join("broken")]);
    assert_counts_add_up(&set);
    assert!(set.rules.is_empty());
    assert_eq!(
        (set.files_seen, set.files_loaded, set.files_reported),
        (7, 0, 7)
    );
    let got: BTreeMap<String, (&str, Option<usize>)> = set
        .reports
        .iter()
        .map(|d| (file_name(&d.path), (d.code.as_str(), d.line)))
        .collect();
    let want: BTreeMap<String, (&str, Option<usize>)> = [
        ("empty.yml", ("not_a_mapping", None)),
        ("invalid_yaml.yml", ("yaml_error", Some(8))),
        ("missing_detection.yml", ("missing_field", Some(1))),
        ("scalar.yml", ("not_a_mapping", Some(2))),
        ("tags_as_string.yml", ("wrong_type", Some(4))),
        ("title_as_mapping.yml", ("wrong_type", Some(1))),
        ("top_level_list.yml", ("not_a_mapping", Some(2))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(got, want);
    assert_eq!(set.reports.len(), 7, "one report per broken file");
    let tags = set
        .reports
        .iter()
        .find(|d| d.code.as_str() == "wrong_type")
        .unwrap();
    assert!(tags.message.contains("`tags`"), "{}", tags.message);
    // Reports are sorted by (path, line).
    let keys: Vec<_> = set.reports.iter().map(|d| (&d.path, d.line)).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn both_fixture_trees_together() {
    let set = load_default(&[fixtures().join("broken"), fixtures().join("valid")]);
    assert_counts_add_up(&set);
    assert_eq!(
        (set.files_seen, set.files_loaded, set.files_reported),
        (17, 10, 7)
    );
    // Rules come out in path order whatever the argument order.
    let paths: Vec<_> = set.rules.iter().map(|r| (&r.path, r.document)).collect();
    assert!(paths.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn output_is_deterministic() {
    let paths = [fixtures().join("valid"), fixtures().join("broken")];
    let a = serde_json::to_string(&load_default(&paths)).unwrap();
    let b = serde_json::to_string(&load_default(&paths)).unwrap();
    assert_eq!(a, b);
}

#[test]
fn not_utf8_reports_the_line() {
    let tmp = crate::common::scratch();
    let dir = tmp.path().to_path_buf();
    let file = dir.join("latin1.yml");
    fs::write(&file, b"title: ok\ndescription: caf\xe9\nlogsource: {}\n").unwrap();
    let set = load_default(std::slice::from_ref(&file));
    assert_counts_add_up(&set);
    assert_eq!(set.files_reported, 1);
    let d = &set.reports[0];
    assert_eq!(
        (d.code.as_str(), d.line, d.column),
        ("not_utf8", Some(2), Some(17))
    );
}

#[test]
fn overlapping_arguments_load_each_file_once() {
    let valid = fixtures().join("valid");
    let set = load_default(&[
        valid.clone(),
        valid.join("multi_document.yml"),
        valid.join("./utf8_bom.yml"),
    ]);
    assert_counts_add_up(&set);
    assert_eq!(set.files_seen, 10);
    assert_eq!(set.rules.len(), 11);
}

#[test]
fn globs_and_missing_paths() {
    let valid = fixtures().join("valid");
    let glob = valid.join("win_*.yml");
    let set = load_default(&[glob]);
    assert_eq!((set.files_seen, set.rules.len()), (2, 2));
    assert!(set.reports.is_empty());

    let set = load_default(&[valid.join("nothing_*.yml"), valid.join("no_such_file.yml")]);
    assert_counts_add_up(&set);
    assert_eq!(set.files_seen, 0);
    let codes: Vec<_> = set.reports.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, vec!["path_not_found", "path_not_found"]);
}

#[test]
fn directory_walk_rules() {
    let tmp = crate::common::scratch();
    let dir = tmp.path().to_path_buf();
    let rule = fs::read(fixtures().join("valid/win_security_4688_whoami.yml")).unwrap();
    fs::create_dir_all(dir.join(".git")).unwrap();
    fs::create_dir_all(dir.join("sub")).unwrap();
    fs::write(dir.join(".git/hidden.yml"), &rule).unwrap();
    fs::write(dir.join("sub/UPPER.YAML"), &rule).unwrap();
    fs::write(dir.join("notes.txt"), "not a rule").unwrap();
    fs::write(dir.join("rule.yml"), &rule).unwrap();

    let set = load_default(std::slice::from_ref(&dir));
    assert_counts_add_up(&set);
    assert!(set.reports.is_empty(), "{:#?}", set.reports);
    assert_eq!(
        set.files_seen, 2,
        "hidden dir and .txt skipped, .YAML taken"
    );

    // A file named explicitly loads whatever its extension (and here fails as a scalar).
    let set = load_default(&[dir.join("notes.txt")]);
    assert_eq!(set.files_reported, 1);
    assert_eq!(set.reports[0].code.as_str(), "not_a_mapping");

    // A directory without rule files matches nothing.
    fs::create_dir_all(dir.join("empty")).unwrap();
    let set = load_default(&[dir.join("empty")]);
    assert_eq!(set.reports[0].code.as_str(), "path_not_found");
}

#[test]
fn size_limit() {
    let opts = LoadOptions {
        max_file_size: 100,
        ..LoadOptions::default()
    };
    let set = load(&[fixtures().join("valid/multi_document.yml")], &opts);
    assert_counts_add_up(&set);
    assert_eq!(set.reports[0].code.as_str(), "file_too_large");
}

#[test]
fn compile_can_be_skipped() {
    let opts = LoadOptions {
        compile: false,
        ..LoadOptions::default()
    };
    let set = load(&[fixtures().join("valid")], &opts);
    assert_eq!(set.rules.len(), 11);
    assert!(set.rules.iter().all(|r| r.compiled.is_none()
        && matches!(
            r.detection,
            DetectionState::NotCompiled | DetectionState::NotApplicable
        )));
}

#[cfg(unix)]
#[test]
fn symlink_loop_and_dangling_link_are_reported() {
    let tmp = crate::common::scratch();
    let dir = tmp.path().to_path_buf();
    fs::create_dir_all(dir.join("a")).unwrap();
    fs::copy(
        fixtures().join("valid/aws_cloudtrail_stop_logging.yml"),
        dir.join("a/rule.yml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("a/back")).unwrap();
    std::os::unix::fs::symlink(dir.join("gone.yml"), dir.join("a/dangling.yml")).unwrap();
    // The same file reached again through a link is loaded once.
    std::os::unix::fs::symlink(dir.join("a/rule.yml"), dir.join("alias.yml")).unwrap();

    let set = load_default(std::slice::from_ref(&dir));
    assert_counts_add_up(&set);
    assert_eq!(set.files_loaded, 1, "{set:#?}");
    let codes: Vec<_> = set.reports.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, vec!["io_error", "io_error"], "{:#?}", set.reports);
    assert!(set.reports.iter().any(|d| d.message.contains("loop")));
}
