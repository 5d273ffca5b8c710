//! Features of one rule: what its log source, its words and its detection say, as plain values.
//!
//! Values of selections that only filter (`filter*` names and selections negated in the condition)
//! describe what the rule is *not* about, so they contribute their field names only.

use crate::rules::{LogSource, RuleRecord};
use serde::Serialize;
use serde_norway::{Mapping, Value};
use std::collections::HashMap;

/// One feature; its variant says where it came from, which is what an explanation shows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Feature {
    Product(String),
    Category(String),
    Service(String),
    /// The whole triple, `product/category/service`.
    LogSource(String),
    /// A word of the title or description.
    Word(String),
    /// A detection field name, lower-cased.
    Field(String),
    /// A token of a detection value (lower-cased; path parts, `.exe` stems, hyphenated parts).
    Value(String),
    /// A short whole value with its field: `eventid=4688`.
    FieldValue(String, String),
    /// A technique ID named in a reference URL (`.../atomics/T1016/T1016.md`,
    /// `.../techniques/T1059/001/`), upper case.
    ReferencedTechnique(String),
    /// A word of a reference URL's path (the host left out), stemmed like title words.
    ReferenceWord(String),
}

/// How a value is compared, from the field's modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
    Regex,
    /// A keyword searched in every value of the event.
    Keyword,
}

/// Where a value token was first seen: the field as written and the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub field: Option<String>,
    pub op: Op,
}

/// The features of one rule (repeated as often as they occur) and the origin of its value tokens.
#[derive(Debug, Clone, Default)]
pub struct RuleFeatures {
    pub features: Vec<Feature>,
    pub origins: HashMap<Feature, Origin>,
    /// The first spelling of each stemmed word (or pair) of the title, description and references.
    pub spelled: HashMap<Feature, String>,
}

/// Whole values at most this long also become a `field=value` feature.
const SHORT_VALUE: usize = 32;
/// Tokens longer than this (encoded blobs, long regexes) say little and bloat the vocabulary.
const LONG_TOKEN: usize = 48;

/// File extensions not kept as tokens of their own (the whole name and the stem are).
const EXTENSIONS: &[&str] = &[
    "exe", "dll", "sys", "ps1", "bat", "cmd", "vbs", "js", "hta", "lnk",
];

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "was",
    "with",
    "that",
    "this",
    "from",
    "via",
    "can",
    "has",
    "have",
    "been",
    "into",
    "its",
    "use",
    "used",
    "using",
    "which",
    "when",
    "may",
    "not",
    "other",
    "such",
    "these",
    "those",
    "also",
    "all",
    "any",
    "detects",
    "detect",
    "detection",
    "possible",
    "potential",
    "potentially",
    "suspicious",
    "rule",
    "rules",
    "attempt",
    "attempts",
    "based",
    "known",
    "events",
    "event",
    "related",
    "specific",
    "could",
    "might",
    "well",
    "more",
    "new",
    "had",
    "were",
    "will",
    "would",
    "should",
    "there",
    "their",
    "them",
    "they",
    "than",
    "then",
    "what",
    "who",
    "how",
    "only",
    "some",
    "each",
    "both",
    "our",
    "your",
    "you",
    "about",
    "after",
    "before",
    "over",
    "under",
    "between",
    "where",
    "while",
    "does",
    "did",
    "being",
    "because",
    "most",
    "many",
    "much",
    "very",
    "often",
    "usually",
    "here",
    "just",
    "like",
    "within",
    "without",
];

impl RuleFeatures {
    /// A stemmed word as the rule spelled it (for explanations); other features unchanged.
    pub fn as_spelled(&self, feature: Feature) -> Feature {
        match (self.spelled.get(&feature), feature) {
            (Some(s), Feature::Word(_)) => Feature::Word(s.clone()),
            (Some(s), Feature::ReferenceWord(_)) => Feature::ReferenceWord(s.clone()),
            (_, feature) => feature,
        }
    }
}

/// Extracts the features of a rule. The detection is read from the kept source (load with
/// `keep_source`); without it only the log source and the words count.
pub fn extract(rule: &RuleRecord) -> RuleFeatures {
    let mut out = RuleFeatures::default();
    logsource_features(&rule.logsource, &mut out.features);
    words_and_pairs(&rule.title, &mut out);
    if let Some(d) = &rule.description {
        words_and_pairs(d, &mut out);
    }
    let mut ids = std::collections::BTreeSet::new();
    for url in &rule.references {
        reference_features(url, &mut ids, &mut out);
    }
    out.features
        .extend(ids.into_iter().map(Feature::ReferencedTechnique));
    if let Some(detection) = rule
        .source
        .as_ref()
        .and_then(|s| s.map.get("detection"))
        .and_then(Value::as_mapping)
    {
        detection_features(detection, &mut out);
    }
    out
}

/// What ATT&CK says about a technique, as rule-like features: its name (as words and as
/// values), its description when a full bundle is loaded, the names of its detection strategies
/// and the facts of its analytics' log sources (syscalls, paths, event IDs...).
pub fn technique_features(
    kb: &crate::attack::KnowledgeBase,
    t: &crate::attack::Technique,
) -> Vec<Feature> {
    let mut out = RuleFeatures::default();
    out.features
        .push(Feature::ReferencedTechnique(t.id.clone()));
    words(&t.name, &mut out.features);
    value_tokens(None, Op::Keyword, &t.name, &mut out);
    if let Some(d) = &t.description {
        words(d, &mut out.features);
    }
    for (strategy, analytic) in kb.analytics_of(t) {
        words(&strategy.name, &mut out.features);
        for fact in analytic.log_sources.iter().flat_map(|l| &l.facts) {
            value_tokens(None, Op::Keyword, &fact.value, &mut out);
        }
    }
    out.features
}

/// What a reference URL says: the technique IDs in its path (into `ids`, each counted once per
/// rule) and, after the host, its words (a write-up's slug names the behaviour, a LOLBAS page the
/// binary). Long tokens with digits (commit hashes, sample IDs) are left out: they name a
/// snapshot, not a behaviour; so are technique IDs, counted once above.
fn reference_features(
    url: &str,
    ids: &mut std::collections::BTreeSet<String>,
    out: &mut RuleFeatures,
) {
    let path = url.split_once("://").map_or(url, |(_, rest)| {
        rest.split_once('/').map_or("", |(_, path)| path)
    });
    let parts: Vec<&str> = path
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|p| !p.is_empty())
        .collect();
    for (k, part) in parts.iter().enumerate() {
        if let Some(id) = technique_id(part, parts.get(k + 1).copied()) {
            ids.insert(id);
        }
    }
    let text = path.replace(['.', '_'], " ");
    for (stem, spelling) in spelled_words(&text) {
        let snapshot = spelling.len() >= 16 && spelling.bytes().any(|b| b.is_ascii_digit());
        if snapshot || technique_id(&spelling, None).is_some() {
            continue;
        }
        let feature = Feature::ReferenceWord(stem);
        out.spelled.entry(feature.clone()).or_insert(spelling);
        out.features.push(feature);
    }
}

/// `T1059.001` (or `T1059` followed by a path part `001`) as a technique ID; anything else not.
fn technique_id(part: &str, next: Option<&str>) -> Option<String> {
    let upper = part.to_ascii_uppercase();
    let upper = upper.strip_suffix(".MD").unwrap_or(&upper);
    let (base, sub) = upper.split_once('.').unwrap_or((upper, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !(base.len() == 5 && base.starts_with('T') && digits(&base[1..], 4)) {
        return None;
    }
    match (sub, next) {
        ("", Some(n)) if digits(n, 3) => Some(format!("{base}.{n}")),
        ("", _) => Some(base.to_string()),
        (s, _) if digits(s, 3) => Some(format!("{base}.{s}")),
        _ => None,
    }
}

fn logsource_features(ls: &LogSource, out: &mut Vec<Feature>) {
    if let Some(p) = &ls.product {
        out.push(Feature::Product(p.clone()));
    }
    if let Some(c) = &ls.category {
        out.push(Feature::Category(c.clone()));
    }
    if let Some(s) = &ls.service {
        out.push(Feature::Service(s.clone()));
    }
    if !ls.is_empty() {
        out.push(Feature::LogSource(ls.key()));
    }
}

/// Title and description words: lower-cased alphanumeric runs of 3+ characters, no stopwords,
/// reduced to their English stem (`deleted`, `deletion` -> `delet`) so a new rule's wording meets
/// the tagged rules' and the technique's.
pub fn words(text: &str, out: &mut Vec<Feature>) {
    out.extend(spelled_words(text).map(|(stem, _)| Feature::Word(stem)));
}

/// Each kept word of `text` as `(stem, lower-cased spelling)`.
fn spelled_words(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    static STEMMER: std::sync::LazyLock<rust_stemmers::Stemmer> = std::sync::LazyLock::new(|| {
        rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English)
    });
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3 && w.len() <= LONG_TOKEN)
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .map(|w| (STEMMER.stem(&w).into_owned(), w))
}

/// Words and adjacent word pairs after stopwords are dropped (`scheduled task`, `service
/// installed`: a pair often names the behaviour where each word alone is common); each stem's
/// first spelling is kept for explanations.
fn words_and_pairs(text: &str, out: &mut RuleFeatures) {
    let ws: Vec<(String, String)> = spelled_words(text).collect();
    let pairs: Vec<(String, String)> = ws
        .windows(2)
        .map(|p| {
            (
                format!("{} {}", p[0].0, p[1].0),
                format!("{} {}", p[0].1, p[1].1),
            )
        })
        .collect();
    for (stem, spelling) in ws.into_iter().chain(pairs) {
        let feature = Feature::Word(stem);
        out.spelled.entry(feature.clone()).or_insert(spelling);
        out.features.push(feature);
    }
}

fn detection_features(detection: &Mapping, out: &mut RuleFeatures) {
    let condition = condition_text(detection.get("condition"));
    let negated = negated_names(&condition);
    for (name, body) in detection {
        let Some(name) = name.as_str() else { continue };
        if name == "condition" || name == "timeframe" {
            continue;
        }
        let filters_only = name.to_ascii_lowercase().starts_with("filter")
            || negated.iter().any(|pattern| name_matches(pattern, name));
        selection(body, filters_only, out);
    }
}

fn condition_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => String::new(),
    }
}

/// Names (or `prefix*` patterns) that appear under a `not` in the condition: `not sel`,
/// `not 1 of filter_*`, `not (a or b)`.
fn negated_names(condition: &str) -> Vec<String> {
    let tokens: Vec<&str> = condition
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|t| !t.is_empty())
        .collect();
    // Parenthesised groups after `not` negate every name inside, so track the depth per `not`.
    let lower = condition.to_ascii_lowercase();
    let mut names = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].eq_ignore_ascii_case("not") {
            let mut j = i + 1;
            while j < tokens.len() && is_quantifier(tokens[j]) {
                j += 1;
            }
            if let Some(t) = tokens.get(j) {
                names.push(t.to_string());
            }
        }
        i += 1;
    }
    for (start, _) in lower.match_indices("not (") {
        let rest = &condition[start + 5..];
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(rest.len(), |(k, _)| k);
        names.extend(
            rest[..end]
                .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                .filter(|t| !t.is_empty() && !is_keyword(t))
                .map(str::to_string),
        );
    }
    names
}

fn is_quantifier(t: &str) -> bool {
    t == "1"
        || t.eq_ignore_ascii_case("all")
        || t.eq_ignore_ascii_case("any")
        || t.eq_ignore_ascii_case("of")
}

fn is_keyword(t: &str) -> bool {
    is_quantifier(t)
        || ["and", "or", "not"]
            .iter()
            .any(|k| t.eq_ignore_ascii_case(k))
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == "them" || pattern == name,
    }
}

fn selection(body: &Value, filters_only: bool, out: &mut RuleFeatures) {
    match body {
        Value::Mapping(map) => {
            for (key, values) in map {
                let Some(key) = key.as_str() else { continue };
                field_item(key, values, filters_only, out);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                match item {
                    Value::Mapping(_) => selection(item, filters_only, out),
                    _ if !filters_only => {
                        each_scalar(item, &mut |s| value_tokens(None, Op::Keyword, s, out))
                    }
                    _ => {}
                }
            }
        }
        other if !filters_only => {
            each_scalar(other, &mut |s| value_tokens(None, Op::Keyword, s, out))
        }
        _ => {}
    }
}

fn field_item(key: &str, values: &Value, filters_only: bool, out: &mut RuleFeatures) {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mut op = Op::Equals;
    for m in parts {
        op = match m.to_ascii_lowercase().as_str() {
            "contains" => Op::Contains,
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "re" => Op::Regex,
            _ => op,
        };
    }
    if !field.is_empty() {
        out.features.push(Feature::Field(field.to_lowercase()));
    }
    if filters_only {
        return;
    }
    let field = (!field.is_empty()).then_some(field);
    each_scalar(values, &mut |s| value_tokens(field, op, s, out));
}

fn each_scalar(v: &Value, f: &mut dyn FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Number(n) => f(&n.to_string()),
        Value::Bool(b) => f(if *b { "true" } else { "false" }),
        Value::Sequence(items) => items.iter().for_each(|i| each_scalar(i, f)),
        _ => {}
    }
}

/// Tokens of one value: the short whole value with its field, then its parts split on path
/// separators and punctuation, each part's dotted pieces and `.exe`-style stem, hyphenated parts.
fn value_tokens(field: Option<&str>, op: Op, raw: &str, out: &mut RuleFeatures) {
    let value = raw.to_lowercase();
    let trimmed = value.trim_matches(|c: char| c == '*' || c.is_whitespace());
    if let Some(f) = field {
        if !trimmed.is_empty() && trimmed.len() <= SHORT_VALUE {
            out.features
                .push(Feature::FieldValue(f.to_lowercase(), trimmed.to_string()));
        }
    }
    let origin = Origin {
        field: field.map(str::to_string),
        op,
    };
    let mut push = |token: &str| {
        if token.len() < 2 || token.len() > LONG_TOKEN {
            return;
        }
        let feature = Feature::Value(token.to_string());
        out.origins
            .entry(feature.clone())
            .or_insert_with(|| origin.clone());
        out.features.push(feature);
    };
    for part in value.split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '-' || c == '_')) {
        let part = part.trim_matches(|c| c == '.' || c == '-' || c == '_');
        if part.is_empty() {
            continue;
        }
        push(part);
        if part.contains('.') {
            let pieces: Vec<&str> = part.split('.').filter(|p| !p.is_empty()).collect();
            if pieces.len() > 1 {
                // `systemctl.exe` -> `systemctl`; `a.b.c` -> each piece. A bare file extension
                // is in every other value and explains nothing.
                let last = pieces.len() - 1;
                pieces
                    .iter()
                    .enumerate()
                    .filter(|&(k, p)| k < last || !EXTENSIONS.contains(p))
                    .for_each(|(_, p)| push(p));
            }
        }
        if part.contains('-') {
            part.split('-')
                .filter(|p| !p.is_empty())
                .for_each(|p| push(p.trim_matches('.')));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_with(detection: &str) -> RuleRecord {
        let text = format!(
            "title: Systemd Timer Created\nlogsource:\n  product: linux\n  service: auditd\ndetection:\n{detection}"
        );
        let (rules, _) = crate::rules::load_text(
            std::path::Path::new("t.yml"),
            &text,
            &crate::rules::LoadOptions {
                keep_source: true,
                ..Default::default()
            },
        );
        rules.into_iter().next().expect("rule loads")
    }

    #[test]
    fn values_split_into_tokens_and_stems() {
        let r = rule_with(
            "  sel:\n    Image|endswith: '\\systemctl.exe'\n    CommandLine|contains: 'enable-timer'\n  condition: sel\n",
        );
        let f = extract(&r);
        for want in [
            "systemctl.exe",
            "systemctl",
            "enable-timer",
            "enable",
            "timer",
        ] {
            assert!(f.features.contains(&Feature::Value(want.into())), "{want}");
        }
        assert!(!f.features.contains(&Feature::Value("exe".into())));
        assert!(f.features.contains(&Feature::FieldValue(
            "image".into(),
            "\\systemctl.exe".into()
        )));
        assert!(f.features.contains(&Feature::Field("commandline".into())));
        assert!(f
            .features
            .contains(&Feature::LogSource("linux/*/auditd".into())));
        assert!(f.features.contains(&Feature::Word("systemd".into())));
        assert!(!f.features.contains(&Feature::Word("the".into())));
        let o = &f.origins[&Feature::Value("timer".into())];
        assert_eq!(
            (o.field.as_deref(), o.op),
            (Some("CommandLine"), Op::Contains)
        );
    }

    #[test]
    fn filters_and_negated_selections_give_field_names_only() {
        let r = rule_with(
            "  sel:\n    Image: 'a.exe'\n  filter_main:\n    User: 'system'\n  legit:\n    ParentImage: 'ok.exe'\n  condition: sel and not 1 of filter_* and not legit\n",
        );
        let f = extract(&r);
        assert!(f.features.contains(&Feature::Field("user".into())));
        assert!(f.features.contains(&Feature::Field("parentimage".into())));
        assert!(!f.features.contains(&Feature::Value("system".into())));
        assert!(!f.features.contains(&Feature::Value("ok".into())));
        assert!(f.features.contains(&Feature::Value("a.exe".into())));
    }

    #[test]
    fn negated_groups_and_keywords() {
        let n = negated_names("sel and not (a or b)");
        assert!(n.contains(&"a".to_string()) && n.contains(&"b".to_string()));
        assert!(!n.contains(&"sel".to_string()));
        let r = rule_with("  keywords:\n    - 'crontab -e'\n  condition: keywords\n");
        let f = extract(&r);
        assert!(f.features.contains(&Feature::Value("crontab".into())));
        assert_eq!(f.origins[&Feature::Value("crontab".into())].op, Op::Keyword);
    }

    #[test]
    fn words_meet_on_their_stem_and_keep_their_first_spelling() {
        let mut r = rule_with("  sel:\n    Image: 'a'\n  condition: sel\n");
        r.description = Some("Timers created and deleted; a deletion of timers".into());
        let f = extract(&r);
        let count = |w: &str| {
            f.features
                .iter()
                .filter(|x| **x == Feature::Word(w.into()))
                .count()
        };
        // `Timer` (title), `Timers` twice (description) share one stem; so do the other forms.
        assert_eq!(count("timer"), 3);
        assert_eq!(count("delet"), 2);
        assert_eq!(count("creat"), 2);
        assert_eq!(
            f.as_spelled(Feature::Word("delet".into())),
            Feature::Word("deleted".into())
        );
        assert_eq!(
            f.as_spelled(Feature::Word("systemd timer".into())),
            Feature::Word("systemd timer".into())
        );
        assert_eq!(
            f.as_spelled(Feature::Field("image".into())),
            Feature::Field("image".into())
        );
    }

    #[test]
    fn references_give_technique_ids_and_path_words() {
        let mut r = rule_with("  sel:\n    Image: 'a'\n  condition: sel\n");
        r.references = vec![
            "https://github.com/x/atomic-red-team/blob/0123456789abcdef0123/atomics/T1016/T1016.md"
                .into(),
            "https://attack.mitre.org/techniques/T1059/001/".into(),
            "https://example.org/2024/kerberos-coercion_spoofing.html".into(),
            "not a url T9999x".into(),
            "https://x.org/T1016/t1016.md".into(),
        ];
        let f = extract(&r);
        let ids: Vec<&Feature> = f
            .features
            .iter()
            .filter(|x| matches!(x, Feature::ReferencedTechnique(_)))
            .collect();
        assert_eq!(
            ids,
            [
                &Feature::ReferencedTechnique("T1016".into()),
                &Feature::ReferencedTechnique("T1059.001".into())
            ]
        );
        let has = |w: &str| f.features.contains(&Feature::ReferenceWord(w.into()));
        assert!(has("kerbero") && has("coercion") && has("spoof"));
        // The host and a commit hash say nothing about the behaviour; IDs are features of their own.
        assert!(!has("exampl") && !has("0123456789abcdef0123") && !has("t1016"));
        assert_eq!(
            f.as_spelled(Feature::ReferenceWord("spoof".into())),
            Feature::ReferenceWord("spoofing".into())
        );
        assert_eq!(
            technique_id("t1003.001", None).as_deref(),
            Some("T1003.001")
        );
        assert_eq!(technique_id("T1003", Some("abc")).as_deref(), Some("T1003"));
        assert_eq!(technique_id("T10034", None), None);
        assert_eq!(technique_id("T1003.01", None), None);
    }
}
