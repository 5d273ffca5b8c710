//! Loads rule paths and prints timing and counts: the loader's speed check.
//!
//! `cargo run --release --example load_rules -- [--no-compile] [PATH]...`
//! (default path: `../shared/sigmahq/rules`). Prints elapsed milliseconds, files seen / loaded /
//! reported, rules by detection state, reports by code and the number of distinct techniques tagged.

use attacktrace::rules::{load, DetectionState, LoadOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Appends a line to the report; everything is written at the end so a closed pipe is not a panic.
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

fn main() {
    let mut opts = LoadOptions::default();
    let mut paths = Vec::new();
    let mut show_reports = false;
    let mut phases = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-compile" => opts.compile = false,
            "--reports" => show_reports = true,
            "--phases" => phases = true,
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/sigmahq/rules"));
    }

    let mut out = String::new();
    if phases {
        time_phases(&paths, &mut out);
    }

    let start = Instant::now();
    let set = load(&paths, &opts);
    let ms = start.elapsed().as_secs_f64() * 1000.0;

    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for r in &set.rules {
        let key = match &r.detection {
            DetectionState::Compiled => "compiled",
            DetectionState::NotApplicable => "not_applicable",
            DetectionState::NotCompiled => "not_compiled",
            DetectionState::NotEvaluable { reason } => {
                // Group engine errors by their first words so the summary stays short.
                let head: Vec<&str> = reason.split_whitespace().take(4).collect();
                *reasons.entry(head.join(" ")).or_default() += 1;
                "not_evaluable"
            }
        };
        *states.entry(key.to_string()).or_default() += 1;
    }
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &set.reports {
        *codes.entry(d.code.as_str()).or_default() += 1;
    }
    let techniques: std::collections::BTreeSet<&str> =
        set.rules.iter().flat_map(|r| r.technique_tags()).collect();

    say!(
        out,
        "load: {ms:.1} ms (compile: {}, threads: {})",
        opts.compile,
        rayon::current_num_threads()
    );
    say!(
        out,
        "files: seen {} loaded {} reported {}; rules {}",
        set.files_seen,
        set.files_loaded,
        set.files_reported,
        set.rules.len()
    );
    for (state, n) in &states {
        say!(out, "  {state}: {n}");
    }
    for (reason, n) in &reasons {
        say!(out, "    {n:>4}  {reason} ...");
    }
    for (code, n) in &codes {
        say!(out, "  report {code}: {n}");
    }
    say!(out, "distinct techniques tagged: {}", techniques.len());
    if show_reports {
        for d in &set.reports {
            say!(
                out,
                "{}:{}: {} {}",
                d.path
                    .as_deref()
                    .unwrap_or(std::path::Path::new("-"))
                    .display(),
                d.line.unwrap_or(0),
                d.code,
                d.message
            );
        }
    }
    // Freeing thousands of compiled rules is not free; a CLI can skip it at exit.
    let start = Instant::now();
    drop(set);
    say!(out, "drop: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    use std::io::Write as _;
    let _ = std::io::stdout().write_all(out.as_bytes());
}

/// Times the stages separately (single files read sequentially, then parsed in parallel) to see where
/// the load time goes.
fn time_phases(paths: &[PathBuf], out: &mut String) {
    use rayon::prelude::*;
    use serde::Deserialize;
    let t = Instant::now();
    let mut files: Vec<PathBuf> = paths
        .iter()
        .flat_map(|p| walkdir::WalkDir::new(p).follow_links(true))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let walk = t.elapsed();
    let t = Instant::now();
    let texts: Vec<String> = files
        .par_iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    let read = t.elapsed();
    let t = Instant::now();
    let docs: usize = texts
        .par_iter()
        .map(|text| {
            serde_norway::Deserializer::from_str(text)
                .map_while(|d| serde_norway::Value::deserialize(d).ok())
                .count()
        })
        .sum();
    let parse = t.elapsed();
    let bytes: usize = texts.iter().map(String::len).sum();
    for compile in [false, true] {
        let opts = LoadOptions {
            compile,
            ..LoadOptions::default()
        };
        let t = Instant::now();
        let rules: usize = texts
            .par_iter()
            .zip(&files)
            .map(|(text, f)| attacktrace::rules::load_text(f, text, &opts).0.len())
            .sum();
        say!(
            out,
            "phase load_text(compile={compile}) on {rules} rules: {:.1} ms",
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    // The slowest files to load and compile, to spot a long pole that limits parallelism.
    let opts = LoadOptions::default();
    let mut per_file: Vec<(f64, &PathBuf)> = texts
        .iter()
        .zip(&files)
        .map(|(text, f)| {
            let t = Instant::now();
            let _ = attacktrace::rules::load_text(f, text, &opts);
            (t.elapsed().as_secs_f64() * 1e3, f)
        })
        .collect();
    per_file.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, f) in per_file.iter().take(5) {
        say!(out, "slowest: {ms:.2} ms {}", f.display());
    }
    say!(out,
        "phase walk {:.1} ms, read {:.1} ms ({} files, {bytes} bytes), yaml->Value {:.1} ms ({docs} docs)",
        walk.as_secs_f64() * 1e3,
        read.as_secs_f64() * 1e3,
        files.len(),
        parse.as_secs_f64() * 1e3
    );
}
