//! Turns one JSON document into the fields Sigma rules read, and the key that routes it.
//!
//! Flat events are used as they are; Windows events in the nested EVTX-to-JSON shape are flattened
//! by the table in `mappings/event_fields.yaml` (data, not code), so `Image`, `EventID`, `Channel`,
//! `Provider_Name` resolve the same way for both shapes. Values keep their JSON types: exporters
//! disagree on whether `EventID` is `4688` or `"4688"`, and the evaluator compares a rule's numbers
//! with both (`crate::rules::eval`).

use super::tree::{entry, intern, same_name, take, Node};
use crate::rules::eval::{Event, FieldName, Fields};
use serde::Deserialize;
use serde_json::Value;
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
    /// `data_name` interned, once (it is looked up in every `Data` item).
    #[serde(skip)]
    data_key: OnceLock<FieldName>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderField {
    pub path: String,
    pub field: String,
    /// `path`'s segments and `field`, interned (see [`HeaderField::names`]).
    #[serde(skip)]
    names: OnceLock<(Vec<FieldName>, FieldName)>,
}

impl HeaderField {
    /// Interned names compare by address with the event's own (also interned) keys.
    fn names(&self) -> &(Vec<FieldName>, FieldName) {
        self.names.get_or_init(|| {
            let segments = self.path.split('.').map(intern).collect();
            (segments, intern(&self.field))
        })
    }
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

    /// Flattens `doc` into Sigma fields (see the module doc). Errors when it is not an object.
    pub fn normalise(&self, doc: impl Into<Node>) -> Result<Normalised, EventError> {
        let p = self.prepare(doc)?;
        let key = p.key.clone();
        Ok(Normalised {
            event: p.into_event(),
            key,
        })
    }

    /// Flattens and routes `doc`; [`Prepared::into_event`] finishes [`FieldMap::normalise`].
    pub fn prepare(&self, doc: impl Into<Node>) -> Result<Prepared, EventError> {
        let flat = self.flatten(doc)?;
        let key = self.route_key(&flat);
        Ok(Prepared { flat, key })
    }

    /// The flat field map without routing it (for tests and tools).
    pub fn flatten(&self, doc: impl Into<Node>) -> Result<Fields, EventError> {
        match doc.into() {
            Node::Object(map) if self.is_evtx(&map) => Ok(self.flatten_evtx(map)),
            Node::Object(map) => Ok(map.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
            other => Err(EventError::NotAnObject {
                found: other.kind(),
            }),
        }
    }

    fn is_evtx(&self, map: &[(FieldName, Node)]) -> bool {
        entry(map, &self.evtx.root)
            .and_then(|root| root.get(&self.evtx.system))
            .is_some_and(|system| matches!(system, Node::Object(_)))
    }

    fn flatten_evtx(&self, mut map: Vec<(FieldName, Node)>) -> Fields {
        // Sized for a usual event at once: growing the map rehashed every key (2% of `test`).
        let mut out = Fields::with_capacity_and_hasher(FLAT_CAPACITY, Default::default());
        let Some(Node::Object(mut root)) = take(&mut map, &self.evtx.root) else {
            return out;
        };
        // Payload first, header after: the header's EventID and Channel are authoritative.
        for data in &self.evtx.data {
            if let Some(v) = take(&mut root, data) {
                self.flatten_data(v, &mut out);
            }
        }
        if let Some(mut system) = take(&mut root, &self.evtx.system) {
            for h in &self.evtx.header {
                let (path, field) = h.names();
                if let Some(v) = self.take_path(&mut system, path) {
                    out.insert(field.clone(), self.text_of(v));
                }
            }
        }
        // Fields outside `Event` (some exporters add metadata next to it) are kept as they are.
        for (k, v) in map {
            out.entry(k).or_insert_with(|| v.into_value());
        }
        out
    }

    /// Where the child `seg` of an object is: a key `(i, None)`, else an XML attribute, nested in
    /// the attributes element `(i, Some(j))` or `@`-prefixed `(i, None)`.
    fn child_at(
        &self,
        obj: &[(FieldName, Node)],
        seg: &FieldName,
    ) -> Option<(usize, Option<usize>)> {
        if let Some(i) = obj.iter().position(|(k, _)| same_name(k, seg)) {
            return Some((i, None));
        }
        let nested = obj.iter().enumerate().find_map(|(i, (k, v))| match v {
            Node::Object(a) if *k == self.evtx.attributes => a
                .iter()
                .position(|(k, _)| same_name(k, seg))
                .map(|j| (i, Some(j))),
            _ => None,
        });
        nested.or_else(|| {
            let i = obj
                .iter()
                .position(|(k, _)| k.strip_prefix('@') == Some(seg))?;
            Some((i, None))
        })
    }

    /// Follows a path of [`FieldMap::child_at`] steps.
    fn lookup<'a>(&self, mut v: &'a Node, path: &[FieldName]) -> Option<&'a Node> {
        for seg in path {
            let Node::Object(obj) = v else { return None };
            v = match self.child_at(obj, seg)? {
                (i, None) => &obj[i].1,
                (i, Some(j)) => match &obj[i].1 {
                    Node::Object(a) => &a[j].1,
                    _ => return None,
                },
            };
        }
        Some(v)
    }

    /// Takes the value [`FieldMap::lookup`] finds out of the tree (the header is read once, so its
    /// strings move into the fields instead of being copied).
    fn take_path(&self, mut v: &mut Node, path: &[FieldName]) -> Option<Node> {
        for seg in path {
            let Node::Object(obj) = v else { return None };
            v = match self.child_at(obj, seg)? {
                (i, None) => &mut obj[i].1,
                (i, Some(j)) => match &mut obj[i].1 {
                    Node::Object(a) => &mut a[j].1,
                    _ => return None,
                },
            };
        }
        Some(std::mem::replace(v, Node::Scalar(Value::Null)))
    }

    /// An element with attributes and text stands for its text.
    fn text_of(&self, v: Node) -> Value {
        match v {
            Node::Object(mut o) if entry(&o, &self.evtx.text).is_some() => {
                take(&mut o, &self.evtx.text).map_or(Value::Null, Node::into_value)
            }
            other => other.into_value(),
        }
    }

    fn flatten_data(&self, v: Node, out: &mut Fields) {
        let Node::Object(obj) = v else { return };
        for (k, v) in obj {
            if k == self.evtx.attributes || k.starts_with('@') {
                continue;
            }
            if k == "Data" {
                self.named_data(v, out);
                continue;
            }
            match v {
                Node::Object(ref o) if entry(o, &self.evtx.text).is_none() => {
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
    fn named_data(&self, v: Node, out: &mut Fields) {
        let items = match v {
            Node::Array(items) => items,
            other => vec![other],
        };
        let mut unnamed = Vec::new();
        for item in items {
            let name = self
                .lookup(&item, std::slice::from_ref(self.data_key()))
                .and_then(Node::as_str)
                .map(intern);
            match name {
                Some(n) => {
                    let text = match item {
                        Node::Object(mut o) => {
                            take(&mut o, &self.evtx.text).map_or(Value::Null, Node::into_value)
                        }
                        other => other.into_value(),
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

    fn data_key(&self) -> &FieldName {
        self.evtx
            .data_key
            .get_or_init(|| intern(&self.evtx.data_name))
    }

    fn route_key(&self, flat: &Fields) -> RouteKey {
        let text = |name: &str| {
            flat.get(name).and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.to_lowercase()),
                _ => None,
            })
        };
        let event_id = flat
            .get(self.routing.event_id.as_str())
            .and_then(|v| match v {
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
        // Each header value is moved out of the event once: no path may repeat.
        let paths: std::collections::BTreeSet<&str> =
            m.evtx.header.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths.len(), m.evtx.header.len());
        assert!(FieldMap::parse("evtx: {}\nrouting: {}\nextra: 1\n").is_err());
    }

    #[test]
    fn flat_events_are_used_as_is() {
        let v = json!({"EventID": 1, "Image": "C:\\x.exe", "nested": {"a": 1}});
        assert_eq!(
            Value::Object(
                flat(v.clone())
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v))
                    .collect()
            ),
            v
        );
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
