//! ATT&CK knowledge base: STIX bundle loading, the compiled catalog, and technique lookup.
//!
//! [`stix`] turns a bundle (or a compiled catalog file) into a [`KnowledgeBase`]; [`catalog`] writes the
//! prose-free catalog and parses the one embedded in the binary; [`lookup`] resolves user queries to
//! techniques; [`text`] renders MITRE prose with footnotes; [`channel`] classifies log-source channels
//! and [`facts`] reads the names out of free-text ones;
//! [`stats`] counts what was loaded; [`source`] picks the data a run uses.

pub mod catalog;
pub mod channel;
pub mod diff;
pub mod domains;
pub mod facts;
pub mod lookup;
pub mod model;
pub mod source;
pub mod stats;
pub mod stix;
pub mod text;
pub mod update;

pub use model::*;
pub use stix::{load_bundle, load_path, AttackError, LoadOptions};
