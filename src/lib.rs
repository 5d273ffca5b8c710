//! AttackTrace: a detection-engineering workbench for Sigma rules and MITRE ATT&CK.
//!
//! Data flows one way: the ATT&CK knowledge base ([`attack`]), the loaded rule set ([`rules`]) and the
//! telemetry map ([`telemetry`], read from `mappings/`) feed the link index ([`link`]); report models
//! ([`card`], ...) are built from it as plain data and rendered by one module per format ([`render`]).
//! The CLI ([`cli`]) only parses arguments and picks a renderer.

pub mod attack;
pub mod card;
pub mod check;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod diag;
pub mod evidence;
pub mod link;
pub mod listing;
pub mod migrate;
pub mod output;
pub mod render;
pub mod rules;
pub mod tagedit;
pub mod telemetry;
