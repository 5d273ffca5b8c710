//! ATT&CK knowledge base: STIX bundle loading, the compiled catalog, and technique lookup.

pub mod model;

pub use model::*;
