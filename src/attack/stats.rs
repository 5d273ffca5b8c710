//! Counts of a loaded knowledge base, for `attack info` and for checking a load against known figures.

use super::model::KnowledgeBase;
use serde::Serialize;

/// What a knowledge base holds. Technique counts are of active (not revoked, not deprecated) objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttackStats {
    pub domain: String,
    pub version: String,
    pub tactics: usize,
    /// Active techniques that are not sub-techniques.
    pub techniques: usize,
    /// Active sub-techniques.
    pub sub_techniques: usize,
    pub revoked: usize,
    pub deprecated: usize,
    pub detection_strategies: usize,
    pub analytics: usize,
    pub data_components: usize,
    pub groups: usize,
    pub software: usize,
    pub campaigns: usize,
    pub mitigations: usize,
}

pub fn stats(kb: &KnowledgeBase) -> AttackStats {
    let active = || kb.techniques.iter().filter(|t| t.is_active());
    AttackStats {
        domain: kb.source.domain.clone(),
        version: kb.source.version.clone(),
        tactics: kb.tactics.len(),
        techniques: active().filter(|t| !t.is_subtechnique).count(),
        sub_techniques: active().filter(|t| t.is_subtechnique).count(),
        revoked: kb.techniques.iter().filter(|t| t.revoked).count(),
        deprecated: kb
            .techniques
            .iter()
            .filter(|t| t.deprecated && !t.revoked)
            .count(),
        detection_strategies: kb.detection_strategies.len(),
        analytics: kb.analytics.len(),
        data_components: kb.data_components.len(),
        groups: kb.groups.len(),
        software: kb.software.len(),
        campaigns: kb.campaigns.len(),
        mitigations: kb.mitigations.len(),
    }
}
