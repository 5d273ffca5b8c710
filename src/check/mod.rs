//! `attacktrace check`: the CI gate. Validators over a loaded rule set, one module per family.
//!
//! Flow: the loader (with `keep_source`) gives records with their raw YAML and file text; each
//! family adds [`Finding`]s (per rule in parallel, then the repository-wide pass). The command
//! itself uses [`load_and_run`]: per-rule checks run as each file loads and the rule is slimmed
//! right after, which keeps the peak memory of a large repository low. The settings
//! filter them (enabled codes, exclusions, inline suppressions, severity overrides); the result is a
//! plain [`CheckReport`] that `render::check` turns into text, JSON, SARIF, JUnit or GitHub
//! annotations. Every validator is linear in the size of the rule set.

pub mod attack_tags;
pub mod correlation;
// The repository config moved to the crate root (it configures every command); old paths keep working.
pub use crate::config;
pub mod detection;
pub mod fix;
pub mod gate;
pub mod locate;
pub mod logsource;
pub mod pipeline;
pub mod repository;
pub mod schema;

use crate::attack::KnowledgeBase;
use crate::diag::{Code, Diagnostic, Severity};
use crate::rules::{RawDocument, RuleRecord, RuleSet};
use crate::telemetry::Telemetry;
use config::Settings;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Codes `check` lists as its own, grouped by family (in [`crate::diag::Family`] order), each family in
/// `explain`'s order: the code-list snapshot and the one-fixture-per-code test read this.
pub fn codes() -> Vec<Code> {
    let mut codes: Vec<Code> = Code::all().filter(|c| c.family().in_check_list()).collect();
    codes.sort_by_key(|c| c.family());
    codes
}

/// One finding: a diagnostic plus what the renderers need to show it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
    /// Id of the rule the finding is about (for exclusions and fingerprints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    /// The source line at `line`, for rustc-style text output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_line: Option<String>,
    /// Silenced by an inline `# attacktrace: allow(code) reason`: counted, then dropped.
    #[serde(skip)]
    pub suppressed: bool,
}

impl Finding {
    pub fn new(diagnostic: Diagnostic, rule_id: Option<&str>) -> Finding {
        Finding {
            diagnostic,
            rule_id: rule_id.map(str::to_string),
            source_line: None,
            suppressed: false,
        }
    }
}

/// Builds findings about one rule, locating keys in its text.
pub struct RuleCtx<'a> {
    pub rule: &'a RuleRecord,
    pub raw: Option<&'a RawDocument>,
    pub out: Vec<Finding>,
    /// Text scans done for this rule; capped so that a hostile rule with thousands of findings
    /// stays linear (later findings point at the document start).
    scans: std::cell::Cell<usize>,
}

/// Text scans per rule before positions fall back to the document start.
const MAX_SCANS_PER_RULE: usize = 200;

impl<'a> RuleCtx<'a> {
    pub fn new(rule: &'a RuleRecord) -> Self {
        RuleCtx {
            rule,
            raw: rule.source.as_deref(),
            out: Vec::new(),
            scans: std::cell::Cell::new(0),
        }
    }

    /// Position of a key path, else of the document.
    pub fn key_pos(&self, path: &[&str]) -> (usize, usize) {
        self.scan_budget()
            .and(self.raw)
            .and_then(|r| locate::key_line(&r.text, self.rule.line, r.end_line, path))
            .unwrap_or((self.rule.line, 1))
    }

    /// Position of a value in a key's block (a tag in `tags`), else of the key, else the document.
    pub fn value_pos(&self, path: &[&str], value: &str) -> (usize, usize) {
        self.scan_budget()
            .and(self.raw)
            .and_then(|r| locate::value_line(&r.text, self.rule.line, r.end_line, path, value))
            .unwrap_or((self.rule.line, 1))
    }

    fn scan_budget(&self) -> Option<()> {
        let n = self.scans.get();
        self.scans.set(n + 1);
        (n < MAX_SCANS_PER_RULE).then_some(())
    }

    pub fn push(&mut self, code: Code, pos: (usize, usize), message: impl Into<String>) {
        let d = Diagnostic::new(code, message)
            .at(&self.rule.path)
            .line(Some(pos.0), Some(pos.1));
        self.out.push(Finding::new(d, self.rule.id.as_deref()));
    }
}

/// Everything a run needs.
pub struct CheckInput<'a> {
    pub kb: &'a KnowledgeBase,
    pub telemetry: &'a Telemetry,
    pub rules: &'a RuleSet,
    pub settings: &'a Settings,
}

/// Count of findings of one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeCount {
    pub code: Code,
    pub severity: Severity,
    pub count: usize,
}

/// Result of a run: plain data for the renderers.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub schema: &'static str,
    /// `domain version` of the ATT&CK data the tags were checked against.
    pub attack: String,
    /// Where that data came from: `embedded`, a file, the cache.
    pub attack_origin: String,
    /// SHA-256 of the ATT&CK file read; absent for the embedded catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attack_sha256: Option<String>,
    /// Rule tags of another ATT&CK release than the data; absent when there is none. Reports
    /// show it on top, above the per-tag findings it explains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skew: Option<crate::skew::VersionSkew>,
    /// The config file used; `None` for the built-in defaults.
    pub config: Option<PathBuf>,
    pub files_seen: usize,
    pub files_loaded: usize,
    pub files_reported: usize,
    pub rules: usize,
    pub fail_level: Severity,
    /// Sorted by path, line, column, code.
    pub findings: Vec<Finding>,
    /// Findings dropped by inline suppressions or config exclusions.
    pub suppressed: usize,
    /// Per code, sorted by severity then code.
    pub summary: Vec<CodeCount>,
}

impl CheckReport {
    /// True when a finding is at or above the fail level.
    pub fn failed(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.diagnostic.severity <= self.fail_level)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.diagnostic.severity == severity)
            .count()
    }

    /// Adds findings produced outside the rule validators (the coverage gate) and re-sorts.
    pub fn extend(&mut self, extra: Vec<Finding>, settings: &Settings) {
        let extra = extra
            .into_iter()
            .filter(|f| settings.is_enabled(f.diagnostic.code));
        self.findings.extend(extra);
        finish(self, settings);
    }
}

/// Runs every enabled validator.
pub fn run(input: &CheckInput<'_>) -> CheckReport {
    run_within(input, &[])
}

/// [`run`] in changed-files mode: the repository-wide passes (duplicates, `related` links,
/// correlation references) also see `context`, the rest of the repository (see
/// [`load_repository`]), but findings are made on the checked rules only.
pub fn run_within(input: &CheckInput<'_>, context: &[RuleRecord]) -> CheckReport {
    let checks = RuleChecks {
        settings: input.settings,
        tags: attack_tags::AttackEnv::new(input.kb, input.telemetry, &input.rules.rules),
        fields: logsource::FieldTable::embedded(),
    };
    let per_rule: Vec<Vec<Finding>> = input
        .rules
        .rules
        .par_iter()
        .map(|rule| checks.findings(rule))
        .collect();
    let mut findings: Vec<Finding> = per_rule.into_iter().flatten().collect();
    findings.extend(repository_findings(input.rules, context));
    if input.settings.is_enabled(Code::AttackTagUnlikely) {
        let features: Vec<_> = input
            .rules
            .rules
            .par_iter()
            .map(crate::suggest::extract)
            .collect();
        findings.extend(unlikely_findings(&input.rules.rules, &features, input.kb));
    }
    report(input, findings)
}

/// `attack_tag_unlikely` (off by default: it trains a model on the rules checked).
fn unlikely_findings(
    rules: &[RuleRecord],
    features: &[crate::suggest::RuleFeatures],
    kb: &crate::attack::KnowledgeBase,
) -> Vec<Finding> {
    crate::suggest::mistag::unlikely_tags(rules, features, kb)
        .into_iter()
        .map(|u| {
            let r = &rules[u.rule];
            let (line, col) = tag_position(r, &u.tag);
            let why: Vec<String> = u.reasons.iter().map(ToString::to_string).collect();
            let d = Diagnostic::new(
                Code::AttackTagUnlikely,
                format!(
                    "tagged {} (score {:.2}), but the detection points at {} (score {:.2}): {}",
                    u.tag,
                    u.tag_score,
                    u.suggested,
                    u.score,
                    why.join("; ")
                ),
            )
            .at(r.path.clone())
            .line(Some(line), Some(col));
            Finding::new(d, r.id.as_deref())
        })
        .collect()
}

/// Where a rule's tag for `technique` is written (the tag in `tags:`), else the rule's first line.
/// A streamed check has slimmed the rule by now, so its file is read again: only judged rules pay.
fn tag_position(rule: &RuleRecord, technique: &str) -> (usize, usize) {
    let Some(src) = &rule.source else {
        return (rule.line, 1);
    };
    let text = match src.text.is_empty() {
        true => read_loaded(&rule.path).map(std::borrow::Cow::Owned),
        false => Some(std::borrow::Cow::Borrowed(&*src.text)),
    };
    let raw = rule.tags.iter().find(|t| {
        crate::rules::parse_attack_tag(t)
            .is_some_and(|a| a == crate::rules::AttackTag::Technique(technique.to_string()))
    });
    text.zip(raw)
        .and_then(|(text, raw)| locate::value_line(&text, rule.line, src.end_line, &["tags"], raw))
        .unwrap_or((rule.line, 1))
}

/// Loads rules with [`load_rules_with`] and checks them as they load (same report as [`run`] on
/// that set): each rule's per-rule findings are made, given their source lines, and the rule is
/// slimmed at once, so the whole set's sources and compiled detections are never held together.
/// The returned set keeps full sources only for correlation rules and filters.
pub fn load_and_run(
    paths: &[PathBuf],
    base: &crate::rules::load::LoadOptions,
    kb: &KnowledgeBase,
    telemetry: &Telemetry,
    settings: &Settings,
) -> (RuleSet, CheckReport) {
    load_and_run_within(paths, &[], base, kb, telemetry, settings)
}

/// [`load_and_run`] in changed-files mode (see [`run_within`]).
pub fn load_and_run_within(
    paths: &[PathBuf],
    context: &[RuleRecord],
    base: &crate::rules::load::LoadOptions,
    kb: &KnowledgeBase,
    telemetry: &Telemetry,
    settings: &Settings,
) -> (RuleSet, CheckReport) {
    let checks = RuleChecks {
        settings,
        tags: attack_tags::AttackEnv::for_any_rules(kb, telemetry),
        fields: logsource::FieldTable::embedded(),
    };
    let opts = crate::rules::load::LoadOptions {
        keep_source: true,
        ..base.clone()
    };
    let unlikely = settings.is_enabled(Code::AttackTagUnlikely);
    let (mut rules, per_file) = crate::rules::load::load_visiting(paths, &opts, |records| {
        let mut out = Vec::new();
        let mut features = Vec::new();
        for rule in records.iter() {
            out.extend(checks.findings(rule));
            if unlikely {
                features.push(crate::suggest::extract(rule));
            }
        }
        // Once per file: the documents of a multi-rule file share its text and line index.
        attach_source_lines(&mut out, records);
        records.iter_mut().for_each(slim);
        (out, features)
    });
    let (per_file, features): (Vec<Vec<Finding>>, Vec<Vec<_>>) = per_file.into_iter().unzip();
    let mut findings: Vec<Finding> = per_file.into_iter().flatten().collect();
    if unlikely {
        let features: Vec<_> = features.into_iter().flatten().collect();
        findings.extend(unlikely_findings(&rules.rules, &features, kb));
    }
    let mut extra = repository_findings(&rules, context);
    // The repository-wide passes place findings by the text of slimmed rules: read those again.
    let wanted: HashSet<&Path> = extra
        .iter()
        .filter_map(|f| f.diagnostic.path.as_deref())
        .collect();
    let wanted: HashSet<PathBuf> = wanted.into_iter().map(Path::to_path_buf).collect();
    if rehydrate(&mut rules.rules, &wanted) {
        extra = repository_findings(&rules, context);
    }
    findings.extend(extra);
    let input = CheckInput {
        kb,
        telemetry,
        rules: &rules,
        settings,
    };
    let report = report(&input, findings);
    (rules, report)
}

/// The per-rule validators with what they share.
struct RuleChecks<'a> {
    settings: &'a Settings,
    tags: attack_tags::AttackEnv<'a>,
    fields: &'a logsource::FieldTable,
}

impl RuleChecks<'_> {
    /// One rule's findings, its inline suppressions marked.
    fn findings(&self, rule: &RuleRecord) -> Vec<Finding> {
        let mut ctx = RuleCtx::new(rule);
        schema::check(&mut ctx, self.settings);
        detection::check(&mut ctx);
        self.tags.check(&mut ctx);
        logsource::check(&mut ctx, self.fields);
        // The loader's own findings about this document (detection_not_evaluable).
        for d in &rule.diagnostics {
            ctx.out.push(Finding::new(d.clone(), rule.id.as_deref()));
        }
        let mut out = ctx.out;
        suppress(rule, &mut out);
        out
    }
}

/// After its own checks, a detection rule keeps only what the repository-wide passes read of its
/// source (`name`, `related`; no text) and no compiled detection. Correlations and filters keep
/// their source: the correlation pass reads and places them.
fn slim(rule: &mut RuleRecord) {
    rule.compiled = None;
    if rule.kind != crate::rules::RuleKind::Detection {
        return;
    }
    if let Some(src) = rule.source.take() {
        let mut map = serde_norway::Mapping::new();
        for key in ["name", "related"] {
            if let Some(v) = src.map.get(key) {
                map.insert(key.into(), v.clone());
            }
        }
        rule.source = Some(std::sync::Arc::new(RawDocument {
            text: "".into(),
            map,
            end_line: src.end_line,
        }));
    }
}

/// Gives the slimmed rules of `paths` their file text back (read again, BOM removed as the loader
/// does); whether any rule changed.
fn rehydrate(rules: &mut [RuleRecord], paths: &HashSet<PathBuf>) -> bool {
    let mut texts: HashMap<PathBuf, Option<std::sync::Arc<str>>> = HashMap::new();
    let mut changed = false;
    for rule in rules.iter_mut().filter(|r| paths.contains(&r.path)) {
        let Some(src) = rule.source.as_deref().filter(|s| s.text.is_empty()) else {
            continue;
        };
        let text = texts
            .entry(rule.path.clone())
            .or_insert_with(|| read_loaded(&rule.path).map(Into::into));
        if let Some(text) = text {
            rule.source = Some(std::sync::Arc::new(RawDocument {
                text: std::sync::Arc::clone(text),
                map: src.map.clone(),
                end_line: src.end_line,
            }));
            changed = true;
        }
    }
    changed
}

/// Findings of the passes over the whole set (and `context`, the rest of the repository in
/// changed-files mode), and the loader's reports about files.
fn repository_findings(rules: &RuleSet, context: &[RuleRecord]) -> Vec<Finding> {
    let mut findings = if context.is_empty() {
        let mut f = repository::check(&rules.rules);
        f.extend(correlation::check(&rules.rules));
        f
    } else {
        within_repository(&rules.rules, context)
    };
    findings.extend(rules.reports.iter().map(|d| Finding::new(d.clone(), None)));
    findings
}

/// The repository-wide passes over the checked rules plus the repository's other files, keeping
/// the findings on the checked files: a duplicate or a `related` target elsewhere in the repository
/// counts, a problem of another file is not reported. A checked file is matched to its copy in the
/// repository by canonical path, so it is never its own duplicate.
fn within_repository(checked: &[RuleRecord], context: &[RuleRecord]) -> Vec<Finding> {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let own: HashSet<PathBuf> = checked.iter().map(|r| canonical(&r.path)).collect();
    let mut all = checked.to_vec();
    all.extend(
        context
            .iter()
            .filter(|r| !own.contains(&canonical(&r.path)))
            .cloned(),
    );
    let mut findings = repository::check(&all);
    findings.extend(correlation::check(&all));
    let reported: HashSet<&Path> = checked.iter().map(|r| r.path.as_path()).collect();
    findings.retain(|f| {
        f.diagnostic
            .path
            .as_deref()
            .is_none_or(|p| reported.contains(p))
    });
    findings
}

/// Loads the repository around the checked files for changed-files mode (`check FILE...
/// --repository DIR`): only what the repository-wide passes read (rules slimmed as they load,
/// nothing compiled). Its own problems are not reported; the caller checks that `dir` matched.
pub fn load_repository(dir: &Path, base: &crate::rules::load::LoadOptions) -> RuleSet {
    let opts = crate::rules::load::LoadOptions {
        keep_source: true,
        compile: false,
        ..base.clone()
    };
    let (set, _) = crate::rules::load::load_visiting(&[dir.to_path_buf()], &opts, |records| {
        records.iter_mut().for_each(slim);
    });
    set
}

/// Filters `findings` by the settings, gives them source lines and builds the sorted report.
fn report(input: &CheckInput<'_>, mut findings: Vec<Finding>) -> CheckReport {
    let settings = input.settings;
    // Drops inline suppressions, disabled codes and config exclusions, counting the first and last.
    let before = findings.len();
    let mut disabled = 0usize;
    findings.retain(|f| {
        let code = f.diagnostic.code;
        if f.suppressed {
            return false;
        }
        if !settings.is_enabled(code) {
            disabled += 1;
            return false;
        }
        !settings.is_excluded(f.rule_id.as_deref(), code)
    });
    let suppressed = before - findings.len() - disabled;
    attach_source_lines(&mut findings, &input.rules.rules);
    let mut report = CheckReport {
        schema: "attacktrace.check/1",
        attack: format!("{} {}", input.kb.source.domain, input.kb.source.version),
        attack_origin: input.kb.source.origin.clone(),
        attack_sha256: input.kb.source.sha256.clone(),
        skew: Some(crate::skew::of_rules(input.kb, input.rules)).filter(|s| !s.is_empty()),
        config: settings.file.clone(),
        files_seen: input.rules.files_seen,
        files_loaded: input.rules.files_loaded,
        files_reported: input.rules.files_reported,
        rules: input.rules.rules.len(),
        fail_level: settings.fail_level,
        findings,
        suppressed,
        summary: Vec::new(),
    };
    finish(&mut report, settings);
    report
}

/// Applies severity overrides, sorts, and recounts.
fn finish(report: &mut CheckReport, settings: &Settings) {
    for f in &mut report.findings {
        let registered = f.diagnostic.code.severity();
        f.diagnostic.severity = settings.severity_of(f.diagnostic.code, registered);
    }
    report.findings.sort();
    report.findings.dedup();
    let mut counts: BTreeMap<(Severity, Code), usize> = BTreeMap::new();
    for f in &report.findings {
        *counts
            .entry((f.diagnostic.severity, f.diagnostic.code))
            .or_default() += 1;
    }
    report.summary = counts
        .into_iter()
        .map(|((severity, code), count)| CodeCount {
            code,
            severity,
            count,
        })
        .collect();
}

/// Inline suppressions: `# attacktrace: allow(code) reason` anywhere in the rule's document drops
/// that rule's findings of `code`. A suppression without a reason, or naming an unknown code, is
/// itself a finding and suppresses nothing.
fn suppress(rule: &RuleRecord, findings: &mut Vec<Finding>) {
    let Some(raw) = rule.source.as_deref() else {
        return;
    };
    if !raw.text.contains("attacktrace:") {
        return;
    }
    let mut allowed: Vec<Code> = Vec::new();
    let mut problems = Vec::new();
    let lines = raw.text.split('\n').enumerate().skip(rule.line - 1);
    for (i, line) in lines {
        if raw.end_line.is_some_and(|end| i + 1 > end) {
            break;
        }
        let Some(hash) = line.find('#') else { continue };
        let comment = line[hash + 1..].trim();
        let Some(rest) = comment.strip_prefix("attacktrace:") else {
            continue;
        };
        let rest = rest.trim();
        let parsed = rest
            .strip_prefix("allow(")
            .and_then(|r| r.split_once(')'))
            .map(|(code, reason)| (code.trim(), reason.trim().trim_end_matches('\r')));
        let pos = (i + 1, hash + 1);
        match parsed {
            Some((code, reason)) => match Code::parse(code) {
                None => problems.push((pos, format!("unknown code `{code}` in suppression"))),
                Some(_) if reason.trim_start_matches(['-', ':', ' ']).is_empty() => problems.push((
                    pos,
                    format!("suppression of `{code}` gives no reason; write `# attacktrace: allow({code}) why`"),
                )),
                Some(known) => allowed.push(known),
            },
            None => problems.push((
                pos,
                "malformed suppression; expected `# attacktrace: allow(code) reason`".to_string(),
            )),
        }
    }
    for f in findings.iter_mut() {
        if allowed.contains(&f.diagnostic.code) {
            f.suppressed = true;
        }
    }
    for ((line, col), msg) in problems {
        let d = Diagnostic::new(Code::SuppressionInvalid, msg)
            .at(&rule.path)
            .line(Some(line), Some(col));
        findings.push(Finding::new(d, rule.id.as_deref()));
    }
}

/// Gives findings that have none their source line (those of one rule already have theirs when
/// `check` streams).
fn attach_source_lines(findings: &mut [Finding], rules: &[RuleRecord]) {
    let mut texts: HashMap<&Path, &str> = HashMap::new();
    // Slimmed rules: loaded, but their text is gone.
    let mut slimmed: HashSet<&Path> = HashSet::new();
    for r in rules {
        match &r.source {
            Some(src) if src.text.is_empty() => {
                slimmed.insert(r.path.as_path());
            }
            Some(src) => {
                texts.entry(r.path.as_path()).or_insert(&src.text);
            }
            None => {}
        }
    }
    // Files that did not load (YAML errors), or whose rules were slimmed, are read again for their
    // few findings.
    let mut unloaded: HashMap<PathBuf, Option<String>> = HashMap::new();
    for f in findings.iter().filter(|f| f.source_line.is_none()) {
        if let (Some(path), Some(_)) = (&f.diagnostic.path, f.diagnostic.line) {
            if !texts.contains_key(path.as_path()) && !unloaded.contains_key(path) {
                let text = if slimmed.contains(path.as_path()) {
                    read_loaded(path)
                } else {
                    read_small(path)
                };
                unloaded.insert(path.clone(), text);
            }
        }
    }
    for (path, text) in &unloaded {
        if let Some(t) = text {
            texts.insert(path.as_path(), t.as_str());
        }
    }
    // One line index per file and one rendering per (file, line): linear however many findings
    // share a (possibly megabyte-long) line.
    let mut index: HashMap<&Path, Vec<usize>> = HashMap::new();
    let mut rendered: HashMap<(PathBuf, usize), Option<String>> = HashMap::new();
    for f in findings.iter_mut().filter(|f| f.source_line.is_none()) {
        let (Some(path), Some(line)) = (&f.diagnostic.path, f.diagnostic.line) else {
            continue;
        };
        let Some((&pkey, &text)) = texts.get_key_value(path.as_path()) else {
            continue;
        };
        let key = (path.clone(), line);
        if let Some(done) = rendered.get(&key) {
            f.source_line = done.clone();
            continue;
        }
        let starts = index.entry(pkey).or_insert_with(|| {
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let out = line
            .checked_sub(1)
            .and_then(|l| starts.get(l))
            .map(|&start| {
                let end = text[start..].find('\n').map_or(text.len(), |e| start + e);
                let l = text[start..end].trim_end();
                if l.len() > 200 {
                    let mut cut = 200;
                    while !l.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    format!("{}…", &l[..cut])
                } else {
                    l.to_string()
                }
            });
        f.source_line = out.clone();
        rendered.insert(key, out);
    }
}

/// The text of a file that is small and UTF-8, else `None`.
fn read_small(path: &Path) -> Option<String> {
    crate::input::read_text_capped(path, crate::rules::DEFAULT_MAX_FILE_SIZE).ok()
}

/// A loaded file's text again, as the loader saw it (without a byte-order mark).
fn read_loaded(path: &Path) -> Option<String> {
    read_small(path).map(|t| match t.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => t,
    })
}

/// Loads rules for `check`: compiled (for `detection_not_evaluable`) and with their source kept.
pub fn load_rules(paths: &[PathBuf]) -> RuleSet {
    load_rules_with(paths, &crate::rules::load::LoadOptions::default())
}

/// [`load_rules`] with the caller's limits (file size, symlink policy).
pub fn load_rules_with(paths: &[PathBuf], base: &crate::rules::load::LoadOptions) -> RuleSet {
    crate::rules::load::load(
        paths,
        &crate::rules::load::LoadOptions {
            keep_source: true,
            ..base.clone()
        },
    )
}
