//! Sigma correlation rules as plain data, parsed from the YAML the loader kept.
//!
//! The loader only classifies a `correlation:` document ([`super::RuleKind::Correlation`]); this
//! module turns its `correlation` mapping into a [`Correlation`] or the list of every problem found,
//! so `check` can report them all and `test` refuses to evaluate a correlation it cannot read.
//! Reference resolution across the rule set lives in [`super::references`], evaluation over event
//! streams in `crate::evidence::correlate`.

use serde_norway::{Mapping, Value};
use std::collections::BTreeMap;

/// The correlation types of the Sigma correlation specification (v2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationType {
    pub fn parse(s: &str) -> Option<CorrelationType> {
        Some(match s {
            "event_count" => CorrelationType::EventCount,
            "value_count" => CorrelationType::ValueCount,
            "temporal" => CorrelationType::Temporal,
            "temporal_ordered" => CorrelationType::TemporalOrdered,
            "value_sum" => CorrelationType::ValueSum,
            "value_avg" => CorrelationType::ValueAvg,
            "value_percentile" => CorrelationType::ValuePercentile,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CorrelationType::EventCount => "event_count",
            CorrelationType::ValueCount => "value_count",
            CorrelationType::Temporal => "temporal",
            CorrelationType::TemporalOrdered => "temporal_ordered",
            CorrelationType::ValueSum => "value_sum",
            CorrelationType::ValueAvg => "value_avg",
            CorrelationType::ValuePercentile => "value_percentile",
        }
    }

    /// Types that aggregate the values of `condition.field`.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValuePercentile
        )
    }

    /// Temporal types may omit the condition: every referenced rule must then be seen.
    pub fn is_temporal(self) -> bool {
        matches!(
            self,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered
        )
    }
}

/// A condition operator; several in one `condition` mapping are joined by AND (a range).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            _ => return None,
        })
    }

    pub fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Op::Gt => value > bound,
            Op::Gte => value >= bound,
            Op::Lt => value < bound,
            Op::Lte => value <= bound,
            Op::Eq => value == bound,
            Op::Neq => value != bound,
        }
    }
}

/// One parsed correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub kind: CorrelationType,
    /// Referenced rules, by `id` or `name`, in the order written (it matters for temporal_ordered).
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Window length in seconds.
    pub timespan: u64,
    /// Bounds joined by AND; empty only for temporal types (then: all referenced rules).
    pub condition: Vec<(Op, f64)>,
    /// `condition.field`: one name, or several whose values are taken together.
    pub field: Vec<String>,
    /// alias -> (rule name -> field in that rule's events).
    pub aliases: BTreeMap<String, BTreeMap<String, String>>,
    /// `generate: true`: the referenced rules also report on their own.
    pub generate: bool,
}

impl Correlation {
    /// True when `value` satisfies every bound (temporal without condition: all rules seen).
    pub fn accepts(&self, value: f64) -> bool {
        if self.condition.is_empty() {
            return value >= self.rules.len() as f64;
        }
        self.condition.iter().all(|(op, b)| op.holds(value, *b))
    }
}

/// What is wrong with a correlation; `key` is the attribute path to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: Vec<&'static str>,
    pub message: String,
}

fn problem(key: &[&'static str], message: impl Into<String>) -> Problem {
    Problem {
        key: key.to_vec(),
        message: message.into(),
    }
}

/// Parses a `timespan` (`number` + `s`, `m`, `h` or `d`) into seconds; zero is refused.
pub fn parse_timespan(s: &str) -> Option<u64> {
    let unit = match s.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = &s[..s.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(unit).filter(|&secs| secs > 0)
}

/// Reads the document's `correlation` mapping (and the top-level `generate`), collecting every
/// problem rather than stopping at the first.
pub fn parse(doc: &Mapping) -> Result<Correlation, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(Value::Mapping(c)) = doc.get("correlation") else {
        return Err(vec![problem(
            &["correlation"],
            "`correlation` must be a mapping",
        )]);
    };
    let kind = match c.get("type") {
        Some(Value::String(s)) => CorrelationType::parse(s).or_else(|| {
            problems.push(problem(
                &["correlation", "type"],
                format!("unknown correlation type `{s}` (event_count, value_count, temporal, temporal_ordered, value_sum, value_avg, value_percentile)"),
            ));
            None
        }),
        None => {
            problems.push(problem(&["correlation"], "`type` is missing"));
            None
        }
        Some(_) => {
            problems.push(problem(&["correlation", "type"], "`type` must be a string"));
            None
        }
    };
    let rules = string_list(c, "rules", &mut problems);
    if rules.as_ref().is_some_and(Vec::is_empty) || rules.is_none() && c.get("rules").is_none() {
        problems.push(problem(
            &["correlation"],
            "`rules` must name at least one rule",
        ));
    }
    let group_by = string_list(c, "group-by", &mut problems);
    let timespan = match c.get("timespan") {
        Some(Value::String(s)) => parse_timespan(s).or_else(|| {
            problems.push(problem(
                &["correlation", "timespan"],
                format!("timespan `{s}` is not a positive number followed by s, m, h or d"),
            ));
            None
        }),
        Some(_) => {
            problems.push(problem(
                &["correlation", "timespan"],
                "`timespan` must be a string such as `10m`",
            ));
            None
        }
        None => {
            problems.push(problem(&["correlation"], "`timespan` is missing"));
            None
        }
    };
    let (condition, field) = condition(c.get("condition"), &mut problems);
    let aliases = aliases(c.get("aliases"), &mut problems);
    let generate = generate(doc, c, &mut problems);
    if let Some(kind) = kind {
        requirements(
            kind,
            &condition,
            &field,
            group_by.is_some(),
            c,
            &mut problems,
        );
    }
    match (kind, rules, timespan) {
        (Some(kind), Some(rules), Some(timespan)) if problems.is_empty() => Ok(Correlation {
            kind,
            rules,
            group_by: group_by.unwrap_or_default(),
            timespan,
            condition,
            field,
            aliases,
            generate,
        }),
        _ => Err(problems),
    }
}

/// What each type requires beyond the common attributes.
fn requirements(
    kind: CorrelationType,
    condition: &[(Op, f64)],
    field: &[String],
    has_group_by: bool,
    c: &Mapping,
    problems: &mut Vec<Problem>,
) {
    if !has_group_by && !kind.is_temporal() && c.get("group-by").is_none() {
        // The specification marks group-by mandatory; temporal rules without it would correlate
        // across every host, which is legal but easily a mistake, so only counting types require it.
        problems.push(problem(
            &["correlation"],
            format!("`group-by` is required for {}", kind.as_str()),
        ));
    }
    if condition.is_empty()
        && !kind.is_temporal()
        && c.get("condition").is_some_and(|v| !v.is_null())
    {
        problems.push(problem(
            &["correlation", "condition"],
            "the condition needs an operator (gt, gte, lt, lte, eq, neq)",
        ));
    } else if condition.is_empty() && !kind.is_temporal() && c.get("condition").is_none() {
        problems.push(problem(
            &["correlation"],
            format!("`condition` is required for {}", kind.as_str()),
        ));
    }
    if kind.needs_field() && field.is_empty() {
        problems.push(problem(
            &["correlation", "condition"],
            format!("`condition.field` is required for {}", kind.as_str()),
        ));
    }
    if !kind.needs_field() && !field.is_empty() {
        problems.push(problem(
            &["correlation", "condition", "field"],
            format!("`field` has no meaning for {}", kind.as_str()),
        ));
    }
}

fn string_list(c: &Mapping, key: &'static str, problems: &mut Vec<Problem>) -> Option<Vec<String>> {
    let v = c.get(key)?;
    let Value::Sequence(items) = v else {
        problems.push(problem(
            &["correlation", key],
            format!("`{key}` must be a list of strings"),
        ));
        return None;
    };
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) if !s.is_empty() => {
                if out.contains(s) {
                    problems.push(problem(
                        &["correlation", key],
                        format!("`{s}` is listed twice in `{key}`"),
                    ));
                }
                out.push(s.clone());
            }
            _ => problems.push(problem(
                &["correlation", key],
                format!("`{key}` must hold non-empty strings"),
            )),
        }
    }
    Some(out)
}

fn condition(v: Option<&Value>, problems: &mut Vec<Problem>) -> (Vec<(Op, f64)>, Vec<String>) {
    let (mut bounds, mut field) = (Vec::new(), Vec::new());
    let m = match v {
        None | Some(Value::Null) => return (bounds, field),
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            problems.push(problem(
                &["correlation", "condition"],
                "`condition` must be a mapping such as `gte: 10`",
            ));
            return (bounds, field);
        }
    };
    for (k, v) in m {
        let key = k.as_str().unwrap_or("");
        if key == "field" {
            match v {
                Value::String(s) if !s.is_empty() => field.push(s.clone()),
                Value::Sequence(items) if !items.is_empty() => {
                    for item in items {
                        match item.as_str() {
                            Some(s) if !s.is_empty() => field.push(s.to_string()),
                            _ => problems.push(problem(
                                &["correlation", "condition", "field"],
                                "`field` must hold field names",
                            )),
                        }
                    }
                }
                _ => problems.push(problem(
                    &["correlation", "condition", "field"],
                    "`field` must be a field name or a list of them",
                )),
            }
            continue;
        }
        let Some(op) = Op::parse(key) else {
            problems.push(problem(
                &["correlation", "condition"],
                format!("unknown condition operator `{key}` (gt, gte, lt, lte, eq, neq, field)"),
            ));
            continue;
        };
        match v.as_f64().filter(|n| n.is_finite()) {
            Some(n) => bounds.push((op, n)),
            None => problems.push(problem(
                &["correlation", "condition"],
                format!("`{key}` needs a number"),
            )),
        }
    }
    (bounds, field)
}

fn aliases(
    v: Option<&Value>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let m = match v {
        None | Some(Value::Null) => return out,
        Some(Value::Mapping(m)) => m,
        Some(_) => {
            problems.push(problem(
                &["correlation", "aliases"],
                "`aliases` must map alias names to rule-name: field mappings",
            ));
            return out;
        }
    };
    for (alias, per_rule) in m {
        let (Some(alias), Value::Mapping(per_rule)) = (alias.as_str(), per_rule) else {
            problems.push(problem(
                &["correlation", "aliases"],
                "each alias must map rule names to field names",
            ));
            continue;
        };
        let mut fields = BTreeMap::new();
        for (rule, field) in per_rule {
            match (rule.as_str(), field.as_str()) {
                (Some(r), Some(f)) => {
                    fields.insert(r.to_string(), f.to_string());
                }
                _ => problems.push(problem(
                    &["correlation", "aliases"],
                    format!("alias `{alias}` must map rule names to field names"),
                )),
            }
        }
        out.insert(alias.to_string(), fields);
    }
    out
}

/// `generate` is documented at the top level of the rule; older examples nest it in `correlation`.
fn generate(doc: &Mapping, c: &Mapping, problems: &mut Vec<Problem>) -> bool {
    let (v, key): (_, &[&'static str]) = match (doc.get("generate"), c.get("generate")) {
        (Some(v), _) => (v, &["generate"]),
        (None, Some(v)) => (v, &["correlation", "generate"]),
        (None, None) => return false,
    };
    match v {
        Value::Bool(b) => *b,
        Value::Null => false,
        _ => {
            problems.push(problem(key, "`generate` must be true or false"));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(yaml: &str) -> Mapping {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn timespans() {
        assert_eq!(parse_timespan("90m"), Some(5400));
        assert_eq!(parse_timespan("2d"), Some(172_800));
        assert_eq!(parse_timespan("15s"), Some(15));
        for bad in [
            "",
            "m",
            "0s",
            "1H",
            "1w",
            "-1m",
            "1.5h",
            "10",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_a_value_count_with_a_range() {
        let c = parse(&doc(
            "correlation:\n  type: value_count\n  rules: [a, b]\n  group-by: [Host]\n  timespan: 2h\n  condition:\n    field: User\n    gt: 3\n    lte: 8\n",
        ))
        .unwrap();
        assert_eq!(c.kind, CorrelationType::ValueCount);
        assert_eq!(c.timespan, 7200);
        assert_eq!(c.field, vec!["User"]);
        assert!(c.accepts(4.0) && c.accepts(8.0) && !c.accepts(3.0) && !c.accepts(9.0));
        assert!(!c.generate);
    }

    #[test]
    fn temporal_without_condition_needs_every_rule() {
        let c = parse(&doc(
            "generate: true\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [Host]\n  timespan: 5m\n",
        ))
        .unwrap();
        assert!(c.generate && c.accepts(3.0) && !c.accepts(2.0));
    }

    #[test]
    fn every_problem_is_reported() {
        let e = parse(&doc(
            "correlation:\n  type: value_sum\n  rules: []\n  timespan: 1w\n  condition:\n    above: 3\n",
        ))
        .unwrap_err();
        let text: Vec<&str> = e.iter().map(|p| p.message.as_str()).collect();
        assert!(
            text.iter().any(|m| m.contains("at least one rule")),
            "{text:?}"
        );
        assert!(text.iter().any(|m| m.contains("timespan `1w`")), "{text:?}");
        assert!(
            text.iter().any(|m| m.contains("operator `above`")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|m| m.contains("`group-by` is required")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|m| m.contains("`condition.field` is required")),
            "{text:?}"
        );
        let e = parse(&doc(
            "correlation:\n  type: sequence\n  rules: [a]\n  timespan: 1m\n",
        ))
        .unwrap_err();
        assert!(e[0].message.contains("unknown correlation type"));
    }
}
