//! A cheap necessary condition per rule, checked before the evaluator (`rules::eval`) runs.
//!
//! Wildcard patterns are matched character by character, a few microseconds per rule, so
//! running ~600 routed rules on every event caps throughput at a few hundred events per second.
//! Most rules fail on a literal: `Image|endswith: '\whoami.exe'` cannot match an event whose
//! lower-cased `Image` does not contain `\whoami.exe`, and no field check passes on an event that
//! lacks the field. From the raw detection and its condition this module derives a disjunction of
//! clauses, each a conjunction of (field, literal fragments) checks, that every matching event
//! satisfies; an event satisfying none is skipped. A check is only derived where it is sound: the
//! field must be present (any modifier but `exists`), and the text every match contains must
//! appear in its value: the longest literal of plain, `contains`, `startswith`, `endswith`, `cased`
//! and `all` strings (between dashes for `windash`), plain integers and booleans, the encodings of
//! `base64` and `base64offset` values, and the prefix literals of `re` values. What is not
//! understood (`not`, nested field names, keywords with wildcards only) constrains nothing, so a
//! rule without any check is always evaluated. `tests/corpus/evidence_fastpath.rs` compares the result
//! with the evaluator running every rule.
//!
//! [`Index`] holds every rule's checks: one Aho-Corasick automaton per field finds all fragments in
//! one pass over the value, so the cost per event grows with the event's size, not with the number
//! of rules.

use crate::rules::condition::NameIndex;
use crate::rules::eval::Fields;
use aho_corasick::{AhoCorasick, MatchKind};
use serde_json::Value;
use serde_norway::{Mapping, Value as YamlValue};
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// One necessary check: the field is present and its lower-cased text contains one of the
/// fragments (an empty fragment: presence is enough).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Check {
    pub field: String,
    pub fragments: Vec<String>,
}

/// Checks that must all pass.
pub type Clause = Vec<Check>;

/// Necessary condition of a rule: `None` = unconstrained; `Some(clauses)` = some clause passes.
pub type Prefilter = Option<Vec<Clause>>;

/// An AND of two disjunctions multiplies their clauses; past this many, only the side with fewer
/// clauses is kept (still necessary, less sharp).
const MAX_CLAUSES: usize = 32;

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
        names: NameIndex::new(selections.iter().map(|(n, _)| *n)),
        selections: &selections,
    };
    let result = p.or()?;
    if p.pos != tokens.len() {
        return None;
    }
    result
}

/// The reference form of [`Index`]: may an event match a rule with these clauses? `lower` holds
/// every field's text as [`text_of_value`] gives it; a value without text passes every check.
pub fn passes(clauses: &[Clause], lower: &HashMap<String, Option<String>>) -> bool {
    let check = |c: &Check, v: &Option<String>| match v {
        None => true,
        Some(v) => c.fragments.iter().any(|f| v.contains(f.as_str())),
    };
    clauses.iter().any(|clause| {
        clause.iter().all(|c| {
            if c.field == ANY_FIELD {
                lower.values().any(|v| check(c, v))
            } else {
                lower.get(&c.field).is_some_and(|v| check(c, v))
            }
        })
    })
}

/// Patterns per automaton: SigmaHQ's busiest field has under 9,000, so real rule sets build one;
/// a hostile set of 32,000 nested patterns took 1.8 s in one automaton.
const CHUNK_PATTERNS: usize = 10_000;

/// Patterns of one field past which no automaton is built and the field's checks all pass (still
/// correct, only not filtered): bounds the build a hostile rule can ask for.
const MAX_PATTERNS: usize = 200_000;

/// The fragments of every check on one field, across all rules.
struct FieldSet {
    /// The fragments (pattern IDs in order) the automaton is built from.
    patterns: Vec<Box<str>>,
    /// Finds the fragments in lower-cased text; ASCII case-insensitive, so ASCII text is searched
    /// as it is, without a lower-cased copy. Built when an event first has the field: most of the
    /// fields rules name never occur in a given event stream. Inner `None` when every check is a
    /// presence check, or the automaton could not be built (then every check passes). Split in
    /// chunks of [`CHUNK_PATTERNS`]: the crate's build is quadratic in the patterns of one
    /// automaton when many are prefixes of others (`v1`, `v10`, `v100`...).
    automaton: OnceLock<Option<Vec<AhoCorasick>>>,
    /// Checks per fragment (pattern ID).
    checks: Vec<Vec<u32>>,
    /// Checks that pass whenever the field is present (an empty fragment).
    present: Vec<u32>,
    /// Every check on the field (a value without text passes them all).
    all: Vec<u32>,
}

impl FieldSet {
    fn new(mut frags: BTreeMap<&str, Vec<u32>>) -> FieldSet {
        let mut all: Vec<u32> = frags.values().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        let present = frags.remove("").unwrap_or_default();
        let automaton = OnceLock::new();
        if frags.is_empty() {
            let _ = automaton.set(None);
        }
        FieldSet {
            patterns: frags.keys().map(|&k| k.into()).collect(),
            automaton,
            checks: frags.into_values().collect(),
            present,
            all,
        }
    }

    /// The automata, built on first use; `Err` when they cannot be built (too large).
    fn automaton(&self) -> Result<&[AhoCorasick], ()> {
        let built = self.automaton.get_or_init(|| {
            if self.patterns.len() > MAX_PATTERNS {
                return None;
            }
            // Always the contiguous NFA: a DFA (hundreds of bytes per pattern byte) would take
            // most of the memory budget, and the builder's own pick of DFAs for small sets gained
            // nothing measurable on 100,000 events.
            self.patterns
                .chunks(CHUNK_PATTERNS)
                .map(|chunk| {
                    AhoCorasick::builder()
                        .ascii_case_insensitive(true)
                        .match_kind(MatchKind::Standard)
                        .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                        .build(chunk.iter().map(|p| p.as_bytes()))
                        .ok()
                })
                .collect()
        });
        match built {
            Some(a) => Ok(a),
            None if self.patterns.is_empty() => Ok(&[]),
            None => Err(()),
        }
    }

    /// Checks that pass on the lower-cased text `hay`.
    fn hits<'a>(
        &'a self,
        automata: &'a [AhoCorasick],
        hay: &'a str,
    ) -> impl Iterator<Item = u32> + 'a {
        let found = automata.iter().enumerate().flat_map(move |(k, a)| {
            a.find_overlapping_iter(hay)
                .map(move |m| k * CHUNK_PATTERNS + m.pattern().as_usize())
        });
        self.present
            .iter()
            .copied()
            .chain(found.flat_map(|p| self.checks[p].iter().copied()))
    }

    /// Marks the checks that pass on `v` (whose text [`text_of_value`] gives); `id` is this set's
    /// index in [`Index::sets`], for the cache of values already searched.
    fn scan(&self, id: u32, v: &Value, marks: &mut Marks) {
        let Ok(automaton) = self.automaton() else {
            self.all.iter().for_each(|&c| marks.set(c));
            return;
        };
        let mut text = std::mem::take(&mut marks.text);
        let hay: &str = match v {
            Value::String(s) if s.is_ascii() => s,
            Value::String(s) => {
                text.clear();
                text.extend(s.chars().flat_map(char::to_lowercase));
                &text
            }
            Value::Number(n) if n.is_i64() || n.is_u64() => {
                text.clear();
                // Into the reused buffer: event IDs, ports and process IDs are in every event.
                let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{n}"));
                &text
            }
            Value::Bool(true) => "true",
            Value::Bool(false) => "false",
            _ => {
                self.all.iter().for_each(|&c| marks.set(c));
                marks.text = text;
                return;
            }
        };
        if hay.len() > SEEN_MAX_BYTES {
            for c in self.hits(automaton, hay) {
                marks.set(c);
            }
        } else {
            let mut seen = std::mem::take(&mut marks.seen);
            if let Some(found) = seen.get(id, hay) {
                found.iter().for_each(|&c| marks.set(c));
            } else if !seen.admit(id, hay) {
                // Seen once: not cached yet, so unique values (times, GUIDs) cost no allocation.
                self.hits(automaton, hay).for_each(|c| marks.set(c));
            } else {
                let mut found: Vec<u32> = self.hits(automaton, hay).collect();
                found.sort_unstable();
                found.dedup();
                found.iter().for_each(|&c| marks.set(c));
                seen.insert(id, hay, found);
            }
            marks.seen = seen;
        }
        marks.text = text;
    }
}

/// Per thread, the checks each recently searched value passed, per field set: event streams
/// repeat the same images, users, hashes and directories, and a hash lookup costs a fraction of
/// an automaton search. Bounded per field set, so a field whose every value is new (a GUID, a
/// port) empties only its own entries, and in all.
#[derive(Debug, Default, Clone)]
struct Seen {
    /// [`Index::id`] of the index the entries belong to.
    index: u64,
    /// Per field set: value -> checks.
    sets: Vec<HashMap<Box<str>, Box<[u32]>, foldhash::fast::RandomState>>,
    entries: usize,
    /// Hashes of (set, value) pairs seen once: a value is cached when it comes again, so values
    /// that never repeat do not keep emptying their set's entries.
    door: Vec<u64>,
    hasher: foldhash::fast::RandomState,
}

/// Slots of [`Seen::door`] (a power of two).
const DOOR_SLOTS: usize = 4096;

/// Values longer than this are searched every time (command lines rarely repeat).
const SEEN_MAX_BYTES: usize = 256;
/// Cached values per field set and per thread.
const SEEN_MAX_PER_SET: usize = 512;
/// Cached values per thread (with [`SEEN_MAX_BYTES`], at most about 3 MB).
const SEEN_MAX_ENTRIES: usize = 8192;

impl Seen {
    /// Empties the cache when it was filled for another index.
    fn bind(&mut self, index: u64, sets: usize) {
        if self.index != index || self.sets.len() != sets {
            self.index = index;
            self.sets = vec![HashMap::default(); sets];
            self.entries = 0;
            self.door = vec![0; DOOR_SLOTS];
        }
    }

    /// True when `value` was seen in `set` recently (it is worth caching); else remembers it.
    fn admit(&mut self, set: u32, value: &str) -> bool {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one((set, value)) | 1;
        let slot = &mut self.door[h as usize & (DOOR_SLOTS - 1)];
        let again = *slot == h;
        *slot = h;
        again
    }

    fn get(&self, set: u32, value: &str) -> Option<&[u32]> {
        self.sets.get(set as usize)?.get(value).map(|c| &**c)
    }

    fn insert(&mut self, set: u32, value: &str, checks: Vec<u32>) {
        if self.entries >= SEEN_MAX_ENTRIES {
            self.sets.iter_mut().for_each(HashMap::clear);
            self.entries = 0;
        }
        if let Some(map) = self.sets.get_mut(set as usize) {
            if map.len() >= SEEN_MAX_PER_SET {
                self.entries -= map.len();
                map.clear();
            }
            map.insert(value.into(), checks.into_boxed_slice());
            self.entries += 1;
        }
    }
}

/// All rules' checks, indexed by field (see the module doc).
pub struct Index {
    /// Unique per index built in this process, so a thread's [`Seen`] cache never serves another.
    id: u64,
    /// Automata, one per field with checks.
    sets: Vec<FieldSet>,
    by_field: HashMap<String, u32, BuildHasherDefault<IdHasher>>,
    /// Keyword checks ([`ANY_FIELD`]): searched in every field's value.
    any: Option<u32>,
    /// Per check: the set that marks it (`None` for a check without fragments).
    set_of: Vec<Option<u32>>,
    /// Per rule: `None` = always evaluated; else clauses of check IDs.
    rules: Vec<Option<Vec<Vec<u32>>>>,
    /// Per check: how rarely it passes, roughly (see [`rank`]).
    rank: Vec<usize>,
}

/// How rarely a check passes, roughly: its shortest fragment's length; presence checks pass most
/// often, then numbers and booleans (mostly event IDs, which routing has already matched).
fn rank(c: &Check) -> usize {
    let shortest = c.fragments.iter().map(String::len).min().unwrap_or(0);
    let plain_value = c
        .fragments
        .iter()
        .all(|f| f == "true" || f == "false" || f.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
    match (shortest, plain_value) {
        (0, _) => 0,
        (_, true) => 1,
        (n, false) => n + 1,
    }
}

/// The prefilter of a fixed list of rules (one route's candidates), arranged so an event's work
/// grows with the checks that passed on it rather than with the number of rules: each clause is
/// filed under its rarest check (its key), and only clauses whose key passed are looked at.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// Rules without prefilter.
    always: Vec<usize>,
    /// Key check -> range in `clauses`.
    by_key: HashMap<u32, (u32, u32), BuildHasherDefault<IdHasher>>,
    /// (rule, range in `rest`): the clause's other checks.
    clauses: Vec<(u32, u32, u32)>,
    rest: Vec<u32>,
    /// Bit set of the field sets ([`Index`]) the clauses have checks in: only those are searched.
    sets: Vec<u64>,
}

impl Program {
    /// A program that lets every rule of `rules` through (no prefilter).
    pub fn all(rules: &[usize]) -> Program {
        Program {
            always: rules.to_vec(),
            ..Program::default()
        }
    }

    /// Whether the clauses have checks in field set `id`.
    fn reads(&self, id: u32) -> bool {
        self.sets
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Appends to `out` the rules that may match an event with these marks, ascending.
    pub fn survivors(&self, marks: &Marks, out: &mut Vec<usize>) {
        let start = out.len();
        out.extend_from_slice(&self.always);
        if self.clauses.is_empty() {
            return;
        }
        for c in &marks.list {
            let Some(&(from, to)) = self.by_key.get(c) else {
                continue;
            };
            for &(rule, a, b) in &self.clauses[from as usize..to as usize] {
                if self.rest[a as usize..b as usize]
                    .iter()
                    .all(|&c| marks.get(c))
                {
                    out.push(rule as usize);
                }
            }
        }
        out[start..].sort_unstable();
        let mut seen = start;
        for i in start..out.len() {
            if i == start || out[i] != out[seen - 1] {
                out[seen] = out[i];
                seen += 1;
            }
        }
        out.truncate(seen);
    }
}

/// Hasher for check IDs and field names (keys the program controls, not attacker-chosen sets):
/// a few multiplications instead of SipHash, which showed in profiles.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(K);
    }
}

/// Multiplier of [`IdHasher`] (as in rustc's FxHasher).
const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Which checks passed on one event. Reused across events: a bit set, cleared in a few hundred
/// word writes.
#[derive(Debug, Default, Clone)]
pub struct Marks {
    bits: Vec<u64>,
    /// The checks set, each once.
    list: Vec<u32>,
    /// Scratch buffer for lower-cased non-ASCII text and integer text.
    text: String,
    seen: Seen,
}

impl Marks {
    fn reset(&mut self, checks: usize) {
        self.bits.clear();
        self.bits.resize(checks.div_ceil(64), 0);
        self.list.clear();
    }

    fn set(&mut self, check: u32) {
        let word = &mut self.bits[check as usize / 64];
        let bit = 1 << (check % 64);
        if *word & bit == 0 {
            *word |= bit;
            self.list.push(check);
        }
    }

    fn get(&self, check: u32) -> bool {
        self.bits
            .get(check as usize / 64)
            .is_some_and(|w| w & (1 << (check % 64)) != 0)
    }
}

impl Index {
    /// `prefilters[i]` belongs to rule index `i`.
    pub fn build(prefilters: &[Prefilter]) -> Index {
        // Identical checks of different rules share one ID.
        let mut ids: HashMap<&Check, u32> = HashMap::new();
        let mut checks: Vec<&Check> = Vec::new();
        let rules = prefilters
            .iter()
            .map(|p| {
                p.as_ref().map(|clauses| {
                    clauses
                        .iter()
                        .map(|clause| {
                            clause
                                .iter()
                                .map(|c| {
                                    *ids.entry(c).or_insert_with(|| {
                                        checks.push(c);
                                        (checks.len() - 1) as u32
                                    })
                                })
                                .collect()
                        })
                        .collect()
                })
            })
            .collect();
        // field -> fragment -> checks, sorted maps so the index is the same on every run.
        let mut by_field: BTreeMap<&str, BTreeMap<&str, Vec<u32>>> = BTreeMap::new();
        for (id, c) in checks.iter().enumerate() {
            let frags = by_field.entry(c.field.as_str()).or_default();
            for f in essential(&c.fragments) {
                let list = frags.entry(f.as_str()).or_default();
                if list.last() != Some(&(id as u32)) {
                    list.push(id as u32);
                }
            }
        }
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let mut index = Index {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            sets: Vec::new(),
            by_field: HashMap::default(),
            any: None,
            set_of: vec![None; checks.len()],
            rules,
            rank: checks.iter().map(|c| rank(c)).collect(),
        };
        for (field, frags) in by_field {
            let set = FieldSet::new(frags);
            let id = index.sets.len() as u32;
            for &c in &set.all {
                index.set_of[c as usize] = Some(id);
            }
            index.sets.push(set);
            if field == ANY_FIELD {
                index.any = Some(id);
            } else {
                index.by_field.insert(field.to_string(), id);
            }
        }
        index
    }

    /// Marks the checks that pass on the event's flat fields, for [`Program::survivors`]; only the
    /// fields `program` has checks on are searched.
    pub fn mark(&self, fields: &Fields, program: &Program, marks: &mut Marks) {
        marks.reset(self.rank.len());
        marks.seen.bind(self.id, self.sets.len());
        let any = self.any.filter(|&a| program.reads(a));
        for (name, value) in fields {
            if let Some(&id) = self.by_field.get(name.as_ref()) {
                if program.reads(id) {
                    self.sets[id as usize].scan(id, value, marks);
                }
            }
            if let Some(any) = any {
                self.sets[any as usize].scan(any, value, marks);
            }
        }
    }

    /// The checks of `rules` (one route's candidates) arranged for [`Program::survivors`].
    pub fn program(&self, rules: &[usize]) -> Program {
        let mut always = Vec::new();
        let mut keyed: BTreeMap<u32, Vec<(u32, Vec<u32>)>> = BTreeMap::new();
        for &r in rules {
            let clauses = match self.rules.get(r) {
                Some(Some(clauses)) if clauses.iter().all(|c| !c.is_empty()) => clauses,
                _ => {
                    always.push(r);
                    continue;
                }
            };
            for clause in clauses {
                let mut ids = clause.clone();
                ids.sort_by_key(|&c| std::cmp::Reverse(self.rank[c as usize]));
                let key = ids.remove(0);
                keyed.entry(key).or_default().push((r as u32, ids));
            }
        }
        let mut p = Program {
            always,
            ..Program::default()
        };
        p.sets = vec![0; self.sets.len().div_ceil(64)];
        for c in keyed
            .values()
            .flatten()
            .flat_map(|(_, rest)| rest)
            .chain(keyed.keys())
        {
            if let Some(id) = self.set_of[*c as usize] {
                p.sets[id as usize / 64] |= 1 << (id % 64);
            }
        }
        for (key, list) in keyed {
            let from = p.clauses.len() as u32;
            for (rule, rest) in list {
                let a = p.rest.len() as u32;
                p.rest.extend(rest);
                p.clauses.push((rule, a, p.rest.len() as u32));
            }
            p.by_key.insert(key, (from, p.clauses.len() as u32));
        }
        p
    }

    /// Rules that are always evaluated.
    pub fn unconstrained(&self) -> usize {
        self.rules.iter().filter(|r| r.is_none()).count()
    }
}

/// The fragments of a check that contain no other of its fragments: text holding one of those
/// holds one of these, so the others only add matches for the automaton to report.
/// Long lists (hash values) are kept whole: the pairwise test would cost more than it saves.
fn essential(fragments: &[String]) -> impl Iterator<Item = &String> {
    let prune = fragments.len() <= MAX_PRUNED;
    fragments.iter().filter(move |f| {
        !prune
            || !fragments
                .iter()
                .any(|g| g.len() < f.len() && f.contains(g.as_str()))
    })
}

/// Fragments per check up to which [`essential`] compares them pairwise.
const MAX_PRUNED: usize = 64;

/// The text the prefilter checks for a value, lower-cased: strings, integers and booleans. `None`
/// for values whose text is uncertain (floats) or that are searched inside (lists, objects, null).
pub fn text_of_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Pseudo field of keyword checks: the fragment may occur in any field's value.
pub const ANY_FIELD: &str = "\u{0}any";

fn selection(v: &YamlValue) -> Prefilter {
    match v {
        YamlValue::Mapping(m) => map_selection(m),
        // A list of maps is an OR of them; a list of keywords an OR of any-field checks.
        YamlValue::Sequence(items) if items.iter().all(YamlValue::is_string) => keywords(items),
        YamlValue::Sequence(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(map_selection(item.as_mapping()?)?);
            }
            Some(out)
        }
        YamlValue::String(_) => keywords(std::slice::from_ref(v)),
        _ => None,
    }
}

fn keywords(items: &[YamlValue]) -> Prefilter {
    let mut fragments = Vec::new();
    for k in items {
        let f = longest_literal(k.as_str()?);
        if f.is_empty() {
            return None;
        }
        fragments.push(f);
    }
    (!fragments.is_empty()).then(|| {
        vec![vec![Check {
            field: ANY_FIELD.to_string(),
            fragments,
        }]]
    })
}

/// Fields of a map are AND-ed: one clause with every field's check.
fn map_selection(m: &Mapping) -> Prefilter {
    let mut clause: Clause = m
        .iter()
        .filter_map(|(k, v)| field_check(k.as_str()?, v))
        .collect();
    clause.sort();
    clause.dedup();
    (!clause.is_empty()).then(|| vec![clause])
}

/// How the values of a field entry are read, from its modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    /// Wildcard strings (plain or with `contains`, `startswith`, `endswith`), integers, booleans.
    Literal,
    /// `windash`: the value also matches with other dashes in place of `-` and `/`.
    Windash,
    /// `re`: a regular expression on the original text.
    Regex,
    /// `base64`, `base64offset` (with `utf16le`, `utf16be`, `utf16`, `wide`): encoded text.
    Base64 { offsets: bool },
    /// Anything else: only the field's presence is certain.
    Presence,
}

/// Dash characters `windash` swaps for one another.
const WINDASH: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// The check one `field|modifiers: values` entry implies. The evaluator fails every field missing
/// from the event (unless `exists`, `neq` or `null`), so at the least the field must be present (an empty fragment); the
/// values add the literal text every match contains.
fn field_check(key: &str, v: &YamlValue) -> Option<Check> {
    let mut parts = key.split('|');
    let field = parts.next()?;
    if field.is_empty() || field.contains('.') {
        return None;
    }
    let mut all = false;
    let mut plain = true;
    let mut kind = ValueKind::Literal;
    let mut utf16 = None;
    for m in parts {
        let m = m.to_ascii_lowercase();
        let next = match m.as_str() {
            "contains" | "startswith" | "endswith" => {
                plain = false;
                continue;
            }
            "cased" => continue,
            "all" => {
                all = true;
                continue;
            }
            "utf16le" | "wide" | "utf16be" | "utf16" if utf16.is_none() => {
                utf16 = Some(m);
                continue;
            }
            // `exists: false` matches a missing field, so does `neq` (a missing field differs).
            "exists" | "neq" => return None,
            "windash" => ValueKind::Windash,
            "re" => ValueKind::Regex,
            "base64" => ValueKind::Base64 { offsets: false },
            "base64offset" => ValueKind::Base64 { offsets: true },
            // CIDR, comparisons, field references: presence only.
            _ => ValueKind::Presence,
        };
        kind = if kind == ValueKind::Literal {
            next
        } else {
            ValueKind::Presence
        };
    }
    if (kind == ValueKind::Regex && !plain)
        || (utf16.is_some() && !matches!(kind, ValueKind::Base64 { .. }))
    {
        kind = ValueKind::Presence;
    }
    let presence = Check {
        field: field.to_string(),
        fragments: vec![String::new()],
    };
    if kind == ValueKind::Presence {
        return Some(presence);
    }
    let values: Vec<&YamlValue> = match v {
        YamlValue::Sequence(items) => items.iter().collect(),
        other => vec![other],
    };
    // `null` matches a missing field.
    if values.iter().any(|v| v.is_null()) {
        return None;
    }
    // Per value: the fragments one of which every match of that value contains.
    let mut alternatives: Vec<Vec<String>> = Vec::new();
    for v in values {
        let frags = match (kind, v) {
            (ValueKind::Literal, YamlValue::String(s)) => vec![literal(s, &[])],
            (ValueKind::Windash, YamlValue::String(s)) => vec![literal(s, &WINDASH)],
            (ValueKind::Regex, YamlValue::String(s)) => regex_literals(s).unwrap_or_default(),
            (ValueKind::Base64 { offsets }, YamlValue::String(s)) => {
                base64_literals(s, utf16.as_deref(), offsets).unwrap_or_default()
            }
            // An integer or boolean equals only the same integer or boolean, whose text this is.
            (ValueKind::Literal, YamlValue::Number(n)) if plain && (n.is_i64() || n.is_u64()) => {
                vec![n.to_string()]
            }
            (ValueKind::Literal, YamlValue::Bool(b)) if plain => vec![b.to_string()],
            _ => Vec::new(),
        };
        if frags.is_empty() || frags.iter().any(String::is_empty) {
            if all {
                continue;
            }
            return Some(presence);
        }
        alternatives.push(frags);
    }
    let score = |f: &Vec<String>| f.iter().map(String::len).min().unwrap_or(0);
    let fragments = if all {
        // Every value must match: the best single value's fragments are enough.
        alternatives.into_iter().max_by_key(score)
    } else {
        let mut union: Vec<String> = alternatives.into_iter().flatten().collect();
        union.sort();
        union.dedup();
        Some(union)
    };
    match fragments {
        Some(fragments) if !fragments.is_empty() => Some(Check {
            field: field.to_string(),
            fragments,
        }),
        _ => Some(presence),
    }
}

/// Literals one of which every match of the regular expression `re` contains, lower-cased; `None`
/// when there is no such finite set. Uses the prefix literals regex-syntax extracts for the regex
/// crate's own prefilter: every match starts with one of them.
fn regex_literals(re: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(re).ok()?;
    let seq = regex_syntax::hir::literal::Extractor::new().extract(&hir);
    let mut out = Vec::new();
    for lit in seq.literals()? {
        let text = std::str::from_utf8(lit.as_bytes()).ok()?;
        if text.is_empty() {
            return None;
        }
        out.push(
            text.chars()
                .flat_map(char::to_lowercase)
                .collect::<String>(),
        );
    }
    out.sort();
    out.dedup();
    (!out.is_empty()).then_some(out)
}

/// Text every `base64` (or, with `offsets`, every `base64offset`) encoding of `s` contains,
/// lower-cased. The evaluator (`rules::build::encodings`) encodes `s` shifted by 0, 1 or 2 bytes
/// and drops the characters the shift affects and at most one trailing character; this encoding,
/// shifted by whole characters and cut shorter, is inside what it searches.
fn base64_literals(s: &str, utf16: Option<&str>, offsets: bool) -> Option<Vec<String>> {
    let width = if utf16.is_some() { 2 } else { 1 };
    let shifts = if offsets { 0..3 } else { 0..1 };
    let mut out = Vec::new();
    for shift in shifts {
        let text: String = std::iter::repeat_n('\0', shift * width)
            .chain(s.chars())
            .collect();
        let bytes: Vec<u8> = match utf16 {
            None => text.into_bytes(),
            Some("utf16be") => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Some("utf16") => [0xFF, 0xFE]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Some(_) => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        };
        let encoded = base64(&bytes);
        let lead = [0, width * (1 + width), 2 * width * (1 + width) - 1][shift];
        let middle = encoded.get(lead..encoded.len().checked_sub(1)?)?;
        if middle.is_empty() {
            return None;
        }
        out.push(middle.to_ascii_lowercase());
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// Standard base64 without padding: the evaluator's encoder, so literals and matchers agree.
fn base64(bytes: &[u8]) -> String {
    crate::rules::build::base64(bytes, false)
}

/// Longest literal of a wildcard value (see [`literal`]).
fn longest_literal(s: &str) -> String {
    literal(s, &[])
}

/// Longest run of literal characters between unescaped wildcards (and `breaks`, characters that may
/// differ in a match), unescaped and lower-cased the way the evaluator reads the value.
fn literal(s: &str, breaks: &[char]) -> String {
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
                Some(n) if breaks.contains(&n) => {
                    cur.push('\\');
                    flush(&mut cur, &mut best);
                }
                Some(n) => {
                    cur.push('\\');
                    cur.extend(n.to_lowercase());
                }
                None => cur.push('\\'),
            },
            c if breaks.contains(&c) => flush(&mut cur, &mut best),
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
    names: NameIndex<'a>,
    selections: &'a [(&'a str, Prefilter)],
}

/// `Some(p)`: parsed, with necessary condition `p`; `None`: not understood (unconstrained overall).
type Parsed = Option<Prefilter>;

fn and(a: Prefilter, b: Prefilter) -> Prefilter {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) if a.len() * b.len() <= MAX_CLAUSES => {
            let mut out = Vec::with_capacity(a.len() * b.len());
            for x in &a {
                for y in &b {
                    let mut clause: Clause = x.iter().chain(y).cloned().collect();
                    clause.sort();
                    clause.dedup();
                    out.push(clause);
                }
            }
            Some(out)
        }
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
            Tok::Ident(name) => Some(self.selections[self.names.position(&name)?].1.clone()),
            Tok::OneOf | Tok::AllOf => {
                let Some(Tok::Ident(pattern)) = self.peek().cloned() else {
                    return None;
                };
                self.pos += 1;
                let matching: Vec<Prefilter> = self
                    .names
                    .matching(&pattern)
                    .ok()?
                    .into_iter()
                    .map(|i| self.selections[i].1.clone())
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pf(yaml: &str) -> Prefilter {
        let v: YamlValue = serde_norway::from_str(yaml).expect("yaml");
        derive(v.as_mapping().expect("mapping"))
    }

    /// (field, fragments) per clause.
    fn clauses(p: &Prefilter) -> Vec<Vec<(String, Vec<String>)>> {
        p.iter()
            .flatten()
            .map(|c| {
                c.iter()
                    .map(|c| (c.field.clone(), c.fragments.clone()))
                    .collect()
            })
            .collect()
    }

    fn check(field: &str, frags: &[&str]) -> (String, Vec<String>) {
        (
            field.to_string(),
            frags.iter().map(|f| f.to_string()).collect(),
        )
    }

    #[test]
    fn and_not_or_and_quantifiers() {
        let p = pf("sel:\n  Image|endswith: '\\whoami.exe'\n  CommandLine|contains: ['/a', '/b']\nfilter:\n  User: x\ncondition: sel and not filter\n");
        assert_eq!(
            clauses(&p),
            vec![vec![
                check("CommandLine", &["/a", "/b"]),
                check("Image", &["\\whoami.exe"])
            ]]
        );
        // A regex without a required literal still needs its field.
        let p = pf("a:\n  X: 'foo*bar2'\nb:\n  Y|re: '.'\ncondition: a or b\n");
        assert_eq!(
            clauses(&p),
            vec![vec![check("X", &["bar2"])], vec![check("Y", &[""])]]
        );
        let p = pf("sel_a:\n  X: 'aa'\nsel_b:\n  Y: 'bbb'\ncondition: 1 of sel_*\n");
        assert_eq!(clauses(&p).len(), 2);
        let p = pf("sel_a:\n  X: 'aa'\nsel_b:\n  EventID: 4\ncondition: all of them\n");
        assert_eq!(
            clauses(&p),
            vec![vec![check("EventID", &["4"]), check("X", &["aa"])]]
        );
        // `(a or b) and c` multiplies out.
        let p = pf("a:\n  X: 'aa'\nb:\n  Y: 'bb'\nc:\n  Z: 'cc'\ncondition: (a or b) and c\n");
        assert_eq!(clauses(&p).len(), 2);
        let p = pf("sel:\n  X|contains|all: ['a', 'bcd']\ncondition: (sel)\n");
        assert_eq!(clauses(&p), vec![vec![check("X", &["bcd"])]]);
        let p = pf("sel:\n  - 'Key*word'\ncondition: sel\n");
        assert_eq!(clauses(&p), vec![vec![check(ANY_FIELD, &["word"])]]);
        assert_eq!(pf("sel:\n  - '*'\ncondition: sel\n"), None);
        assert_eq!(
            clauses(&pf("sel:\n  X: ['a', '*']\ncondition: sel\n")),
            vec![vec![check("X", &[""])]]
        );
        assert_eq!(pf("sel:\n  X|exists: false\ncondition: sel\n"), None);
        assert_eq!(pf("sel:\n  X: a\ncondition: sel and\n"), None);
        assert_eq!(pf("sel:\n  X: a\ncondition: not sel\n"), None);
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
        assert_eq!(literal(" -accept/eula", &WINDASH), "accept");
        assert_eq!(literal("x\\-yzw", &WINDASH), "yzw");
    }

    #[test]
    fn transformed_values_give_literals() {
        assert_eq!(base64("Man"), "TWFu");
        assert_eq!(base64("Ma"), "TWE");
        assert_eq!(
            regex_literals("ipconfig\\s+/all"),
            Some(vec!["ipconfig".to_string()])
        );
        assert_eq!(regex_literals("a*"), None);
        assert_eq!(regex_literals("(unclosed"), None);
        let p = pf("sel:\n  CommandLine|base64offset|contains: 'IEX (New'\ncondition: sel\n");
        assert_eq!(clauses(&p)[0][0].1.len(), 3);
    }

    fn base64(s: &str) -> String {
        super::base64(s.as_bytes())
    }

    /// Rules whose detections exercise every kind of check, and events that match them in ways a
    /// careless literal would miss (other dashes, shifted base64, case, integers as strings).
    const RULES: &[&str] = &[
        "sel:\n  CommandLine|contains|windash: ' -accepteula'\ncondition: sel\n",
        "sel:\n  CommandLine|base64offset|contains: 'IEX (New-Object'\ncondition: sel\n",
        "sel:\n  CommandLine|base64|contains: 'whoami /all'\ncondition: sel\n",
        "sel:\n  CommandLine|base64offset|utf16le|contains: 'Invoke-Mimikatz'\ncondition: sel\n",
        "sel:\n  CommandLine|re: 'ipconfig\\s+/all'\ncondition: sel\n",
        "sel:\n  CommandLine|re: '(?i)NET\\s+USER'\ncondition: sel\n",
        "sel:\n  EventID: 4688\n  Image|endswith: '\\WHOAMI.exe'\ncondition: sel\n",
        "sel:\n  Enabled: true\n  Port: 4444\ncondition: sel\n",
        "sel:\n  Image|startswith: 'C:\\Temp\\'\nfilter:\n  Image|endswith: '.exe'\ncondition: sel and not filter\n",
        "kw:\n  - 'mimikatz'\n  - 'sekurlsa::'\ncondition: kw\n",
        "a:\n  X|cidr: '10.0.0.0/8'\nb:\n  Y|contains|all: ['foo', 'bar']\ncondition: 1 of them\n",
        // A missing field matches `null` and `neq`; `them` leaves out `_` identifiers.
        "sel:\n  Image|endswith: '.exe'\n  ParentImage: null\ncondition: sel\n",
        "sel:\n  Image|endswith: '.exe'\n  User|neq: 'SYSTEM'\ncondition: sel\n",
        "sel:\n  Image|contains: 'cmd'\n_aux:\n  Missing: 'zzz'\ncondition: all of them\n",
    ];

    fn events() -> Vec<Value> {
        let b64 = |s: &str| base64(s);
        let utf16 = |s: &str| -> String {
            let bytes: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
            super::base64(&bytes)
        };
        vec![
            json!({"CommandLine": "psexec.exe \u{2013}accepteula -s cmd"}),
            json!({"CommandLine": "psexec.exe /accepteula"}),
            json!({"CommandLine": format!("powershell -enc {}", b64("xIEX (New-Object Net.WebClient)"))}),
            json!({"CommandLine": format!("powershell -enc {}", b64("xyIEX (New-Object Net.WebClient)"))}),
            json!({"CommandLine": format!("powershell -enc {}", b64("IEX (New-Object Net.WebClient)"))}),
            json!({"CommandLine": format!("x {}", b64("whoami /all"))}),
            json!({"CommandLine": format!("x {}", utf16("a Invoke-Mimikatz -x"))}),
            json!({"CommandLine": format!("x {}", utf16("Invoke-Mimikatz"))}),
            json!({"CommandLine": "IPCONFIG   /all"}),
            json!({"CommandLine": "ipconfig /ALL"}),
            json!({"CommandLine": "net  user bob"}),
            json!({"EventID": "4688", "Image": "c:\\windows\\system32\\whoami.exe"}),
            json!({"EventID": 4688, "Image": "C:\\Windows\\System32\\WhoAmI.EXE"}),
            json!({"EventID": 4624, "Image": "C:\\Windows\\System32\\whoami.exe"}),
            json!({"Enabled": true, "Port": 4444}),
            json!({"Enabled": "true", "Port": "4444"}),
            json!({"Image": "C:\\Temp\\x.dll"}),
            json!({"Image": "C:\\Temp\\x.exe"}),
            json!({"Payload": "Invoke sekurlsa::logonpasswords"}),
            json!({"nested": {"a": "MIMIKATZ"}}),
            json!({"X": "10.1.2.3"}),
            json!({"Y": "barfoo"}),
            json!({"Y": 1.5}),
            json!({"Other": "nothing to see"}),
            json!({"Image": "C:\\cmd.exe"}),
            json!({"Image": "C:\\cmd.exe", "User": "SYSTEM", "ParentImage": null}),
        ]
    }

    /// The prefilter never rejects an event the evaluator matches, and does reject some.
    #[test]
    fn prefilter_is_sound_against_the_evaluator() {
        let fields = crate::evidence::FieldMap::embedded();
        let mut prefilters = Vec::new();
        let mut compiled = Vec::new();
        for yaml in RULES {
            let v: YamlValue = serde_norway::from_str(yaml).expect("yaml");
            prefilters.push(derive(v.as_mapping().expect("mapping")));
            compiled.push(crate::rules::compile::compile_detection("t", v).expect("compiles"));
        }
        assert!(prefilters.iter().all(Option::is_some), "{prefilters:?}");
        let index = Index::build(&prefilters);
        let all: Vec<usize> = (0..RULES.len()).collect();
        let program = index.program(&all);
        let (mut matched, mut rejected) = (0, 0);
        for event in events() {
            let p = fields.prepare(event.clone()).expect("object");
            let lower: HashMap<String, Option<String>> = p
                .flat
                .iter()
                .map(|(k, v)| (k.to_string(), text_of_value(v)))
                .collect();
            let mut marks = Marks::default();
            index.mark(&p.flat, &program, &mut marks);
            let mut survivors = Vec::new();
            program.survivors(&marks, &mut survivors);
            let e = p.into_event();
            for (i, rule) in compiled.iter().enumerate() {
                let reference = passes(prefilters[i].as_deref().unwrap_or_default(), &lower);
                assert_eq!(survivors.contains(&i), reference, "rule {i} on {event}");
                if rule.is_match(&e) {
                    matched += 1;
                    assert!(
                        reference,
                        "rule {i} matches {event} but the prefilter rejects it"
                    );
                } else {
                    rejected += usize::from(!reference);
                }
            }
        }
        assert!(matched >= 15, "{matched}");
        assert!(rejected > 150, "{rejected}");
    }

    /// A field with more fragments than one automaton holds finds them in every chunk.
    #[test]
    fn fragments_beyond_one_chunk_are_found() {
        let n = CHUNK_PATTERNS * 2 + 7;
        let values: String = (0..n).map(|i| format!("      - v{i}\n")).collect();
        let yaml = format!("sel:\n    CommandLine:\n{values}condition: sel\n");
        let prefilters = vec![derive(
            serde_norway::from_str::<YamlValue>(&yaml)
                .expect("yaml")
                .as_mapping()
                .expect("mapping"),
        )];
        let index = Index::build(&prefilters);
        let program = index.program(&[0]);
        let survives = |value: &str| {
            let mut flat = Fields::default();
            flat.insert("CommandLine".into(), Value::String(value.into()));
            let mut marks = Marks::default();
            index.mark(&flat, &program, &mut marks);
            let mut out = Vec::new();
            program.survivors(&marks, &mut out);
            !out.is_empty()
        };
        for i in [
            0,
            CHUNK_PATTERNS - 1,
            CHUNK_PATTERNS,
            2 * CHUNK_PATTERNS + 3,
            n - 1,
        ] {
            assert!(survives(&format!("v{i}")), "v{i}");
        }
        assert!(!survives("w1"));
    }
}
