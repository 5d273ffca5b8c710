//! Coverage semantics on the project's own fixtures (`tests/fixtures/coverage/`), on the embedded
//! ATT&CK catalog: roll-up, counting, guidance, tiers, tag problems, scope, groups, baseline diff,
//! snapshots of every format, determinism, and the Navigator layer 4.5 field rules.

use attacktrace::attack::{catalog, KnowledgeBase};
use attacktrace::coverage::{
    self, Baseline, CoverageInput, CoverageReport, Profile, ScopeOptions, Tier,
};
use attacktrace::link::LinkIndex;
use attacktrace::render::{self, navigator};
use attacktrace::rules::{self, RuleSet};
use attacktrace::telemetry::Telemetry;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const RULES: &str = "tests/fixtures/coverage/rules";

fn kb() -> KnowledgeBase {
    catalog::embedded()
}

fn load(path: &str) -> RuleSet {
    // Relative paths (cargo runs tests in the package root) keep reports free of machine paths.
    rules::load::load(
        &[PathBuf::from(path)],
        &rules::load::LoadOptions {
            compile: false,
            ..Default::default()
        },
    )
}

fn build(
    kb: &KnowledgeBase,
    rs: &RuleSet,
    scope: &ScopeOptions,
    profile: Option<&Profile>,
    baseline: Option<&Baseline>,
) -> CoverageReport {
    let links = LinkIndex::build(kb, rs);
    coverage::build(&CoverageInput {
        kb,
        telemetry: Telemetry::embedded(),
        rules: rs,
        links: &links,
        scope,
        profile,
        validated: None,
        baseline,
        features: None,
    })
    .expect("coverage builds")
}

fn small_scope() -> ScopeOptions {
    ScopeOptions {
        include: ["T1059", "T1003", "T1595", "T1087", "T1053", "T1086"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    }
}

fn profile() -> Profile {
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coverage/profile.yml"),
    )
    .unwrap();
    Profile::parse("profile.yml", &text, Telemetry::embedded()).unwrap()
}

fn tech<'a>(r: &'a CoverageReport, id: &str) -> &'a coverage::TechniqueRow {
    r.techniques
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("{id} not in report"))
}

#[test]
fn roll_up_and_counting() {
    let kb = kb();
    let rs = load(RULES);
    let r = build(&kb, &rs, &ScopeOptions::default(), None, None);
    // The sub-technique tag covers the parent, shown as such.
    let t1003 = tech(&r, "T1003");
    assert_eq!(t1003.rules.len(), 1);
    assert_eq!(t1003.rules[0].via, "T1003.001");
    assert!(t1003.covered_via_sub);
    // A parent tag does not cover sub-techniques.
    assert!(tech(&r, "T1059.003").rules.is_empty());
    // One rule tagged T1059 and T1059.005 counts once for T1059, as a direct link; the other
    // rule reaches T1059 through T1059.001.
    let t1059 = tech(&r, "T1059");
    assert_eq!(t1059.rules.len(), 2, "{:?}", t1059.rules);
    assert_eq!(t1059.rules[0].via, "direct");
    assert!(!t1059.covered_via_sub);
    // T1053.003 is under three tactics: counted under each, once in the totals.
    let cron = tech(&r, "T1053.003");
    assert_eq!(
        cron.tactics,
        ["execution", "persistence", "privilege-escalation"]
    );
    let per_tactic: usize = r.tactics.iter().map(|t| t.subtechniques.covered).sum();
    assert!(per_tactic > r.totals.subtechniques.covered);
    let covered_ids: BTreeSet<&str> = r
        .techniques
        .iter()
        .filter(|t| !t.guidance && !t.rules.is_empty())
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(
        covered_ids,
        [
            "T1003",
            "T1003.001",
            "T1053",
            "T1053.003",
            "T1059",
            "T1059.001",
            "T1059.005",
            "T1087",
            "T1087.001"
        ]
        .into_iter()
        .collect()
    );
    assert_eq!(
        r.totals.techniques.covered + r.totals.subtechniques.covered,
        covered_ids.len()
    );
    // Denominators: active techniques only; revoked T1086 is never in scope.
    assert!(r.techniques.iter().all(|t| t.id != "T1086"));
    let active = kb.techniques.iter().filter(|t| t.is_active()).count();
    assert_eq!(r.totals.active, active);
    assert_eq!(
        r.totals.techniques.in_scope + r.totals.subtechniques.in_scope + r.totals.guidance,
        active
    );
}

#[test]
fn guidance_is_apart_and_mis_tags_listed() {
    let kb = kb();
    let rs = load(RULES);
    let r = build(&kb, &rs, &ScopeOptions::default(), None, None);
    let t1595 = tech(&r, "T1595");
    assert!(t1595.guidance);
    // Claimed by a host rule, yet neither covered nor a gap.
    assert_eq!(r.totals.guidance_claimed, 1);
    assert!(r.gaps.iter().all(|g| g.id != "T1595"));
    let recon = r
        .tactics
        .iter()
        .find(|t| t.shortname == "reconnaissance")
        .unwrap();
    assert_eq!(recon.techniques.covered + recon.subtechniques.covered, 0);
    assert_eq!(recon.rules, 0);
    let g = r.guidance.iter().find(|g| g.id == "T1595").unwrap();
    assert_eq!(g.rules.len(), 1);
    assert_eq!(
        r.rules[g.rules[0].link.rule].title,
        "Port Scanner Started On Host"
    );
    assert_eq!(
        r.totals.claimed,
        r.totals.techniques.covered + r.totals.subtechniques.covered + 1
    );
    // Gaps: sorted by tactic order then ID, and never guidance.
    let order: Vec<(usize, &str)> = r
        .gaps
        .iter()
        .map(|g| (kb.tactic_order(&g.tactic), g.id.as_str()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
}

#[test]
fn tag_problems_are_counted_with_replacements() {
    let kb = kb();
    let rs = load(RULES);
    let r = build(&kb, &rs, &ScopeOptions::default(), None, None);
    let tp = &r.tag_problems;
    assert_eq!(tp.counts.get("revoked"), Some(&1));
    assert_eq!(tp.counts.get("deprecated"), Some(&1));
    assert_eq!(tp.counts.get("unknown"), Some(&1));
    let rev = tp.items.iter().find(|p| p.problem == "revoked").unwrap();
    assert_eq!(rev.technique, "T1086");
    assert_eq!(rev.replacement.as_deref(), Some("T1059.001"));
}

#[test]
fn tiers_with_profile() {
    let kb = kb();
    let rs = load(RULES);
    let without = build(&kb, &rs, &ScopeOptions::default(), None, None);
    assert_eq!(without.tiers.runnable, None);
    assert_eq!(without.tiers.validated, None);
    let p = profile();
    let r = build(&kb, &rs, &ScopeOptions::default(), Some(&p), None);
    // process_creation and auditd are collected; process_access (the LSASS rule) is not.
    assert_eq!(tech(&r, "T1059.001").tier, Tier::Runnable);
    assert_eq!(tech(&r, "T1053.003").tier, Tier::Runnable);
    assert_eq!(tech(&r, "T1003.001").tier, Tier::Tagged);
    assert_eq!(r.tiers.tagged, 9);
    assert_eq!(r.tiers.runnable, Some(7));
    assert_eq!(r.tiers.validated, None);
    // Event-level profile: Security 4688 feeds process_creation rules, not process_access.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/coverage/profile_events.yml"),
    )
    .unwrap();
    let ev = Profile::parse("ev", &text, Telemetry::embedded()).unwrap();
    let r = build(&kb, &rs, &ScopeOptions::default(), Some(&ev), None);
    assert_eq!(tech(&r, "T1059.001").tier, Tier::Runnable);
    assert_eq!(tech(&r, "T1053.003").tier, Tier::Tagged);
    assert_eq!(tech(&r, "T1003.001").tier, Tier::Tagged);
}

#[test]
fn scope_flags_apply_to_numerators_and_denominators() {
    let kb = kb();
    let rs = load(RULES);
    let only_exec = ScopeOptions {
        tactics: vec!["TA0002".into()],
        ..Default::default()
    };
    let r = build(&kb, &rs, &only_exec, None, None);
    assert_eq!(r.tactics.len(), 1);
    assert_eq!(r.tactics[0].shortname, "execution");
    assert!(r.techniques.iter().all(|t| t.tactics == ["execution"]));
    assert_eq!(tech(&r, "T1053.003").tactics, ["execution"]);

    let high = ScopeOptions {
        levels: vec!["high".into(), "critical".into()],
        ..Default::default()
    };
    let r = build(&kb, &rs, &high, None, None);
    assert_eq!(r.totals.rules_in_scope, 2);
    assert!(tech(&r, "T1087.001").rules.is_empty());
    assert_eq!(tech(&r, "T1059").rules.len(), 1);

    let ignore = ScopeOptions {
        ignore: vec!["T1059".into(), "discovery".into()],
        platforms: vec!["windows".into()],
        ..Default::default()
    };
    let r = build(&kb, &rs, &ignore, None, None);
    assert!(r.techniques.iter().all(|t| !t.id.starts_with("T1059")));
    assert!(r
        .techniques
        .iter()
        .all(|t| !t.tactics.contains(&"discovery".to_string())));
    assert!(
        r.techniques.iter().all(|t| t.id != "T1595"),
        "PRE is not Windows"
    );

    for bad in [
        ScopeOptions {
            tactics: tactic_typo(),
            ..Default::default()
        },
        ScopeOptions {
            include: vec!["T9".into()],
            ..Default::default()
        },
        ScopeOptions {
            platforms: vec!["amiga".into()],
            ..Default::default()
        },
        ScopeOptions {
            group: Some("G9999".into()),
            ..Default::default()
        },
    ] {
        let links = LinkIndex::build(&kb, &rs);
        let e = coverage::build(&CoverageInput {
            kb: &kb,
            telemetry: Telemetry::embedded(),
            rules: &rs,
            links: &links,
            scope: &bad,
            profile: None,
            validated: None,
            baseline: None,
            features: None,
        })
        .unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}

fn tactic_typo() -> Vec<String> {
    vec!["execusion".into()]
}

#[test]
fn group_scope_uses_attack_relationships() {
    let kb = kb();
    let rs = load(RULES);
    let g = kb.group("G0016").expect("APT29 in the catalog");
    let by_name = ScopeOptions {
        group: Some(g.name.clone()),
        ..Default::default()
    };
    let r = build(&kb, &rs, &by_name, None, None);
    let scope = r.scope.group.as_ref().unwrap();
    assert_eq!(scope.id, "G0016");
    // Every in-scope technique is used by the group, or is the parent of one that is.
    let used: BTreeSet<&str> = g.techniques.iter().map(String::as_str).collect();
    for t in &r.techniques {
        let ok = used.contains(t.id.as_str())
            || used
                .iter()
                .any(|u| kb.technique(u).and_then(|x| x.parent.as_deref()) == Some(t.id.as_str()));
        assert!(ok, "{} not used by G0016", t.id);
    }
    assert!(r.totals.active > 0 && r.totals.active < 691);
}

#[test]
fn baseline_diff_reports_losses_and_gains() {
    let kb = kb();
    let full = load(RULES);
    let before = build(&kb, &full, &ScopeOptions::default(), None, None);
    let json = render::json::to_string(&before);
    let base = Baseline::parse("before.json", &json).unwrap();
    // Same input: nothing changes.
    let same = build(&kb, &full, &ScopeOptions::default(), None, Some(&base));
    let d = same.baseline.as_ref().unwrap();
    assert!(d.lost.is_empty() && d.gained.is_empty() && d.changed.is_empty());
    assert_eq!(same.losses(), 0);
    // Drop the PowerShell rule: T1059.001 is lost, T1059 keeps a rule but changes.
    let mut fewer = full.clone();
    fewer
        .rules
        .retain(|r| !r.path.ends_with("powershell_encoded.yml"));
    let after = build(&kb, &fewer, &ScopeOptions::default(), None, Some(&base));
    let d = after.baseline.as_ref().unwrap();
    let lost: Vec<&str> = d.lost.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(lost, ["T1059.001"]);
    assert_eq!(d.lost[0].before, Tier::Tagged);
    assert_eq!(d.lost[0].after, Tier::None);
    // Issue #15: rule lists in a baseline diff are titles, not UUIDs.
    assert_eq!(d.lost[0].rules_removed, ["Encoded PowerShell Command Line"]);
    assert!(d.changed.iter().any(|c| c.id == "T1059"));
    assert_eq!(after.losses(), 1);
    // A profile raises tiers: gains, no losses.
    let p = profile();
    let up = build(&kb, &full, &ScopeOptions::default(), Some(&p), Some(&base));
    let d = up.baseline.as_ref().unwrap();
    assert!(d.lost.is_empty());
    // Seven covered techniques; T1595's (mis-tagged) host rule is runnable too, but a guidance
    // technique has no tier (issue #15: its row agrees with the tier totals), so it neither gains
    // nor changes while its rules stay the same.
    assert_eq!(d.gained.len(), 7);
    assert!(!d.changed.iter().any(|c| c.id == "T1595"));
    let t1595 = up.techniques.iter().find(|t| t.id == "T1595").unwrap();
    assert_eq!((t1595.tier, t1595.rules.len()), (Tier::None, 1));
}

fn all_formats(r: &CoverageReport) -> Vec<(&'static str, String)> {
    let nav = navigator::NavigatorOptions {
        score: navigator::Score::Count,
        link_base: Some("https://example.org/rules/".into()),
        ..Default::default()
    };
    vec![
        ("text", render::text::coverage(r)),
        ("markdown", render::markdown::coverage(r)),
        ("json", render::json::to_string(r)),
        ("csv", render::csv::coverage(r)),
        ("navigator", navigator::coverage(r, &nav)),
        ("html", render::html::coverage(r)),
    ]
}

#[test]
fn snapshots_of_every_format() {
    let kb = kb();
    let rs = load(RULES);
    let p = profile();
    let r = build(&kb, &rs, &small_scope(), Some(&p), None);
    for (name, out) in all_formats(&r) {
        insta::assert_snapshot!(format!("coverage_fixtures_{name}"), out);
    }
}

#[test]
fn output_is_deterministic() {
    let kb = kb();
    let a = build(&kb, &load(RULES), &ScopeOptions::default(), None, None);
    let b = build(&kb, &load(RULES), &ScopeOptions::default(), None, None);
    for ((name, x), (_, y)) in all_formats(&a).into_iter().zip(all_formats(&b)) {
        assert!(x == y, "{name} differs between runs");
    }
}

#[test]
fn hostile_rule_text_is_escaped() {
    let kb = kb();
    let r = build(&kb, &load(RULES), &ScopeOptions::default(), None, None);
    let html = render::html::coverage(&r);
    assert!(!html.contains("<script>document.title"));
    assert!(html.contains("&lt;script&gt;document.title=&#39;PWNED&#39;"));
    assert_eq!(html.matches("<script>").count(), 1, "only our own script");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external URL"
    );
    let md = render::markdown::coverage(&r);
    assert!(!md.contains("<script>"));
}

/// Checks a layer against the Navigator layer format 4.5 field rules; returns the problems.
fn layer_problems(v: &Value, attack_major: &str) -> Vec<String> {
    let mut p = Vec::new();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    if s(v, "name").is_none_or(|n| n.is_empty()) {
        p.push("name missing".into());
    }
    if !matches!(
        s(v, "domain").as_deref(),
        Some("enterprise-attack" | "mobile-attack" | "ics-attack")
    ) {
        p.push("domain invalid".into());
    }
    let ver = &v["versions"];
    if s(ver, "layer").as_deref() != Some("4.5") {
        p.push("versions.layer != 4.5".into());
    }
    match s(ver, "navigator") {
        Some(n) => {
            let parts: Vec<u32> = n.split('.').filter_map(|x| x.parse().ok()).collect();
            if parts.len() != 3 || (parts[0], parts[1]) < (4, 9) {
                p.push(format!("versions.navigator {n} below 4.9.0"));
            }
        }
        None => p.push("versions.navigator missing".into()),
    }
    if s(ver, "attack").as_deref() != Some(attack_major) {
        p.push(format!(
            "versions.attack {:?} != {attack_major}",
            ver.get("attack")
        ));
    }
    let g = &v["gradient"];
    let colors = g["colors"].as_array().map_or(0, Vec::len);
    let (min, max) = (g["minValue"].as_f64(), g["maxValue"].as_f64());
    if colors < 2 || min.is_none() || max.is_none() || min >= max {
        p.push("gradient invalid".into());
    }
    for li in v["legendItems"].as_array().into_iter().flatten() {
        if s(li, "label").is_none() || s(li, "color").is_none() {
            p.push("legend item without label or color".into());
        }
    }
    let Some(techs) = v["techniques"].as_array() else {
        p.push("techniques not an array".into());
        return p;
    };
    let shape = regex::Regex::new(r"^T\d{4}(\.\d{3})?$").unwrap();
    for t in techs {
        let id = s(t, "techniqueID").unwrap_or_default();
        if !shape.is_match(&id) {
            p.push(format!("bad techniqueID {id}"));
        }
        if t.get("tactic").is_some() && s(t, "tactic").is_none() {
            p.push(format!("{id}: tactic not a string"));
        }
        if let Some(sc) = t.get("score") {
            match sc.as_f64() {
                Some(x) if Some(x) >= min && Some(x) <= max => {}
                _ => p.push(format!("{id}: score {sc} outside gradient")),
            }
        }
        if t.get("comment").is_some_and(|c| !c.is_string()) {
            p.push(format!("{id}: comment not a string"));
        }
        for m in t["metadata"].as_array().into_iter().flatten() {
            if m.get("divider").is_none() && (s(m, "name").is_none() || s(m, "value").is_none()) {
                p.push(format!("{id}: metadata without name/value"));
            }
        }
        for l in t["links"].as_array().into_iter().flatten() {
            let url = s(l, "url").unwrap_or_default();
            if s(l, "label").is_none() || !url.contains("://") {
                p.push(format!("{id}: link without label or scheme"));
            }
        }
    }
    p
}

#[test]
fn navigator_layer_follows_format_4_5() {
    let kb = kb();
    let r = build(
        &kb,
        &load(RULES),
        &ScopeOptions::default(),
        Some(&profile()),
        None,
    );
    for score in [
        navigator::Score::Count,
        navigator::Score::MaxLevel,
        navigator::Score::LevelWeighted,
        navigator::Score::Tier,
    ] {
        for link_base in [None, Some("https://git.example/rules".to_string())] {
            let opts = navigator::NavigatorOptions {
                score,
                link_base,
                ..Default::default()
            };
            let v: Value = serde_json::from_str(&navigator::coverage(&r, &opts)).unwrap();
            let problems = layer_problems(&v, "18");
            assert!(problems.is_empty(), "{score:?}: {problems:?}");
            // One entry per (technique, tactic) in scope.
            let expected: usize = r.techniques.iter().map(|t| t.tactics.len()).sum();
            assert_eq!(v["techniques"].as_array().unwrap().len(), expected);
        }
    }
    let v: Value = serde_json::from_str(&navigator::coverage(&r, &Default::default())).unwrap();
    // Count score: the gradient maximum is the largest rule count of a technique.
    let max = r
        .techniques
        .iter()
        .filter(|t| !t.guidance)
        .map(|t| t.rules.len())
        .max()
        .unwrap();
    assert_eq!(v["gradient"]["maxValue"], max as u64);
    let t1059: Vec<&Value> = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["techniqueID"] == "T1059")
        .collect();
    assert_eq!(
        t1059[0]["score"], 2,
        "rule with parent+sub tag counted once"
    );
    assert_eq!(t1059[0]["metadata"].as_array().unwrap().len(), 2);
}
