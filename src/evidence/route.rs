//! Log-source routing: which rules can apply to an event, from what the event says about its origin.
//!
//! A rule's logsource maps (through `mappings/sigma_logsources.yaml`) to concrete event sources:
//! Windows channel + provider + event IDs. An event carries a channel, provider and event ID (and
//! optionally `product`/`category`/`service` fields). The rules:
//! - an event that says nothing about its origin goes to every rule (nothing can be ruled out);
//! - a logsource field the event carries must equal the rule's when the rule sets it;
//! - an event with a channel or provider goes to rules bound to that channel (or, for an event without
//!   a channel, that provider) whose event IDs include the event's, and to unbound rules of product
//!   `windows` or without product (`windows/*/*`, logsources the table does not know);
//! - other events (only logsource fields) go to every rule that passed the field check.
//!
//! Candidate lists are computed once per distinct [`RouteKey`], not per event.

use super::normalise::RouteKey;
use crate::rules::RuleRecord;
use crate::telemetry::Telemetry;

/// One concrete source a rule reads.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Bound {
    channel: Option<String>,
    provider: Option<String>,
    /// Empty: any event of the channel or provider.
    ids: Vec<u64>,
}

#[derive(Debug, Clone)]
struct RuleRoute {
    product: Option<String>,
    category: Option<String>,
    service: Option<String>,
    bound: Vec<Bound>,
}

/// Routes events to the indexes of the rules they can match.
#[derive(Debug, Clone)]
pub struct Router {
    /// (rule index in the rule set, route), evaluable rules only, in rule-set order.
    rules: Vec<(usize, RuleRoute)>,
}

impl Router {
    /// Indexes the rules in `rules` that have a compiled detection.
    pub fn build(rules: &[RuleRecord], telemetry: &Telemetry) -> Router {
        let routes = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.compiled.is_some())
            .map(|(i, r)| {
                let bound = telemetry
                    .logsource_sources(&r.logsource)
                    .into_iter()
                    .filter(|s| s.windows_channel.is_some() || s.provider.is_some())
                    .map(|s| Bound {
                        channel: s.windows_channel.map(|c| c.to_lowercase()),
                        provider: s.provider.map(|p| p.to_lowercase()),
                        ids: s.event_ids.iter().map(|&id| u64::from(id)).collect(),
                    })
                    .collect();
                let ls = &r.logsource;
                (
                    i,
                    RuleRoute {
                        product: ls.product.clone(),
                        category: ls.category.clone(),
                        service: ls.service.clone(),
                        bound,
                    },
                )
            })
            .collect();
        Router { rules: routes }
    }

    /// Every evaluable rule, for `--no-routing`.
    pub fn all(&self) -> Vec<usize> {
        self.rules.iter().map(|(i, _)| *i).collect()
    }

    /// Rule indexes whose logsource can apply to an event with this key, ascending.
    pub fn candidates(&self, key: &RouteKey) -> Vec<usize> {
        self.rules
            .iter()
            .filter(|(_, r)| applies(r, key))
            .map(|(i, _)| *i)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

fn applies(r: &RuleRoute, key: &RouteKey) -> bool {
    if key.is_unknown() {
        return true;
    }
    let conflict = |rule: &Option<String>, event: &Option<String>| matches!((rule, event), (Some(a), Some(b)) if a != b);
    if conflict(&r.product, &key.product)
        || conflict(&r.category, &key.category)
        || conflict(&r.service, &key.service)
    {
        return false;
    }
    if key.channel.is_none() && key.provider.is_none() {
        return true;
    }
    if r.bound.is_empty() {
        return r.product.as_deref().is_none_or(|p| p == "windows");
    }
    r.bound.iter().any(|b| {
        let source = match (&key.channel, &b.channel) {
            (Some(ec), Some(bc)) => ec == bc,
            // No channel on one side: fall back to the provider.
            _ => matches!((&key.provider, &b.provider), (Some(ep), Some(bp)) if ep == bp),
        };
        source && (b.ids.is_empty() || key.event_id.is_none_or(|id| b.ids.contains(&id)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::load::{load_text, LoadOptions};
    use std::path::Path;

    fn rules() -> Vec<RuleRecord> {
        let mk = |ls: &str| {
            format!("title: t\nlogsource:\n{ls}\ndetection:\n  sel:\n    a: 1\n  condition: sel\n")
        };
        let docs = [
            "  product: windows\n  category: process_creation",
            "  product: windows\n  service: security",
            "  product: windows",
            "  product: linux\n  service: auditd",
            "  product: aws\n  service: cloudtrail",
            "  product: windows\n  category: made_up",
        ]
        .map(mk)
        .join("---\n");
        load_text(Path::new("r.yml"), &docs, &LoadOptions::default()).0
    }

    fn key(channel: Option<&str>, id: Option<u64>, product: Option<&str>) -> RouteKey {
        RouteKey {
            channel: channel.map(str::to_lowercase),
            event_id: id,
            product: product.map(str::to_owned),
            ..RouteKey::default()
        }
    }

    #[test]
    fn routes_by_channel_id_and_product() {
        let rules = rules();
        assert_eq!(rules.len(), 6);
        let r = Router::build(&rules, Telemetry::embedded());
        let sysmon = Some("Microsoft-Windows-Sysmon/Operational");
        assert_eq!(r.candidates(&key(sysmon, Some(1), None)), vec![0, 2, 5]);
        assert_eq!(r.candidates(&key(sysmon, Some(3), None)), vec![2, 5]);
        assert_eq!(
            r.candidates(&key(Some("Security"), Some(4688), None)),
            vec![0, 1, 2, 5]
        );
        assert_eq!(
            r.candidates(&key(Some("Security"), Some(4624), None)),
            vec![1, 2, 5]
        );
        assert_eq!(r.candidates(&key(None, None, Some("aws"))), vec![4]);
        assert_eq!(r.candidates(&key(None, None, None)), r.all());
        let by_provider = RouteKey {
            provider: Some("microsoft-windows-sysmon".into()),
            event_id: Some(1),
            ..RouteKey::default()
        };
        assert_eq!(r.candidates(&by_provider), vec![0, 2, 5]);
    }
}
