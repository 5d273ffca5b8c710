//! Event timestamps for correlations: which field holds the time, and reading it as nanoseconds
//! since the Unix epoch. No date library: the formats exporters write (RFC 3339 / ISO 8601 with
//! `T` or a space, optional fraction and offset; epoch seconds as a number or digits) are few.

use crate::rules::eval::Fields;
use serde_json::Value;

/// Fields tried in order when none is given: the EVTX `SystemTime` (flattened to `TimeCreated` by
/// `mappings/event_fields.yaml`), then the names common exporters use.
pub const DEFAULT_FIELDS: &[&str] = &[
    "TimeCreated",
    "SystemTime",
    "@timestamp",
    "UtcTime",
    "timestamp",
];

/// A field value by exact key, else by a dotted path through objects.
pub fn lookup<'a>(fields: &'a Fields, name: &str) -> Option<&'a Value> {
    if let Some(v) = fields.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut cur = fields.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// The first of `names` that the event carries and that parses, in nanoseconds since the epoch.
pub fn event_time(fields: &Fields, names: &[String]) -> Option<i128> {
    names
        .iter()
        .filter_map(|n| lookup(fields, n))
        .find_map(value_time)
}

/// A JSON value as a time: a number or digit string is epoch seconds; a string is RFC 3339; an
/// object is searched for `SystemTime` (EVTX attribute shapes such as `{"#attributes": {..}}`).
pub fn value_time(v: &Value) -> Option<i128> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|s| i128::from(s) * 1_000_000_000)
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && f.abs() < 1e12)
                    .map(|f| (f * 1e9) as i128)
            }),
        Value::String(s) => parse(s),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| {
                k.trim_start_matches('@') == "SystemTime" || k.as_str() == "#attributes"
            })
            .find_map(|(_, v)| value_time(v)),
        _ => None,
    }
}

/// Parses `YYYY-MM-DD[T| ]HH:MM:SS[.fff…][Z|±HH:MM|±HHMM]` (no offset: UTC) or epoch seconds.
pub fn parse(s: &str) -> Option<i128> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 12 {
        return s.parse::<i128>().ok().map(|n| n * 1_000_000_000);
    }
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix('.').or_else(|| rest.strip_prefix(',')) {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        for (i, c) in frac[..digits].bytes().take(9).enumerate() {
            nanos += i128::from(c - b'0') * 10i128.pow(8 - i as u32);
        }
        rest = &frac[digits..];
    }
    let offset = offset_seconds(rest)?;
    let days = crate::rules::eval::days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

/// `Z`, empty (UTC), `±HH:MM` or `±HHMM` as seconds east of UTC.
fn offset_seconds(s: &str) -> Option<i64> {
    if s.is_empty() || s == "Z" || s == "z" {
        return Some(0);
    }
    let sign = match s.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = s[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i64 = digits[..2].parse().ok()?;
    let m: i64 = digits[2..].parse().ok()?;
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: i128 = 1_000_000_000;

    #[test]
    fn formats() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("2024-03-01 12:00:05"), Some(1_709_294_405 * S));
        assert_eq!(
            parse("2024-03-01T12:00:05.250Z"),
            Some(1_709_294_405 * S + 250_000_000)
        );
        assert_eq!(parse("2024-03-01T14:00:05+02:00"), Some(1_709_294_405 * S));
        assert_eq!(
            parse("2024-03-01T07:00:05.1234567-0500"),
            Some(1_709_294_405 * S + 123_456_700)
        );
        assert_eq!(parse("1709294405"), Some(1_709_294_405 * S));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-03-01T00:00:00+2",
            "2024-03-01T00:00:00.Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn fields_and_shapes() {
        let ev = json!({"Event": {"System": {"TimeCreated": {"#attributes": {"SystemTime": "2024-03-01T12:00:05Z"}}}}, "n": 5});
        let m: &Fields = &ev
            .as_object()
            .unwrap()
            .clone()
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
        let names = vec!["Event.System.TimeCreated".to_string()];
        assert_eq!(event_time(m, &names), Some(1_709_294_405 * S));
        assert_eq!(event_time(m, &["n".to_string()]), Some(5 * S));
        assert_eq!(event_time(m, &["missing".to_string()]), None);
    }
}
