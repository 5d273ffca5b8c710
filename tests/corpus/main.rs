//! Tests that read the real corpora in `../shared` (SigmaHQ rules, MITRE's ATT&CK bundles), with
//! the fixture tests that share their helpers. Every corpus access goes through
//! `common::shared()`: skipped with a notice when absent, a failure when `CI` is set.

#[path = "../common/mod.rs"]
mod common;

mod attack_catalog;
mod attack_facts;
mod attack_stix;
mod changed_files;
mod check_sigmahq;
mod correlation_sigmahq;
mod coverage_sigmahq;
mod eval_sigmahq;
mod evidence_evtx;
mod evidence_fastpath;
mod evidence_sigmahq;
mod fix_other_release;
mod rules_corpus;
mod technique;
mod telemetry_classify;
mod versions_real;
mod versions_tagedit_corpus;
