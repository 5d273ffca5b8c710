//! The runner: each rule against its own test events, and every rule against `--events` and
//! `--benign` streams.
//!
//! Event streams are read sequentially and evaluated in parallel in chunks (rayon, order-preserving
//! collect), so memory stays bounded and the result is the same whatever the thread count. Routing
//! (see [`super::route`]) picks the rules an event can match; candidate lists are cached per route key.

use super::convention::{self, CaseSpec};
use super::correlate::{Captured, CorrelationMatch, Plan};
use super::model::{
    CaseKind, CaseResult, EventRef, RuleResult, RuleStatus, Summary, TestReport, SCHEMA,
};
use super::normalise::{FieldMap, RouteKey};
use super::prefilter::{self, Marks, Prefilter, Program};
use super::reader::{self, Events, ReadLimits, ReadProblem};
use super::route::Router;
use crate::diag::{Code, Diagnostic};
use crate::rules::{RuleRecord, RuleSet};
use crate::telemetry::Telemetry;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Events evaluated per parallel batch, while the next batch is read: large enough to keep both
/// cores busy, small enough that a batch of parsed JSON stays a few megabytes and its memory is
/// reused while the allocator still holds it.
const CHUNK: usize = 1024;

#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Evaluate only the rules whose logsource can apply to an event (`--no-routing` turns it off).
    pub routing: bool,
    pub limits: ReadLimits,
    /// Run the rules' own tests (`name.tests/`, `regression_tests_path`).
    pub own_tests: bool,
    /// Skip rules whose literals the event lacks ([`super::prefilter`]); off only to compare.
    pub prefilter: bool,
    /// Read event files through symbolic links that lead outside the repository root (own tests)
    /// or the directory given (`--events`, `--benign`). Off: such links are reported, not read.
    pub follow_symlinks: bool,
    /// Repository root for regression paths, instead of the one found from each rule's path.
    pub root: Option<PathBuf>,
    /// Event fields holding the time correlations order events by, tried in order; empty: the
    /// defaults of [`super::timestamp::DEFAULT_FIELDS`].
    pub timestamp_fields: Vec<String>,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            routing: true,
            limits: ReadLimits::default(),
            own_tests: true,
            prefilter: true,
            follow_symlinks: false,
            root: None,
            timestamp_fields: Vec::new(),
        }
    }
}

/// Event files to run every rule against.
#[derive(Debug, Clone, Default)]
pub struct TestInputs {
    /// Events to report matches on.
    pub events: Vec<PathBuf>,
    /// Events no rule should match; each match is a false positive.
    pub benign: Vec<PathBuf>,
}

#[derive(Default)]
struct PerRule {
    cases: Vec<CaseResult>,
    matches: Vec<EventRef>,
    false_positives: Vec<EventRef>,
    correlation_matches: Vec<CorrelationMatch>,
    correlation_false_positives: Vec<CorrelationMatch>,
}

/// Runs the tests and builds the report. Never panics on bad input: problems become findings.
pub fn run(
    rules: &RuleSet,
    telemetry: &Telemetry,
    fields: &FieldMap,
    inputs: &TestInputs,
    opts: &TestOptions,
) -> TestReport {
    let mut findings = Vec::new();
    let mut per: BTreeMap<usize, PerRule> = BTreeMap::new();
    let mut summary = Summary {
        rules_loaded: rules.rules.len(),
        rules_evaluable: rules.rules.iter().filter(|r| r.compiled.is_some()).count(),
        rule_files_not_loaded: rules.files_reported,
        ..Summary::default()
    };
    // A rule that does not load has no tests to run: the run must say so and fail, or breaking a
    // rule's YAML would switch its failing tests off.
    findings.extend(rules.reports.iter().cloned());
    // Nor may a rule the evaluator cannot express pass unnoticed: it would never fire.
    findings.extend(
        rules
            .rules
            .iter()
            .flat_map(|r| &r.diagnostics)
            .filter(|d| d.code == Code::DetectionNotEvaluable)
            .cloned(),
    );
    // Correlations and filters that cannot be evaluated are findings too, never skipped.
    let meta = crate::rules::references::resolve(&rules.rules);
    findings.extend(meta.problems.iter().map(|p| {
        let r = &rules.rules[p.rule];
        // On the key at fault when the source was kept, as `check` places it.
        let (line, column) = r
            .source
            .as_ref()
            .and_then(|s| crate::check::locate::key_line(&s.text, r.line, s.end_line, &p.key))
            .map_or((r.line, None), |(l, c)| (l, Some(c)));
        Diagnostic::new(p.code, p.message.clone())
            .at(&r.path)
            .line(Some(line), column)
    }));
    let plan = Plan::new(&rules.rules, &meta, &opts.timestamp_fields);

    if opts.own_tests {
        let specs = discover(&rules.rules, opts, &mut findings);
        let results: Vec<(usize, CaseResult)> = specs
            .par_iter()
            .map(|(i, spec)| {
                let filtered = |e: &crate::rules::eval::Event| plan.suppressed(*i, e);
                (
                    *i,
                    run_case(&rules.rules[*i], spec, fields, opts.limits, &filtered),
                )
            })
            .collect();
        for (i, c) in results {
            per.entry(i).or_default().cases.push(c);
        }
    }

    let router = Router::build(&rules.rules, telemetry);
    let prefilters: Vec<Prefilter> = rules
        .rules
        .par_iter()
        .map(|r| {
            r.source
                .as_ref()
                .and_then(|s| s.map.get("detection"))
                .and_then(serde_norway::Value::as_mapping)
                .and_then(prefilter::derive)
        })
        .collect();
    let index = opts.prefilter.then(|| prefilter::Index::build(&prefilters));
    let scanner = Scanner {
        rules: &rules.rules,
        index: index.as_ref(),
        router: &router,
        fields,
        routing: opts.routing,
        limits: opts.limits,
        cache: RwLock::new(HashMap::new()),
        plan: &plan,
    };
    for (paths, benign) in [(&inputs.events, false), (&inputs.benign, true)] {
        let stream = Stream {
            paths,
            benign,
            follow_symlinks: opts.follow_symlinks,
        };
        scan_stream(&scanner, &stream, &mut per, &mut summary, &mut findings);
    }

    let mut out = Vec::with_capacity(per.len());
    for (i, p) in per {
        let rule = &rules.rules[i];
        summary.cases += p.cases.len();
        summary.cases_passed += p.cases.iter().filter(|c| c.passed).count();
        summary.cases_failed += p.cases.iter().filter(|c| !c.passed).count();
        summary.cases_warned += p.cases.iter().filter(|c| c.warning.is_some()).count();
        let failed = p.cases.iter().any(|c| !c.passed)
            || !p.false_positives.is_empty()
            || !p.correlation_false_positives.is_empty();
        let status = if failed {
            RuleStatus::Failed
        } else if p.cases.is_empty() {
            RuleStatus::Untested
        } else {
            RuleStatus::Passed
        };
        let validated = status == RuleStatus::Passed
            && p.cases
                .iter()
                .any(|c| c.kind != CaseKind::Negative && c.passed);
        summary.rules_validated += usize::from(validated);
        out.push(RuleResult {
            path: rule.path.clone(),
            document: rule.document,
            id: rule.id.clone(),
            title: rule.title.clone(),
            techniques: rule.technique_tags().map(str::to_owned).collect(),
            status,
            validated,
            not_evaluable: match &rule.detection {
                crate::rules::DetectionState::NotEvaluable { reason } => Some(reason.clone()),
                _ => None,
            },
            cases: p.cases,
            matches: p.matches,
            false_positives: p.false_positives,
            correlation_matches: p.correlation_matches,
            correlation_false_positives: p.correlation_false_positives,
        });
    }
    findings.sort();
    summary.findings = findings.len();
    TestReport {
        schema: SCHEMA.to_string(),
        routing: opts.routing,
        summary,
        rules: out,
        findings,
    }
}

/// One kind of event input: `--events` or `--benign` paths.
struct Stream<'p> {
    paths: &'p [PathBuf],
    /// Matches are false positives.
    benign: bool,
    follow_symlinks: bool,
}

/// Scans every file of a stream, then evaluates the correlations over the whole stream's matches.
fn scan_stream(
    scanner: &Scanner<'_>,
    s: &Stream<'_>,
    per: &mut BTreeMap<usize, PerRule>,
    summary: &mut Summary,
    findings: &mut Vec<Diagnostic>,
) {
    let mut captured: Vec<Captured> = Vec::new();
    for file in expand_paths(s.paths, s.follow_symlinks, findings) {
        summary.event_files += 1;
        let mut scan = scanner.scan(&file, findings);
        for c in &mut scan.captured {
            c.file.clone_from(&file);
        }
        captured.append(&mut scan.captured);
        summary.events += scan.events;
        summary.events_unroutable += scan.unroutable;
        summary.evaluations += scan.evaluations;
        for (rule, line) in scan.hits {
            let r = per.entry(rule).or_default();
            let hit = EventRef {
                file: file.clone(),
                line,
            };
            if s.benign {
                r.false_positives.push(hit);
                summary.false_positives += 1;
            } else {
                r.matches.push(hit);
                summary.matches += 1;
            }
        }
    }
    for hit in scanner.plan.evaluate(captured, findings) {
        if scanner.plan.hidden(hit.rule) {
            continue;
        }
        let r = per.entry(hit.rule).or_default();
        if s.benign {
            r.correlation_false_positives.push(hit.found);
            summary.false_positives += 1;
        } else {
            r.correlation_matches.push(hit.found);
            summary.matches += 1;
        }
    }
}

/// (rule index, case) for every rule's own tests, in rule order.
fn discover(
    rules: &[RuleRecord],
    opts: &TestOptions,
    findings: &mut Vec<Diagnostic>,
) -> Vec<(usize, CaseSpec)> {
    type Found = (Vec<(usize, CaseSpec)>, Vec<Diagnostic>);
    let found: Vec<Found> = rules
        .par_iter()
        .enumerate()
        .filter(|(_, r)| r.kind == crate::rules::RuleKind::Detection)
        .map(|(i, r)| {
            let (cases, mut problems) = convention::project_cases(&r.path, opts.follow_symlinks);
            let mut specs: Vec<_> = cases.into_iter().map(|c| (i, c)).collect();
            // Only the first document of a file carries the file's regression attribute.
            if r.document == 0 {
                let value = match rule_text(r) {
                    Ok(text) => convention::regression_path(&text),
                    Err(d) => {
                        problems.push(d);
                        None
                    }
                };
                if let Some(v) = value {
                    match convention::regression_cases(&r.path, &v, opts.root.as_deref()) {
                        Ok(cases) => specs.extend(cases.into_iter().map(|c| (i, c))),
                        Err(d) => problems.push(d),
                    }
                }
            }
            (specs, problems)
        })
        .collect();
    let mut out = Vec::new();
    for (specs, problems) in found {
        out.extend(specs);
        findings.extend(problems);
    }
    out
}

/// The rule file's text: the copy the loader kept, else read again. A file that cannot be read
/// any more is reported, since its regression cases would otherwise vanish without a word.
fn rule_text(r: &RuleRecord) -> Result<Arc<str>, Diagnostic> {
    if let Some(src) = &r.source {
        return Ok(src.text.clone());
    }
    crate::input::read_text_capped(&r.path, crate::input::DEFAULT_CAP)
        .map(Arc::from)
        .map_err(|e| {
            Diagnostic::new(
                Code::RegressionDataError,
                format!(
                    "cannot read the rule file again to find its regression tests: {}",
                    convention::read_problem(&e)
                ),
            )
            .at(&r.path)
        })
}

fn run_case(
    rule: &RuleRecord,
    spec: &CaseSpec,
    fields: &FieldMap,
    limits: ReadLimits,
    filtered: &dyn Fn(&crate::rules::eval::Event) -> bool,
) -> CaseResult {
    let mut result = CaseResult {
        kind: spec.kind,
        file: spec.file.clone(),
        events: 0,
        matched: 0,
        expected: spec.expected,
        passed: false,
        failed_lines: Vec::new(),
        message: None,
        warning: None,
        matched_lines: Vec::new(),
    };
    let Some(compiled) = &rule.compiled else {
        let why = match &rule.detection {
            crate::rules::DetectionState::NotEvaluable { reason } => reason.clone(),
            _ => "the detection was not compiled".into(),
        };
        result.message = Some(format!("the rule cannot be evaluated: {why}"));
        return result;
    };
    if let Some(why) = &spec.refused {
        result.message = Some(why.clone());
        return result;
    }
    let events = match reader::open_events(&spec.file, limits) {
        Ok(events) => events,
        Err(e) => {
            result.message = Some(convention::read_problem(&e));
            return result;
        }
    };
    for item in events {
        let raw = match item {
            Ok(raw) => raw,
            Err(p) => {
                result.message = Some(match p.at() {
                    Some(at) => format!("{} {at}: {}", super::evtx::unit(&spec.file), p.message),
                    None => p.message,
                });
                return result;
            }
        };
        result.events += 1;
        let line = raw.line;
        // Not deferred (see `defer_parsing`): the document comes parsed.
        let Some(doc) = raw.into_tree(&mut Vec::new()) else {
            continue;
        };
        let matched = match fields.normalise(doc) {
            Ok(n) => compiled.is_match(&n.event) && !filtered(&n.event),
            Err(e) => {
                result.message = Some(format!("line {line}: {e}"));
                return result;
            }
        };
        result.matched += usize::from(matched);
        let wrong = match spec.kind {
            CaseKind::Positive => !matched,
            CaseKind::Negative => matched,
            CaseKind::Regression => false,
        };
        if wrong {
            result.failed_lines.push(line);
        }
        if matched && spec.kind == CaseKind::Regression {
            result.matched_lines.push(line);
        }
    }
    result.passed = match spec.kind {
        CaseKind::Positive => result.events > 0 && result.failed_lines.is_empty(),
        CaseKind::Negative => result.failed_lines.is_empty(),
        CaseKind::Regression => convention::judge_regression(&mut result),
    };
    if result.events == 0 {
        result.message = Some("the file holds no event".into());
    }
    result
}

/// Files named by `--events`/`--benign`: files as given, directories walked for `.evtx`, `.json`,
/// `.jsonl` and `.ndjson` entries in path order.
///
/// Unless `follow_symlinks`, a symbolic link met in a walk that leads outside the directory given,
/// and a path given that is a link leading outside the current directory, are reported
/// (`symlink_outside_root`) and not read. Entries that are not regular files (a FIFO) are kept:
/// opening them reports them without blocking.
fn expand_paths(
    paths: &[PathBuf],
    follow_symlinks: bool,
    findings: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let cwd = Path::new(".");
    for p in paths {
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            findings.push(Diagnostic::new(Code::PathNotFound, "no such file or directory").at(p));
            continue;
        };
        if !follow_symlinks && meta.file_type().is_symlink() && convention::escapes(cwd, p) {
            findings.push(convention::outside_root(p, cwd));
            continue;
        }
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let files = walk_events(p, follow_symlinks, findings);
        if files.is_empty() {
            findings.push(
                Diagnostic::new(
                    Code::PathNotFound,
                    "no .json, .jsonl or .ndjson file found in this directory",
                )
                .at(p),
            );
        }
        out.extend(files);
    }
    out
}

/// The event files under `dir`, sorted; see [`expand_paths`].
fn walk_events(dir: &Path, follow_symlinks: bool, findings: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut outside = Vec::new();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| {
            let escapes = !follow_symlinks
                && e.depth() > 0
                && e.path_is_symlink()
                && convention::escapes(dir, e.path());
            if escapes {
                outside.push(e.path().to_path_buf());
            }
            !escapes
        })
        .filter_map(|e| match e {
            Ok(e) => Some(e),
            Err(err) => {
                let at = err.path().unwrap_or(dir).to_path_buf();
                findings.push(Diagnostic::new(Code::IoError, format!("cannot read: {err}")).at(at));
                None
            }
        })
        .filter(|e| !e.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .filter(|f| {
            f.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                ["json", "jsonl", "ndjson", "evtx"]
                    .iter()
                    .any(|x| e.eq_ignore_ascii_case(x))
            })
        })
        .collect();
    files.sort();
    findings.extend(outside.iter().map(|p| convention::outside_root(p, dir)));
    files
}

/// The `--events`/`--benign` paths that do not exist or hold no event file: a run over nothing
/// must not pass, so the command treats these as input errors before reading anything.
pub fn unmatched_inputs(inputs: &TestInputs, opts: &TestOptions) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    for p in inputs.events.iter().chain(&inputs.benign) {
        expand_paths(std::slice::from_ref(p), opts.follow_symlinks, &mut findings);
    }
    findings.retain(|d| d.code == Code::PathNotFound);
    findings
}

/// Up to [`CHUNK`] events, and the problem that ended the file, if one did. Problems of single
/// events go to `notes`.
fn read_chunk(
    reader: &mut Events,
    notes: &mut Vec<ReadProblem>,
) -> (Vec<super::reader::RawEvent>, Option<ReadProblem>) {
    let mut chunk = Vec::with_capacity(CHUNK);
    for item in reader.by_ref() {
        match item {
            Ok(raw) => chunk.push(raw),
            Err(p) if !p.fatal => notes.push(p),
            Err(p) => return (chunk, Some(p)),
        }
        if chunk.len() == CHUNK {
            break;
        }
    }
    (chunk, None)
}

struct Scan {
    events: usize,
    unroutable: usize,
    evaluations: u64,
    /// (rule index, line), in event order then rule order.
    hits: Vec<(usize, usize)>,
    /// Matches of rules that correlations read (file left empty for the caller).
    captured: Vec<Captured>,
}

struct Scanner<'a> {
    rules: &'a [RuleRecord],
    /// Prefilter index; rules get checks only when the loader kept the raw detection (`keep_source`).
    index: Option<&'a prefilter::Index>,
    router: &'a Router,
    fields: &'a FieldMap,
    routing: bool,
    limits: ReadLimits,
    cache: RwLock<HashMap<RouteKey, Arc<Route>>>,
    /// Filters, correlation captures and hidden base rules.
    plan: &'a Plan<'a>,
}

/// Candidate rules of one route key, ascending, and their prefilter.
struct Route {
    candidates: Vec<usize>,
    program: Program,
}

/// Outcome of one event in a batch.
struct EventOutcome {
    line: usize,
    unroutable: bool,
    evaluations: usize,
    rules: Vec<usize>,
    captured: Vec<Captured>,
    error: Option<String>,
    /// Problems of the event's own line, found when it was parsed here (see `defer_parsing`).
    notes: Vec<ReadProblem>,
    /// False when the line could not be parsed: the event is skipped, as the reader skips it.
    read: bool,
}

impl Scanner<'_> {
    /// The rules an event with this key goes to, and their prefilter, computed once per key.
    fn route(&self, key: &RouteKey) -> Arc<Route> {
        let unrouted = RouteKey::default();
        let key = if self.routing { key } else { &unrouted };
        // Looked up by reference: cloning the key's strings for every event showed in profiles.
        if let Some(c) = self.cache.read().ok().and_then(|m| m.get(key).cloned()) {
            return c;
        }
        let candidates = if self.routing {
            self.router.candidates(key)
        } else {
            self.router.all()
        };
        let program = match self.index {
            Some(ix) => ix.program(&candidates),
            None => Program::all(&candidates),
        };
        let route = Arc::new(Route {
            candidates,
            program,
        });
        if let Ok(mut m) = self.cache.write() {
            m.insert(key.clone(), Arc::clone(&route));
        }
        route
    }

    fn scan(&self, path: &Path, findings: &mut Vec<Diagnostic>) -> Scan {
        let mut scan = Scan {
            events: 0,
            unroutable: 0,
            evaluations: 0,
            hits: Vec::new(),
            captured: Vec::new(),
        };
        // Regular files only, opened without blocking: a FIFO must not hang the run.
        let mut reader = match reader::open_events(path, self.limits) {
            Ok(events) => events.defer_parsing(),
            Err(crate::input::ReadError::Io { source, .. }) => {
                findings.push(
                    Diagnostic::new(Code::IoError, format!("cannot read: {source}")).at(path),
                );
                return scan;
            }
            Err(crate::input::ReadError::NotRegular { kind, .. }) => {
                let msg = format!("not a regular file ({kind}); not read");
                findings.push(Diagnostic::new(Code::IoError, msg).at(path));
                return scan;
            }
            Err(e) => {
                findings.push(Diagnostic::new(Code::IoError, e.to_string()).at(path));
                return scan;
            }
        };
        let mut bad_events: Vec<(usize, String)> = Vec::new();
        let mut notes = Vec::new();
        let (mut chunk, mut stop) = read_chunk(&mut reader, &mut notes);
        while !chunk.is_empty() || stop.is_some() {
            // The next batch is read (and parsed) while this one is evaluated.
            let more = stop.is_none();
            let mut next_notes = Vec::new();
            let (outcomes, (next, next_stop)): (Vec<EventOutcome>, _) = rayon::join(
                || {
                    chunk
                        .into_par_iter()
                        .map(|raw| Scratch::with(|scratch| self.evaluate(raw, scratch)))
                        .collect()
                },
                || {
                    if more {
                        read_chunk(&mut reader, &mut next_notes)
                    } else {
                        (Vec::new(), None)
                    }
                },
            );
            for mut o in outcomes {
                notes.append(&mut o.notes);
                if !o.read {
                    continue;
                }
                scan.events += 1;
                scan.unroutable += usize::from(o.unroutable);
                scan.evaluations += o.evaluations as u64;
                if let Some(e) = o.error {
                    bad_events.push((o.line, e));
                }
                scan.hits.extend(o.rules.into_iter().map(|r| (r, o.line)));
                scan.captured.extend(o.captured);
            }
            if let Some(p) = stop {
                findings.push(
                    Diagnostic::new(p.code, p.message.clone())
                        .at(path)
                        .line(p.at(), None),
                );
                break;
            }
            (chunk, stop) = (next, next_stop);
            notes.append(&mut next_notes);
        }
        report_notes(path, &notes, findings);
        if let Some((line, msg)) = bad_events.first() {
            let more = match bad_events.len() {
                1 => String::new(),
                n => format!(" ({} more such events in this file)", n - 1),
            };
            findings.push(
                Diagnostic::new(Code::EventNotObject, format!("{msg}{more}"))
                    .at(path)
                    .line(Some(*line), None),
            );
        }
        scan
    }

    fn evaluate(&self, raw: super::reader::RawEvent, scratch: &mut Scratch) -> EventOutcome {
        let mut o = EventOutcome {
            line: raw.line,
            unroutable: false,
            evaluations: 0,
            rules: Vec::new(),
            captured: Vec::new(),
            error: None,
            notes: Vec::new(),
            read: true,
        };
        let Some(doc) = raw.into_tree(&mut o.notes) else {
            o.read = false;
            return o;
        };
        let p = match self.fields.prepare(doc) {
            Ok(p) => p,
            Err(e) => {
                o.error = Some(e.to_string());
                return o;
            }
        };
        o.unroutable = p.key.is_unknown();
        let route = self.route(&p.key);
        o.evaluations = route.candidates.len();
        if let Some(ix) = self.index {
            ix.mark(&p.flat, &route.program, &mut scratch.marks);
        }
        scratch.survivors.clear();
        route
            .program
            .survivors(&scratch.marks, &mut scratch.survivors);
        // Most events reach no rule past the prefilter: skip building the event then.
        if scratch.survivors.is_empty() {
            return o;
        }
        let event = p.into_event();
        for &i in &scratch.survivors {
            let Some(rule) = &self.rules[i].compiled else {
                continue;
            };
            if !rule.is_match(&event) || self.plan.suppressed(i, &event) {
                continue;
            }
            o.captured.extend(self.plan.capture(i, &event, o.line));
            if !self.plan.hidden(i) {
                o.rules.push(i);
            }
        }
        o
    }
}

/// One finding per kind of single-event problem: the first, with the number of others.
fn report_notes(path: &Path, notes: &[ReadProblem], findings: &mut Vec<Diagnostic>) {
    // The first by line: lines parsed by evaluating threads are noted after the reader's own.
    let mut by_code: BTreeMap<Code, (&ReadProblem, usize)> = BTreeMap::new();
    for n in notes {
        let e = by_code.entry(n.code).or_insert((n, 0));
        e.1 += 1;
        if n.line < e.0.line {
            e.0 = n;
        }
    }
    for (code, (first, count)) in by_code {
        let more = match count {
            1 => String::new(),
            n => format!(" ({} more such events in this file)", n - 1),
        };
        findings.push(
            Diagnostic::new(code, format!("{}{more}", first.message))
                .at(path)
                .line(first.at(), None),
        );
    }
}

/// Per-thread buffers reused across events (and the prefilter's cache of values seen).
#[derive(Default)]
struct Scratch {
    marks: Marks,
    survivors: Vec<usize>,
}

thread_local! {
    /// Kept per worker thread rather than per rayon split, which would empty the cache often.
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

impl Scratch {
    /// Runs `f` with this thread's scratch (a fresh one should it be in use already).
    fn with<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => f(&mut scratch),
            Err(_) => f(&mut Scratch::default()),
        })
    }
}
