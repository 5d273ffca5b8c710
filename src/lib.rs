//! AttackTrace: a detection-engineering workbench for Sigma rules and MITRE ATT&CK.
//!
//! Layers, each importing only the ones below it:
//! - [`cli`]: clap arguments and one `run()` per subcommand: arguments -> options -> core call ->
//!   renderer -> exit code. The only caller of the output layer's stdout/stderr writers.
//! - [`render`]: one module per format, turning report models into text; imports only the models
//!   and [`output`].
//! - the core, plain data and no I/O to the terminal: the ATT&CK knowledge base ([`attack`],
//!   with [`attack::source`] choosing which data a run uses), the loaded rule set ([`rules`]), the
//!   telemetry map ([`telemetry`]), the link index ([`link`]), the content model that links rules
//!   to techniques by what they detect ([`suggest`]), the guidance text and
//!   correlation templates ([`guidance`], [`template`]), the report builders ([`card`],
//!   [`coverage`], [`listing`], [`check`], [`evidence`], [`migrate`]), the tag editor
//!   ([`tagedit`]), the repository config ([`config`]) and the diagnostic codes ([`diag`]). Core
//!   modules never import `cli` or `render`.
//! - [`output`] and [`input`], at the bottom: bytes to the outside (stdout, stderr, atomic file
//!   writes, terminal-safe text) and from it (capped reads of regular files only), and [`alloc`]
//!   (allocator tuning); they import nothing from the crate. Shared report types live in [`report`].

pub mod alloc;
pub mod attack;
pub mod card;
pub mod check;
pub mod cli;
pub mod config;
pub mod coverage;
pub mod diag;
pub mod evidence;
pub mod guidance;
pub mod input;
pub mod link;
pub mod listing;
pub mod migrate;
pub mod output;
pub mod render;
pub mod report;
pub mod rules;
pub mod skew;
pub mod suggest;
pub mod tagedit;
pub mod telemetry;
pub mod template;
