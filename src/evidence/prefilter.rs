//! A cheap necessary condition per rule, checked before sigma-rust evaluates the detection.
//!
//! sigma-rust matches wildcard patterns character by character, a few microseconds per rule, so
//! running ~600 routed rules on every event caps throughput at a few hundred events per second.
//! Most rules fail on one literal: `Image|endswith: '\whoami.exe'` cannot match an event whose
//! lower-cased `Image` does not contain `\whoami.exe`. From the raw detection and its condition this
//! module derives a disjunction of such (field, literal fragments) checks that every matching event
//! must pass; an event failing all of them is skipped. The check is only derived where it is sound:
//! plain, `contains`, `startswith`, `endswith`, `cased` and `all` string values on top-level fields;
//! anything else (regex, CIDR, numbers, `not`, keywords, other modifiers) leaves the rule
//! unconstrained, i.e. always evaluated.

use serde_norway::{Mapping, Value};
use std::collections::HashMap;

/// One necessary check: the field's lower-cased string value contains one of the fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub field: String,
    pub fragments: Vec<String>,
}

/// Necessary condition of a rule: `None` = unconstrained; `Some(list)` = at least one check passes.
pub type Prefilter = Option<Vec<Check>>;

/// Derives the prefilter of a detection mapping (the rule's raw `detection` value).
pub fn derive(detection: &Mapping) -> Prefilter {
    let condition = detection.get("condition")?.as_str()?;
    let mut selections: Vec<(&str, Prefilter)> = Vec::new();
    for (k, v) in detection {
        let Some(name) = k.as_str() else { continue };
        if name == "condition" || name == "timeframe" {
            continue;
        }
        selections.push((name, selection(v)));
    }
    let tokens = tokenize(condition)?;
    let mut p = Parser {
        tokens: &tokens,
        pos: 0,
        selections: &selections,
    };
    let result = p.or()?;
    if p.pos != tokens.len() {
        return None;
    }
    result
}

/// True when the event may match: some check passes. `lower` holds the event's string fields
/// lower-cased; a field that is present but not a string cannot be checked and passes.
pub fn passes(checks: &[Check], lower: &HashMap<String, Option<String>>) -> bool {
    checks.iter().any(|c| match lower.get(&c.field) {
        None if c.field == ANY_FIELD => lower.values().any(|v| match v {
            None => true,
            Some(v) => c.fragments.iter().any(|f| v.contains(f.as_str())),
        }),
        None => false,
        Some(None) => true,
        Some(Some(v)) => c.fragments.iter().any(|f| v.contains(f.as_str())),
    })
}

/// (field, literal set, rules per fragment, every rule with a check on the field).
type FieldIndex = (String, regex::RegexSet, Vec<Vec<u32>>, Vec<u32>);

/// All rules' checks, indexed by field: one literal set per field is scanned once per event instead
/// of every rule scanning its own fragments.
pub struct Index {
    fields: Vec<FieldIndex>,
    /// Rules that are always evaluated (no prefilter, or their field index could not be built).
    always: Vec<bool>,
}

impl Index {
    /// `prefilters[i]` belongs to rule index `i`.
    pub fn build(prefilters: &[Prefilter]) -> Index {
        let mut always: Vec<bool> = prefilters.iter().map(Option::is_none).collect();
        // field -> fragment -> rules, sorted maps so the index is the same on every run.
        let mut by_field: std::collections::BTreeMap<
            &str,
            std::collections::BTreeMap<&str, Vec<u32>>,
        > = Default::default();
        for (i, p) in prefilters.iter().enumerate() {
            for c in p.iter().flatten() {
                let frags = by_field.entry(c.field.as_str()).or_default();
                for f in &c.fragments {
                    let rules = frags.entry(f.as_str()).or_default();
                    if rules.last() != Some(&(i as u32)) {
                        rules.push(i as u32);
                    }
                }
            }
        }
        let mut fields = Vec::new();
        for (field, frags) in by_field {
            let patterns: Vec<String> = frags.keys().map(|f| regex::escape(f)).collect();
            let mut all: Vec<u32> = frags.values().flatten().copied().collect();
            all.sort_unstable();
            all.dedup();
            match regex::RegexSetBuilder::new(&patterns)
                .size_limit(64 << 20)
                .dfa_size_limit(64 << 20)
                .build()
            {
                Ok(set) => {
                    fields.push((field.to_string(), set, frags.into_values().collect(), all))
                }
                Err(_) => {
                    for r in all {
                        always[r as usize] = true;
                    }
                }
            }
        }
        Index { fields, always }
    }

    /// Per rule index: may the event match (some check of the rule passes)?
    pub fn passing(&self, lower: &HashMap<String, Option<String>>) -> Vec<bool> {
        let mut out = self.always.clone();
        for (field, set, rules, all) in &self.fields {
            if field == ANY_FIELD {
                for v in lower.values() {
                    match v {
                        None => all.iter().for_each(|&r| out[r as usize] = true),
                        Some(v) => {
                            for m in set.matches(v).iter() {
                                for &r in &rules[m] {
                                    out[r as usize] = true;
                                }
                            }
                        }
                    }
                }
                continue;
            }
            match lower.get(field) {
                None => {}
                Some(None) => all.iter().for_each(|&r| out[r as usize] = true),
                Some(Some(v)) => {
                    for m in set.matches(v).iter() {
                        for &r in &rules[m] {
                            out[r as usize] = true;
                        }
                    }
                }
            }
        }
        out
    }

    /// Rules that are always evaluated.
    pub fn unconstrained(&self) -> usize {
        self.always.iter().filter(|a| **a).count()
    }
}

/// Pseudo field of keyword checks: the fragment may occur in any field's value.
pub const ANY_FIELD: &str = "\u{0}any";

fn selection(v: &Value) -> Prefilter {
    match v {
        Value::Mapping(m) => map_selection(m),
        // A list of maps is an OR of them; a list of keywords an OR of any-field checks.
        Value::Sequence(items) if items.iter().all(Value::is_string) => keywords(items),
        Value::Sequence(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(map_selection(item.as_mapping()?)?);
            }
            Some(out)
        }
        Value::String(_) => keywords(std::slice::from_ref(v)),
        _ => None,
    }
}

fn keywords(items: &[Value]) -> Prefilter {
    let mut fragments = Vec::new();
    for k in items {
        let f = longest_literal(k.as_str()?);
        if f.is_empty() {
            return None;
        }
        fragments.push(f);
    }
    (!fragments.is_empty()).then(|| {
        vec![Check {
            field: ANY_FIELD.to_string(),
            fragments,
        }]
    })
}

/// Fields of a map are AND-ed: the best single field's check is necessary.
fn map_selection(m: &Mapping) -> Prefilter {
    let mut best: Option<Check> = None;
    for (k, v) in m {
        let Some(key) = k.as_str() else { continue };
        if let Some(c) = field_check(key, v) {
            let score = |c: &Check| c.fragments.iter().map(String::len).min().unwrap_or(0);
            if best.as_ref().is_none_or(|b| score(&c) > score(b)) {
                best = Some(c);
            }
        }
    }
    best.map(|c| vec![c])
}

fn field_check(key: &str, v: &Value) -> Option<Check> {
    let mut parts = key.split('|');
    let field = parts.next()?;
    if field.is_empty() || field.contains('.') {
        return None;
    }
    let mut all = false;
    for m in parts {
        match m.to_ascii_lowercase().as_str() {
            "contains" | "startswith" | "endswith" | "cased" => {}
            "all" => all = true,
            _ => return None,
        }
    }
    let values: Vec<&Value> = match v {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut fragments = Vec::new();
    for v in values {
        let f = longest_literal(v.as_str()?);
        if all {
            // Every value must match: the single longest fragment is enough.
            if fragments.first().is_none_or(|b: &String| f.len() > b.len()) {
                fragments = vec![f];
            }
        } else {
            if f.is_empty() {
                return None;
            }
            fragments.push(f);
        }
    }
    if fragments.is_empty() || fragments.iter().any(String::is_empty) {
        return None;
    }
    Some(Check {
        field: field.to_string(),
        fragments,
    })
}

/// Longest run of literal characters between unescaped wildcards, unescaped and lower-cased the way
/// sigma-rust reads the value.
fn longest_literal(s: &str) -> String {
    let mut best = String::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    let flush = |cur: &mut String, best: &mut String| {
        if cur.chars().count() > best.chars().count() {
            *best = std::mem::take(cur);
        }
        cur.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '*' | '?' => flush(&mut cur, &mut best),
            '\\' => match chars.next() {
                Some(n @ ('*' | '?' | '\\')) => cur.push(n),
                Some(n) => {
                    cur.push('\\');
                    cur.extend(n.to_lowercase());
                }
                None => cur.push('\\'),
            },
            c => cur.extend(c.to_lowercase()),
        }
    }
    flush(&mut cur, &mut best);
    best
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    And,
    Or,
    Not,
    Open,
    Close,
    OneOf,
    AllOf,
}

fn tokenize(c: &str) -> Option<Vec<Tok>> {
    let spaced = c.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let lw = w.to_ascii_lowercase();
        let next_is_of = words
            .get(i + 1)
            .is_some_and(|n| n.eq_ignore_ascii_case("of"));
        match lw.as_str() {
            "and" => out.push(Tok::And),
            "or" => out.push(Tok::Or),
            "not" => out.push(Tok::Not),
            "(" => out.push(Tok::Open),
            ")" => out.push(Tok::Close),
            "all" if next_is_of => {
                out.push(Tok::AllOf);
                i += 1;
            }
            _ if next_is_of && w.chars().all(|c| c.is_ascii_digit()) => {
                out.push(Tok::OneOf);
                i += 1;
            }
            _ => out.push(Tok::Ident(w.to_string())),
        }
        i += 1;
    }
    Some(out)
}

struct Parser<'a> {
    tokens: &'a [Tok],
    pos: usize,
    selections: &'a [(&'a str, Prefilter)],
}

/// `Some(p)`: parsed, with necessary condition `p`; `None`: not understood (unconstrained overall).
type Parsed = Option<Prefilter>;

fn and(a: Prefilter, b: Prefilter) -> Prefilter {
    match (a, b) {
        (None, x) | (x, None) => x,
        // Either side is necessary; the shorter disjunction rejects more cheaply.
        (Some(a), Some(b)) => Some(if a.len() <= b.len() { a } else { b }),
    }
}

fn or(a: Prefilter, b: Prefilter) -> Prefilter {
    match (a, b) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        _ => None,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Parsed {
        let mut acc = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            acc = or(acc, self.and()?);
        }
        Some(acc)
    }

    fn and(&mut self) -> Parsed {
        let mut acc = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            acc = and(acc, self.not()?);
        }
        Some(acc)
    }

    fn not(&mut self) -> Parsed {
        if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.not()?;
            return Some(None);
        }
        self.atom()
    }

    fn atom(&mut self) -> Parsed {
        let tok = self.peek()?.clone();
        self.pos += 1;
        match tok {
            Tok::Open => {
                let inner = self.or()?;
                (self.peek() == Some(&Tok::Close)).then_some(())?;
                self.pos += 1;
                Some(inner)
            }
            Tok::Ident(name) => {
                let (_, p) = self.selections.iter().find(|(n, _)| *n == name)?;
                Some(p.clone())
            }
            Tok::OneOf | Tok::AllOf => {
                let Some(Tok::Ident(pattern)) = self.peek().cloned() else {
                    return None;
                };
                self.pos += 1;
                let matching: Vec<Prefilter> = self
                    .selections
                    .iter()
                    .filter(|(n, _)| glob_match(&pattern, n))
                    .map(|(_, p)| p.clone())
                    .collect();
                if matching.is_empty() {
                    return None;
                }
                let combine = if tok == Tok::OneOf { or } else { and };
                let mut it = matching.into_iter();
                let first = it.next()?;
                Some(it.fold(first, combine))
            }
            _ => None,
        }
    }
}

/// `them` matches every selection; otherwise `*` is a wildcard.
fn glob_match(pattern: &str, name: &str) -> bool {
    if pattern.eq_ignore_ascii_case("them") {
        return !name.starts_with('_');
    }
    if pattern.matches('*').count() > 1 {
        // Not needed by real rules; the caller treats no match as "not understood".
        return false;
    }
    match pattern.split_once('*') {
        None => pattern == name,
        Some((pre, post)) => {
            name.len() >= pre.len() + post.len() && name.starts_with(pre) && name.ends_with(post)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(yaml: &str) -> Prefilter {
        let v: Value = serde_norway::from_str(yaml).expect("yaml");
        derive(v.as_mapping().expect("mapping"))
    }

    fn fields(p: &Prefilter) -> Vec<(String, Vec<String>)> {
        p.iter()
            .flatten()
            .map(|c| (c.field.clone(), c.fragments.clone()))
            .collect()
    }

    #[test]
    fn and_not_or_and_quantifiers() {
        let p = pf("sel:\n  Image|endswith: '\\whoami.exe'\n  CommandLine|contains: ['/a', '/b']\nfilter:\n  User: x\ncondition: sel and not filter\n");
        assert_eq!(
            fields(&p),
            vec![("Image".into(), vec!["\\whoami.exe".into()])]
        );
        let p = pf("a:\n  X: 'foo*bar2'\nb:\n  Y|re: 'x'\ncondition: a or b\n");
        assert_eq!(p, None);
        let p = pf("sel_a:\n  X: 'aa'\nsel_b:\n  Y: 'bbb'\ncondition: 1 of sel_*\n");
        assert_eq!(fields(&p).len(), 2);
        let p = pf("sel_a:\n  X: 'aa'\nsel_b:\n  EventID: 4\ncondition: all of them\n");
        assert_eq!(fields(&p), vec![("X".into(), vec!["aa".into()])]);
        let p = pf("sel:\n  X|contains|all: ['a', 'bcd']\ncondition: (sel)\n");
        assert_eq!(fields(&p), vec![("X".into(), vec!["bcd".into()])]);
        let p = pf("sel:\n  - 'Key*word'\ncondition: sel\n");
        assert_eq!(fields(&p), vec![(ANY_FIELD.into(), vec!["word".into()])]);
        assert_eq!(pf("sel:\n  - '*'\ncondition: sel\n"), None);
        assert_eq!(pf("sel:\n  X: ['a', '*']\ncondition: sel\n"), None);
        assert_eq!(pf("sel:\n  X|windash: '-a'\ncondition: sel\n"), None);
        assert_eq!(pf("sel:\n  X: a\ncondition: sel and\n"), None);
    }

    #[test]
    fn literals_follow_sigma_escaping() {
        // `\*` is an escaped star, not a wildcard.
        assert_eq!(
            longest_literal("C:\\Windows\\*\\Cmd.EXE"),
            "c:\\windows*\\cmd.exe"
        );
        assert_eq!(longest_literal("ab*CDE?f"), "cde");
        assert_eq!(longest_literal("a\\*b*c"), "a*b");
        assert_eq!(longest_literal("*"), "");
    }

    #[test]
    fn passes_on_fragments_and_non_strings() {
        let checks = vec![Check {
            field: "Image".into(),
            fragments: vec!["\\whoami.exe".into()],
        }];
        let mut ev = HashMap::new();
        assert!(!passes(&checks, &ev));
        ev.insert("Image".to_string(), Some("c:\\x\\whoami.exe".to_string()));
        assert!(passes(&checks, &ev));
        ev.insert("Image".to_string(), None);
        assert!(passes(&checks, &ev));
    }
}
