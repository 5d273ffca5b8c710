//! Technique card: everything AttackTrace knows about one technique, as plain data.
//!
//! Built from the knowledge base, the telemetry map, the guidance text in `mappings/guidance.yaml`
//! and (optionally) a loaded rule set. Renderers in `render/` print it as text, Markdown or JSON;
//! the JSON form is this struct serialised, so field names here are a public contract
//! (`schema` is bumped on incompatible changes).

use crate::attack::facts::Fact;
use crate::attack::text::{render_prose, Footnote};
use crate::attack::{KnowledgeBase, Technique};
use crate::guidance::{guidance_file, ChecklistTemplate, Vars};
use crate::link::{LinkIndex, Via};
use crate::report::RuleHead;
pub use crate::report::{AttackSource, TacticRef, TechRef};
use crate::rules::{DetectionState, LogSource, RuleSet};
use crate::telemetry::{ObsClass, Observability, TechniqueEvents, Telemetry};
use serde::Serialize;
use std::collections::BTreeSet;

pub const CARD_SCHEMA: &str = "attacktrace.card/3";

/// How many candidate rules a card lists (the total is always given).
pub const CANDIDATE_CAP: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub schema: &'static str,
    pub attack: AttackSource,
    /// Notices from the lookup (revoked ID resolved to its replacement, deprecated technique).
    pub notices: Vec<String>,
    pub technique: Header,
    /// MITRE's description, only when a full bundle was loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<ProseBlock>,
    pub observability: Observability,
    pub detection: DetectionGuidance,
    pub events: EventSection,
    pub rules: RuleSection,
    /// Present for "no portable rule" techniques, instead of a rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance: Option<Guidance>,
    pub checklist: Vec<ChecklistItem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Header {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// In matrix order.
    pub tactics: Vec<TacticRef>,
    /// ATT&CK's platforms, without its placeholder `None`.
    pub platforms: Vec<String>,
    /// Set when `platforms` is empty: what the domain's assets are called (`mappings/guidance.yaml`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assets: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<TechRef>,
    pub subtechniques: Vec<TechRef>,
    /// `active`, `revoked` or `deprecated`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<TechRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProseBlock {
    pub text: String,
    pub footnotes: Vec<Footnote>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogSourceView {
    pub data_component_id: String,
    pub data_component: String,
    pub name: String,
    /// Machine-usable channel (`EventCode=4688`, `execve`, `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Free-text channel (full bundle only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_text: Option<String>,
    /// Names read from the free-text channel; present with the bundle and with the catalog.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<Fact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MutableView {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnalyticView {
    pub id: String,
    pub platforms: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub log_sources: Vec<LogSourceView>,
    pub mutable_elements: Vec<MutableView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StrategyView {
    pub id: String,
    pub name: String,
    pub analytics: Vec<AnalyticView>,
}

/// What ATT&CK itself says about detecting the technique.
#[derive(Debug, Clone, Serialize)]
pub struct DetectionGuidance {
    /// `v18` (detection strategies), `v17` (detection text and data sources) or `none`.
    pub model: &'static str,
    pub strategies: Vec<StrategyView>,
    /// v17 detection prose (full bundle only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v17_text: Option<ProseBlock>,
    /// v17 `x_mitre_data_sources`.
    pub data_sources: Vec<String>,
    /// One plain sentence when the data has nothing, or when prose needs the full bundle.
    pub statements: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventSection {
    #[serde(flatten)]
    pub events: TechniqueEvents,
    /// Set when nothing concrete is named: one line instead of placeholder rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleRef {
    #[serde(flatten)]
    pub head: RuleHead,
    pub logsource: String,
    pub path: String,
    pub line: usize,
    /// Serialised as `direct`, or the sub-technique the rule is tagged with.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::link::via_string::serialize_option"
    )]
    pub via: Option<Via>,
    pub evaluable: bool,
    /// Candidates only: how strongly the rule's content points at the technique (see
    /// [`crate::suggest`]), and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<crate::suggest::Reason>,
}

crate::report::deref_rule_head!(RuleRef);

#[derive(Debug, Clone, Serialize)]
pub struct RuleSection {
    /// False when no rule paths were given.
    pub loaded: bool,
    pub files_seen: usize,
    pub files_loaded: usize,
    pub files_reported: usize,
    pub rules_loaded: usize,
    /// Rules tagged with the technique (directly or via a sub-technique).
    pub tagged: Vec<RuleRef>,
    /// True when the tagged rules are listed as environment-specific indicators only
    /// ("no portable rule" techniques): they do not make the technique covered.
    pub indicators_only: bool,
    /// Whether the technique counts as covered by a portable or environment-specific rule.
    pub covered: bool,
    /// Rules not tagged with the technique whose log source observes the events ATT&CK names,
    /// ranked by score (best first) when the rules were scored.
    pub candidates: Vec<RuleRef>,
    pub candidates_total: usize,
    /// Sigma logsources that observe the named events (basis of the candidates).
    pub candidate_logsources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What to do instead of a portable rule: the text of the technique's guidance family
/// (`mappings/guidance.yaml`), or the generic text when no family matches.
#[derive(Debug, Clone, Serialize)]
pub struct Guidance {
    /// Key of the guidance family; absent for the generic text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    pub title: String,
    pub why: String,
    pub build: String,
    /// What usually precedes or follows the technique, i.e. what makes a finding actionable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actionable: Option<String>,
    pub where_to_look: Vec<String>,
    /// Set when `technique ID --template` prints a Sigma correlation template for the technique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckState {
    /// Decided from the loaded rules: satisfied.
    Done,
    /// Decided from the loaded rules: not satisfied.
    NotDone,
    /// Needs a person.
    Person,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

fn join_or(items: &BTreeSet<String>, none: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

// ---- building ---------------------------------------------------------------------------------

/// Rules and their links, when the user gave rule paths.
pub struct RuleContext<'a> {
    pub rules: &'a RuleSet,
    pub links: &'a LinkIndex,
    /// Content scores for the technique; without them candidates stay in path order.
    pub ranker: Option<&'a crate::suggest::Ranker>,
}

fn techref(kb: &KnowledgeBase, id: &str) -> TechRef {
    TechRef {
        id: id.to_string(),
        name: kb.technique(id).map(|t| t.name.clone()).unwrap_or_default(),
    }
}

fn rule_ref(rules: &RuleSet, index: usize, via: Option<&Via>) -> RuleRef {
    let r = &rules.rules[index];
    RuleRef {
        head: RuleHead::of(r),
        logsource: r.logsource.key(),
        path: r.path.display().to_string(),
        line: r.line,
        via: via.cloned(),
        evaluable: matches!(r.detection, DetectionState::Compiled),
        score: None,
        reasons: Vec::new(),
    }
}

/// Builds the card for `technique` (already resolved by `attack::lookup`).
pub fn build(
    kb: &KnowledgeBase,
    telemetry: &Telemetry,
    technique: &Technique,
    notices: Vec<String>,
    rules: Option<RuleContext<'_>>,
) -> Card {
    let t = technique;
    let tactics: Vec<TacticRef> = t
        .tactics
        .iter()
        .map(|s| match kb.tactic_by_shortname(s) {
            Some(tac) => TacticRef::of(tac),
            None => TacticRef {
                id: String::new(),
                name: s.clone(),
                shortname: s.clone(),
                rules: Vec::new(),
            },
        })
        .collect();
    let header = Header {
        id: t.id.clone(),
        name: t.name.clone(),
        url: t.url.clone(),
        tactics: tactics.clone(),
        platforms: real_platforms(&t.platforms),
        assets: real_platforms(&t.platforms)
            .is_empty()
            .then(|| crate::guidance::platforms_text(&[], &kb.source.domain)),
        parent: t.parent.as_deref().map(|p| techref(kb, p)),
        subtechniques: t.subtechniques.iter().map(|s| techref(kb, s)).collect(),
        status: if t.revoked {
            "revoked"
        } else if t.deprecated {
            "deprecated"
        } else {
            "active"
        },
        revoked_by: kb.resolve_revoked(&t.id).map(|r| techref(kb, &r.id)),
    };
    let description = t.description.as_deref().map(|d| {
        let p = render_prose(d, &t.references);
        ProseBlock {
            text: p.text,
            footnotes: p.footnotes,
        }
    });

    let observability = telemetry.classify(kb, t);
    let (detection, dc_names, ls_names) = detection_guidance(kb, t);

    let mut events = telemetry.technique_events(kb, t);
    drop_other_host_platforms(&mut events, &t.platforms);
    let nothing_concrete =
        events.windows.is_empty() && events.sysmon.is_empty() && events.other.is_empty();
    let events = EventSection {
        statement: nothing_concrete.then(|| {
            "The ATT&CK data names no concrete event or log record for this technique; \
             use the validation checklist to decide what your own telemetry can show."
                .to_string()
        }),
        events,
    };

    let candidate_logsources = telemetry.technique_logsources(kb, t);
    let rules_section = rule_section(t, &observability, &candidate_logsources, rules.as_ref());

    let vars = Vars {
        id: t.id.clone(),
        name: t.name.clone(),
        tactics: tactics
            .iter()
            .map(|x| x.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
        platforms: crate::guidance::platforms_text(&t.platforms, &kb.source.domain),
        data_components: join_or(&dc_names, "none named"),
        log_sources: join_or(&ls_names, "none named"),
    };
    let text = guidance_file();
    let family = match observability.class {
        ObsClass::Portable => None,
        _ => crate::guidance::family_for(&t.id, &kb.source.domain),
    };
    let guidance = guidance(&observability, family, &vars);
    let mut rules_section = rules_section;
    if observability.class == ObsClass::NoPortableRule && !rules_section.tagged.is_empty() {
        rules_section
            .notes
            .push(vars.fill(&text.no_portable_rule.host_rules_note));
    }
    // Without a guidance section, the template would go unnoticed: say so with the rules.
    if guidance.is_none() && crate::template::template_for(&t.id).is_ok() {
        rules_section.notes.push(format!(
            "`attacktrace technique {} --template` prints a Sigma correlation template for a \
             threshold query to adapt to your environment (not portable, never counted as coverage).",
            t.id
        ));
    }
    let tagged_idx: Vec<usize> = rules
        .as_ref()
        .map(|c| c.links.rules_for(&t.id).iter().map(|l| l.rule).collect())
        .unwrap_or_default();
    let mut checklist = checklist(
        &text.checklist,
        &vars,
        observability.class,
        &tagged_idx,
        rules.as_ref(),
    );
    if guidance.is_some() {
        checklist.extend(family_checklist(family, &vars));
    }

    Card {
        schema: CARD_SCHEMA,
        attack: AttackSource::of(&kb.source),
        notices,
        technique: header,
        description,
        observability,
        detection,
        events,
        rules: rules_section,
        guidance,
        checklist,
    }
}

/// The guidance section: shown for "no portable rule" techniques (the family's text, else the
/// generic one) and for environment-specific techniques that a family names.
fn guidance(
    obs: &Observability,
    family: Option<&crate::guidance::Family>,
    vars: &Vars,
) -> Option<Guidance> {
    let generic = &guidance_file().no_portable_rule;
    let title = match obs.class {
        ObsClass::NoPortableRule => &generic.title,
        ObsClass::EnvironmentSpecific if family.is_some() => &generic.title_environment_specific,
        _ => return None,
    };
    let Some(f) = family else {
        let why = if obs.subkind.as_deref() == Some("pre-platform") {
            &generic.why
        } else {
            &generic.why_no_named_source
        };
        return Some(Guidance {
            family: None,
            title: vars.fill(title),
            why: vars.fill(why),
            build: vars.fill(&generic.build),
            actionable: None,
            where_to_look: generic.where_to_look.iter().map(|w| vars.fill(w)).collect(),
            template: None,
        });
    };
    let template = crate::template::template_for(&vars.id).is_ok();
    Some(Guidance {
        family: Some(f.key.clone()),
        title: vars.fill(title),
        why: vars.fill(&f.why),
        build: vars.fill(&f.build),
        actionable: Some(vars.fill(&f.actionable)),
        where_to_look: Vec::new(),
        template: template.then(|| {
            format!(
                "attacktrace technique {} --template prints a Sigma correlation template to adapt \
                 (environment-specific, never counted as coverage).",
                vars.id
            )
        }),
    })
}

/// The family's own checklist items, after the class's items.
fn family_checklist(family: Option<&crate::guidance::Family>, vars: &Vars) -> Vec<ChecklistItem> {
    let Some(f) = family else { return Vec::new() };
    f.checklist
        .iter()
        .enumerate()
        .map(|(i, text)| ChecklistItem {
            id: format!("{}-{}", f.key, i + 1),
            text: vars.fill(text),
            state: CheckState::Person,
            evidence: None,
        })
        .collect()
}

/// Platforms without ATT&CK's placeholder `None` (ICS techniques and analytics list it).
fn real_platforms(platforms: &[String]) -> Vec<String> {
    platforms
        .iter()
        .filter(|p| !p.eq_ignore_ascii_case("none"))
        .cloned()
        .collect()
}

/// v17 data components are platform-neutral, so their event sources can name hosts the technique
/// does not run on (Sysmon for Linux for a Windows-only technique); keep host groups of the
/// technique's own platforms only. Non-host families (cloud, network) are kept.
fn drop_other_host_platforms(events: &mut TechniqueEvents, platforms: &[String]) {
    const HOSTS: [&str; 3] = ["windows", "linux", "macos"];
    let own: BTreeSet<String> = platforms.iter().map(|p| p.to_ascii_lowercase()).collect();
    if !HOSTS.iter().any(|h| own.contains(*h)) {
        return;
    }
    let keep = |family: &str| !HOSTS.contains(&family) || own.contains(family);
    events.windows.retain(|g| keep(&g.platform_family));
    events.sysmon.retain(|g| keep(&g.platform_family));
    events.other.retain(|g| keep(&g.platform_family));
}

/// ATT&CK's own detection content, plus the data component and log-source names it mentions.
fn detection_guidance(
    kb: &KnowledgeBase,
    t: &Technique,
) -> (DetectionGuidance, BTreeSet<String>, BTreeSet<String>) {
    let mut dc_names = BTreeSet::new();
    let mut ls_names = BTreeSet::new();
    let mut strategies = Vec::new();
    for det in &t.detection_strategies {
        let Some(s) = kb.strategy(det) else { continue };
        let analytics = s
            .analytics
            .iter()
            .filter_map(|a| kb.analytic(a))
            .map(|a| AnalyticView {
                id: a.id.clone(),
                platforms: real_platforms(&a.platforms),
                description: a.description.clone(),
                log_sources: a
                    .log_sources
                    .iter()
                    .map(|r| {
                        let dc = kb
                            .data_component(&r.data_component)
                            .map(|d| d.name.clone())
                            .unwrap_or_default();
                        if !dc.is_empty() {
                            dc_names.insert(dc.clone());
                        }
                        ls_names.insert(r.name.clone());
                        LogSourceView {
                            data_component_id: r.data_component.clone(),
                            data_component: dc,
                            name: r.name.clone(),
                            channel: r.channel.clone(),
                            channel_text: r.channel_text.clone(),
                            facts: r.facts.clone(),
                        }
                    })
                    .collect(),
                mutable_elements: a
                    .mutable_elements
                    .iter()
                    .map(|m| MutableView {
                        field: m.field.clone(),
                        description: m.description.clone(),
                    })
                    .collect(),
            })
            .collect();
        strategies.push(StrategyView {
            id: s.id.clone(),
            name: s.name.clone(),
            analytics,
        });
    }
    for ds in &t.data_sources {
        // v17 "Data Source: Data Component".
        let dc = ds.split_once(": ").map(|(_, c)| c).unwrap_or(ds);
        dc_names.insert(dc.to_string());
    }
    for dc in &t.data_components {
        if let Some(d) = kb.data_component(dc) {
            dc_names.insert(d.name.clone());
        }
    }
    let v17_text = t.detection_text.as_deref().map(|d| {
        let p = render_prose(d, &t.references);
        ProseBlock {
            text: p.text,
            footnotes: p.footnotes,
        }
    });
    let model = if !strategies.is_empty() {
        "v18"
    } else if v17_text.is_some() || !t.data_sources.is_empty() || !t.data_components.is_empty() {
        "v17"
    } else {
        "none"
    };
    let mut statements = Vec::new();
    match model {
        "none" => statements.push(format!(
            "The loaded ATT&CK data ({} v{}) has no detection strategy, detection text or data source for this technique.",
            kb.source.domain, kb.source.version
        )),
        "v17" if v17_text.is_none() && !kb.source.has_prose => statements.push(
            "ATT&CK's detection text is prose and is not in the compiled catalog; pass --attack with a full STIX bundle to show it."
                .to_string(),
        ),
        _ => {}
    }
    if model == "v18" && !kb.source.has_prose {
        statements.push(
            "Analytic descriptions and free-text channels are MITRE prose and are not in the compiled catalog; pass --attack with a full STIX bundle to show them."
                .to_string(),
        );
    }
    (
        DetectionGuidance {
            model,
            strategies,
            v17_text,
            data_sources: t.data_sources.clone(),
            statements,
        },
        dc_names,
        ls_names,
    )
}

fn rule_section(
    t: &Technique,
    obs: &Observability,
    candidate_logsources: &[LogSource],
    ctx: Option<&RuleContext<'_>>,
) -> RuleSection {
    let candidate_keys: Vec<String> = candidate_logsources.iter().map(LogSource::key).collect();
    let Some(ctx) = ctx else {
        return RuleSection {
            loaded: false,
            files_seen: 0,
            files_loaded: 0,
            files_reported: 0,
            rules_loaded: 0,
            tagged: Vec::new(),
            indicators_only: obs.class == ObsClass::NoPortableRule,
            covered: false,
            candidates: Vec::new(),
            candidates_total: 0,
            candidate_logsources: candidate_keys,
            notes: vec!["No rule paths given: pass --rules PATH (file, directory or glob) to list the rules that cover this technique.".to_string()],
        };
    };
    let links = ctx.links.rules_for(&t.id);
    let tagged: Vec<RuleRef> = links
        .iter()
        .map(|l| rule_ref(ctx.rules, l.rule, Some(&l.via)))
        .collect();
    let tagged_set: BTreeSet<usize> = links.iter().map(|l| l.rule).collect();
    let wanted: BTreeSet<&LogSource> = candidate_logsources.iter().collect();
    let candidates_all: Vec<usize> = ctx
        .rules
        .rules
        .iter()
        .enumerate()
        .filter(|(i, r)| !tagged_set.contains(i) && wanted.contains(&r.logsource))
        .map(|(i, _)| i)
        .collect();
    let indicators_only = obs.class == ObsClass::NoPortableRule;
    let candidates = ranked_candidates(ctx, &candidates_all);
    RuleSection {
        loaded: true,
        files_seen: ctx.rules.files_seen,
        files_loaded: ctx.rules.files_loaded,
        files_reported: ctx.rules.files_reported,
        rules_loaded: ctx.rules.rules.len(),
        // Correlation templates (`attacktrace.template`) never count, even when tagged.
        covered: !indicators_only && links.iter().any(|l| !ctx.rules.rules[l.rule].is_template()),
        tagged,
        indicators_only,
        candidates_total: candidates_all.len(),
        candidates,
        candidate_logsources: candidate_keys,
        notes: Vec::new(),
    }
}

/// The first [`CANDIDATE_CAP`] candidates: by score with their reasons when the rules were
/// scored, else in path order.
fn ranked_candidates(ctx: &RuleContext<'_>, all: &[usize]) -> Vec<RuleRef> {
    let Some(ranker) = ctx.ranker else {
        return all
            .iter()
            .take(CANDIDATE_CAP)
            .map(|&i| rule_ref(ctx.rules, i, None))
            .collect();
    };
    ranker
        .rank(all, CANDIDATE_CAP)
        .into_iter()
        .take(CANDIDATE_CAP)
        .map(|r| RuleRef {
            score: Some((r.score * 1e4).round() / 1e4),
            reasons: r.reasons,
            ..rule_ref(ctx.rules, r.rule, None)
        })
        .collect()
}

fn checklist(
    templates: &[ChecklistTemplate],
    vars: &Vars,
    class: ObsClass,
    tagged: &[usize],
    ctx: Option<&RuleContext<'_>>,
) -> Vec<ChecklistItem> {
    let mut out = Vec::new();
    for tpl in templates.iter().filter(|t| t.applies.contains(&class)) {
        let (state, evidence) = match (tpl.auto.as_deref(), ctx) {
            (Some(fact), Some(ctx)) if !tagged.is_empty() => auto_state(fact, tagged, ctx.rules),
            (Some(_), Some(_)) => (
                CheckState::Person,
                Some("no rule tagged with this technique was loaded".to_string()),
            ),
            _ => (CheckState::Person, None),
        };
        out.push(ChecklistItem {
            id: tpl.id.clone(),
            text: vars.fill(&tpl.text),
            state,
            evidence,
        });
    }
    out
}

/// Decides a checklist item from the loaded rules tagged with the technique.
fn auto_state(fact: &str, tagged: &[usize], rules: &RuleSet) -> (CheckState, Option<String>) {
    let rules: Vec<&crate::rules::RuleRecord> = tagged.iter().map(|&i| &rules.rules[i]).collect();
    let total = rules.len();
    let count =
        |pred: &dyn Fn(&crate::rules::RuleRecord) -> bool| rules.iter().filter(|r| pred(r)).count();
    let (n, what) = match fact {
        "falsepositives" => (
            count(&|r| !r.falsepositives.is_empty()),
            "list false positives",
        ),
        "references" => (count(&|r| !r.references.is_empty()), "have references"),
        // Rule tests arrive with `attacktrace test`; until then a person decides.
        _ => {
            return (
                CheckState::Person,
                Some("rule tests are not evaluated by this command".to_string()),
            )
        }
    };
    let state = if n == total {
        CheckState::Done
    } else {
        CheckState::NotDone
    };
    (state, Some(format!("{n} of {total} tagged rules {what}")))
}
