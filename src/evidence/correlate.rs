//! Correlations and filters in `attacktrace test`.
//!
//! While the scanner evaluates events (see [`super::run`]), a [`Plan`] drops matches that a filter
//! suppresses, hides the matches of rules that only feed correlations (`generate: false`), and
//! keeps a [`Captured`] record (time, the few fields correlations read) of every match of a
//! correlated rule. After a stream is read, [`Plan::evaluate`] sorts those records by time and runs
//! each correlation in dependency order, so chained correlations see their inputs' results and the
//! order of events in the files never changes a result.
//!
//! Windows: per group, a window starts at each event (in time order) and spans `timespan`, both
//! ends included. A window that satisfies the condition is reported with all its events, and the
//! next window starts after it, so an event is reported once per correlation.

use super::model::EventRef;
use super::timestamp;
use crate::diag::{Code, Diagnostic};
use crate::rules::correlation::{Correlation, CorrelationType};
use crate::rules::eval::Event;
use crate::rules::references::{rule_name, MetaRules, ResolvedCorrelation};
use crate::rules::RuleRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// A match of a correlated rule, as correlations need it.
#[derive(Debug, Clone)]
pub struct Captured {
    pub rule: usize,
    pub file: PathBuf,
    pub line: usize,
    /// Nanoseconds since the epoch; `None`: no parsable timestamp (reported).
    pub time: Option<i128>,
    /// The group-by and condition fields this rule's correlations read, as found in the event.
    pub fields: BTreeMap<String, Value>,
}

/// One correlation result: the group it fired for and the events that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationMatch {
    /// `group-by` field = value, in the correlation's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<(String, String)>,
    /// The aggregated value the condition accepted (count, distinct values, sum, average, share).
    pub value: f64,
    /// Contributing events (of chained correlations: their events), sorted.
    pub events: Vec<EventRef>,
}

/// A correlation's result with the record index of the correlation.
pub struct Hit {
    pub rule: usize,
    pub found: CorrelationMatch,
}

/// Per-rule decisions made while events are scanned.
pub struct Plan<'a> {
    meta: &'a MetaRules,
    rules: &'a [RuleRecord],
    /// Per record: fields to capture when it matches (`None`: no correlation reads it).
    capture: Vec<Option<BTreeSet<String>>>,
    /// Per record: indices into `meta.filters` that apply to it.
    filters: Vec<Vec<usize>>,
    hidden: Vec<bool>,
    time_fields: Vec<String>,
}

impl<'a> Plan<'a> {
    /// `time_fields` empty: [`timestamp::DEFAULT_FIELDS`].
    pub fn new(rules: &'a [RuleRecord], meta: &'a MetaRules, time_fields: &[String]) -> Self {
        let mut capture: Vec<Option<BTreeSet<String>>> = vec![None; rules.len()];
        for c in &meta.correlations {
            for &r in &c.refs {
                let set = capture[r].get_or_insert_with(BTreeSet::new);
                set.extend(group_fields(&c.spec, rules, r));
                set.extend(c.spec.field.iter().cloned());
            }
        }
        let mut filters = vec![Vec::new(); rules.len()];
        for (k, f) in meta.filters.iter().enumerate() {
            for &t in &f.targets {
                filters[t].push(k);
            }
        }
        let time_fields = if time_fields.is_empty() {
            timestamp::DEFAULT_FIELDS
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            time_fields.to_vec()
        };
        Plan {
            meta,
            rules,
            capture,
            filters,
            hidden: meta.hidden_bases(rules),
            time_fields,
        }
    }

    /// True when a filter naming `rule` matches the event: the match is not reported.
    pub fn suppressed(&self, rule: usize, event: &Event) -> bool {
        self.filters.get(rule).is_some_and(|fs| {
            fs.iter()
                .any(|&k| self.meta.filters[k].spec.suppresses(event))
        })
    }

    /// True when the rule's own matches are not reported (it only feeds correlations).
    pub fn hidden(&self, rule: usize) -> bool {
        self.hidden.get(rule).copied().unwrap_or(false)
    }

    /// The record a correlation needs of this match, if any correlation reads the rule.
    pub fn capture(&self, rule: usize, event: &Event, line: usize) -> Option<Captured> {
        let names = self.capture.get(rule)?.as_ref()?;
        let fields = event.fields();
        Some(Captured {
            rule,
            file: PathBuf::new(),
            line,
            time: timestamp::event_time(fields, &self.time_fields),
            fields: names
                .iter()
                .filter_map(|n| timestamp::lookup(fields, n).map(|v| (n.clone(), v.clone())))
                .collect(),
        })
    }

    /// Runs every correlation over the captured matches of one stream. Matches without a time
    /// are reported per file, once, with their count.
    pub fn evaluate(&self, captured: Vec<Captured>, findings: &mut Vec<Diagnostic>) -> Vec<Hit> {
        let mut untimed: BTreeMap<PathBuf, (usize, usize)> = BTreeMap::new();
        let mut by_rule: BTreeMap<usize, Vec<Item>> = BTreeMap::new();
        for c in captured {
            let Some(time) = c.time else {
                let e = untimed.entry(c.file).or_insert((c.line, 0));
                e.0 = e.0.min(c.line);
                e.1 += 1;
                continue;
            };
            by_rule.entry(c.rule).or_default().push(Item {
                time,
                fields: c.fields,
                events: vec![EventRef {
                    file: c.file,
                    line: c.line,
                }],
            });
        }
        for (file, (line, n)) in untimed {
            findings.push(untimed_finding(&file, line, n, &self.time_fields));
        }
        let mut hits = Vec::new();
        let mut budget = WINDOW_BUDGET;
        for c in &self.meta.correlations {
            let (found, complete) = self.run_one(c, &by_rule, &mut budget);
            if !complete {
                let r = &self.rules[c.rule];
                findings.push(
                    Diagnostic::new(
                        Code::CorrelationInvalid,
                        "too many events in one window to evaluate this correlation within the \
                         work limit; its results are incomplete",
                    )
                    .at(&r.path)
                    .line(Some(r.line), None),
                );
            }
            // A chained correlation reads this one's results as events.
            let items = found.iter().map(|(m, time)| as_item(m, *time)).collect();
            by_rule.insert(c.rule, items);
            hits.extend(found.into_iter().map(|(found, _)| Hit {
                rule: c.rule,
                found,
            }));
        }
        hits
    }

    /// The correlation's matches, each with the time of its last event.
    fn run_one(
        &self,
        c: &ResolvedCorrelation,
        by_rule: &BTreeMap<usize, Vec<Item>>,
        budget: &mut u64,
    ) -> (Vec<(CorrelationMatch, i128)>, bool) {
        let mut groups: BTreeMap<Vec<String>, Vec<Keyed<'_>>> = BTreeMap::new();
        for (pos, &r) in c.refs.iter().enumerate() {
            let names = group_fields(&c.spec, self.rules, r);
            for item in by_rule.get(&r).into_iter().flatten() {
                // Like a SIEM's `by` clause: an event without a group-by field is in no group.
                let Some(key) = names
                    .iter()
                    .map(|n| item.fields.get(n).and_then(text))
                    .collect()
                else {
                    continue;
                };
                groups.entry(key).or_default().push(Keyed { pos, item });
            }
        }
        let mut out = Vec::new();
        let mut complete = true;
        for (key, mut items) in groups {
            items.sort_by(|a, b| {
                (a.item.time, a.pos, &a.item.events).cmp(&(b.item.time, b.pos, &b.item.events))
            });
            let mut found = Vec::new();
            complete &= windows(&c.spec, &items, budget, &mut found).is_ok();
            for (value, events, time) in found {
                let found = CorrelationMatch {
                    group: c
                        .spec
                        .group_by
                        .iter()
                        .cloned()
                        .zip(key.iter().cloned())
                        .collect(),
                    value,
                    events,
                };
                out.push((found, time));
            }
        }
        (out, complete)
    }
}

/// An event (or a chained correlation's result) fed to a correlation.
struct Item {
    time: i128,
    fields: BTreeMap<String, Value>,
    events: Vec<EventRef>,
}

/// An item with the position of its rule in the correlation's `rules`.
struct Keyed<'a> {
    pos: usize,
    item: &'a Item,
}

/// A correlation result as an event of the correlations that reference it: its time is its last
/// event's, its fields its group.
fn as_item(m: &CorrelationMatch, time: i128) -> Item {
    Item {
        time,
        fields: m
            .group
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
        events: m.events.clone(),
    }
}

/// Field names read for `group-by` in events of record `r`: an alias maps to the field that rule
/// (by name) carries; other names are fields as written.
fn group_fields(spec: &Correlation, rules: &[RuleRecord], r: usize) -> Vec<String> {
    let name = rule_name(&rules[r]);
    let id = rules[r].id.as_deref();
    spec.group_by
        .iter()
        .map(|g| {
            spec.aliases
                .get(g)
                .and_then(|per| {
                    name.and_then(|n| per.get(n))
                        .or_else(|| id.and_then(|i| per.get(i)))
                })
                .cloned()
                .unwrap_or_else(|| g.clone())
        })
        .collect()
}

/// A group key or counted value as text; `null` is no value.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// Item visits allowed for the window types that are recomputed per window (temporal_ordered,
/// value_percentile): a window of many thousands of events anchored at each of them would
/// otherwise take quadratic time. Past it the correlation is reported as incomplete.
pub const WINDOW_BUDGET: u64 = 200_000_000;

/// Running totals of the window `items[i..j]`, for the types whose value can be kept while the
/// window slides (each item is added and removed once: linear in the group's size).
#[derive(Default)]
struct Sliding {
    count: usize,
    distinct: HashMap<Vec<String>, usize>,
    per_pos: HashMap<usize, usize>,
    sum: f64,
    numbers: usize,
}

impl Sliding {
    fn change(&mut self, spec: &Correlation, k: &Keyed<'_>, add: bool) {
        if add {
            self.count += 1;
        } else {
            self.count = self.count.saturating_sub(1);
        }
        bump(&mut self.per_pos, k.pos, add);
        if let Some(v) = values(spec, k) {
            bump(&mut self.distinct, v, add);
        }
        if let Some(x) = number_of(spec, k) {
            if add {
                self.sum += x;
                self.numbers += 1;
            } else {
                self.sum -= x;
                self.numbers = self.numbers.saturating_sub(1);
            }
        }
    }

    /// The window's value; `None` for the recomputed types, `Some(None)` for no value (an average
    /// of nothing).
    fn value(&self, kind: CorrelationType) -> Option<Option<f64>> {
        Some(match kind {
            CorrelationType::EventCount => Some(self.count as f64),
            CorrelationType::ValueCount => Some(self.distinct.len() as f64),
            CorrelationType::Temporal => Some(self.per_pos.len() as f64),
            CorrelationType::ValueSum => Some(self.sum),
            CorrelationType::ValueAvg => (self.numbers > 0).then(|| self.sum / self.numbers as f64),
            CorrelationType::TemporalOrdered | CorrelationType::ValuePercentile => return None,
        })
    }
}

/// Counts one more or one less of `key`, dropping it at zero (so `len` is the distinct count).
fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K, add: bool) {
    use std::collections::hash_map::Entry;
    match (map.entry(key), add) {
        (Entry::Occupied(mut e), true) => *e.get_mut() += 1,
        (Entry::Vacant(e), true) => {
            e.insert(1);
        }
        (Entry::Occupied(e), false) if *e.get() <= 1 => {
            e.remove();
        }
        (Entry::Occupied(mut e), false) => *e.get_mut() -= 1,
        (Entry::Vacant(_), false) => {}
    }
}

/// Greedy windows over one group's items (sorted by time): see the module doc. `Err` when the
/// budget ran out (the results so far are kept).
fn windows(
    spec: &Correlation,
    items: &[Keyed<'_>],
    budget: &mut u64,
    out: &mut Vec<(f64, Vec<EventRef>, i128)>,
) -> Result<(), ()> {
    let span = i128::from(spec.timespan) * 1_000_000_000;
    let mut state = Sliding::default();
    let (mut i, mut j) = (0, 0);
    while i < items.len() {
        let end = items[i].item.time.saturating_add(span);
        while j < items.len() && items[j].item.time <= end {
            state.change(spec, &items[j], true);
            j += 1;
        }
        let accepted = match state.value(spec.kind) {
            Some(v) => v.is_some_and(|v| spec.accepts(v)),
            None => {
                *budget = budget.checked_sub((j - i) as u64).ok_or(())?;
                aggregate(spec, &items[i..j])
                    .is_some_and(|(v, used)| !used.is_empty() && spec.accepts(v))
            }
        };
        // The items counted are gathered only for a match; the window then moves past them.
        let found = if accepted {
            aggregate(spec, &items[i..j])
        } else {
            None
        };
        match found {
            Some((value, used)) if !used.is_empty() => {
                let mut events: Vec<EventRef> = used
                    .iter()
                    .flat_map(|k| k.item.events.iter().cloned())
                    .collect();
                events.sort();
                events.dedup();
                let last = used
                    .iter()
                    .map(|k| k.item.time)
                    .max()
                    .unwrap_or(items[i].item.time);
                out.push((value, events, last));
                state = Sliding::default();
                i = j;
            }
            _ => {
                state.change(spec, &items[i], false);
                i += 1;
            }
        }
    }
    Ok(())
}

/// The tuple of `condition.field` values of an item (all must be present).
fn values(spec: &Correlation, k: &Keyed<'_>) -> Option<Vec<String>> {
    if spec.field.is_empty() {
        return None;
    }
    spec.field
        .iter()
        .map(|f| k.item.fields.get(f).and_then(text))
        .collect()
}

/// The numeric value of the first `condition.field` of an item.
fn number_of(spec: &Correlation, k: &Keyed<'_>) -> Option<f64> {
    spec.field
        .first()
        .and_then(|f| k.item.fields.get(f))
        .and_then(number)
}

/// The value a window's condition is tested on, and the items it counts.
fn aggregate<'a, 'b>(spec: &Correlation, w: &'b [Keyed<'a>]) -> Option<(f64, Vec<&'b Keyed<'a>>)> {
    let all = || w.iter().collect::<Vec<_>>();
    let values = |k: &Keyed<'_>| values(spec, k);
    let numbers = || {
        w.iter()
            .filter_map(|k| {
                spec.field
                    .first()
                    .and_then(|f| k.item.fields.get(f))
                    .and_then(number)
                    .map(|n| (k, n))
            })
            .collect::<Vec<_>>()
    };
    Some(match spec.kind {
        CorrelationType::EventCount => (w.len() as f64, all()),
        CorrelationType::ValueCount => {
            let with: Vec<_> = w.iter().filter_map(|k| values(k).map(|v| (k, v))).collect();
            let distinct: BTreeSet<&Vec<String>> = with.iter().map(|(_, v)| v).collect();
            (
                distinct.len() as f64,
                with.iter().map(|(k, _)| *k).collect(),
            )
        }
        CorrelationType::Temporal => {
            let distinct: BTreeSet<usize> = w.iter().map(|k| k.pos).collect();
            (distinct.len() as f64, all())
        }
        CorrelationType::TemporalOrdered => {
            // The longest prefix of `rules` seen in order (equal times count as in order).
            let mut next = 0;
            let mut used = Vec::new();
            for k in w {
                if k.pos == next {
                    next += 1;
                    used.push(k);
                } else if next > 0 && k.pos < next {
                    used.push(k);
                }
            }
            (next as f64, used)
        }
        CorrelationType::ValueSum => {
            let n = numbers();
            (
                n.iter().map(|(_, x)| x).sum(),
                n.into_iter().map(|(k, _)| k).collect(),
            )
        }
        CorrelationType::ValueAvg => {
            let n = numbers();
            if n.is_empty() {
                return None;
            }
            (
                n.iter().map(|(_, x)| x).sum::<f64>() / n.len() as f64,
                n.into_iter().map(|(k, _)| k).collect(),
            )
        }
        CorrelationType::ValuePercentile => percentile(spec, w, values)?,
    })
}

/// value_percentile: the share (in percent) of the window's events that carry a value; the first
/// value (in sorted order) whose share the condition accepts is reported with its events.
fn percentile<'a, 'b>(
    spec: &Correlation,
    w: &'b [Keyed<'a>],
    values: impl Fn(&Keyed<'_>) -> Option<Vec<String>>,
) -> Option<(f64, Vec<&'b Keyed<'a>>)> {
    let mut by_value: BTreeMap<Vec<String>, Vec<&Keyed<'a>>> = BTreeMap::new();
    for k in w {
        if let Some(v) = values(k) {
            by_value.entry(v).or_default().push(k);
        }
    }
    let total: usize = by_value.values().map(Vec::len).sum();
    by_value.into_values().find_map(|ks| {
        let share = ks.len() as f64 * 100.0 / total as f64;
        spec.accepts(share).then_some((share, ks))
    })
}

fn untimed_finding(file: &Path, line: usize, n: usize, names: &[String]) -> Diagnostic {
    let more = match n {
        1 => String::new(),
        n => format!(" ({} more such events in this file)", n - 1),
    };
    Diagnostic::new(
        Code::EventTimestampMissing,
        format!(
            "an event matched by a correlated rule has no parsable timestamp in {}; correlations did not count it{more}",
            names.join(", ")
        ),
    )
    .at(file)
    .line(Some(line), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::references::resolve;
    use crate::rules::{load_text, LoadOptions};
    use serde_json::json;

    /// Two base rules (`logon` by name, `probe` by id) over flat events with a `kind` field.
    const BASE: &str = "title: Logon\nid: 11111111-0000-4000-8000-000000000001\nname: logon\nlogsource:\n  product: demo\ndetection:\n  sel:\n    kind: logon\n  condition: sel\n---\ntitle: Probe\nid: 11111111-0000-4000-8000-000000000002\nname: probe\nlogsource:\n  product: demo\ndetection:\n  sel:\n    kind: probe\n  condition: sel\n";

    fn rules(extra: &str) -> Vec<RuleRecord> {
        let opts = LoadOptions {
            keep_source: true,
            ..LoadOptions::default()
        };
        let (rules, reports) = load_text(Path::new("t.yml"), &format!("{BASE}---\n{extra}"), &opts);
        assert!(reports.is_empty(), "{reports:?}");
        rules
    }

    /// Runs the scanner's per-event steps over `events` (line = position + 1) and evaluates.
    fn run(
        rules: &[RuleRecord],
        events: &[Value],
    ) -> (Vec<(String, CorrelationMatch)>, Vec<Diagnostic>) {
        let meta = resolve(rules);
        assert!(meta.problems.is_empty(), "{:?}", meta.problems);
        let plan = Plan::new(rules, &meta, &[]);
        let mut captured = Vec::new();
        for (n, v) in events.iter().enumerate() {
            let event = Event::new(v.as_object().unwrap().clone());
            for (i, r) in rules.iter().enumerate() {
                let matched = r.compiled.as_ref().is_some_and(|d| d.is_match(&event));
                if matched && !plan.suppressed(i, &event) {
                    captured.extend(plan.capture(i, &event, n + 1));
                }
            }
        }
        let mut findings = Vec::new();
        let hits = plan.evaluate(captured, &mut findings);
        let named = hits
            .into_iter()
            .map(|h| (rules[h.rule].title.clone(), h.found))
            .collect();
        (named, findings)
    }

    fn e(kind: &str, t: i64, host: &str, user: &str) -> Value {
        json!({"kind": kind, "timestamp": t, "Host": host, "User": user, "Bytes": t})
    }

    fn lines(m: &CorrelationMatch) -> Vec<usize> {
        m.events.iter().map(|e| e.line).collect()
    }

    const COUNT: &str = "title: Burst\ncorrelation:\n  type: event_count\n  rules: [logon]\n  group-by: [Host]\n  timespan: 1m\n  condition:\n    gte: 3\n";

    #[test]
    fn event_count_by_group() {
        let set = rules(COUNT);
        let evs = [
            e("logon", 0, "a", "x"),
            e("logon", 20, "b", "x"),
            e("logon", 30, "a", "y"),
            e("logon", 50, "a", "z"),
            e("logon", 55, "b", "x"),
        ];
        let (hits, findings) = run(&set, &evs);
        assert!(findings.is_empty());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1.group, vec![("Host".to_string(), "a".to_string())]);
        assert_eq!(hits[0].1.value, 3.0);
        assert_eq!(lines(&hits[0].1), vec![1, 3, 4]);
    }

    #[test]
    fn timespan_ends_are_included() {
        let set = rules(&COUNT.replace("gte: 3", "gte: 2"));
        let (hits, _) = run(
            &set,
            &[e("logon", 100, "a", "x"), e("logon", 160, "a", "x")],
        );
        assert_eq!(hits.len(), 1);
        let (hits, _) = run(
            &set,
            &[e("logon", 100, "a", "x"), e("logon", 161, "a", "x")],
        );
        assert!(hits.is_empty());
    }

    #[test]
    fn event_order_does_not_change_the_result() {
        let set = rules(COUNT);
        let mut evs = vec![
            e("logon", 5, "a", "x"),
            e("logon", 300, "a", "x"),
            e("logon", 10, "a", "x"),
            e("logon", 40, "a", "x"),
            e("logon", 320, "a", "x"),
        ];
        let (first, _) = run(&set, &evs);
        evs.reverse();
        let (second, _) = run(&set, &evs);
        let times = |h: &[(String, CorrelationMatch)]| {
            h.iter()
                .map(|(_, m)| (m.value, m.events.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&first), vec![(3.0, 3)]);
        assert_eq!(times(&first), times(&second));
    }

    #[test]
    fn value_count_sum_avg_and_percentile() {
        let vc = "title: Spray\ncorrelation:\n  type: value_count\n  rules: [logon]\n  group-by: [Host]\n  timespan: 10m\n  condition:\n    field: User\n    gt: 2\n";
        let evs = [
            e("logon", 0, "a", "u1"),
            e("logon", 1, "a", "u1"),
            e("logon", 2, "a", "u2"),
            e("logon", 3, "a", "u3"),
        ];
        let (hits, _) = run(&rules(vc), &evs);
        assert_eq!(hits[0].1.value, 3.0);
        let sum = vc
            .replace("value_count", "value_sum")
            .replace("User", "Bytes")
            .replace("gt: 2", "gte: 6");
        let (hits, _) = run(&rules(&sum), &evs);
        assert_eq!(hits[0].1.value, 6.0);
        let avg = sum
            .replace("value_sum", "value_avg")
            .replace("gte: 6", "lt: 2");
        let (hits, _) = run(&rules(&avg), &evs);
        assert_eq!(hits[0].1.value, 1.5);
        // u1 is half of the events: the only value at or above 50 %.
        let pct = vc
            .replace("value_count", "value_percentile")
            .replace("gt: 2", "gte: 50");
        let (hits, _) = run(&rules(&pct), &evs);
        assert_eq!((hits[0].1.value, lines(&hits[0].1)), (50.0, vec![1, 2]));
    }

    const ORDERED: &str = "title: Probe then logon\ncorrelation:\n  type: temporal_ordered\n  rules: [probe, 11111111-0000-4000-8000-000000000001]\n  group-by: [Host]\n  timespan: 5m\n";

    #[test]
    fn temporal_and_ordered() {
        let reversed = [e("logon", 0, "a", "x"), e("probe", 60, "a", "x")];
        let in_order = [e("probe", 0, "a", "x"), e("logon", 60, "a", "x")];
        let ordered = rules(ORDERED);
        assert!(run(&ordered, &reversed).0.is_empty());
        assert_eq!(run(&ordered, &in_order).0.len(), 1);
        let any = rules(&ORDERED.replace("temporal_ordered", "temporal"));
        assert_eq!(run(&any, &reversed).0.len(), 1);
        assert!(
            run(&any, &[e("probe", 0, "a", "x"), e("logon", 60, "b", "x")])
                .0
                .is_empty()
        );
    }

    #[test]
    fn chained_correlations_and_aliases() {
        let chain = format!("{}name: burst\n---\ntitle: Burst then probe\ncorrelation:\n  type: temporal_ordered\n  rules: [burst, probe]\n  group-by: [src]\n  timespan: 10m\n  aliases:\n    src:\n      burst: Host\n      probe: Target\n", COUNT.trim_start_matches("title: Burst\n").replace("correlation:", "title: Burst\ncorrelation:"));
        let set = rules(&chain);
        let mut evs = vec![
            e("logon", 0, "a", "x"),
            e("logon", 10, "a", "x"),
            e("logon", 20, "a", "x"),
        ];
        evs.push(json!({"kind": "probe", "timestamp": 100, "Target": "a"}));
        let (hits, _) = run(&set, &evs);
        let outer: Vec<_> = hits
            .iter()
            .filter(|(t, _)| t == "Burst then probe")
            .collect();
        assert_eq!(outer.len(), 1, "{hits:?}");
        assert_eq!(outer[0].1.group, vec![("src".to_string(), "a".to_string())]);
        assert_eq!(lines(&outer[0].1), vec![1, 2, 3, 4]);
        // generate is off: the base rules and the inner correlation only feed the outer one.
        let meta = resolve(&set);
        let hidden = meta.hidden_bases(&set);
        assert_eq!(hidden.iter().filter(|h| **h).count(), 3);
    }

    #[test]
    fn filters_by_id_and_name() {
        let filter = "title: Quiet service\nlogsource:\n  product: demo\nfilter:\n  rules: [logon, 11111111-0000-4000-8000-000000000002]\n  sel:\n    User|startswith: svc_\n  condition: sel\n";
        let set = rules(filter);
        let meta = resolve(&set);
        let plan = Plan::new(&set, &meta, &[]);
        let ev =
            |kind: &str, user: &str| Event::new(e(kind, 0, "a", user).as_object().unwrap().clone());
        assert!(plan.suppressed(0, &ev("logon", "svc_backup")));
        assert!(plan.suppressed(1, &ev("probe", "svc_backup")));
        assert!(!plan.suppressed(0, &ev("logon", "alice")));
    }

    #[test]
    fn unknown_references_and_bad_logsources_are_problems() {
        let bad = "title: Lost\ncorrelation:\n  type: temporal\n  rules: [logon, nowhere]\n  group-by: [Host]\n  timespan: 1m\n---\ntitle: Wrong source\nlogsource:\n  product: other\nfilter:\n  rules: [logon, ghost]\n  sel:\n    User: x\n  condition: sel\n";
        let meta = resolve(&rules(bad));
        let codes: Vec<Code> = meta.problems.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            vec![
                Code::RuleReferenceUnknown,
                Code::FilterLogsourceMismatch,
                Code::RuleReferenceUnknown
            ]
        );
        assert!(meta.correlations.is_empty() && meta.filters.is_empty());
    }

    #[test]
    fn one_huge_window_stays_linear() {
        let evs: Vec<Value> = (0..40_000)
            .map(|t| e("logon", t % 50, "a", &format!("u{t}")))
            .collect();
        let never = COUNT.replace("gte: 3", "gte: 1000000");
        let started = std::time::Instant::now();
        assert!(run(&rules(&never), &evs).0.is_empty());
        let distinct = never
            .replace("event_count", "value_count")
            .replace("gte: 1000000", "field: User\n    gte: 1000000");
        assert!(run(&rules(&distinct), &evs).0.is_empty());
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    #[test]
    fn events_without_time_are_reported() {
        let set = rules(COUNT);
        let (hits, findings) = run(
            &set,
            &[
                json!({"kind": "logon", "Host": "a"}),
                json!({"kind": "logon", "Host": "a", "timestamp": "soon"}),
            ],
        );
        assert!(hits.is_empty());
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, Code::EventTimestampMissing);
        assert!(
            findings[0].message.contains("1 more"),
            "{}",
            findings[0].message
        );
    }
}
