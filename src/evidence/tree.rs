//! One event document as parsed: a light JSON tree whose objects are vectors of entries.
//!
//! `serde_json::Value` builds an index map per object (with SipHash: the `evtx` crate turns on
//! `preserve_order` for the whole build), and an EVTX-shaped event has a dozen small objects that
//! flattening ([`super::normalise`]) throws away at once. Here an object is one vector, keys are
//! found by a short scan, and flattening moves the leaves' strings into the flat fields without
//! copying them. Duplicate keys are noted while parsing; the last value wins, in the first key's
//! place, as serde_json's own map does.

use crate::rules::eval::FieldName;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A JSON value whose objects keep their entries in document order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Null, a boolean, a number or a string.
    Scalar(Value),
    Array(Vec<Node>),
    Object(Vec<(FieldName, Node)>),
}

/// Up to this many keys an object is searched for a duplicate by a scan; beyond, through an index
/// (a hostile event with 100,000 keys in one object must not take quadratic time).
const SCAN_KEYS: usize = 32;

impl Node {
    /// The value of `key` when this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(entries) => entry(entries, key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// What a message calls this kind of value.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar(Value::Null) => "null",
            Node::Scalar(Value::Bool(_)) => "a boolean",
            Node::Scalar(Value::Number(_)) => "a number",
            Node::Scalar(Value::String(_)) => "a string",
            Node::Scalar(Value::Array(_)) | Node::Array(_) => "an array",
            Node::Scalar(Value::Object(_)) | Node::Object(_) => "an object",
        }
    }

    /// The same value as serde_json's type (objects keep their key order).
    pub fn into_value(self) -> Value {
        match self {
            Node::Scalar(v) => v,
            Node::Array(items) => Value::Array(items.into_iter().map(Node::into_value).collect()),
            Node::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_value()))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

impl From<Value> for Node {
    fn from(v: Value) -> Node {
        match v {
            Value::Array(items) => Node::Array(items.into_iter().map(Node::from).collect()),
            Value::Object(map) => Node::Object(
                map.into_iter()
                    .map(|(k, v)| (intern_owned(k), v.into()))
                    .collect(),
            ),
            scalar => Node::Scalar(scalar),
        }
    }
}

/// The value of `key` among an object's entries.
pub fn entry<'a>(entries: &'a [(FieldName, Node)], key: &str) -> Option<&'a Node> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Two names are one: interned names are unique, so two of them compare by address.
pub fn same_name(a: &FieldName, b: &FieldName) -> bool {
    match (a, b) {
        (Cow::Borrowed(x), Cow::Borrowed(y)) => std::ptr::eq(*x, *y),
        _ => a == b,
    }
}

/// Removes `key` from an object's entries and returns its value.
pub fn take(entries: &mut Vec<(FieldName, Node)>, key: &str) -> Option<Node> {
    let at = entries.iter().position(|(k, _)| k == key)?;
    Some(entries.remove(at).1)
}

/// One whole JSON document, and the first duplicate key of any of its objects.
pub fn parse<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<(Node, Option<String>), serde_json::Error> {
    // The stacks are kept per thread between documents, so their capacity is allocated once.
    let mut state = SPARE.with(|s| s.take());
    state.duplicate = None;
    let parsed = Checked { state: &mut state }
        .deserialize(&mut *de)
        .and_then(|node| de.end().map(|()| node));
    let duplicate = state.duplicate.take();
    state.entries.clear();
    state.items.clear();
    SPARE.with(|s| s.replace(state));
    Ok((parsed?, duplicate))
}

thread_local! {
    static SPARE: std::cell::RefCell<State> = std::cell::RefCell::default();
}

/// Parse state shared by every level of one document.
#[derive(Default)]
struct State {
    duplicate: Option<String>,
    /// Entries of the objects being read, innermost last: each object is copied out at its end in
    /// one allocation of its exact size, instead of growing a vector per object.
    entries: Vec<(FieldName, Node)>,
    items: Vec<Node>,
}

/// Builds a [`Node`], noting the first duplicate key of any object.
struct Checked<'a> {
    state: &'a mut State,
}

/// What one object being read knows of its keys, to find a duplicate without a scan per key.
#[derive(Default)]
struct Keys {
    /// Bit per interned key's address hash: a clear bit means the key is new.
    seen: u64,
    /// Beyond [`SCAN_KEYS`] keys: key -> position.
    index: Option<HashMap<FieldName, usize>>,
}

impl Keys {
    /// The bit of an interned name (an owned one has none: it is always looked for).
    fn bit(key: &FieldName) -> Option<u64> {
        match key {
            Cow::Borrowed(s) => {
                let h = (s.as_ptr() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                Some(1 << (h >> 58))
            }
            Cow::Owned(_) => None,
        }
    }
}

impl State {
    /// Adds an entry to the object whose entries start at `start`; a key seen before keeps its
    /// place and takes the new value.
    fn insert(&mut self, start: usize, keys: &mut Keys, key: FieldName, value: Node) {
        let bit = Keys::bit(&key);
        let at = match (&keys.index, bit) {
            (Some(ix), _) => ix.get(&key).copied(),
            (None, Some(b)) if keys.seen & b == 0 => None,
            (None, _) => self.entries[start..]
                .iter()
                .position(|(k, _)| same_name(k, &key)),
        };
        if let Some(at) = at {
            if self.duplicate.is_none() {
                self.duplicate = Some(key.into_owned());
            }
            self.entries[start + at].1 = value;
            return;
        }
        keys.seen |= bit.unwrap_or(0);
        let own = &self.entries[start..];
        if let Some(ix) = &mut keys.index {
            ix.insert(key.clone(), own.len());
        } else if own.len() >= SCAN_KEYS {
            let ix = own.iter().enumerate().map(|(i, (k, _))| (k.clone(), i));
            let mut ix: HashMap<FieldName, usize> = ix.collect();
            ix.insert(key.clone(), own.len());
            keys.index = Some(ix);
        }
        self.entries.push((key, value));
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = Node;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Number(v.into())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let start = self.state.items.len();
        while let Some(v) = seq.next_element_seed(Checked {
            state: &mut *self.state,
        })? {
            self.state.items.push(v);
        }
        Ok(Node::Array(self.state.items.drain(start..).collect()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let start = self.state.entries.len();
        let mut keys = Keys::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(Checked {
                state: &mut *self.state,
            })?;
            self.state.insert(start, &mut keys, key, value);
        }
        Ok(Node::Object(self.state.entries.drain(start..).collect()))
    }
}

/// Checks that `de` holds one whole JSON document that [`parse`] reads: as serde's `IgnoredAny`,
/// but numbers are read as numbers (a number out of range is the same error), and nothing is
/// built.
pub fn validate<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
) -> Result<(), serde_json::Error> {
    Valid.deserialize(&mut *de)?;
    de.end()
}

/// Visits a document without keeping any of it.
struct Valid;

impl<'de> DeserializeSeed<'de> for Valid {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Valid {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Valid)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value_seed(Valid)?;
        }
        Ok(())
    }
}

/// Field names of this many bytes at most are interned.
const INTERN_MAX_BYTES: usize = 64;
/// Names interned in all (each is kept for the life of the process: a bounded few kilobytes).
const INTERN_MAX: usize = 4096;

static INTERNED: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);

thread_local! {
    /// This thread's view of [`INTERNED`], so the usual name costs no lock.
    static KNOWN: RefCell<HashSet<&'static str, foldhash::fast::RandomState>> =
        RefCell::default();
}

/// A field name, shared with every other event that has it while the interned set has room: an
/// event stream repeats the same few hundred names, and a shared one costs no allocation.
pub fn intern(name: &str) -> FieldName {
    if name.len() > INTERN_MAX_BYTES {
        return Cow::Owned(name.to_owned());
    }
    if let Some(known) = KNOWN.with(|k| k.borrow().get(name).copied()) {
        return Cow::Borrowed(known);
    }
    let Ok(mut global) = INTERNED.lock() else {
        return Cow::Owned(name.to_owned());
    };
    let set = global.get_or_insert_with(HashSet::new);
    let shared = match set.get(name) {
        Some(&s) => s,
        None if set.len() < INTERN_MAX => {
            let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
            set.insert(leaked);
            leaked
        }
        None => return Cow::Owned(name.to_owned()),
    };
    KNOWN.with(|k| k.borrow_mut().insert(shared));
    Cow::Borrowed(shared)
}

/// [`intern`] for a name already owned (kept as it is when it is not shared).
pub fn intern_owned(name: String) -> FieldName {
    match intern(&name) {
        Cow::Borrowed(s) => Cow::Borrowed(s),
        Cow::Owned(_) => Cow::Owned(name),
    }
}

/// Reads an object key straight into a [`FieldName`], without an owned copy when it is shared.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = FieldName;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<FieldName, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = FieldName;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<FieldName, E> {
        Ok(intern(v))
    }
    fn visit_string<E>(self, v: String) -> Result<FieldName, E> {
        Ok(intern_owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(text: &str) -> (Node, Option<String>) {
        parse(&mut serde_json::Deserializer::from_str(text)).expect("json")
    }

    #[test]
    fn same_value_as_serde_json() {
        let text = r#"{"b": [1, -2, 1.5, "x", null, true, {"c": {}}], "a": {"z": 1, "y": 2}}"#;
        let (node, dup) = tree(text);
        assert_eq!(dup, None);
        let v: Value = serde_json::from_str(text).expect("json");
        assert_eq!(node.clone().into_value(), v);
        assert_eq!(Node::from(v), node);
    }

    #[test]
    fn duplicates_keep_the_first_place_and_the_last_value() {
        let (node, dup) = tree(r#"{"k": 1, "j": 2, "k": 3}"#);
        assert_eq!(dup.as_deref(), Some("k"));
        assert_eq!(node.into_value(), json!({"k": 3, "j": 2}));
    }

    #[test]
    fn duplicates_in_large_objects_are_found_through_the_index() {
        let mut text: String = (0..100).map(|i| format!("\"k{i}\": {i}, ")).collect();
        text = format!("{{{text}\"k7\": \"last\"}}");
        let (node, dup) = tree(&text);
        assert_eq!(dup.as_deref(), Some("k7"));
        assert_eq!(node.get("k7"), Some(&Node::Scalar(json!("last"))));
        assert_eq!(node.get("k99"), Some(&Node::Scalar(json!(99))));
    }

    #[test]
    fn names_are_shared_up_to_a_bound() {
        let (a, b) = (intern("Image"), intern(&String::from("Image")));
        match (&a, &b) {
            (Cow::Borrowed(x), Cow::Borrowed(y)) => assert!(std::ptr::eq(*x, *y)),
            other => panic!("not shared: {other:?}"),
        }
        let long = "x".repeat(INTERN_MAX_BYTES + 1);
        assert!(matches!(intern(&long), Cow::Owned(ref s) if *s == long));
        let (node, _) = tree(r#"{"Image": "a", "x\u0041": 1}"#);
        let Node::Object(entries) = node else {
            panic!("object")
        };
        assert_eq!(entries[1].0, "xA");
    }

    #[test]
    fn validation_refuses_what_parsing_refuses() {
        for text in [
            r#"{"a": 1e400}"#,
            r#"{"a": [1, {"b": -1e999}]}"#,
            r#"{"a": 1"#,
            "{} x",
        ] {
            let v =
                validate(&mut serde_json::Deserializer::from_str(text)).map_err(|e| e.to_string());
            let p = parse(&mut serde_json::Deserializer::from_str(text)).map_err(|e| e.to_string());
            assert_eq!(v.err(), p.err(), "{text}");
        }
        assert!(validate(&mut serde_json::Deserializer::from_str(
            r#"{"k": 1, "k": [2.5]}"#
        ))
        .is_ok());
    }
}
