//! EVTX read natively and its JSON conversion must agree: every SigmaHQ regression test is run from
//! its `.evtx` and from the `.json` beside it, and the records each rule matches are compared. Also
//! corrupted copies of real EVTX files: reported per file, never a panic or a hang. Skipped when
//! `../shared` is absent.

use attacktrace::diag::Code;
use attacktrace::evidence::reader::open_events;
use attacktrace::evidence::{self, FieldMap, ReadLimits, TestInputs, TestOptions, TestReport};
use attacktrace::rules::load::{load, LoadOptions};
use attacktrace::rules::RuleSet;
use attacktrace::telemetry::Telemetry;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn run(set: &RuleSet, opts: &TestOptions, events: Vec<PathBuf>) -> TestReport {
    let inputs = TestInputs {
        events,
        benign: Vec::new(),
    };
    evidence::run(
        set,
        Telemetry::embedded(),
        FieldMap::embedded(),
        &inputs,
        opts,
    )
}

/// The `EventRecordID` of each event of an event file, by line (EVTX: record number). The content's
/// ID, not the EVTX record header's: files rebuilt from exports renumber their record headers.
fn record_ids(file: &Path) -> BTreeMap<usize, u64> {
    open_events(file, ReadLimits::default())
        .expect("readable")
        .map(|e| {
            let e = e.expect("valid event");
            let v = e.value();
            let id = &v["Event"]["System"]["EventRecordID"];
            (e.line, id.as_u64().expect("EventRecordID"))
        })
        .collect()
}

/// (rule file, document, event file stem, `EventRecordID`) of every match in `report`.
fn matched(
    report: &TestReport,
    ids: &BTreeMap<PathBuf, BTreeMap<usize, u64>>,
) -> BTreeSet<(PathBuf, usize, String, u64)> {
    let mut out = BTreeSet::new();
    for r in &report.rules {
        for m in &r.matches {
            let record = ids
                .get(&m.file)
                .and_then(|lines| lines.get(&m.line))
                .unwrap_or_else(|| {
                    panic!(
                        "{}:{}: no such event among {:?}",
                        m.file.display(),
                        m.line,
                        ids.get(&m.file)
                            .map(|l| l.keys().take(5).collect::<Vec<_>>())
                    )
                });
            let stem = m.file.file_stem().unwrap().to_string_lossy().to_string();
            out.insert((r.path.clone(), r.document, stem, *record));
        }
    }
    out
}

#[test]
fn evtx_and_its_json_conversion_match_the_same_records() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let set = load(&[shared.join("sigmahq/rules")], &LoadOptions::default());
    let own = run(&set, &TestOptions::default(), Vec::new());
    // Each regression test, from its `.evtx`.
    let tests: Vec<(PathBuf, usize, PathBuf)> = own
        .rules
        .iter()
        .flat_map(|r| {
            r.cases
                .iter()
                .map(|c| (r.path.clone(), r.document, c.file.clone()))
        })
        .collect();
    assert_eq!(tests.len(), 159);
    assert!(tests.iter().all(|(_, _, f)| evidence::evtx::is_evtx(f)));
    let evtx: Vec<PathBuf> = tests.iter().map(|t| t.2.clone()).collect();
    let json: Vec<PathBuf> = evtx.iter().map(|f| f.with_extension("json")).collect();
    let ids: BTreeMap<PathBuf, BTreeMap<usize, u64>> = evtx
        .iter()
        .chain(&json)
        .map(|f| (f.clone(), record_ids(f)))
        .collect();

    // Every rule on every event its logsource can apply to, as `test --events` runs them. Without
    // routing, one macOS rule (`CommandLine|endswith: ' '`) also matches 13 Windows records from the
    // EVTX only: the JSON conversion trimmed their trailing spaces, which the EVTX still holds.
    let opts = TestOptions {
        own_tests: false,
        ..TestOptions::default()
    };
    let from_evtx = run(&set, &opts, evtx.clone());
    let from_json = run(&set, &opts, json.clone());
    assert!(from_evtx.findings.is_empty(), "{:?}", from_evtx.findings);
    assert!(from_json.findings.is_empty(), "{:?}", from_json.findings);
    assert_eq!(from_evtx.summary.events, from_json.summary.events);
    let (a, b) = (matched(&from_evtx, &ids), matched(&from_json, &ids));
    let only_evtx: Vec<_> = a.difference(&b).take(10).collect();
    let only_json: Vec<_> = b.difference(&a).take(10).collect();
    assert!(
        only_evtx.is_empty() && only_json.is_empty(),
        "EVTX only: {only_evtx:?}\nJSON only: {only_json:?}"
    );
    // Each test's own rule matched the same records, at least one.
    for (rule, doc, file) in &tests {
        let stem = file.file_stem().unwrap().to_string_lossy().to_string();
        let hits = a
            .iter()
            .filter(|(r, d, s, _)| r == rule && d == doc && *s == stem)
            .count();
        assert!(
            hits > 0,
            "{}: no match from {}",
            rule.display(),
            file.display()
        );
    }
}

/// Corrupted copies of a real EVTX file: truncated at many offsets, bytes flipped, a chunk zeroed.
fn corruptions(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for cut in [
        0,
        7,
        100,
        4095,
        4096,
        4097,
        4096 + 511,
        4096 + 4000,
        bytes.len() - 1,
    ] {
        out.push((
            format!("cut at {cut}"),
            bytes[..cut.min(bytes.len())].to_vec(),
        ));
    }
    for (start, step) in [(4096 + 512, 97), (4096 + 128, 13), (0, 4096)] {
        let mut b = bytes.to_vec();
        for i in (start..b.len()).step_by(step) {
            b[i] ^= 0x5a;
        }
        out.push((format!("flipped from {start} every {step}"), b));
    }
    let mut b = bytes.to_vec();
    b[4096 + 512..(4096 + 20_000).min(bytes.len())].fill(0);
    out.push(("records zeroed".into(), b));
    let mut b = bytes.to_vec();
    b[4096..4096 + 8].copy_from_slice(b"garbage!");
    out.push(("chunk signature broken".into(), b));
    out
}

#[test]
fn corrupted_evtx_files_are_reported_never_a_panic() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let dir =
        shared.join("sigmahq/regression_data/rules/windows/sysmon/sysmon_config_modification");
    let source = std::fs::read_dir(&dir)
        .expect("regression data")
        .map(|e| e.expect("entry").path())
        .find(|p| evidence::evtx::is_evtx(p))
        .expect("an .evtx file");
    let bytes = std::fs::read(&source).expect("readable");
    let scratch = crate::common::scratch();
    for (i, (what, b)) in corruptions(&bytes).into_iter().enumerate() {
        let path = scratch.path().join(format!("c{i}.evtx"));
        std::fs::write(&path, &b).expect("write");
        let started = std::time::Instant::now();
        let items: Vec<_> = open_events(&path, ReadLimits::default())
            .expect("a regular file")
            .collect();
        assert!(started.elapsed().as_secs() < 20, "{what}: too slow");
        let problems: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
        let events = items.len() - problems.len();
        // Fewer records than the intact file must come with a problem saying why.
        if events < 1 {
            assert!(!problems.is_empty(), "{what}: no event and no problem");
        }
        for p in problems {
            assert!(
                matches!(p.code, Code::EventSyntax | Code::EventLimit),
                "{what}: {p:?}"
            );
        }
    }
}
