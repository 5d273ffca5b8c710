//! Loads an ATT&CK STIX bundle (or catalog), prints how long it took and what it holds.
//!
//! ```text
//! cargo run --release --example load_attack -- [BUNDLE] [--compile OUT]
//! ```
//! Without BUNDLE it reads `../shared/attack/enterprise-attack-18.1.json`. `--compile OUT` writes the
//! prose-free catalog (this is how `mappings/attack/enterprise-attack-18.1.json` is produced).

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports on the terminal

use attacktrace::attack::catalog::{compile_catalog, embedded};
use attacktrace::attack::channel::{channel_form, ChannelForm};
use attacktrace::attack::stats::stats;
use attacktrace::attack::{load_path, LoadOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/attack/enterprise-attack-18.1.json"
    ));
    let mut compile: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        if a == "--compile" {
            compile = args.next().map(PathBuf::from);
        } else {
            path = PathBuf::from(a);
        }
    }

    let t0 = Instant::now();
    let kb = match load_path(&path, &LoadOptions::default()) {
        Ok(kb) => kb,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let load_ms = t0.elapsed().as_secs_f64() * 1000.0;
    println!("loaded {} in {load_ms:.1} ms", path.display());
    println!(
        "source: domain={} version={} ({}) stix={} prose={}",
        kb.source.domain,
        kb.source.version,
        kb.source.version_from,
        kb.source.stix_version,
        kb.source.has_prose
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&stats(&kb)).unwrap_or_default()
    );
    println!("warnings: {}", kb.warnings.len());
    for w in kb.warnings.iter().take(5) {
        println!("  {w}");
    }

    // Channel forms over the analytic references (telemetry-facts.md 3.3 reports the same split).
    // A catalog has no prose channels left, so classify `channel_text` first when present.
    let mut forms: BTreeMap<&str, usize> = BTreeMap::new();
    for a in &kb.analytics {
        for l in &a.log_sources {
            let raw = l.channel_text.as_deref().or(l.channel.as_deref());
            let form = raw.map_or(ChannelForm::Prose, channel_form);
            *forms.entry(form.as_str()).or_default() += 1;
        }
    }
    println!("analytic log-source refs by channel form: {forms:?}");

    let t1 = Instant::now();
    let catalog = compile_catalog(&kb);
    println!(
        "compiled catalog: {} bytes in {:.1} ms",
        catalog.len(),
        t1.elapsed().as_secs_f64() * 1000.0
    );
    let t2 = Instant::now();
    let emb = embedded();
    println!(
        "embedded catalog: {} techniques parsed in {:.1} ms",
        emb.techniques.len(),
        t2.elapsed().as_secs_f64() * 1000.0
    );
    if let Some(out) = compile {
        if let Err(e) = std::fs::write(&out, &catalog) {
            eprintln!("error: cannot write {}: {e}", out.display());
            std::process::exit(2);
        }
        println!("wrote {}", out.display());
    }
    println!("total {:.1} ms", t0.elapsed().as_secs_f64() * 1000.0);
}
