//! Technique card: everything AttackTrace knows about one technique, as plain data.
//!
//! Built from the knowledge base, the telemetry map, the guidance text in `mappings/guidance.yaml`
//! and (optionally) a loaded rule set. Renderers in `render/` print it as text, Markdown or JSON;
//! the JSON form is this struct serialised, so field names here are a public contract
//! (`schema` is bumped on incompatible changes).

use crate::attack::facts::Fact;
use crate::attack::text::{render_prose, Footnote};
use crate::attack::{KnowledgeBase, Technique};
use crate::link::{LinkIndex, Via};
use crate::report::RuleHead;
pub use crate::report::{AttackSource, TacticRef, TechRef};
use crate::rules::{DetectionState, LogSource, RuleSet};
use crate::telemetry::{ObsClass, Observability, TechniqueEvents, Telemetry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::OnceLock;

pub const CARD_SCHEMA: &str = "attacktrace.card/1";

/// How many "candidates by log source" rules a card lists (the total is always given).
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
    pub platforms: Vec<String>,
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
    /// Rules not tagged with the technique whose log source observes the events ATT&CK names.
    pub candidates: Vec<RuleRef>,
    pub candidates_total: usize,
    /// Sigma logsources that observe the named events (basis of the candidates).
    pub candidate_logsources: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guidance {
    pub title: String,
    pub why: String,
    pub build: String,
    pub where_to_look: Vec<String>,
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

// ---- guidance.yaml ---------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuidanceFile {
    no_portable_rule: NoPortableRuleText,
    checklist: Vec<ChecklistTemplate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoPortableRuleText {
    title: String,
    why: String,
    why_no_named_source: String,
    build: String,
    #[serde(rename = "where")]
    where_to_look: Vec<String>,
    host_rules_note: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChecklistTemplate {
    id: String,
    applies: Vec<ObsClass>,
    #[serde(default)]
    auto: Option<String>,
    text: String,
}

fn guidance_file() -> &'static GuidanceFile {
    static FILE: OnceLock<GuidanceFile> = OnceLock::new();
    FILE.get_or_init(|| {
        serde_norway::from_str(include_str!("../mappings/guidance.yaml"))
            // The file is embedded at build time and covered by tests; a broken edit fails them.
            .expect("mappings/guidance.yaml is valid")
    })
}

/// Values substituted into guidance templates.
struct Vars {
    id: String,
    name: String,
    tactics: String,
    platforms: String,
    data_components: String,
    log_sources: String,
}

impl Vars {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{id}", &self.id)
            .replace("{name}", &self.name)
            .replace("{tactics}", &self.tactics)
            .replace("{platforms}", &self.platforms)
            .replace("{data_components}", &self.data_components)
            .replace("{log_sources}", &self.log_sources)
    }
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
        platforms: t.platforms.clone(),
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
        platforms: t.platforms.join(", "),
        data_components: join_or(&dc_names, "none named"),
        log_sources: join_or(&ls_names, "none named"),
    };
    let text = guidance_file();
    let guidance = (observability.class == ObsClass::NoPortableRule).then(|| Guidance {
        title: vars.fill(&text.no_portable_rule.title),
        why: vars.fill(
            if observability.subkind.as_deref() == Some("pre-platform") {
                &text.no_portable_rule.why
            } else {
                &text.no_portable_rule.why_no_named_source
            },
        ),
        build: vars.fill(&text.no_portable_rule.build),
        where_to_look: text
            .no_portable_rule
            .where_to_look
            .iter()
            .map(|w| vars.fill(w))
            .collect(),
    });
    let mut rules_section = rules_section;
    if observability.class == ObsClass::NoPortableRule && !rules_section.tagged.is_empty() {
        rules_section
            .notes
            .push(vars.fill(&text.no_portable_rule.host_rules_note));
    }
    let tagged_idx: Vec<usize> = rules
        .as_ref()
        .map(|c| c.links.rules_for(&t.id).iter().map(|l| l.rule).collect())
        .unwrap_or_default();
    let checklist = checklist(
        &text.checklist,
        &vars,
        observability.class,
        &tagged_idx,
        rules.as_ref(),
    );

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
                platforms: a.platforms.clone(),
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
    RuleSection {
        loaded: true,
        files_seen: ctx.rules.files_seen,
        files_loaded: ctx.rules.files_loaded,
        files_reported: ctx.rules.files_reported,
        rules_loaded: ctx.rules.rules.len(),
        covered: !indicators_only && !tagged.is_empty(),
        tagged,
        indicators_only,
        candidates_total: candidates_all.len(),
        candidates: candidates_all
            .iter()
            .take(CANDIDATE_CAP)
            .map(|&i| rule_ref(ctx.rules, i, None))
            .collect(),
        candidate_logsources: candidate_keys,
        notes: Vec::new(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guidance_file_parses_and_every_class_has_items() {
        let g = guidance_file();
        for class in [
            ObsClass::Portable,
            ObsClass::EnvironmentSpecific,
            ObsClass::NoPortableRule,
        ] {
            assert!(
                g.checklist.iter().any(|c| c.applies.contains(&class)),
                "no checklist item for {class:?}"
            );
        }
        for c in &g.checklist {
            if let Some(a) = &c.auto {
                assert!(
                    ["falsepositives", "references", "tests"].contains(&a.as_str()),
                    "unknown auto fact {a}"
                );
            }
        }
    }

    #[test]
    fn templates_leave_no_placeholder() {
        let vars = Vars {
            id: "T1".into(),
            name: "N".into(),
            tactics: "Tac".into(),
            platforms: "P".into(),
            data_components: "D".into(),
            log_sources: "L".into(),
        };
        let g = guidance_file();
        let mut all = vec![
            g.no_portable_rule.title.clone(),
            g.no_portable_rule.why.clone(),
            g.no_portable_rule.why_no_named_source.clone(),
            g.no_portable_rule.build.clone(),
            g.no_portable_rule.host_rules_note.clone(),
        ];
        all.extend(g.no_portable_rule.where_to_look.iter().cloned());
        all.extend(g.checklist.iter().map(|c| c.text.clone()));
        for t in all {
            let filled = vars.fill(&t);
            assert!(!filled.contains('{'), "unfilled placeholder in {filled}");
        }
    }
}
