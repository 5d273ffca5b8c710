//! The project's own Sigma evaluator: a compiled detection ([`Detection`]) matched against a flat
//! JSON event ([`Event`]).
//!
//! sigma-rust 0.7, the engine used before, cannot express several rules of the specification
//! (keywords inside values, `'|all'` keywords, list-valued fields, `null` for missing fields,
//! `neq`, time parts, regex flags), and its types are closed; evaluation happens here, following
//! the specification and, where it is silent, what pySigma's SIEM backends generate (README,
//! "Evaluation semantics"). Its messages are kept where reports already show them.

use super::condition::Cond;
use regex::Regex;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::net::IpAddr;

/// A compiled detection: its search identifiers and the condition over them.
#[derive(Debug)]
pub struct Detection {
    pub(crate) selections: Vec<Selection>,
    pub(crate) condition: Cond,
}

/// One search identifier: an OR of maps, each an AND of items.
#[derive(Debug)]
pub(crate) struct Selection {
    pub(crate) name: String,
    pub(crate) groups: Vec<Vec<Item>>,
}

/// One `field|modifiers: values` entry; `field: None` for keywords (searched in every value).
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) field: Option<String>,
    pub(crate) test: Test,
}

#[derive(Debug)]
pub(crate) enum Test {
    Exists(bool),
    Values {
        /// `all`: every value group must match (else one is enough).
        all: bool,
        /// `neq`: the field differs from the values (a missing field differs).
        negate: bool,
        /// A time modifier: the part of the timestamp compared instead of the value.
        part: Option<TimePart>,
        /// One entry per rule value: its alternatives (encodings), any of which matches.
        groups: Vec<Vec<Matcher>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

/// How one rule value matches one event value.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// `null`: the field is missing or null.
    Null,
    Glob(Glob),
    /// A rule number: equal text, or equal as numbers (`1.5` and `"1.5"`).
    Number(f64, String),
    Regex(Regex),
    Cidr(IpAddr, u8),
    Cmp(CmpOp, f64),
    FieldRef {
        field: String,
        anchor: Anchor,
        cased: bool,
    },
}

/// A Sigma wildcard pattern, lower-cased unless `cased`.
#[derive(Debug)]
pub(crate) struct Glob {
    pub(crate) cased: bool,
    pub(crate) shape: Shape,
}

/// Plain literals get a string operation; anything with `?`, an inner `*` or a windash class
/// goes through the token matcher.
#[derive(Debug)]
pub(crate) enum Shape {
    Literal(Anchor, String),
    Tokens(Vec<Tok>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Char(char),
    /// `?`: one character.
    One,
    /// `*`: any run of characters.
    Star,
    /// A `windash` flag position: any of the five dashes.
    Dash,
}

/// The flat fields of an event. Hashed with foldhash rather than SipHash (serde_json's map, which
/// showed in `test` profiles); its seed is random per process, so a hostile event cannot pick
/// colliding keys in advance. Never iterated into output: order does not matter.
pub type Fields = HashMap<FieldName, Value, foldhash::fast::RandomState>;

/// A field name: usually shared by every event that has the field (the event parser interns the
/// names it sees often), else the event's own copy.
pub type FieldName = Cow<'static, str>;

/// A flat event: field names to JSON values.
#[derive(Debug, Default, Clone)]
pub struct Event {
    fields: Fields,
}

impl Event {
    pub fn new(fields: impl IntoIterator<Item = (String, Value)>) -> Event {
        Event {
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }

    /// An event of fields already collected (no copy).
    pub fn from_fields(fields: Fields) -> Event {
        Event { fields }
    }

    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The values a field name reaches: the key itself, else a dotted path through objects and
    /// arrays of objects. Array values are spread into their elements.
    fn values<'a>(&'a self, name: &str, out: &mut Vec<&'a Value>) {
        if let Some(v) = self.fields.get(name) {
            spread(v, out);
            return;
        }
        let mut parts = name.split('.');
        let Some(first) = parts.next() else { return };
        let Some(root) = self.fields.get(first) else {
            return;
        };
        let mut current = vec![root];
        for seg in parts {
            let mut next = Vec::new();
            for v in current {
                descend(v, seg, &mut next);
            }
            current = next;
        }
        for v in current {
            spread(v, out);
        }
    }
}

fn descend<'a>(v: &'a Value, seg: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => out.extend(m.get(seg)),
        Value::Array(items) => items.iter().for_each(|i| descend(i, seg, out)),
        _ => {}
    }
}

fn spread<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| spread(i, out)),
        other => out.push(other),
    }
}

/// The text of a scalar: strings as they are, numbers and booleans as JSON writes them.
fn text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Detection {
    pub fn is_match(&self, event: &Event) -> bool {
        // Each selection is matched at most once; on the stack for the usual few selections.
        let n = self.selections.len();
        let mut small = [None; 16];
        let mut large = Vec::new();
        let cache: &mut [Option<bool>] = if n <= small.len() {
            &mut small[..n]
        } else {
            large.resize(n, None);
            &mut large
        };
        self.condition
            .eval(&mut |i| *cache[i].get_or_insert_with(|| self.selections[i].matches(event)))
    }
}

impl Selection {
    fn matches(&self, event: &Event) -> bool {
        self.groups
            .iter()
            .any(|g| g.iter().all(|item| item.matches(event)))
    }
}

impl Item {
    fn matches(&self, event: &Event) -> bool {
        let mut found = Vec::new();
        match &self.field {
            Some(f) => event.values(f, &mut found),
            None => event.fields.values().for_each(|v| leaves(v, &mut found)),
        }
        match &self.test {
            // Present even when null or an empty list.
            Test::Exists(want) => self
                .field
                .as_deref()
                .is_some_and(|f| (!found.is_empty() || event.fields.contains_key(f)) == *want),
            Test::Values {
                all,
                negate,
                part,
                groups,
            } => {
                let parts: Vec<Value>;
                if let Some(p) = part {
                    parts = found
                        .iter()
                        .filter_map(|v| v.as_str().and_then(|s| time_part(s, *p)))
                        .map(Value::from)
                        .collect();
                    found = parts.iter().collect();
                }
                let vals: Vec<Val> = found.into_iter().map(Val::new).collect();
                let hit = |g: &Vec<Matcher>| g.iter().any(|m| m.matches(&vals, event));
                let result = if *all {
                    groups.iter().all(hit)
                } else {
                    groups.iter().any(hit)
                };
                result != *negate
            }
        }
    }
}

/// Every scalar under `v` (keywords search whole events, nested values included).
fn leaves<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        Value::Object(m) => m.values().for_each(|i| leaves(i, out)),
        other => out.push(other),
    }
}

/// One event value as the matchers read it; the lower-cased text is made once, when first needed.
struct Val<'a> {
    raw: &'a Value,
    text: Option<Cow<'a, str>>,
    lower: OnceCell<Option<String>>,
}

impl<'a> Val<'a> {
    fn new(raw: &'a Value) -> Val<'a> {
        Val {
            raw,
            text: text(raw),
            lower: OnceCell::new(),
        }
    }

    fn lower(&self) -> Option<&str> {
        self.lower
            .get_or_init(|| self.text.as_deref().map(str::to_lowercase))
            .as_deref()
    }
}

impl Matcher {
    /// Does any of the field's values (array elements spread) match?
    fn matches(&self, found: &[Val], event: &Event) -> bool {
        match self {
            Matcher::Null => found.iter().all(|v| v.raw.is_null()),
            Matcher::FieldRef {
                field,
                anchor,
                cased,
            } => {
                let mut other = Vec::new();
                event.values(field, &mut other);
                found.iter().filter_map(|v| v.text.as_deref()).any(|a| {
                    other
                        .iter()
                        .filter_map(|v| text(v))
                        .any(|b| anchored(*anchor, *cased, a, &b))
                })
            }
            _ => found.iter().any(|v| self.matches_one(v)),
        }
    }

    fn matches_one(&self, val: &Val) -> bool {
        let v = val.raw;
        let text = || val.text.as_deref();
        match self {
            Matcher::Null | Matcher::FieldRef { .. } => false,
            Matcher::Glob(g) if g.cased => text().is_some_and(|t| g.matches(t)),
            Matcher::Glob(g) => val.lower().is_some_and(|t| g.matches(t)),
            // An integer equals the same text or a JSON number of that value; a decimal also a
            // string of that value (`1.5` and `"1.50"`). `"4.688e3"` is not `4688`.
            Matcher::Number(n, t) => {
                text().is_some_and(|s| s == t.as_str())
                    || (v.is_number() || t.contains('.')) && number(v).is_some_and(|x| x == *n)
            }
            Matcher::Regex(re) => text().is_some_and(|t| re.is_match(t)),
            Matcher::Cidr(net, bits) => text()
                .and_then(|t| t.trim().parse::<IpAddr>().ok())
                .is_some_and(|ip| in_network(ip, *net, *bits)),
            Matcher::Cmp(op, n) => number(v).is_some_and(|x| match op {
                CmpOp::Gt => x > *n,
                CmpOp::Gte => x >= *n,
                CmpOp::Lt => x < *n,
                CmpOp::Lte => x <= *n,
            }),
        }
    }
}

fn anchored(anchor: Anchor, cased: bool, value: &str, needle: &str) -> bool {
    let (value, needle) = if cased {
        (Cow::Borrowed(value), Cow::Borrowed(needle))
    } else {
        (
            Cow::Owned(value.to_lowercase()),
            Cow::Owned(needle.to_lowercase()),
        )
    };
    match anchor {
        Anchor::Exact => value == needle,
        Anchor::Contains => value.contains(needle.as_ref()),
        Anchor::StartsWith => value.starts_with(needle.as_ref()),
        Anchor::EndsWith => value.ends_with(needle.as_ref()),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// The five dashes `windash` stands for.
pub(crate) const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

impl Glob {
    /// Matches `value`, already lower-cased unless the glob is `cased`.
    fn matches(&self, value: &str) -> bool {
        match &self.shape {
            Shape::Literal(a, lit) => match a {
                Anchor::Exact => value == lit,
                Anchor::Contains => value.contains(lit.as_str()),
                Anchor::StartsWith => value.starts_with(lit.as_str()),
                Anchor::EndsWith => value.ends_with(lit.as_str()),
            },
            Shape::Tokens(toks) => {
                let chars: Vec<char> = value.chars().collect();
                tokens_match(toks, &chars)
            }
        }
    }
}

/// Wildcard matching with one backtrack point per `*` (linear in practice, quadratic at worst).
fn tokens_match(toks: &[Tok], s: &[char]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        let step = match toks.get(p) {
            Some(Tok::Star) => {
                star = Some((p, i));
                p += 1;
                continue;
            }
            Some(Tok::One) => true,
            Some(Tok::Char(c)) => *c == s[i],
            Some(Tok::Dash) => DASHES.contains(&s[i]),
            None => false,
        };
        if step {
            p += 1;
            i += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

/// The part of an ISO 8601 timestamp (`2024-05-17T13:45:00Z`, a space instead of `T`, or a date
/// alone) a time modifier compares; no time zone conversion, as the specification says.
fn time_part(s: &str, part: TimePart) -> Option<i64> {
    let s = s.trim();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<i64>().ok());
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if s.get(4..5) != Some("-") || s.get(7..8) != Some("-") || !(1..=12).contains(&month) {
        return None;
    }
    if !(1..=31).contains(&day) {
        return None;
    }
    let clock = |r| {
        (matches!(s.get(10..11), Some("T" | "t" | " ")) && s.get(13..14) == Some(":"))
            .then(|| num(r))
            .flatten()
    };
    match part {
        TimePart::Year => Some(year),
        TimePart::Month => Some(month),
        TimePart::Day => Some(day),
        TimePart::Hour => clock(11..13).filter(|h| (0..24).contains(h)),
        TimePart::Minute => clock(14..16).filter(|m| (0..60).contains(m)),
        TimePart::Week => Some(iso_week(year, month, day)),
    }
}

/// ISO 8601 week number (1 to 53).
fn iso_week(year: i64, month: i64, day: i64) -> i64 {
    let ordinal = |y: i64, m: i64, d: i64| {
        const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        CUM[(m - 1) as usize] + d + i64::from(leap && m > 2)
    };
    // Days since 1970-01-01 (a Thursday).
    let days = days_from_civil;
    let weekday = (days(year, month, day) + 3).rem_euclid(7) + 1; // Monday = 1
    let week = (ordinal(year, month, day) - weekday + 10) / 7;
    let weeks_in = |y: i64| {
        let jan1 = (days(y, 1, 1) + 3).rem_euclid(7) + 1;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        if jan1 == 4 || (leap && jan1 == 3) {
            53
        } else {
            52
        }
    };
    if week < 1 {
        weeks_in(year - 1)
    } else if week > weeks_in(year) {
        1
    } else {
        week
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_weeks() {
        assert_eq!(iso_week(2024, 1, 1), 1);
        assert_eq!(iso_week(2021, 1, 3), 53);
        assert_eq!(iso_week(2024, 12, 30), 1);
        assert_eq!(iso_week(2024, 5, 17), 20);
        assert_eq!(time_part("2024-05-17T13:45:09Z", TimePart::Hour), Some(13));
        assert_eq!(time_part("2024-05-17 13:45:09", TimePart::Minute), Some(45));
        assert_eq!(time_part("2024-05-17", TimePart::Hour), None);
        assert_eq!(time_part("garbage", TimePart::Year), None);
    }

    #[test]
    fn wildcard_tokens() {
        let t = |p: &str| -> Vec<Tok> {
            p.chars()
                .map(|c| match c {
                    '*' => Tok::Star,
                    '?' => Tok::One,
                    '~' => Tok::Dash,
                    c => Tok::Char(c),
                })
                .collect()
        };
        let m = |p: &str, s: &str| tokens_match(&t(p), &s.chars().collect::<Vec<_>>());
        assert!(m("a*b", "axxb"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("a?b", "ab"));
        assert!(m("dir*~s", "dir /s"));
        assert!(!m("dir*~s", "dir s"));
        assert!(m("**", ""));
    }

    #[test]
    fn cidr() {
        let net: IpAddr = "10.0.0.0".parse().unwrap();
        assert!(in_network("10.1.2.3".parse().unwrap(), net, 8));
        assert!(!in_network("11.1.2.3".parse().unwrap(), net, 8));
        assert!(in_network("11.1.2.3".parse().unwrap(), net, 0));
    }
}
