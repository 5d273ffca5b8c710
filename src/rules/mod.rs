//! Sigma rule loading: walk paths, parse each file once, classify tags, compile detections.

pub mod model;

pub use model::*;
