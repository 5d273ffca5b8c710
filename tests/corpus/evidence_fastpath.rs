//! The optimised evaluation of `attacktrace test` (routing cache, literal prefilter, lazy event
//! conversion, pipelined batches) must report exactly what the plain path reports: every routed
//! rule evaluated by sigma-rust on every event.
#![allow(clippy::print_stderr)]

use attacktrace::evidence::reader::{EventReader, ReadLimits};
use attacktrace::evidence::route::Router;
use attacktrace::evidence::{self, FieldMap, TestInputs, TestOptions};
use attacktrace::rules::load::{load, LoadOptions};
use attacktrace::rules::RuleSet;
use attacktrace::telemetry::Telemetry;
use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// (rule path, document, event file, line) of every match.
type Hits = BTreeSet<(PathBuf, usize, PathBuf, usize)>;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn streams() -> Vec<PathBuf> {
    let dir = root().join("tests/fixtures/events/streams");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("streams")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

fn rules(paths: &[PathBuf]) -> RuleSet {
    load(
        paths,
        &LoadOptions {
            keep_source: true,
            ..LoadOptions::default()
        },
    )
}

fn optimised(rules: &RuleSet, events: &[PathBuf], routing: bool) -> Hits {
    let inputs = TestInputs {
        events: events.to_vec(),
        benign: Vec::new(),
    };
    let opts = TestOptions {
        routing,
        own_tests: false,
        ..TestOptions::default()
    };
    let report = evidence::run(
        rules,
        Telemetry::embedded(),
        FieldMap::embedded(),
        &inputs,
        &opts,
    );
    let mut hits = Hits::new();
    for r in &report.rules {
        for m in &r.matches {
            hits.insert((r.path.clone(), r.document, m.file.clone(), m.line));
        }
    }
    hits
}

fn plain(rules: &RuleSet, events: &[PathBuf], routing: bool) -> Hits {
    let router = Router::build(&rules.rules, Telemetry::embedded());
    let mut hits = Hits::new();
    for file in events {
        let f = std::fs::File::open(file).expect("event file");
        for raw in EventReader::new(BufReader::new(f), ReadLimits::default()).flatten() {
            let line = raw.line;
            let Some(doc) = raw.into_tree(&mut Vec::new()) else {
                continue;
            };
            let Ok(n) = FieldMap::embedded().normalise(doc) else {
                continue;
            };
            let candidates = if routing {
                router.candidates(&n.key)
            } else {
                router.all()
            };
            for i in candidates {
                let rule = &rules.rules[i];
                if rule.compiled.as_ref().is_some_and(|c| c.is_match(&n.event)) {
                    hits.insert((rule.path.clone(), rule.document, file.clone(), line));
                }
            }
        }
    }
    hits
}

fn agree(rules: &RuleSet, events: &[PathBuf]) -> usize {
    let mut total = 0;
    for routing in [true, false] {
        let fast = optimised(rules, events, routing);
        let slow = plain(rules, events, routing);
        assert_eq!(fast, slow, "routing {routing}");
        total += fast.len();
    }
    total
}

#[test]
fn optimised_path_agrees_with_plain_evaluation_on_fixtures() {
    let set = rules(&[
        root().join("tests/fixtures/events/pack/rules"),
        root().join("tests/fixtures/rules/valid"),
    ]);
    assert!(set.rules.iter().filter(|r| r.compiled.is_some()).count() >= 3);
    let hits = agree(&set, &streams());
    assert!(hits > 0, "the fixtures should produce matches");
}

#[test]
fn optimised_path_agrees_with_plain_evaluation_on_sigmahq() {
    let Some(shared) = crate::common::shared() else {
        return;
    };
    let set = rules(&[shared.join("sigmahq/rules")]);
    assert!(set.rules.len() > 3000);
    agree(&set, &streams());
}
