//! Sigma rule loading: walk paths, parse each file once, classify tags, compile detections into
//! the project's evaluator ([`eval`]).

pub(crate) mod build;
pub mod compile;
pub mod condition;
pub mod correlation;
pub mod eval;
pub mod filter;
pub mod load;
pub mod model;
pub mod references;
pub mod summary;
pub mod tags;

pub use load::{load, load_text, LoadOptions, DEFAULT_MAX_FILE_SIZE};
pub use model::*;
pub use summary::LoadSummary;
pub use tags::{parse_attack_tag, tag_rank};
