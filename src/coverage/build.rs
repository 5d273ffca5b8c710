//! Builds the coverage report in named steps: resolve the scope, describe every rule, link every
//! in-scope technique to its rules with a tier, tally totals per tactic, then tag problems and the
//! baseline diff.

use super::baseline::{diff, Baseline, Current};
use super::model::*;
use super::profile::Profile;
use super::scope::{Scope, ScopeOptions};
use super::{AttackSource, CoverageError};
use crate::attack::{KnowledgeBase, Technique};
use crate::link::{LinkIndex, TagProblem, Via};
use crate::report::RuleHead;
use crate::rules::LoadSummary;
use crate::rules::{LogSource, RuleRecord, RuleSet};
use crate::suggest::RuleFeatures;
use crate::telemetry::{ObsClass, Telemetry};
use std::collections::{BTreeMap, BTreeSet};

/// Everything [`build`] reads.
pub struct CoverageInput<'a> {
    pub kb: &'a KnowledgeBase,
    pub telemetry: &'a Telemetry,
    pub rules: &'a RuleSet,
    pub links: &'a LinkIndex,
    pub scope: &'a ScopeOptions,
    pub profile: Option<&'a Profile>,
    /// Rule indexes that passed their tests (positive match, no benign hit). `None` until a test
    /// runner provides results; the validated tier is then reported as unknown, never guessed.
    pub validated: Option<&'a BTreeSet<usize>>,
    pub baseline: Option<&'a Baseline>,
    /// Content features of every rule (in rule order), to score the rules claiming guidance
    /// techniques; `None` leaves those claims unscored.
    pub features: Option<&'a [RuleFeatures]>,
}

/// Builds the coverage report. O(rules + techniques + links); the observability classifier runs
/// once per in-scope technique.
pub fn build(input: &CoverageInput<'_>) -> Result<CoverageReport, CoverageError> {
    let kb = input.kb;
    let scope = Scope::resolve(kb, input.scope)?;
    let rules = rule_rows(input, &scope);
    let techniques = technique_rows(input, &scope, &rules);
    let mut tally = Tally::new(input, &scope.tactics, &techniques, &rules);
    for row in &techniques {
        tally.add(row);
    }
    let mut tally = tally.finish(kb);
    if let Some(features) = input.features {
        score_guidance(&mut tally.guidance, &input.rules.rules, features, kb);
    }
    let tag_problems = tag_problems(input.links, &rules);
    let retired_tags: BTreeSet<usize> = input.links.tag_problems.iter().map(|p| p.rule).collect();
    let baseline = input.baseline.map(|b| {
        diff(
            &Current {
                kb,
                techniques: &techniques,
                rules: &rules,
                retired_tags: &retired_tags,
            },
            b,
        )
    });
    Ok(CoverageReport {
        schema: COVERAGE_SCHEMA,
        attack: AttackSource::of(&kb.source),
        skew: Some(crate::skew::of_rules(kb, input.rules)).filter(|s| !s.is_empty()),
        scope: scope.report(input.scope, input.profile.map(|p| p.label.clone())),
        totals: tally.totals,
        tiers: tally.tiers,
        tactics: tally.tactics,
        techniques,
        gaps: tally.gaps,
        guidance: tally.guidance,
        tag_problems,
        rules,
        load: LoadSummary::of(input.rules),
        baseline,
    })
}

/// Every loaded rule with its scope and runnability; each distinct logsource is checked once.
fn rule_rows(input: &CoverageInput<'_>, scope: &Scope<'_>) -> Vec<RuleRow> {
    let mut runnable_cache: BTreeMap<&LogSource, bool> = BTreeMap::new();
    let mut rows = Vec::with_capacity(input.rules.rules.len());
    for (i, r) in input.rules.rules.iter().enumerate() {
        let runnable = input.profile.map(|p| {
            *runnable_cache
                .entry(&r.logsource)
                .or_insert_with(|| p.collects(&r.logsource, input.telemetry))
        });
        rows.push(RuleRow {
            index: i,
            head: RuleHead::of(r),
            path: r.path.display().to_string(),
            line: r.line,
            logsource: r.logsource.key(),
            in_scope: scope.rule_in_scope(r),
            runnable,
        });
    }
    rows
}

/// Every active in-scope technique and sub-technique, sorted by ID.
fn technique_rows(
    input: &CoverageInput<'_>,
    scope: &Scope<'_>,
    rules: &[RuleRow],
) -> Vec<TechniqueRow> {
    let mut rows: Vec<TechniqueRow> = input
        .kb
        .techniques
        .iter()
        .filter(|t| t.is_active() && scope.keeps(t))
        .filter_map(|t| technique_row(input, scope, rules, t))
        .collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    rows
}

/// One technique with its in-scope rules and tier; `None` when none of its tactics is in scope.
fn technique_row(
    input: &CoverageInput<'_>,
    scope: &Scope<'_>,
    rules: &[RuleRow],
    t: &Technique,
) -> Option<TechniqueRow> {
    let tactics = scope.tactics_of(input.kb, t);
    if tactics.is_empty() {
        return None;
    }
    let obs = input.telemetry.classify(input.kb, t);
    let class = obs.class;
    let links = rule_links(input.links, rules, &t.id);
    let direct = links.iter().any(|l| l.via == Via::Direct);
    let guidance = class == ObsClass::NoPortableRule;
    Some(TechniqueRow {
        id: t.id.clone(),
        name: t.name.clone(),
        tactics,
        is_sub: t.is_subtechnique,
        parent: t.parent.clone(),
        class,
        class_reason: obs.reason,
        guidance,
        // Guidance is never covered: its mis-tagged rules give it no tier, so a row's tier and
        // the `tiers` totals say the same in every format.
        tier: if guidance {
            Tier::None
        } else {
            tier(input.validated, rules, &links)
        },
        covered_via_sub: !links.is_empty() && !direct,
        rules: links,
    })
}

/// In-scope rules linked to a technique: direct first, then via sub-techniques, each by rule index.
fn rule_links(links: &LinkIndex, rules: &[RuleRow], technique: &str) -> Vec<RuleLink> {
    let mut out: Vec<RuleLink> = links
        .rules_for(technique)
        .iter()
        .filter(|l| rules[l.rule].in_scope)
        .map(|l| RuleLink {
            rule: l.rule,
            via: l.via.clone(),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.via != Via::Direct, a.rule, &a.via).cmp(&(b.via != Via::Direct, b.rule, &b.via))
    });
    out
}

/// The best tier any linked rule reaches.
fn tier(validated: Option<&BTreeSet<usize>>, rules: &[RuleRow], links: &[RuleLink]) -> Tier {
    if links.is_empty() {
        Tier::None
    } else if validated.is_some_and(|v| links.iter().any(|l| v.contains(&l.rule))) {
        Tier::Validated
    } else if links.iter().any(|l| rules[l.rule].runnable == Some(true)) {
        Tier::Runnable
    } else {
        Tier::Tagged
    }
}

/// Tag problems of in-scope rules, counted by kind.
fn tag_problems(links: &LinkIndex, rules: &[RuleRow]) -> TagProblems {
    let mut out = TagProblems::default();
    for p in links.tag_problems.iter().filter(|p| rules[p.rule].in_scope) {
        *out.counts.entry(p.problem.as_str()).or_insert(0) += 1;
        out.items.push(TagProblem::clone(p));
    }
    out
}

/// What the content model makes of each rule claiming a guidance technique. Only these rules are
/// scored, but the model learns from every loaded tagged rule.
fn score_guidance(
    rows: &mut [GuidanceRow],
    rules: &[RuleRecord],
    features: &[RuleFeatures],
    kb: &KnowledgeBase,
) {
    let wanted: Vec<(usize, String)> = rows
        .iter()
        .flat_map(|g| g.rules.iter().map(|r| (r.link.rule, g.id.clone())))
        .collect();
    if wanted.is_empty() || features.len() != rules.len() {
        return;
    }
    let mut scores = crate::suggest::mistag::score_tags(rules, features, kb, &wanted).into_iter();
    for r in rows.iter_mut().flat_map(|g| g.rules.iter_mut()) {
        let Some(s) = scores.next() else { break };
        r.score = s.score.map(rounded);
        r.suggested = s.suggested.map(|(technique, score)| Suggested {
            technique,
            score: rounded(score),
        });
        r.likely_mistag = s.unlikely;
    }
}

/// Scores to three decimals: reports compare across runs and platforms, noise digits do not.
fn rounded(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Running totals over the technique rows.
struct Tally {
    totals: Totals,
    tiers: TierCounts,
    tactics: Vec<TacticRow>,
    /// Tactic shortname -> index in `tactics`.
    tactic_pos: BTreeMap<String, usize>,
    /// Distinct covering rules per tactic row.
    tactic_rules: Vec<BTreeSet<usize>>,
    covering: BTreeSet<usize>,
    gaps: Vec<Gap>,
    guidance: Vec<GuidanceRow>,
}

impl Tally {
    fn new(
        input: &CoverageInput<'_>,
        tactics: &[String],
        techniques: &[TechniqueRow],
        rules: &[RuleRow],
    ) -> Tally {
        let tactic_rows: Vec<TacticRow> = input
            .kb
            .tactics
            .iter()
            .filter(|t| tactics.is_empty() || tactics.contains(&t.shortname))
            .map(|t| TacticRow {
                id: t.id.clone(),
                name: t.name.clone(),
                shortname: t.shortname.clone(),
                techniques: Count::default(),
                subtechniques: Count::default(),
                guidance: 0,
                rules: 0,
            })
            .collect();
        Tally {
            totals: Totals {
                active: techniques.len(),
                claimed: 0,
                techniques: Count::default(),
                subtechniques: Count::default(),
                portable: 0,
                guidance: 0,
                guidance_claimed: 0,
                rules_in_scope: rules.iter().filter(|r| r.in_scope).count(),
                rules_covering: 0,
            },
            tiers: TierCounts {
                tagged: 0,
                runnable: input.profile.map(|_| 0),
                validated: input.validated.map(|_| 0),
            },
            tactic_pos: tactic_rows
                .iter()
                .enumerate()
                .map(|(i, t)| (t.shortname.clone(), i))
                .collect(),
            tactic_rules: vec![BTreeSet::new(); tactic_rows.len()],
            tactics: tactic_rows,
            covering: BTreeSet::new(),
            gaps: Vec::new(),
            guidance: Vec::new(),
        }
    }

    fn add(&mut self, r: &TechniqueRow) {
        let covered = !r.rules.is_empty();
        self.totals.claimed += usize::from(covered);
        if r.guidance {
            self.add_guidance(r, covered);
            return;
        }
        self.totals.portable += usize::from(r.class == ObsClass::Portable);
        bump(
            if r.is_sub {
                &mut self.totals.subtechniques
            } else {
                &mut self.totals.techniques
            },
            covered,
        );
        for s in &r.tactics {
            if let Some(&i) = self.tactic_pos.get(s) {
                let row = &mut self.tactics[i];
                let count = if r.is_sub {
                    &mut row.subtechniques
                } else {
                    &mut row.techniques
                };
                bump(count, covered);
                self.tactic_rules[i].extend(r.rules.iter().map(|l| l.rule));
            }
        }
        self.covering.extend(r.rules.iter().map(|l| l.rule));
        self.add_tier(r.tier);
        if !covered {
            self.gaps.push(Gap {
                id: r.id.clone(),
                name: r.name.clone(),
                tactic: r.tactics[0].clone(),
                tactics: r.tactics.clone(),
                is_sub: r.is_sub,
                class: r.class,
                class_reason: r.class_reason.clone(),
            });
        }
    }

    /// Guidance techniques are counted apart, never as covered.
    fn add_guidance(&mut self, r: &TechniqueRow, covered: bool) {
        self.totals.guidance += 1;
        self.totals.guidance_claimed += usize::from(covered);
        for s in &r.tactics {
            if let Some(&i) = self.tactic_pos.get(s) {
                self.tactics[i].guidance += 1;
            }
        }
        self.guidance.push(GuidanceRow {
            id: r.id.clone(),
            name: r.name.clone(),
            tactics: r.tactics.clone(),
            class_reason: r.class_reason.clone(),
            rules: r
                .rules
                .iter()
                .map(|l| GuidanceRule {
                    link: l.clone(),
                    score: None,
                    suggested: None,
                    likely_mistag: false,
                })
                .collect(),
        });
    }

    fn add_tier(&mut self, tier: Tier) {
        if tier >= Tier::Tagged {
            self.tiers.tagged += 1;
        }
        if tier >= Tier::Runnable {
            if let Some(n) = self.tiers.runnable.as_mut() {
                *n += 1;
            }
        }
        if tier >= Tier::Validated {
            if let Some(n) = self.tiers.validated.as_mut() {
                *n += 1;
            }
        }
    }

    fn finish(mut self, kb: &KnowledgeBase) -> Tally {
        for (row, set) in self.tactics.iter_mut().zip(&self.tactic_rules) {
            row.rules = set.len();
        }
        // A tactic with nothing in scope (e.g. after `--include T1059`) is noise, not a 0/0 row.
        self.tactics
            .retain(|t| t.techniques.in_scope + t.subtechniques.in_scope + t.guidance > 0);
        self.totals.rules_covering = self.covering.len();
        self.gaps.sort_by(|a, b| {
            (kb.tactic_order(&a.tactic), &a.id).cmp(&(kb.tactic_order(&b.tactic), &b.id))
        });
        self
    }
}

fn bump(c: &mut Count, covered: bool) {
    c.in_scope += 1;
    c.covered += usize::from(covered);
}
