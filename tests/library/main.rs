//! Library API tests on the fixtures (no binary run, no `../shared`).

#[path = "../common/mod.rs"]
mod common;

mod check_codes;
mod check_detection;
mod check_sarif;
mod check_streaming;
mod classes;
mod coverage_model;
mod eval_conformance;
mod guidance;
mod rules_loader;
