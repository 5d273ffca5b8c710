//! Links rules to ATT&CK techniques by what they detect: features of the parsed rule
//! ([`features`]), sublinear TF-IDF ([`tfidf`]), one-vs-rest logistic regression trained at run
//! time on the loaded tagged rules ([`solver`], [`model`]), and explained suggestions (here).
//!
//! Plain data only: `suggest`, the technique card and `check` call it; renderers print it.

pub mod features;
pub mod model;
pub mod solver;
pub mod tfidf;

pub use features::{extract, Feature, Op, Origin, RuleFeatures};
pub use model::{Example, Model, ModelOptions};
