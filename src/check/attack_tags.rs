//! ATT&CK tag validators, against the active knowledge base: unknown IDs and tactics, revoked and
//! deprecated techniques, technique/tactic consistency, PRE-platform techniques on host rules, and
//! tactics of another release (from `mappings/tactic_versions.yaml`, never a list in code).

use super::RuleCtx;
use crate::attack::KnowledgeBase;
use crate::diag::Code;
use crate::rules::{AttackTag, RuleRecord};
use crate::telemetry::{ObsClass, Telemetry};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

/// domain -> release -> tactic shortnames.
type TacticVersions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn tactic_versions() -> &'static TacticVersions {
    static TABLE: OnceLock<TacticVersions> = OnceLock::new();
    TABLE.get_or_init(|| {
        // Embedded and covered by a unit test, so a parse failure cannot reach users; an empty
        // table only loses the version hint.
        serde_norway::from_str(include_str!("../../mappings/tactic_versions.yaml"))
            .unwrap_or_default()
    })
}

/// Releases (as `domain release`) whose tactics include `shortname`.
pub fn releases_with_tactic(shortname: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (domain, releases) in tactic_versions() {
        for (release, tactics) in releases {
            if tactics.iter().any(|t| t == shortname) {
                out.push(format!("{domain} {release}"));
            }
        }
    }
    out
}

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
        let upper = |items: &[crate::attack::NamedObject]| -> HashSet<String> {
            items.iter().map(|o| o.id.to_ascii_uppercase()).collect()
        };
        let mut other_ids = HashMap::new();
        other_ids.insert("M", upper(&kb.mitigations));
        other_ids.insert("DS", upper(&kb.data_sources));
        other_ids.insert("C", upper(&kb.campaigns));
        let tagged: BTreeSet<&str> = rules.iter().flat_map(|r| r.technique_tags()).collect();
        let tagged: Vec<&str> = tagged.into_iter().collect();
        let classes = tagged
            .iter()
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

    pub fn check(&self, ctx: &mut RuleCtx<'_>) {
        let rule = ctx.rule;
        let kb = self.kb;
        // Raw tag for each parsed one (first spelling), to point at the line as written; one pass,
        // so a rule with a huge tag list stays linear.
        let mut raw_by_tag: BTreeMap<AttackTag, &str> = BTreeMap::new();
        for t in &rule.tags {
            if let Some(parsed) = crate::rules::parse_attack_tag(t) {
                raw_by_tag.entry(parsed).or_insert(t.as_str());
            }
        }
        let raw_of = |want: &AttackTag| -> String {
            raw_by_tag.get(want).copied().unwrap_or("").to_string()
        };
        let mut techniques = Vec::new();
        let tactic_tags: BTreeSet<&str> = rule.tactic_tags().collect();
        for tag in &rule.attack {
            // Known, active IDs and tactics (the common case) need no position: skip the text scan.
            let fine = match tag {
                AttackTag::Technique(id) => kb.technique(id).is_some_and(|t| t.is_active()),
                AttackTag::Tactic(short) => kb.tactic_by_shortname(short).is_some(),
                _ => false,
            };
            let raw = raw_of(tag);
            let pos = if fine {
                (rule.line, 1)
            } else {
                ctx.value_pos(&["tags"], &raw)
            };
            match tag {
                AttackTag::Technique(id) => {
                    match kb.technique(id) {
                        None => {
                            let hint = id
                                .split_once('.')
                                .and_then(|(p, _)| kb.technique(p))
                                .map(|p| format!("; {} exists, the sub-technique does not", p.id))
                                .unwrap_or_default();
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
                            None => format!("`{raw}`: technique {id} is revoked (no replacement in the data)"),
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
                        Some(t) => techniques.push((t, raw)),
                    }
                }
                AttackTag::Tactic(short) => {
                    if kb.tactic_by_shortname(short).is_some() {
                        continue;
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
                    } else {
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
                }
                AttackTag::Group(id) => {
                    if kb.groups.is_empty() || kb.group(id).is_some() {
                        continue;
                    }
                    ctx.push(
                        Code::AttackTag,
                        pos,
                        format!(
                            "`{raw}`: group {id} does not exist in ATT&CK {}",
                            self.release()
                        ),
                    );
                }
                AttackTag::Software(id) => {
                    if self.software.is_empty() || self.software.contains(id) {
                        continue;
                    }
                    ctx.push(
                        Code::AttackTag,
                        pos,
                        format!(
                            "`{raw}`: software {id} does not exist in ATT&CK {}",
                            self.release()
                        ),
                    );
                }
                AttackTag::Other(id) => {
                    let prefix: String =
                        id.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
                    let msg = match self.other_ids.get(prefix.as_str()) {
                        Some(ids) if ids.is_empty() || ids.contains(id) => continue,
                        Some(_) => {
                            format!("`{raw}`: {id} does not exist in ATT&CK {}", self.release())
                        }
                        None if prefix == "TA" => match kb.tactic_by_id(id) {
                            Some(t) => format!(
                                "`{raw}`: tag tactics by shortname: `attack.{}`",
                                t.shortname
                            ),
                            None => format!(
                                "`{raw}`: tactic {id} does not exist in ATT&CK {}",
                                self.release()
                            ),
                        },
                        None => format!(
                            "`{raw}` is not an ATT&CK technique, tactic, group or software ID"
                        ),
                    };
                    ctx.push(Code::AttackTag, pos, msg);
                }
            }
        }
        // Technique <-> tactic consistency, only among known active techniques and tactics.
        let mut tactics_of_techniques = BTreeSet::new();
        for (t, raw) in &techniques {
            tactics_of_techniques.extend(t.tactics.iter().map(String::as_str));
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
            let product = rule.logsource.product.as_deref().unwrap_or("");
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
        if !techniques.is_empty() {
            for short in &tactic_tags {
                if kb.tactic_by_shortname(short).is_some() && !tactics_of_techniques.contains(short)
                {
                    let raw = raw_of(&AttackTag::Tactic(short.to_string()));
                    let pos = ctx.value_pos(&["tags"], &raw);
                    ctx.push(
                        Code::AttackTacticMismatch,
                        pos,
                        format!("`{raw}`: none of the rule's techniques belongs to this tactic in ATT&CK {}", self.release()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactic_table_parses_and_knows_v19() {
        assert!(!tactic_versions().is_empty());
        assert_eq!(releases_with_tactic("stealth"), vec!["enterprise 19"]);
        assert!(releases_with_tactic("defense-evasion").contains(&"enterprise 18".to_string()));
        assert!(releases_with_tactic("made-up").is_empty());
    }
}
