//! Correlations and filters resolved against the loaded rule set: which rules they name (by `id`
//! or `name`), in which order chained correlations must be evaluated, and every problem that keeps
//! one from being evaluated. `check` reports the problems; `test` reports them and evaluates the rest.

use super::correlation::{self, Correlation};
use super::filter::{self, Filter};
use super::model::{RuleKind, RuleRecord};
use crate::diag::Code;
use std::collections::{BTreeMap, HashMap};

/// A correlation whose references all resolved.
#[derive(Debug, Clone)]
pub struct ResolvedCorrelation {
    /// Index of the correlation's record in the rule list.
    pub rule: usize,
    pub spec: Correlation,
    /// Record index of each entry of `spec.rules`, same order.
    pub refs: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct ResolvedFilter {
    pub rule: usize,
    pub spec: Filter,
    /// Record indices of the detection rules the filter applies to (logsource-compatible).
    pub targets: Vec<usize>,
}

/// A problem with one correlation or filter document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MetaProblem {
    /// Record index of the correlation or filter.
    pub rule: usize,
    pub code: Code,
    /// Attribute path to point at.
    pub key: Vec<&'static str>,
    pub message: String,
}

/// Everything `check` and `test` need about the set's correlations and filters.
#[derive(Debug, Clone, Default)]
pub struct MetaRules {
    /// In evaluation order: a correlation comes after every correlation it references.
    pub correlations: Vec<ResolvedCorrelation>,
    pub filters: Vec<ResolvedFilter>,
    pub problems: Vec<MetaProblem>,
}

impl MetaRules {
    /// Rules (and chained correlations) whose own matches are not reported: every correlation
    /// naming them leaves `generate` off (the specification's default), so they only feed it.
    pub fn hidden_bases(&self, rules: &[RuleRecord]) -> Vec<bool> {
        let mut referenced = vec![false; rules.len()];
        let mut generated = vec![false; rules.len()];
        for c in &self.correlations {
            for &r in &c.refs {
                referenced[r] = true;
                generated[r] |= c.spec.generate;
            }
        }
        (0..rules.len())
            .map(|i| referenced[i] && !generated[i])
            .collect()
    }
}

/// The `name` attribute of a record, when the loader kept its source.
pub fn rule_name(r: &RuleRecord) -> Option<&str> {
    r.source.as_ref()?.map.get("name")?.as_str()
}

/// Record indices by lower-case id and by name.
struct Names<'a> {
    by_id: HashMap<String, Vec<usize>>,
    by_name: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Names<'a> {
    fn new(rules: &'a [RuleRecord]) -> Self {
        let mut n = Names {
            by_id: HashMap::new(),
            by_name: HashMap::new(),
        };
        for (i, r) in rules.iter().enumerate() {
            if let Some(id) = &r.id {
                n.by_id.entry(id.to_lowercase()).or_default().push(i);
            }
            if let Some(name) = rule_name(r) {
                n.by_name.entry(name).or_default().push(i);
            }
        }
        n
    }

    /// The one record `reference` names, or why there is none.
    fn find(&self, reference: &str) -> Result<usize, String> {
        let by_id = self.by_id.get(&reference.to_lowercase());
        let by_name = self.by_name.get(reference);
        let mut all: Vec<usize> = by_id
            .into_iter()
            .chain(by_name)
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        all.dedup();
        match all.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("no loaded rule has the id or name `{reference}`")),
            many => Err(format!(
                "`{reference}` names {} rules (ids and names must be unique)",
                many.len()
            )),
        }
    }
}

/// Parses every correlation and filter of `rules` and resolves their references.
pub fn resolve(rules: &[RuleRecord]) -> MetaRules {
    let names = Names::new(rules);
    let mut out = MetaRules::default();
    let mut parsed: BTreeMap<usize, ResolvedCorrelation> = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let Some(src) = r.source.as_ref() else {
            if r.kind != RuleKind::Detection {
                out.problems.push(problem(
                    i,
                    invalid_code(r.kind),
                    &[],
                    "the rule's source was not kept, so it cannot be read".into(),
                ));
            }
            continue;
        };
        match r.kind {
            RuleKind::Detection => {}
            RuleKind::Correlation => match correlation::parse(&src.map) {
                Ok(spec) => {
                    if let Some(c) = resolve_correlation(i, spec, rules, &names, &mut out.problems)
                    {
                        parsed.insert(i, c);
                    }
                }
                Err(ps) => out.problems.extend(
                    ps.into_iter()
                        .map(|p| problem(i, Code::CorrelationInvalid, &p.key, p.message)),
                ),
            },
            RuleKind::Filter => match filter::parse(&src.map, &r.logsource) {
                Ok(spec) => {
                    out.filters
                        .extend(resolve_filter(i, spec, rules, &names, &mut out.problems))
                }
                Err(ps) => out.problems.extend(
                    ps.into_iter()
                        .map(|p| problem(i, Code::FilterInvalid, &p.key, p.message)),
                ),
            },
        }
    }
    out.correlations = order(parsed, rules, &mut out.problems);
    out.problems.sort();
    out
}

fn invalid_code(kind: RuleKind) -> Code {
    match kind {
        RuleKind::Filter => Code::FilterInvalid,
        _ => Code::CorrelationInvalid,
    }
}

fn problem(rule: usize, code: Code, key: &[&'static str], message: String) -> MetaProblem {
    MetaProblem {
        rule,
        code,
        key: key.to_vec(),
        message,
    }
}

fn resolve_correlation(
    i: usize,
    spec: Correlation,
    rules: &[RuleRecord],
    names: &Names<'_>,
    problems: &mut Vec<MetaProblem>,
) -> Option<ResolvedCorrelation> {
    let before = problems.len();
    let mut refs = Vec::with_capacity(spec.rules.len());
    for reference in &spec.rules {
        match names.find(reference) {
            Ok(j) if rules[j].kind == RuleKind::Filter => problems.push(problem(
                i,
                Code::RuleReferenceUnknown,
                &["correlation", "rules"],
                format!(
                    "`{reference}` is a filter; a correlation references rules or correlations"
                ),
            )),
            Ok(j) if j == i => problems.push(problem(
                i,
                Code::CorrelationInvalid,
                &["correlation", "rules"],
                "the correlation references itself".into(),
            )),
            Ok(j) => refs.push(j),
            Err(why) => problems.push(problem(
                i,
                Code::RuleReferenceUnknown,
                &["correlation", "rules"],
                why,
            )),
        }
    }
    for (alias, per_rule) in &spec.aliases {
        for rule_name in per_rule.keys() {
            if !spec.rules.iter().any(|r| r == rule_name) {
                problems.push(problem(
                    i,
                    Code::CorrelationInvalid,
                    &["correlation", "aliases"],
                    format!("alias `{alias}` names `{rule_name}`, which is not among the correlation's rules"),
                ));
            }
        }
    }
    (problems.len() == before).then_some(ResolvedCorrelation {
        rule: i,
        spec,
        refs,
    })
}

fn resolve_filter(
    i: usize,
    spec: Filter,
    rules: &[RuleRecord],
    names: &Names<'_>,
    problems: &mut Vec<MetaProblem>,
) -> Option<ResolvedFilter> {
    let before = problems.len();
    let mut targets = Vec::with_capacity(spec.rules.len());
    for reference in &spec.rules {
        match names.find(reference) {
            Ok(j) if rules[j].kind != RuleKind::Detection => problems.push(problem(
                i,
                Code::RuleReferenceUnknown,
                &["filter", "rules"],
                format!("`{reference}` is not a detection rule; a filter amends detection rules"),
            )),
            Ok(j) if !filter::logsource_compatible(&spec.logsource, &rules[j].logsource) => {
                problems.push(problem(
                    i,
                    Code::FilterLogsourceMismatch,
                    &["logsource"],
                    format!(
                        "the filter's logsource {} does not fit `{reference}`'s {}",
                        spec.logsource.key(),
                        rules[j].logsource.key()
                    ),
                ));
            }
            Ok(j) => targets.push(j),
            Err(why) => problems.push(problem(
                i,
                Code::RuleReferenceUnknown,
                &["filter", "rules"],
                why,
            )),
        }
    }
    (problems.len() == before).then_some(ResolvedFilter {
        rule: i,
        spec,
        targets,
    })
}

/// Correlations in dependency order; those in a loop, or depending on one that cannot be
/// evaluated, are reported and dropped.
fn order(
    mut parsed: BTreeMap<usize, ResolvedCorrelation>,
    rules: &[RuleRecord],
    problems: &mut Vec<MetaProblem>,
) -> Vec<ResolvedCorrelation> {
    let mut done: Vec<ResolvedCorrelation> = Vec::new();
    let mut placed = vec![false; rules.len()];
    loop {
        let ready: Vec<usize> = parsed
            .iter()
            .filter(|(_, c)| {
                c.refs
                    .iter()
                    .all(|&r| rules[r].kind != RuleKind::Correlation || placed[r])
            })
            .map(|(&i, _)| i)
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in ready {
            if let Some(c) = parsed.remove(&i) {
                placed[i] = true;
                done.push(c);
            }
        }
    }
    for (i, _) in parsed {
        problems.push(problem(
            i,
            Code::CorrelationInvalid,
            &["correlation", "rules"],
            "the correlation references a correlation that loops back to it or cannot be evaluated"
                .into(),
        ));
    }
    done
}
