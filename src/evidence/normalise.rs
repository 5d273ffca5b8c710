//! Turns one JSON document into the fields Sigma rules read, and the key that routes it.
//!
//! Flat events are used as they are; Windows events in the nested EVTX-to-JSON shape are flattened
//! by the table in `mappings/event_fields.yaml` (data, not code), so `Image`, `EventID`, `Channel`,
//! `Provider_Name` resolve the same way for both shapes. Values keep their JSON types: exporters
//! disagree on whether `EventID` is `4688` or `"4688"`, and the evaluator compares a rule's numbers
//! with both (`crate::rules::eval`).

use crate::rules::eval::{Event, Fields};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::OnceLock;

const TABLE: &str = include_str!("../../mappings/event_fields.yaml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMap {
    pub evtx: EvtxShape,
    pub routing: RoutingFields,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvtxShape {
    pub root: String,
    pub system: String,
    pub attributes: String,
    pub text: String,
    pub header: Vec<HeaderField>,
    pub data: Vec<String>,
    pub data_name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderField {
    pub path: String,
    pub field: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingFields {
    pub channel: String,
    pub event_id: String,
    pub provider: String,
    pub product: String,
    pub category: String,
    pub service: String,
}

/// What routing reads from an event: lower-cased, absent when the event does not carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    pub channel: Option<String>,
    pub event_id: Option<u64>,
    pub provider: Option<String>,
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

impl RouteKey {
    /// True when the event says nothing about where it came from; such events go to every rule.
    pub fn is_unknown(&self) -> bool {
        self.channel.is_none()
            && self.provider.is_none()
            && self.product.is_none()
            && self.category.is_none()
            && self.service.is_none()
    }
}

/// Why a JSON document is not a usable event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("an event must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
}

/// An event ready for evaluation.
pub struct Normalised {
    pub event: Event,
    pub key: RouteKey,
}

/// An event flattened and routed, before it becomes an [`Event`] (skipped by the runner when no
/// rule survives routing and the prefilter).
pub struct Prepared {
    /// Flat fields, values as in the input (the prefilter reads them).
    pub flat: Fields,
    pub key: RouteKey,
}

impl Prepared {
    /// The event the evaluator reads.
    pub fn into_event(self) -> Event {
        Event::from_fields(self.flat)
    }
}

impl FieldMap {
    /// The table shipped in `mappings/event_fields.yaml`.
    pub fn embedded() -> &'static FieldMap {
        static MAP: OnceLock<FieldMap> = OnceLock::new();
        MAP.get_or_init(|| {
            FieldMap::parse(TABLE).unwrap_or_else(|e| {
                // The embedded table is tested; this cannot happen in a released binary.
                panic!("mappings/event_fields.yaml: {e}")
            })
        })
    }

    pub fn parse(text: &str) -> Result<FieldMap, serde_norway::Error> {
        serde_norway::from_str(text)
    }

    /// Flattens `value` into Sigma fields (see the module doc). Errors when it is not an object.
    pub fn normalise(&self, value: Value) -> Result<Normalised, EventError> {
        let p = self.prepare(value)?;
        let key = p.key.clone();
        Ok(Normalised {
            event: p.into_event(),
            key,
        })
    }

    /// Flattens and routes `value`; [`Prepared::into_event`] finishes [`FieldMap::normalise`].
    pub fn prepare(&self, value: Value) -> Result<Prepared, EventError> {
        let flat = self.flatten(value)?;
        let key = self.route_key(&flat);
        Ok(Prepared { flat, key })
    }

    /// The flat field map without routing it (for tests and tools).
    pub fn flatten(&self, value: Value) -> Result<Fields, EventError> {
        match value {
            Value::Object(map) if self.evtx_parts(&map).is_some() => Ok(self.flatten_evtx(map)),
            Value::Object(map) => Ok(map.into_iter().collect()),
            other => Err(EventError::NotAnObject {
                found: kind(&other),
            }),
        }
    }

    fn evtx_parts<'a>(&self, map: &'a Map<String, Value>) -> Option<&'a Map<String, Value>> {
        map.get(&self.evtx.root)?
            .as_object()
            .filter(|root| root.get(&self.evtx.system).is_some_and(Value::is_object))
    }

    fn flatten_evtx(&self, mut map: Map<String, Value>) -> Fields {
        // Sized for a usual event at once: growing the map rehashed every key (2% of `test`).
        let mut out = Fields::with_capacity_and_hasher(FLAT_CAPACITY, Default::default());
        let Some(Value::Object(mut root)) = map.remove(&self.evtx.root) else {
            return out;
        };
        // Payload first, header after: the header's EventID and Channel are authoritative.
        for data in &self.evtx.data {
            if let Some(v) = root.remove(data) {
                self.flatten_data(v, &mut out);
            }
        }
        if let Some(system) = root.get(&self.evtx.system) {
            for h in &self.evtx.header {
                if let Some(v) = self.lookup(system, &h.path) {
                    out.insert(h.field.clone(), self.text_of(v.clone()));
                }
            }
        }
        // Fields outside `Event` (some exporters add metadata next to it) are kept as they are.
        for (k, v) in map {
            out.entry(k).or_insert(v);
        }
        out
    }

    /// Follows a dotted path; a segment missing as a key is looked up among the XML attributes.
    fn lookup<'a>(&self, mut v: &'a Value, path: &str) -> Option<&'a Value> {
        for seg in path.split('.') {
            let obj = v.as_object()?;
            v = obj
                .get(seg)
                .or_else(|| {
                    obj.get(&self.evtx.attributes)
                        .and_then(Value::as_object)
                        .and_then(|a| a.get(seg))
                })
                .or_else(|| obj.get(&format!("@{seg}")))?;
        }
        Some(v)
    }

    /// An element with attributes and text stands for its text.
    fn text_of(&self, v: Value) -> Value {
        match v {
            Value::Object(mut o) if o.contains_key(&self.evtx.text) => {
                o.remove(&self.evtx.text).unwrap_or(Value::Null)
            }
            other => other,
        }
    }

    fn flatten_data(&self, v: Value, out: &mut Fields) {
        let Value::Object(obj) = v else { return };
        for (k, v) in obj {
            if k == self.evtx.attributes || k.starts_with('@') {
                continue;
            }
            if k == "Data" {
                self.named_data(v, out);
                continue;
            }
            match v {
                Value::Object(ref o) if !o.contains_key(&self.evtx.text) => {
                    // UserData wraps its fields in one more element; descend to the leaves.
                    self.flatten_data(v, out);
                }
                other => {
                    out.insert(k, self.text_of(other));
                }
            }
        }
    }

    /// `Data: [{"#attributes": {"Name": "Image"}, "#text": "..."}]` (or one such item, or plain
    /// unnamed strings, which are kept as `Data`).
    fn named_data(&self, v: Value, out: &mut Fields) {
        let items = match v {
            Value::Array(items) => items,
            other => vec![other],
        };
        let mut unnamed = Vec::new();
        for item in items {
            let name = self
                .lookup(&item, &self.evtx.data_name)
                .and_then(Value::as_str)
                .map(str::to_owned);
            match name {
                Some(n) => {
                    let text = match item {
                        Value::Object(mut o) => o.remove(&self.evtx.text).unwrap_or(Value::Null),
                        other => other,
                    };
                    out.insert(n, text);
                }
                None => unnamed.push(self.text_of(item)),
            }
        }
        match unnamed.len() {
            0 => {}
            1 => {
                out.insert("Data".into(), unnamed.remove(0));
            }
            _ => {
                out.insert("Data".into(), Value::Array(unnamed));
            }
        }
    }

    fn route_key(&self, flat: &Fields) -> RouteKey {
        let text = |name: &str| {
            flat.get(name).and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.to_lowercase()),
                _ => None,
            })
        };
        let event_id = flat.get(&self.routing.event_id).and_then(|v| match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        RouteKey {
            channel: text(&self.routing.channel),
            event_id,
            provider: text(&self.routing.provider),
            product: text(&self.routing.product),
            category: text(&self.routing.category),
            service: text(&self.routing.service),
        }
    }
}

/// Fields of a usual flattened EVTX event (Sysmon process creation has about 30).
const FLAT_CAPACITY: usize = 32;

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(v: Value) -> Fields {
        FieldMap::embedded().flatten(v).expect("object")
    }

    #[test]
    fn embedded_table_parses() {
        let m = FieldMap::embedded();
        assert!(m.evtx.header.iter().any(|h| h.field == "EventID"));
        assert!(FieldMap::parse("evtx: {}\nrouting: {}\nextra: 1\n").is_err());
    }

    #[test]
    fn flat_events_are_used_as_is() {
        let v = json!({"EventID": 1, "Image": "C:\\x.exe", "nested": {"a": 1}});
        assert_eq!(Value::Object(flat(v.clone()).into_iter().collect()), v);
    }

    #[test]
    fn evtx_sysmon_shape() {
        let v = json!({"Event": {
            "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
            "System": {
                "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon", "Guid": "{5770}"}},
                "EventID": 1,
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "host1",
                "TimeCreated": {"#attributes": {"SystemTime": "2025-01-01T00:00:00Z"}},
                "Execution": {"#attributes": {"ProcessID": 3308, "ThreadID": 4008}},
                "Security": {"#attributes": {"UserID": "S-1-5-18"}}
            },
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd /c dir"}
        }});
        let f = flat(v);
        assert_eq!(f["EventID"], json!(1));
        assert_eq!(f["Channel"], json!("Microsoft-Windows-Sysmon/Operational"));
        assert_eq!(f["Provider_Name"], json!("Microsoft-Windows-Sysmon"));
        assert_eq!(f["Provider_Guid"], json!("{5770}"));
        assert_eq!(f["TimeCreated"], json!("2025-01-01T00:00:00Z"));
        assert_eq!(f["ProcessID"], json!(3308));
        assert_eq!(f["UserID"], json!("S-1-5-18"));
        assert_eq!(f["Image"], json!("C:\\Windows\\System32\\cmd.exe"));
        assert!(!f.contains_key("Event"));
    }

    #[test]
    fn evtx_named_data_text_event_id_and_userdata() {
        let v = json!({"Event": {
            "System": {
                "Provider": {"@Name": "Microsoft-Windows-Security-Auditing"},
                "EventID": {"#attributes": {"Qualifiers": 0}, "#text": "4688"},
                "Channel": "Security"
            },
            "EventData": {"Data": [
                {"#attributes": {"Name": "NewProcessName"}, "#text": "C:\\x.exe"},
                {"@Name": "TokenElevationType", "#text": "%%1936"}
            ]},
            "UserData": {"LogFileCleared": {"#attributes": {"xmlns": "x"}, "SubjectUserName": "bob"}}
        }});
        let f = flat(v);
        assert_eq!(f["EventID"], json!("4688"));
        assert_eq!(
            f["Provider_Name"],
            json!("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(f["NewProcessName"], json!("C:\\x.exe"));
        assert_eq!(f["TokenElevationType"], json!("%%1936"));
        assert_eq!(f["SubjectUserName"], json!("bob"));
        let n = FieldMap::embedded()
            .normalise(json!({"Event": {"System": {"EventID": "4688", "Channel": "Security"}}}))
            .expect("object");
        assert_eq!(n.key.event_id, Some(4688));
        assert_eq!(n.key.channel.as_deref(), Some("security"));
    }

    #[test]
    fn unnamed_data_is_kept() {
        let f =
            flat(json!({"Event": {"System": {"EventID": 1}, "EventData": {"Data": ["a", "b"]}}}));
        assert_eq!(f["Data"], json!(["a", "b"]));
    }

    #[test]
    fn integer_strings_match_integer_rules() {
        let rule = crate::rules::compile::compile_detection(
            "t",
            serde_norway::from_str("sel:\n  EventID: 4688\n  LogonId: '0x3e7'\ncondition: sel\n")
                .expect("yaml"),
        )
        .expect("compiles");
        let n = FieldMap::embedded()
            .normalise(json!({"EventID": "4688", "LogonId": "0x3e7"}))
            .expect("object");
        assert!(rule.is_match(&n.event));
    }

    #[test]
    fn non_objects_are_errors() {
        let e = FieldMap::embedded()
            .normalise(json!([1]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("an event must be a JSON object, found an array")
        );
    }
}
