//! Log-source validators: the logsource is known, and the detection's fields exist for it.
//!
//! The field table is `mappings/fields.yaml`, generated from SigmaHQ's `logsource.json` by
//! `tools/gen_fields.py`. An entry with an empty field list means "known logsource, fields not
//! enumerated": its fields are not checked.

use super::detection::{detection_of, for_each_key};
use super::RuleCtx;
use crate::diag::Code;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Product {
    #[serde(default)]
    common: Vec<String>,
    #[serde(default)]
    category: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    service: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    #[allow(dead_code)]
    version: String,
    products: BTreeMap<String, Product>,
}

/// The two parts of a logsource that name a table entry under a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Category,
    Service,
}

impl Part {
    fn of(ls: &crate::rules::LogSource) -> [(Part, Option<&str>); 2] {
        [
            (Part::Category, ls.category.as_deref()),
            (Part::Service, ls.service.as_deref()),
        ]
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Category => "category",
            Part::Service => "service",
        })
    }
}

impl Product {
    fn part(&self, kind: Part) -> &BTreeMap<String, Vec<String>> {
        match kind {
            Part::Category => &self.category,
            Part::Service => &self.service,
        }
    }
}

/// Known logsources and their fields.
#[derive(Debug, Default)]
pub struct FieldTable {
    products: BTreeMap<String, Product>,
}

/// A field table that does not match its schema.
#[derive(Debug, thiserror::Error)]
#[error("the field table does not parse")]
pub struct FieldTableError(#[from] serde_norway::Error);

/// `mappings/fields.yaml`, compiled in.
const EMBEDDED: &str = include_str!("../../mappings/fields.yaml");

/// Product key standing for "no product" in the table.
const NO_PRODUCT: &str = "empty";

impl FieldTable {
    pub fn parse(text: &str) -> Result<FieldTable, FieldTableError> {
        let file: FieldFile = serde_norway::from_str(text)?;
        Ok(FieldTable {
            products: file.products,
        })
    }

    /// The table embedded from `mappings/fields.yaml`. It is part of the build, so a parse
    /// failure is a bug: it panics (and a unit test parses it) instead of disabling the checks.
    pub fn embedded() -> &'static FieldTable {
        static TABLE: OnceLock<FieldTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            FieldTable::parse(EMBEDDED).unwrap_or_else(|e| {
                panic!("embedded mappings/fields.yaml is invalid: {e}: {}", e.0)
            })
        })
    }

    fn entry(&self, product: &str, kind: Part, name: &str) -> Option<&Vec<String>> {
        self.products.get(product)?.part(kind).get(name)
    }

    /// Problems with a logsource: unknown parts, as messages.
    pub fn logsource_problems(&self, ls: &crate::rules::LogSource) -> Vec<String> {
        let mut out = Vec::new();
        let product = ls.product.as_deref();
        if let Some(p) = product {
            if !self.products.contains_key(p) {
                out.push(format!(
                    "product `{p}` is not a known Sigma logsource product"
                ));
                return out;
            }
        }
        for (kind, value) in Part::of(ls) {
            let Some(v) = value else { continue };
            let found = product.is_some_and(|p| self.entry(p, kind, v).is_some())
                || self.entry(NO_PRODUCT, kind, v).is_some()
                || (product.is_none()
                    && self.products.values().any(|p| p.part(kind).contains_key(v)));
            if !found {
                out.push(format!(
                    "{kind} `{v}` is not known for product `{}`",
                    product.unwrap_or("(none)")
                ));
            }
        }
        out
    }

    /// Fields known for a logsource; `None` when the table does not enumerate them.
    pub fn fields(&self, ls: &crate::rules::LogSource) -> Option<BTreeSet<&str>> {
        let product = ls.product.as_deref().unwrap_or(NO_PRODUCT);
        let mut lists = Vec::new();
        for (kind, value) in Part::of(ls) {
            let Some(v) = value else { continue };
            if let Some(l) = self
                .entry(product, kind, v)
                .or_else(|| self.entry(NO_PRODUCT, kind, v))
            {
                lists.push(l);
            }
        }
        if lists.iter().all(|l| l.is_empty()) {
            return None;
        }
        let mut set: BTreeSet<&str> = lists.into_iter().flatten().map(String::as_str).collect();
        if let Some(p) = self.products.get(product) {
            set.extend(p.common.iter().map(String::as_str));
        }
        Some(set)
    }
}

pub fn check(ctx: &mut RuleCtx<'_>, table: &FieldTable) {
    let rule = ctx.rule;
    if rule.kind != crate::rules::RuleKind::Detection || rule.logsource.is_empty() {
        return;
    }
    let problems = table.logsource_problems(&rule.logsource);
    if !problems.is_empty() {
        let pos = ctx.key_pos(&["logsource"]);
        for p in problems {
            ctx.push(Code::LogsourceUnknown, pos, p);
        }
        return;
    }
    let Some(known) = table.fields(&rule.logsource) else {
        return;
    };
    let Some(det) = detection_of(ctx) else { return };
    let mut unknown: Vec<(&str, &str, &str)> = Vec::new();
    for_each_key(det, |sel, key, _| {
        let field = key.split('|').next().unwrap_or(key);
        if !field.is_empty() && !known.contains(field) {
            unknown.push((sel, key, field));
        }
    });
    for (sel, key, field) in unknown {
        let hint = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(field))
            .map(|k| format!("; the field is spelt `{k}`"))
            .or_else(|| {
                known
                    .iter()
                    .map(|k| (strsim::levenshtein(k, field), *k))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, k)| format!("; did you mean `{k}`?"))
            })
            .unwrap_or_default();
        let pos = ctx.key_pos(&["detection", sel, key]);
        ctx.push(
            Code::FieldUnknown,
            pos,
            format!(
                "field `{field}` is not known for logsource {}{hint}",
                rule.logsource.key()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::LogSource;

    fn ls(p: Option<&str>, c: Option<&str>, s: Option<&str>) -> LogSource {
        LogSource {
            product: p.map(Into::into),
            category: c.map(Into::into),
            service: s.map(Into::into),
        }
    }

    #[test]
    fn embedded_table_parses_and_bad_tables_keep_the_cause() {
        assert!(FieldTable::parse(EMBEDDED).is_ok());
        let e = FieldTable::parse("version: 1\nproducts: {windows: {nope: 1}}\n").unwrap_err();
        let cause = std::error::Error::source(&e).map(|s| s.to_string());
        assert!(cause.is_some_and(|c| c.contains("nope")), "{e:?}");
    }

    #[test]
    fn embedded_table_knows_sigma_taxonomy() {
        let t = FieldTable::embedded();
        let pc = ls(Some("windows"), Some("process_creation"), None);
        assert!(t.logsource_problems(&pc).is_empty());
        let f = t.fields(&pc).unwrap();
        assert!(f.contains("CommandLine") && f.contains("EventID"));
        assert!(t
            .logsource_problems(&ls(None, Some("proxy"), None))
            .is_empty());
        assert_eq!(
            t.logsource_problems(&ls(Some("windos"), None, None)).len(),
            1
        );
        assert_eq!(
            t.logsource_problems(&ls(Some("windows"), Some("proces_creation"), None))
                .len(),
            1
        );
        // Known, fields not enumerated.
        assert!(t
            .fields(&ls(Some("aws"), None, Some("cloudtrail")))
            .is_none());
    }
}
