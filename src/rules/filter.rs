//! Sigma filters (meta-filters): a `filter:` document naming rules and a selection + condition.
//! An event the filter's condition matches is not reported for the rules it names.
//!
//! The filter's detection is compiled with the same evaluator as rules ([`super::compile`]), so a
//! filter means exactly what the same selection would mean in a rule.

use super::correlation::Problem;
use super::eval::{Detection, Event};
use super::model::LogSource;
use serde_norway::{Mapping, Value};
use std::sync::Arc;

/// One parsed filter.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Rules the filter applies to, by `id` or `name`.
    pub rules: Vec<String>,
    pub detection: Arc<Detection>,
    pub logsource: LogSource,
}

impl Filter {
    /// True when the event is filtered out (its matches are not reported).
    pub fn suppresses(&self, event: &Event) -> bool {
        self.detection.is_match(event)
    }
}

/// Whether a filter's logsource can apply to a rule's: every part both name must agree; a part
/// only one names does not conflict (the specification asks for compatible, not identical).
pub fn logsource_compatible(filter: &LogSource, rule: &LogSource) -> bool {
    let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    agree(&filter.product, &rule.product)
        && agree(&filter.category, &rule.category)
        && agree(&filter.service, &rule.service)
}

/// Reads the document's `filter` mapping; `logsource` is the loader's lower-cased one.
pub fn parse(doc: &Mapping, logsource: &LogSource) -> Result<Filter, Vec<Problem>> {
    let mut problems = Vec::new();
    let Some(Value::Mapping(f)) = doc.get("filter") else {
        return Err(vec![Problem {
            key: vec!["filter"],
            message: "`filter` must be a mapping".into(),
        }]);
    };
    if logsource.is_empty() {
        problems.push(Problem {
            key: vec!["filter"],
            message: "a filter needs a `logsource` (the specification makes it mandatory)".into(),
        });
    }
    let mut rules = Vec::new();
    match f.get("rules") {
        Some(Value::Sequence(items)) if !items.is_empty() => {
            for item in items {
                match item.as_str() {
                    Some(s) if !s.is_empty() => rules.push(s.to_string()),
                    _ => problems.push(Problem {
                        key: vec!["filter", "rules"],
                        message: "`rules` must hold rule ids or names".into(),
                    }),
                }
            }
        }
        // A single id written as a scalar is common enough to accept.
        Some(Value::String(s)) if !s.is_empty() => rules.push(s.clone()),
        _ => problems.push(Problem {
            key: vec!["filter"],
            message: "`rules` must name at least one rule".into(),
        }),
    }
    let mut detection: Mapping = f.clone();
    detection.remove("rules");
    if detection.get("condition").is_none() {
        problems.push(Problem {
            key: vec!["filter"],
            message: "the filter has no `condition`".into(),
        });
    }
    let compiled = match super::compile::compile_detection("filter", Value::Mapping(detection)) {
        Ok(d) => Some(d),
        Err(reason) => {
            problems.push(Problem {
                key: vec!["filter"],
                message: format!("the filter's selection cannot be evaluated: {reason}"),
            });
            None
        }
    };
    match compiled {
        Some(detection) if problems.is_empty() => Ok(Filter {
            rules,
            detection,
            logsource: logsource.clone(),
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: &str, category: Option<&str>) -> LogSource {
        LogSource {
            product: Some(product.into()),
            category: category.map(str::to_string),
            service: None,
        }
    }

    #[test]
    fn parses_and_suppresses() {
        let doc: Mapping = serde_norway::from_str(
            "filter:\n  rules: [r-1, my_rule]\n  selection:\n    User|startswith: svc_\n  condition: selection\n",
        )
        .unwrap();
        let f = parse(&doc, &ls("windows", None)).unwrap();
        assert_eq!(f.rules, vec!["r-1", "my_rule"]);
        let ev = |u: &str| {
            Event::new(
                serde_json::json!({ "User": u })
                    .as_object()
                    .unwrap()
                    .clone(),
            )
        };
        assert!(f.suppresses(&ev("svc_backup")));
        assert!(!f.suppresses(&ev("alice")));
    }

    #[test]
    fn problems_are_listed() {
        let doc: Mapping = serde_norway::from_str("filter:\n  selection:\n    User: x\n").unwrap();
        let e = parse(&doc, &LogSource::default()).unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
    }

    #[test]
    fn logsource_compatibility() {
        let rule = ls("windows", Some("process_creation"));
        assert!(logsource_compatible(&ls("windows", None), &rule));
        assert!(logsource_compatible(
            &ls("windows", Some("process_creation")),
            &rule
        ));
        assert!(!logsource_compatible(&ls("linux", None), &rule));
        assert!(!logsource_compatible(
            &ls("windows", Some("file_event")),
            &rule
        ));
    }
}
