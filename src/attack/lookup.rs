//! Resolves what a user types (`T1059.001`, `t1059`, `PowerShell`, `spearphish`) to one technique.
//!
//! IDs are matched in any case; names exactly (case-insensitive) or by an unambiguous substring of an
//! active technique's name. Revoked IDs resolve to their final replacement and deprecated ones to
//! themselves, each with a notice, because an old ID in a rule or a habit should still lead somewhere
//! useful. Failures carry "did you mean" suggestions.

use super::model::{KnowledgeBase, Technique};

/// A resolved technique and what the user should be told about the way there.
#[derive(Debug, Clone)]
pub struct Resolution<'a> {
    pub technique: &'a Technique,
    pub notices: Vec<String>,
}

/// A query that names no technique, or several.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// Nothing matched; `suggestions` holds at most five `"T1595 Active Scanning"` strings.
    #[error("unknown technique {query:?}{}", did_you_mean(suggestions))]
    Unknown {
        query: String,
        suggestions: Vec<String>,
    },
    /// An ID of another ATT&CK domain than the data's (a mobile ID on enterprise data).
    #[error("technique {}: not in the loaded {data} data; {}", .foreign.id, .foreign.describe())]
    OtherDomain {
        data: String,
        foreign: super::domains::ForeignTechnique,
    },
    /// Several active techniques match the name; `candidates` are `"ID Name"` strings sorted by ID.
    #[error("{query:?} matches {} techniques: {}", candidates.len(), candidates.join(", "))]
    Ambiguous {
        query: String,
        candidates: Vec<String>,
    },
}

fn did_you_mean(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean: {}", suggestions.join(", "))
    }
}

const MAX_SUGGESTIONS: usize = 5;

fn label(t: &Technique) -> String {
    format!("{} {}", t.id, t.name)
}

/// True for `T1059`, `t1059.001` and the like.
fn looks_like_id(q: &str) -> bool {
    let mut chars = q.chars();
    matches!(chars.next(), Some('t' | 'T'))
        && q.len() > 1
        && chars.all(|c| c.is_ascii_digit() || c == '.')
}

/// Resolves `query` to a technique of `kb`.
pub fn resolve<'a>(kb: &'a KnowledgeBase, query: &str) -> Result<Resolution<'a>, LookupError> {
    let q = query.trim();
    // Accept a Sigma tag as typed in a rule (`attack.t1059.001`).
    let q = q
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case("attack."))
        .map_or(q, |_| &q[7..]);
    if q.is_empty() {
        return Err(LookupError::Unknown {
            query: query.to_string(),
            suggestions: Vec::new(),
        });
    }
    if looks_like_id(q) {
        return match kb.technique(q) {
            Some(t) => Ok(with_notices(kb, t)),
            None => match super::domains::foreign(q, &kb.source.domain) {
                Some(foreign) => Err(LookupError::OtherDomain {
                    data: kb.source.domain.clone(),
                    foreign,
                }),
                None => Err(LookupError::Unknown {
                    query: query.to_string(),
                    suggestions: id_suggestions(kb, q),
                }),
            },
        };
    }

    let lower = q.to_lowercase();
    let mut exact: Vec<&Technique> = kb
        .techniques
        .iter()
        .filter(|t| t.name.to_lowercase() == lower)
        .collect();
    if exact.iter().any(|t| t.is_active()) {
        exact.retain(|t| t.is_active());
    }
    match exact.len() {
        1 => return Ok(with_notices(kb, exact[0])),
        n if n > 1 => {
            return Err(LookupError::Ambiguous {
                query: query.to_string(),
                candidates: exact.iter().map(|t| label_full(kb, t)).collect(),
            })
        }
        _ => {}
    }

    let partial: Vec<&Technique> = kb
        .techniques
        .iter()
        .filter(|t| t.is_active() && t.name.to_lowercase().contains(&lower))
        .collect();
    match partial.len() {
        1 => Ok(with_notices(kb, partial[0])),
        0 => Err(LookupError::Unknown {
            query: query.to_string(),
            suggestions: name_suggestions(kb, &lower),
        }),
        _ => Err(LookupError::Ambiguous {
            query: query.to_string(),
            candidates: partial.iter().map(|t| label_full(kb, t)).collect(),
        }),
    }
}

/// `"T1059.001 PowerShell"`, with the parent name for sub-techniques whose name alone is vague.
fn label_full(kb: &KnowledgeBase, t: &Technique) -> String {
    match t.parent.as_deref().and_then(|p| kb.technique(p)) {
        Some(p) => format!("{} {}: {}", t.id, p.name, t.name),
        None => label(t),
    }
}

fn with_notices<'a>(kb: &'a KnowledgeBase, t: &'a Technique) -> Resolution<'a> {
    if t.revoked {
        return match kb.resolve_revoked(&t.id) {
            Some(new) => Resolution {
                technique: new,
                notices: vec![format!(
                    "{} ({}) is revoked; showing its replacement {} ({})",
                    t.id, t.name, new.id, new.name
                )],
            },
            None => Resolution {
                technique: t,
                notices: vec![format!(
                    "{} ({}) is revoked and ATT&CK names no replacement",
                    t.id, t.name
                )],
            },
        };
    }
    let notices = if t.deprecated {
        vec![format!(
            "{} ({}) is deprecated: ATT&CK no longer maintains it and names no replacement",
            t.id, t.name
        )]
    } else {
        Vec::new()
    };
    Resolution {
        technique: t,
        notices,
    }
}

fn id_suggestions(kb: &KnowledgeBase, q: &str) -> Vec<String> {
    let q = q.to_ascii_uppercase();
    let mut scored: Vec<(usize, &Technique)> = kb
        .techniques
        .iter()
        .filter(|t| t.is_active())
        .map(|t| (strsim::levenshtein(&q, &t.id), t))
        .filter(|(d, _)| *d <= 2)
        .collect();
    // Equal distance: prefer the ID sharing the longer prefix (T1596 -> T1595 before T1566).
    let prefix = |id: &str| {
        q.chars()
            .zip(id.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    scored.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| prefix(&b.1.id).cmp(&prefix(&a.1.id)))
            .then_with(|| a.1.id.cmp(&b.1.id))
    });
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, t)| label(t))
        .collect()
}

fn name_suggestions(kb: &KnowledgeBase, lower: &str) -> Vec<String> {
    let mut scored: Vec<(u32, &Technique)> = kb
        .techniques
        .iter()
        .filter(|t| t.is_active())
        .filter_map(|t| {
            let name = t.name.to_lowercase();
            // Best of whole-name similarity and similarity to any single word of the name, so a typo
            // of one word ("powershel") still finds the technique.
            let whole = strsim::jaro_winkler(lower, &name);
            let word = name
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| strsim::jaro_winkler(lower, w))
                .fold(0.0, f64::max);
            let score = whole.max(word);
            (score >= 0.85).then_some(((score * 1_000_000.0) as u32, t))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    scored
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .map(|(_, t)| label(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tech(id: &str, name: &str) -> Technique {
        Technique {
            id: id.into(),
            name: name.into(),
            tactics: vec![],
            platforms: vec![],
            is_subtechnique: id.contains('.'),
            parent: id.split_once('.').map(|(p, _)| p.to_string()),
            subtechniques: vec![],
            revoked: false,
            revoked_by: None,
            deprecated: false,
            detection_strategies: vec![],
            data_sources: vec![],
            data_components: vec![],
            description: None,
            detection_text: None,
            references: vec![],
            url: None,
        }
    }

    fn kb() -> KnowledgeBase {
        let mut old = tech("T1086", "PowerShell");
        old.revoked = true;
        old.revoked_by = Some("T1500".into());
        let mut mid = tech("T1500", "Old Shell");
        mid.revoked = true;
        mid.revoked_by = Some("T1059.001".into());
        let mut dep = tech("T1064", "Scripting");
        dep.deprecated = true;
        let mut kb = KnowledgeBase {
            techniques: vec![
                tech("T1059", "Command and Scripting Interpreter"),
                tech("T1059.001", "PowerShell"),
                tech("T1059.003", "Windows Command Shell"),
                dep,
                old,
                mid,
                tech("T1566", "Phishing"),
                tech("T1566.001", "Spearphishing Attachment"),
                tech("T1566.002", "Spearphishing Link"),
                tech("T1595", "Active Scanning"),
            ],
            ..Default::default()
        };
        kb.index();
        kb
    }

    #[test]
    fn ids_in_any_case() {
        let kb = kb();
        for q in ["T1059.001", "t1059.001", " attack.t1059.001 "] {
            let r = resolve(&kb, q).unwrap();
            assert_eq!(r.technique.id, "T1059.001");
            assert!(r.notices.is_empty());
        }
    }

    #[test]
    fn revoked_chain_and_deprecated() {
        let kb = kb();
        let r = resolve(&kb, "t1086").unwrap();
        assert_eq!(r.technique.id, "T1059.001");
        assert!(r.notices[0].contains("T1086") && r.notices[0].contains("T1059.001"));
        let r = resolve(&kb, "T1064").unwrap();
        assert_eq!(r.technique.id, "T1064");
        assert!(r.notices[0].contains("deprecated"));
    }

    #[test]
    fn names_exact_and_partial() {
        let kb = kb();
        // Exact name: the active technique wins over the revoked one with the same name.
        assert_eq!(
            resolve(&kb, "powershell").unwrap().technique.id,
            "T1059.001"
        );
        assert_eq!(resolve(&kb, "active scan").unwrap().technique.id, "T1595");
        assert_eq!(resolve(&kb, "Phishing").unwrap().technique.id, "T1566");
        match resolve(&kb, "spearphishing") {
            Err(LookupError::Ambiguous { candidates, .. }) => assert_eq!(
                candidates,
                vec![
                    "T1566.001 Phishing: Spearphishing Attachment",
                    "T1566.002 Phishing: Spearphishing Link"
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_with_suggestions() {
        let kb = kb();
        match resolve(&kb, "T1596") {
            Err(LookupError::Unknown { suggestions, .. }) => {
                assert_eq!(suggestions[0], "T1595 Active Scanning");
                assert!(suggestions.len() <= 5);
            }
            other => panic!("{other:?}"),
        }
        match resolve(&kb, "powershel") {
            Ok(r) => assert_eq!(r.technique.id, "T1059.001"), // substring still matches
            Err(e) => panic!("{e}"),
        }
        match resolve(&kb, "phishng") {
            Err(e @ LookupError::Unknown { .. }) => {
                assert!(e.to_string().contains("T1566 Phishing"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(resolve(&kb, "").is_err());
        assert!(resolve(&kb, "zzzzqqq").is_err());
    }
}
