//! ATT&CK tag validators, against the active knowledge base: unknown IDs and tactics, revoked and
//! deprecated techniques, technique/tactic consistency, PRE-platform techniques on host rules, and
//! tactics of another release (from `mappings/tactic_versions.yaml`, never a list in code).

use super::RuleCtx;
use crate::attack::{KnowledgeBase, Technique};
use crate::diag::Code;
use crate::rules::{AttackTag, RuleRecord};
use crate::telemetry::{ObsClass, Telemetry};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub use crate::skew::releases_with_tactic;

/// What the tag validators look up, built once per run.
pub struct AttackEnv<'a> {
    kb: &'a KnowledgeBase,
    software: HashSet<String>,
    other_ids: HashMap<&'static str, HashSet<String>>,
    /// Technique ID (upper case) -> class, for the techniques tagged in the set.
    classes: HashMap<String, ObsClass>,
    host_products: Vec<String>,
}

impl<'a> AttackEnv<'a> {
    pub fn new(kb: &'a KnowledgeBase, telemetry: &Telemetry, rules: &[RuleRecord]) -> Self {
        let tagged: BTreeSet<&str> = rules.iter().flat_map(|r| r.technique_tags()).collect();
        Self::classifying(kb, telemetry, tagged.into_iter())
    }

    /// For rules not loaded yet (`check` streams them): every PRE-platform technique is classified,
    /// a superset of the tagged ones [`AttackEnv::new`] classifies, so findings are the same.
    pub fn for_any_rules(kb: &'a KnowledgeBase, telemetry: &Telemetry) -> Self {
        Self::classifying(kb, telemetry, kb.techniques.iter().map(|t| t.id.as_str()))
    }

    fn classifying<'i>(
        kb: &'a KnowledgeBase,
        telemetry: &Telemetry,
        tagged: impl Iterator<Item = &'i str>,
    ) -> Self {
        let upper = |items: &[crate::attack::NamedObject]| -> HashSet<String> {
            items.iter().map(|o| o.id.to_ascii_uppercase()).collect()
        };
        let mut other_ids = HashMap::new();
        other_ids.insert("M", upper(&kb.mitigations));
        other_ids.insert("DS", upper(&kb.data_sources));
        other_ids.insert("C", upper(&kb.campaigns));
        let classes = tagged
            .filter_map(|id| kb.technique(id))
            // Only PRE-platform techniques matter to the mis-tag check; classifying is not free.
            .filter(|t| t.platforms.iter().any(|p| p.eq_ignore_ascii_case("PRE")))
            .map(|t| (t.id.to_ascii_uppercase(), telemetry.classify(kb, t).class))
            .collect();
        AttackEnv {
            kb,
            software: upper(&kb.software),
            other_ids,
            classes,
            host_products: telemetry
                .host_platforms()
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
        }
    }

    fn release(&self) -> String {
        format!("{} {}", self.kb.source.domain, self.kb.source.version)
    }

    /// Runs the tag validators on one rule: each tag on its own, then the technique/tactic
    /// consistency among the known, active ones.
    pub fn check(&self, ctx: &mut RuleCtx<'_>) {
        let rule = ctx.rule;
        let raw_by_tag = raw_tags(rule);
        let raw_of = |want: &AttackTag| -> String {
            raw_by_tag.get(want).copied().unwrap_or("").to_string()
        };
        let mut techniques = Vec::new();
        for tag in &rule.attack {
            let raw = raw_of(tag);
            // Known, active IDs and tactics (the common case) need no position: skip the text scan.
            let pos = if self.is_fine(tag) {
                (rule.line, 1)
            } else {
                ctx.value_pos(&["tags"], &raw)
            };
            let t = match tag {
                AttackTag::Technique(id) => self.technique(ctx, pos, id, &raw),
                AttackTag::Tactic(short) => {
                    self.tactic(ctx, pos, short, &raw);
                    None
                }
                AttackTag::Group(id) => {
                    if !self.kb.groups.is_empty() && self.kb.group(id).is_none() {
                        self.unknown_id(ctx, pos, "group", id, &raw);
                    }
                    None
                }
                AttackTag::Software(id) => {
                    if !self.software.is_empty() && !self.software.contains(id) {
                        self.unknown_id(ctx, pos, "software", id, &raw);
                    }
                    None
                }
                AttackTag::Other(id) => {
                    self.other(ctx, pos, id, &raw);
                    None
                }
            };
            techniques.extend(t.map(|t| (t, raw)));
        }
        let tactic_tags: BTreeSet<&str> = rule.tactic_tags().collect();
        self.technique_tactics(ctx, &techniques, &tactic_tags);
        if !techniques.is_empty() {
            self.tactic_mismatch(ctx, &techniques, &tactic_tags, raw_of);
        }
    }

    fn is_fine(&self, tag: &AttackTag) -> bool {
        match tag {
            AttackTag::Technique(id) => self.kb.technique(id).is_some_and(|t| t.is_active()),
            AttackTag::Tactic(short) => self.kb.tactic_by_shortname(short).is_some(),
            _ => false,
        }
    }

    /// `attacktag`, `attack_revoked`, `attack_deprecated` for a technique tag; the technique when
    /// it is known and active.
    fn technique(
        &self,
        ctx: &mut RuleCtx<'_>,
        pos: (usize, usize),
        id: &str,
        raw: &str,
    ) -> Option<&'a Technique> {
        let kb = self.kb;
        match kb.technique(id) {
            None => {
                let hint = match crate::attack::domains::foreign(id, &kb.source.domain) {
                    Some(f) => format!("; {}", f.describe()),
                    None => id
                        .split_once('.')
                        .and_then(|(p, _)| kb.technique(p))
                        .map(|p| format!("; {} exists, the sub-technique does not", p.id))
                        .unwrap_or_default(),
                };
                ctx.push(
                    Code::AttackTag,
                    pos,
                    format!(
                        "`{raw}`: technique {id} does not exist in ATT&CK {}{hint}",
                        self.release()
                    ),
                );
            }
            Some(t) if t.revoked => {
                let msg = match kb.resolve_revoked(id) {
                    Some(r) => format!(
                        "`{raw}`: technique {id} is revoked; use {} ({}): `attack.{}`",
                        r.id,
                        r.name,
                        r.id.to_ascii_lowercase()
                    ),
                    None => {
                        format!("`{raw}`: technique {id} is revoked (no replacement in the data)")
                    }
                };
                ctx.push(Code::AttackRevoked, pos, msg);
            }
            Some(t) if t.deprecated => ctx.push(
                Code::AttackDeprecated,
                pos,
                format!(
                    "`{raw}`: technique {id} ({}) is deprecated in ATT&CK {}",
                    t.name,
                    self.release()
                ),
            ),
            Some(t) => return Some(t),
        }
        None
    }

    /// `attack_version_mismatch` for a tactic of another release, else `attacktag`.
    fn tactic(&self, ctx: &mut RuleCtx<'_>, pos: (usize, usize), short: &str, raw: &str) {
        let kb = self.kb;
        if kb.tactic_by_shortname(short).is_some() {
            return;
        }
        let elsewhere = releases_with_tactic(short);
        if !elsewhere.is_empty() {
            ctx.push(
                Code::AttackVersionMismatch,
                pos,
                format!(
                    "`{raw}` is a tactic of ATT&CK {}, not of the active data (ATT&CK {}); use matching data (--attack) or migrate the tags",
                    elsewhere.join(", "),
                    self.release()
                ),
            );
            return;
        }
        let hint = kb
            .tactics
            .iter()
            .map(|t| (strsim::levenshtein(&t.shortname, short), &t.shortname))
            .filter(|(d, _)| *d <= 3)
            .min()
            .map(|(_, s)| format!("; did you mean `attack.{s}`?"))
            .unwrap_or_default();
        ctx.push(
            Code::AttackTag,
            pos,
            format!("`{raw}` is not a tactic of ATT&CK {}{hint}", self.release()),
        );
    }

    /// `attacktag` for a group or software ID missing from data that lists them.
    fn unknown_id(
        &self,
        ctx: &mut RuleCtx<'_>,
        pos: (usize, usize),
        kind: &str,
        id: &str,
        raw: &str,
    ) {
        ctx.push(
            Code::AttackTag,
            pos,
            format!(
                "`{raw}`: {kind} {id} does not exist in ATT&CK {}",
                self.release()
            ),
        );
    }

    /// `attacktag` for other ID shapes: mitigations, data sources, campaigns, tactic IDs.
    fn other(&self, ctx: &mut RuleCtx<'_>, pos: (usize, usize), id: &str, raw: &str) {
        let prefix: String = id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        let msg = match self.other_ids.get(prefix.as_str()) {
            Some(ids) if ids.is_empty() || ids.contains(id) => return,
            Some(_) => format!("`{raw}`: {id} does not exist in ATT&CK {}", self.release()),
            None if prefix == "TA" => match self.kb.tactic_by_id(id) {
                Some(t) => format!(
                    "`{raw}`: tag tactics by shortname: `attack.{}`",
                    t.shortname
                ),
                None => format!(
                    "`{raw}`: tactic {id} does not exist in ATT&CK {}",
                    self.release()
                ),
            },
            None => format!("`{raw}` is not an ATT&CK technique, tactic, group or software ID"),
        };
        ctx.push(Code::AttackTag, pos, msg);
    }

    /// `attack_missing_tactic` and `attack_pre_platform` for each known, active technique.
    fn technique_tactics(
        &self,
        ctx: &mut RuleCtx<'_>,
        techniques: &[(&Technique, String)],
        tactic_tags: &BTreeSet<&str>,
    ) {
        let product = ctx.rule.logsource.product.as_deref().unwrap_or("");
        for (t, raw) in techniques {
            if !t.tactics.is_empty() && !t.tactics.iter().any(|x| tactic_tags.contains(x.as_str()))
            {
                let want: Vec<String> = t.tactics.iter().map(|x| format!("`attack.{x}`")).collect();
                let pos = ctx.value_pos(&["tags"], raw);
                ctx.push(
                    Code::AttackMissingTactic,
                    pos,
                    format!(
                        "`{raw}` ({}) is tagged without its tactic: add {}",
                        t.name,
                        want.join(" or ")
                    ),
                );
            }
            if self.classes.get(&t.id.to_ascii_uppercase()) == Some(&ObsClass::NoPortableRule)
                && self.host_products.iter().any(|p| p == product)
                && t.platforms.iter().any(|p| p.eq_ignore_ascii_case("PRE"))
            {
                let pos = ctx.value_pos(&["tags"], raw);
                ctx.push(
                    Code::AttackPrePlatform,
                    pos,
                    format!(
                        "`{raw}` ({}) happens outside the defender's systems (PRE platform) but the rule reads {product} host logs; likely a mis-tag",
                        t.name
                    ),
                );
            }
        }
    }

    /// `attack_tactic_mismatch`: a known tactic tag that none of the rule's techniques belongs to.
    fn tactic_mismatch(
        &self,
        ctx: &mut RuleCtx<'_>,
        techniques: &[(&Technique, String)],
        tactic_tags: &BTreeSet<&str>,
        raw_of: impl Fn(&AttackTag) -> String,
    ) {
        let tactics_of_techniques: BTreeSet<&str> = techniques
            .iter()
            .flat_map(|(t, _)| t.tactics.iter().map(String::as_str))
            .collect();
        for short in tactic_tags {
            if self.kb.tactic_by_shortname(short).is_some()
                && !tactics_of_techniques.contains(short)
            {
                let raw = raw_of(&AttackTag::Tactic(short.to_string()));
                let pos = ctx.value_pos(&["tags"], &raw);
                ctx.push(
                    Code::AttackTacticMismatch,
                    pos,
                    format!(
                        "`{raw}`: none of the rule's techniques belongs to this tactic in ATT&CK {}",
                        self.release()
                    ),
                );
            }
        }
    }
}

/// Raw tag for each parsed one (first spelling), to point at the line as written; one pass, so a
/// rule with a huge tag list stays linear.
fn raw_tags(rule: &RuleRecord) -> BTreeMap<AttackTag, &str> {
    let mut raw_by_tag: BTreeMap<AttackTag, &str> = BTreeMap::new();
    for t in &rule.tags {
        if let Some(parsed) = crate::rules::parse_attack_tag(t) {
            raw_by_tag.entry(parsed).or_insert(t.as_str());
        }
    }
    raw_by_tag
}
