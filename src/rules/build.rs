//! Builds the evaluator's selections ([`super::eval`]) from a rule's detection values: modifiers
//! read once, values turned into matchers, encodings computed at load time.

use super::eval::{Anchor, CmpOp, Glob, Item, Matcher, Selection, Shape, Test, TimePart, Tok};
use serde_norway::{Mapping, Value};

/// Builds one search identifier. `narrow(key)` says a `windash` key was capped at load time (see
/// `compile::MAX_WINDASH_VARIANTS`): only flags at the start of a word take every dash.
pub(crate) fn selection(
    name: &str,
    value: &Value,
    narrow: &dyn Fn(&str) -> bool,
) -> Result<Selection, String> {
    let empty = match value {
        Value::Mapping(m) => m.is_empty(),
        Value::Sequence(items) => {
            items.is_empty()
                || items
                    .iter()
                    .any(|i| i.as_mapping().is_some_and(Mapping::is_empty))
        }
        _ => false,
    };
    if empty {
        return Err(format!("search identifier `{name}` is empty"));
    }
    let groups = match value {
        Value::Mapping(m) => vec![map(m, narrow)?],
        Value::Sequence(items) if items.iter().all(Value::is_mapping) && !items.is_empty() => items
            .iter()
            .filter_map(Value::as_mapping)
            .map(|m| map(m, narrow))
            .collect::<Result<_, _>>()?,
        Value::Sequence(items) if items.iter().any(Value::is_mapping) => {
            return Err(format!(
                "search identifier `{name}` mixes keywords and field maps in one list"
            ))
        }
        Value::Sequence(_) | Value::String(_) | Value::Number(_) | Value::Bool(_) => {
            vec![vec![item("", value, false)?]]
        }
        other => {
            return Err(format!(
                "search identifier `{name}` must be a map, a list or a keyword, found {}",
                super::compile::value_kind(other)
            ))
        }
    };
    Ok(Selection {
        name: name.to_string(),
        groups,
    })
}

fn map(m: &Mapping, narrow: &dyn Fn(&str) -> bool) -> Result<Vec<Item>, String> {
    m.iter()
        .map(|(k, v)| {
            let key = k
                .as_str()
                .ok_or_else(|| "a field name must be a string".to_string())?;
            item(key, v, narrow(key))
        })
        .collect()
}

/// Compiled-size ceiling for `|re` values: the regex crate's default (sigma-rust's), far above
/// any real rule; `check` reports values over 1 MiB.
const REGEX_SIZE_LIMIT: usize = 10 << 20;

/// Modifiers of one key, in the form the matchers need.
#[derive(Debug, Default)]
struct Mods {
    /// `contains`, `startswith`, `endswith` put `*` before and/or after the value; chained,
    /// their wildcards add up (`startswith|endswith` is `contains`, as in pySigma).
    open_start: bool,
    open_end: bool,
    all: bool,
    cased: bool,
    neq: bool,
    windash: bool,
    base64: Option<bool>,
    utf16: Option<Utf16>,
    re: Option<(bool, bool, bool)>,
    cidr: bool,
    cmp: Option<CmpOp>,
    exists: bool,
    fieldref: bool,
    part: Option<TimePart>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Utf16 {
    Le,
    Be,
    Bom,
}

impl Mods {
    fn anchor(&self) -> Anchor {
        match (self.open_start, self.open_end) {
            (false, false) => Anchor::Exact,
            (true, true) => Anchor::Contains,
            (false, true) => Anchor::StartsWith,
            (true, false) => Anchor::EndsWith,
        }
    }
}

fn mods(key: &str) -> Result<Mods, String> {
    let mut m = Mods::default();
    let mut string_op: Option<String> = None;
    for name in key.split('|').skip(1) {
        let lower = name.to_ascii_lowercase();
        if matches!(lower.as_str(), "contains" | "startswith" | "endswith") {
            // `contains` beside `startswith` or `endswith` says two different things; the checker
            // reports it too (`invalid_modifier_combinations`). sigma-rust's wording.
            if let Some(prev) = string_op.as_deref() {
                if prev != lower && (prev == "contains" || lower == "contains") {
                    return Err(format!(
                        "The field modifiers '{lower}' and '{prev}' are conflicting"
                    ));
                }
            }
            string_op = Some(lower.clone());
        }
        match lower.as_str() {
            "contains" => (m.open_start, m.open_end) = (true, true),
            "startswith" => m.open_end = true,
            "endswith" => m.open_start = true,
            "all" => m.all = true,
            "cased" => m.cased = true,
            "neq" => m.neq = true,
            "windash" => m.windash = true,
            "base64" => m.base64 = Some(false),
            "base64offset" => m.base64 = Some(true),
            "utf16le" | "wide" => m.utf16 = Some(Utf16::Le),
            "utf16be" => m.utf16 = Some(Utf16::Be),
            "utf16" => m.utf16 = Some(Utf16::Bom),
            "re" => m.re = Some((false, false, false)),
            "i" | "m" | "s" if m.re.is_some() => {
                let f = m.re.get_or_insert((false, false, false));
                match lower.as_str() {
                    "i" => f.0 = true,
                    "m" => f.1 = true,
                    _ => f.2 = true,
                }
            }
            "cidr" => m.cidr = true,
            "gt" => m.cmp = Some(CmpOp::Gt),
            "gte" => m.cmp = Some(CmpOp::Gte),
            "lt" => m.cmp = Some(CmpOp::Lt),
            "lte" => m.cmp = Some(CmpOp::Lte),
            "exists" => m.exists = true,
            "fieldref" => m.fieldref = true,
            "minute" => m.part = Some(TimePart::Minute),
            "hour" => m.part = Some(TimePart::Hour),
            "day" => m.part = Some(TimePart::Day),
            "week" => m.part = Some(TimePart::Week),
            "month" => m.part = Some(TimePart::Month),
            "year" => m.part = Some(TimePart::Year),
            // sigma-rust's wording, kept so existing reports read the same.
            _ => return Err(format!("Unknown field modifier '{name}' provided")),
        }
    }
    if m.utf16.is_some() && m.base64.is_none() {
        return Err(format!(
            "`{key}`: a UTF-16 modifier without `base64` or `base64offset` after it is not supported"
        ));
    }
    Ok(m)
}

/// One `field|modifiers: values` entry; an empty field name (`'|all'`, plain lists) is keywords.
pub(crate) fn item(key: &str, value: &Value, narrow: bool) -> Result<Item, String> {
    let field = key.split('|').next().unwrap_or_default();
    let mut m = mods(key)?;
    let keyword = field.is_empty();
    if keyword {
        // Keywords occur anywhere in a value: backends search `*keyword*`.
        (m.open_start, m.open_end) = (true, true);
    }
    let values: Vec<&Value> = match value {
        Value::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    let field = (!keyword).then(|| field.to_string());
    if m.exists {
        return match value {
            Value::Bool(b) if !keyword => Ok(Item {
                field,
                test: Test::Exists(*b),
            }),
            _ => Err(format!("`{key}`: `exists` takes `true` or `false`")),
        };
    }
    let groups = values
        .into_iter()
        .map(|v| matchers(key, v, &m, narrow))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Item {
        field,
        test: Test::Values {
            all: m.all,
            negate: m.neq,
            part: m.part,
            groups,
        },
    })
}

/// The alternatives one rule value stands for.
fn matchers(key: &str, v: &Value, m: &Mods, narrow: bool) -> Result<Vec<Matcher>, String> {
    let text = match v {
        Value::Null => return Ok(vec![Matcher::Null]),
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let t = n.to_string();
            if m.cmp.is_none() && m.anchor() == Anchor::Exact && m.re.is_none() && !m.fieldref {
                let f = n.as_f64().unwrap_or(f64::NAN);
                return Ok(vec![Matcher::Number(f, t)]);
            }
            t
        }
        Value::Bool(b) => b.to_string(),
        other => {
            return Err(format!(
                "`{key}`: a value must be a string, a number, a boolean or null, found {}",
                super::compile::value_kind(other)
            ))
        }
    };
    if let Some(op) = m.cmp {
        let n = text
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("`{key}`: the comparison needs a number, found {text:?}"))?;
        return Ok(vec![Matcher::Cmp(op, n)]);
    }
    if m.fieldref {
        return Ok(vec![Matcher::FieldRef {
            field: text,
            anchor: m.anchor(),
            cased: m.cased,
        }]);
    }
    if let Some((i, multi, dot)) = m.re {
        // Unicode classes, as sigma-rust read them, so verdicts and size limits stay as they were.
        return regex::RegexBuilder::new(&text)
            .case_insensitive(i)
            .multi_line(multi)
            .dot_matches_new_line(dot)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(|r| vec![Matcher::Regex(r)])
            // sigma-rust's wording, kept so existing reports read the same.
            .map_err(|e| {
                super::compile::one_line(&format!("Failed to parse regular expression: '{e}'"))
            });
    }
    if m.cidr {
        return cidr(&text)
            .map(|(ip, bits)| vec![Matcher::Cidr(ip, bits)])
            .ok_or_else(|| format!("`{key}`: {text:?} is not a CIDR network"));
    }
    let anchor = m.anchor();
    if let Some(offsets) = m.base64 {
        return Ok(encodings(&text, m.utf16, offsets)
            .into_iter()
            .map(|e| Matcher::Glob(glob(e.chars().map(Tok::Char).collect(), anchor, m.cased)))
            .collect());
    }
    let mut toks = sigma_tokens(&text);
    if m.windash {
        dash_classes(&mut toks, narrow);
    }
    Ok(vec![Matcher::Glob(glob(toks, anchor, m.cased))])
}

/// A Sigma string as tokens: `*` and `?` are wildcards, `\` escapes `*`, `?` and itself.
pub(crate) fn sigma_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '\\' => {
                let rest = chars.as_str();
                match rest.chars().next() {
                    Some(n @ ('*' | '?' | '\\')) => {
                        chars.next();
                        Tok::Char(n)
                    }
                    _ => Tok::Char('\\'),
                }
            }
            c => Tok::Char(c),
        });
    }
    out
}

/// `windash`: a `-` or `/` not after a word character and before one is a flag, written with any
/// of the five dashes. `narrow` keeps only flags at the start of a space-separated word.
fn dash_classes(toks: &mut [Tok], narrow: bool) {
    let word =
        |t: Option<&Tok>| matches!(t, Some(Tok::Char(c)) if c.is_alphanumeric() || *c == '_');
    for i in 0..toks.len() {
        let flag = matches!(toks[i], Tok::Char('-' | '/'))
            && (i == 0 || !word(toks.get(i - 1)))
            && word(toks.get(i + 1));
        let at_word = i == 0 || matches!(toks[i - 1], Tok::Char(' '));
        if flag && (!narrow || at_word) {
            toks[i] = Tok::Dash;
        }
    }
}

/// A matcher for tokens with `anchor` applied; literal cores become plain string operations.
fn glob(toks: Vec<Tok>, anchor: Anchor, cased: bool) -> Glob {
    let mut toks: Vec<Tok> = if cased {
        toks
    } else {
        toks.into_iter()
            .flat_map(|t| match t {
                Tok::Char(c) => c.to_lowercase().map(Tok::Char).collect::<Vec<_>>(),
                other => vec![other],
            })
            .collect()
    };
    let (mut open_start, mut open_end) = match anchor {
        Anchor::Exact => (false, false),
        Anchor::Contains => (true, true),
        Anchor::StartsWith => (false, true),
        Anchor::EndsWith => (true, false),
    };
    while toks.first() == Some(&Tok::Star) {
        toks.remove(0);
        open_start = true;
    }
    while toks.last() == Some(&Tok::Star) {
        toks.pop();
        open_end = true;
    }
    let literal: Option<String> = toks
        .iter()
        .map(|t| match t {
            Tok::Char(c) => Some(*c),
            _ => None,
        })
        .collect();
    let shape = match (literal, open_start, open_end) {
        (Some(l), false, false) => Shape::Literal(Anchor::Exact, l),
        (Some(l), true, true) => Shape::Literal(Anchor::Contains, l),
        (Some(l), false, true) => Shape::Literal(Anchor::StartsWith, l),
        (Some(l), true, false) => Shape::Literal(Anchor::EndsWith, l),
        (None, s, e) => {
            if s {
                toks.insert(0, Tok::Star);
            }
            if e {
                toks.push(Tok::Star);
            }
            Shape::Tokens(toks)
        }
    };
    Glob { cased, shape }
}

fn cidr(s: &str) -> Option<(std::net::IpAddr, u8)> {
    let (ip, bits) = s.trim().split_once('/')?;
    let ip: std::net::IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

/// The base64 forms a `base64` / `base64offset` value is searched as (pySigma's: the value shifted
/// by 0, 1 and 2 bytes, without the characters the shift or the end padding make uncertain).
pub(crate) fn encodings(s: &str, utf16: Option<Utf16>, offsets: bool) -> Vec<String> {
    let bytes: Vec<u8> = match utf16 {
        None => s.as_bytes().to_vec(),
        Some(Utf16::Le) => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Some(Utf16::Be) => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(Utf16::Bom) => [0xFF, 0xFE]
            .into_iter()
            .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    };
    if !offsets {
        return vec![base64(&bytes, true)];
    }
    let mut out = Vec::new();
    for shift in 0..3 {
        let shifted: Vec<u8> = std::iter::repeat_n(0u8, shift)
            .chain(bytes.iter().copied())
            .collect();
        let encoded = base64(&shifted, false);
        let lead = [0, 2, 3][shift];
        let trail = usize::from(!(bytes.len() + shift).is_multiple_of(3));
        let middle = encoded
            .get(lead..encoded.len().saturating_sub(trail))
            .unwrap_or_default()
            .to_string();
        if !middle.is_empty() && !out.contains(&middle) {
            out.push(middle);
        }
    }
    out
}

/// Standard base64, with or without `=` padding.
pub(crate) fn base64(bytes: &[u8], pad: bool) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
        if pad {
            out.extend(std::iter::repeat_n('=', 3 - chunk.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64offset_variants_follow_the_shift() {
        // "http" shifted by 0, 1, 2 bytes: aHR0cA, AGh0dHA, AABodHRw, without what the shift and the
        // end make uncertain (the forms SigmaHQ rules spell out by hand for `http`).
        assert_eq!(
            encodings("http", None, true),
            vec!["aHR0c", "h0dH", "odHRw"]
        );
        assert_eq!(encodings("cmd", None, false), vec!["Y21k"]);
        assert_eq!(encodings("a", None, false), vec!["YQ=="]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            sigma_tokens(r"a\*b\\*\x"),
            vec![
                Tok::Char('a'),
                Tok::Char('*'),
                Tok::Char('b'),
                Tok::Char('\\'),
                Tok::Star,
                Tok::Char('\\'),
                Tok::Char('x')
            ]
        );
    }
}
