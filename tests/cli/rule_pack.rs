//! The project's own rule pack (`rules/`): it loads cleanly, passes `check`, every rule is validated
//! by its own positive and negative events, and it honours the pack's promises (30+ rules, 8+
//! tactics, Windows + Linux + cloud, Sysmon 1 and Security 4688 rules, no "no portable rule"
//! technique).

use attacktrace::attack::catalog;
use attacktrace::rules::{load, LoadOptions};
use attacktrace::telemetry::{ObsClass, Telemetry};
use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::common;
use crate::common::root;

fn run(args: &[&str]) -> (i32, String) {
    let r = common::run(args);
    (r.code, r.stdout)
}

#[test]
fn every_rule_is_validated_by_its_own_events() {
    let (code, out) = run(&["test", "rules", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let s = &v["summary"];
    assert_eq!(s["cases_failed"], 0);
    assert_eq!(s["false_positives"], 0);
    assert_eq!(s["findings"], 0);
    assert_eq!(s["rules_validated"], s["rules_loaded"]);
    assert!(s["cases"].as_u64().unwrap() >= 2 * s["rules_loaded"].as_u64().unwrap());
}

#[test]
fn pack_loads_cleanly_and_passes_check() {
    let set = load(&[root().join("rules")], &LoadOptions::default());
    assert_eq!(set.files_reported, 0, "{:?}", set.reports);
    assert!(set.reports.is_empty(), "{:?}", set.reports);
    let (code, out) = run(&["check", "rules"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn pack_keeps_its_promises() {
    let set = load(&[root().join("rules")], &LoadOptions::default());
    let kb = catalog::embedded();
    let telemetry = Telemetry::embedded();
    assert!(set.rules.len() >= 30, "{} rules", set.rules.len());

    let mut tactics = BTreeSet::new();
    let mut products = BTreeSet::new();
    let (mut sysmon_1, mut security_4688) = (0, 0);
    for r in &set.rules {
        // Each rule sits beside its own test events.
        let stem = r.path.with_extension("");
        let tests = PathBuf::from(format!("{}.tests", stem.display()));
        assert!(
            tests.join("positive.jsonl").is_file(),
            "{}",
            r.path.display()
        );
        assert!(
            tests.join("negative.jsonl").is_file(),
            "{}",
            r.path.display()
        );
        for id in r.technique_tags() {
            let t = kb
                .technique(id)
                .unwrap_or_else(|| panic!("{}: unknown {id}", r.path.display()));
            assert!(t.is_active(), "{}: {id} is not active", r.path.display());
            assert_ne!(
                telemetry.classify(&kb, t).class,
                ObsClass::NoPortableRule,
                "{}: the pack has no rule for a no-portable-rule technique ({id})",
                r.path.display()
            );
        }
        tactics.extend(r.tactic_tags().map(str::to_string));
        products.insert(r.logsource.product.clone().unwrap_or_default());
        match (
            r.logsource.category.as_deref(),
            r.logsource.service.as_deref(),
        ) {
            (Some("process_creation"), _) if r.logsource.product.as_deref() == Some("windows") => {
                sysmon_1 += 1
            }
            (_, Some("security")) if r.title.contains("4688") || raw(&r.path).contains("4688") => {
                security_4688 += 1
            }
            _ => {}
        }
    }
    assert!(tactics.len() >= 8, "{tactics:?}");
    assert!(
        products.contains("windows") && products.contains("linux"),
        "{products:?}"
    );
    assert!(
        products
            .iter()
            .any(|p| ["aws", "azure", "gcp", "okta", "m365"].contains(&p.as_str())),
        "{products:?}"
    );
    assert!(
        sysmon_1 > 0 && security_4688 > 0,
        "{sysmon_1} {security_4688}"
    );
}

fn raw(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}
