//! `attack classes`: every technique with its class, confidence, reason and basis, so the
//! classification can be reviewed as a whole rather than one card at a time.

use super::{Basis, ObsClass, Observability, Telemetry};
use crate::attack::{KnowledgeBase, SourceInfo, Technique};
use serde::Serialize;
use std::collections::BTreeMap;

/// One classified technique.
#[derive(Debug, Clone, Serialize)]
pub struct ClassedTechnique {
    pub id: String,
    pub name: String,
    /// Tactic names in matrix order.
    pub tactics: Vec<String>,
    /// ATT&CK's placeholder platforms (`None`) left out.
    pub platforms: Vec<String>,
    #[serde(flatten)]
    pub observability: Observability,
    /// What the data alone says, when an override or the parent decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_class: Option<ObsClass>,
}

/// The report of `attack classes`.
#[derive(Debug, Clone, Serialize)]
pub struct ClassListing {
    pub schema: &'static str,
    pub source: SourceInfo,
    /// Techniques per class, after the filters.
    pub counts: BTreeMap<ObsClass, usize>,
    /// Techniques per basis, after the filters.
    pub bases: BTreeMap<Basis, usize>,
    /// Events the channel check set aside, over all listed techniques.
    pub rejected_events: usize,
    /// Techniques with at least one event set aside.
    pub rejected_techniques: usize,
    /// Said when no technique of the listing is portable, so a zero is never silent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub techniques: Vec<ClassedTechnique>,
}

/// Filters of the listing.
#[derive(Debug, Clone, Default)]
pub struct ClassFilter {
    pub class: Option<ObsClass>,
    /// Tactic ID, shortname or name, case-insensitive.
    pub tactic: Option<String>,
}

/// A filter that names nothing in the loaded data.
#[derive(Debug, thiserror::Error)]
#[error("unknown tactic `{0}` (use a tactic ID, shortname or name of the loaded ATT&CK data)")]
pub struct UnknownTactic(pub String);

/// Classifies every active technique (not revoked, not deprecated), sorted by ID.
pub fn class_listing(
    kb: &KnowledgeBase,
    telemetry: &Telemetry,
    filter: &ClassFilter,
) -> Result<ClassListing, UnknownTactic> {
    let tactic = match &filter.tactic {
        Some(t) => Some(find_tactic(kb, t).ok_or_else(|| UnknownTactic(t.clone()))?),
        None => None,
    };
    let mut techniques: Vec<ClassedTechnique> = kb
        .techniques
        .iter()
        .filter(|t| !t.revoked && !t.deprecated)
        .filter(|t| tactic.as_ref().is_none_or(|s| t.tactics.contains(s)))
        .map(|t| classed(kb, telemetry, t))
        .filter(|c| filter.class.is_none_or(|k| c.observability.class == k))
        .collect();
    techniques.sort_by(|a, b| a.id.cmp(&b.id));
    let mut counts = BTreeMap::new();
    let mut bases = BTreeMap::new();
    for c in &techniques {
        *counts.entry(c.observability.class).or_insert(0) += 1;
        *bases.entry(c.observability.basis).or_insert(0) += 1;
    }
    let note = (filter.class.is_none()
        && !techniques.is_empty()
        && !counts.contains_key(&ObsClass::Portable))
    .then(|| {
        format!(
            "no {} technique here is portable: none is seen by a standard log a Sigma rule can read everywhere the platform runs",
            kb.source.domain
        )
    });
    let rejected = techniques.iter().map(|t| t.observability.rejected.len());
    Ok(ClassListing {
        schema: "attacktrace.attack-classes/1",
        source: kb.source.clone(),
        rejected_events: rejected.clone().sum(),
        rejected_techniques: rejected.filter(|&n| n > 0).count(),
        counts,
        bases,
        note,
        techniques,
    })
}

fn classed(kb: &KnowledgeBase, telemetry: &Telemetry, t: &Technique) -> ClassedTechnique {
    let mut tactics: Vec<&String> = t.tactics.iter().collect();
    tactics.sort_by_key(|s| kb.tactic_order(s));
    let mut observability = telemetry.classify(kb, t);
    let mut data_class = None;
    if matches!(observability.basis, Basis::Override | Basis::Parent) {
        // The channel check's findings stay true whoever decided the class.
        let data = telemetry.classify_data(kb, t);
        data_class = Some(data.class);
        observability.rejected = data.rejected;
    }
    ClassedTechnique {
        id: t.id.clone(),
        name: t.name.clone(),
        tactics: tactics
            .into_iter()
            .map(|s| {
                kb.tactic_by_shortname(s)
                    .map_or(s.clone(), |x| x.name.clone())
            })
            .collect(),
        platforms: telemetry
            .named_platforms(&t.platforms)
            .into_iter()
            .cloned()
            .collect(),
        observability,
        data_class,
    }
}

/// The shortname of a tactic given by ID, shortname or name.
fn find_tactic(kb: &KnowledgeBase, s: &str) -> Option<String> {
    let s = s.trim();
    kb.tactics
        .iter()
        .find(|t| {
            t.id.eq_ignore_ascii_case(s)
                || t.shortname.eq_ignore_ascii_case(s)
                || t.name.eq_ignore_ascii_case(s)
        })
        .map(|t| t.shortname.clone())
}
