//! `check::load_and_run` (rules checked and slimmed as they load) reports exactly what
//! `check::run` reports on the fully loaded set: on every fixture, on all of them at once, and on
//! files whose repository-wide findings need their text read again (BOM, several documents).

use attacktrace::attack::catalog;
use attacktrace::check::{self, config::Settings, CheckInput};
use attacktrace::rules::load::LoadOptions;
use attacktrace::telemetry::Telemetry;
use std::path::PathBuf;

const DIR: &str = "tests/fixtures/check/rules";

/// Both reports of `paths` as JSON.
fn both(paths: &[PathBuf]) -> (String, String) {
    let kb = catalog::embedded();
    let settings = Settings::default();
    let telemetry = Telemetry::embedded();
    let rules = check::load_rules(paths);
    let whole = check::run(&CheckInput {
        kb: &kb,
        telemetry,
        rules: &rules,
        settings: &settings,
    });
    let (slim, streamed) =
        check::load_and_run(paths, &LoadOptions::default(), &kb, telemetry, &settings);
    assert_eq!(slim.rules.len(), rules.rules.len());
    let json = |r| serde_json::to_string_pretty(r).expect("report serialises");
    (json(&whole), json(&streamed))
}

#[test]
fn streaming_matches_the_whole_set_on_every_fixture() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    for p in &paths {
        let (whole, streamed) = both(std::slice::from_ref(p));
        assert_eq!(whole, streamed, "{}", p.display());
    }
    let (whole, streamed) = both(&[PathBuf::from(DIR)]);
    assert!(whole.contains("dangling_related") && whole.contains("identifier_uniqueness"));
    assert_eq!(whole, streamed);
}

#[test]
fn streaming_reads_back_texts_as_loaded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = |id: &str, title: &str| {
        format!(
            "title: {title}\nid: {id}\nstatus: test\ndescription: d\nauthor: a\ndate: 2024-01-01\n\
             logsource:\n    product: windows\n    category: process_creation\n\
             detection:\n    sel:\n        Image|endswith: '\\x.exe'\n    condition: sel\nlevel: low\n\
             related:\n    - id: 0e1d4b4c-1111-4a2b-9c3d-000000000000\n      type: derived\n"
        )
    };
    let id = "5f2b2a34-8f3c-4d1e-9a7b-0123456789ab";
    let bom = format!("\u{feff}{}", rule(id, "Same Title"));
    std::fs::write(dir.path().join("a_bom.yml"), bom).expect("write");
    let two = format!(
        "{}---\n{}",
        rule("7a1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", "Other"),
        rule(id, "Same Title")
    );
    std::fs::write(dir.path().join("b_two.yml"), two).expect("write");
    let (whole, streamed) = both(&[dir.path().to_path_buf()]);
    assert!(whole.contains("identifier_uniqueness"), "{whole}");
    // On line 1, after the BOM the loader removed.
    assert!(
        whole.contains("\"source_line\": \"title: Same Title\""),
        "{whole}"
    );
    assert_eq!(whole, streamed);
}
