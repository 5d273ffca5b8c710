//! Evidence: running Sigma rules against events, so a rule is shown to fire on a true positive and
//! stay quiet on benign activity (`attacktrace test`, and the validated coverage tier).
//!
//! [`reader`] streams JSON documents from event files ([`evtx`] the records of `.evtx` logs, in the
//! same JSON shape), [`tree`] holds each as parsed, [`normalise`] turns it into Sigma fields
//! (EVTX-to-JSON shape or flat, by `mappings/event_fields.yaml`), [`route`] picks the rules whose
//! logsource can apply, [`prefilter`] skips rules whose literals the event lacks, [`convention`] finds each rule's own test events (the project's
//! `name.tests/` directories and SigmaHQ's `regression_tests_path`), and [`run`] evaluates with the
//! detections the rule loader compiled into a [`model::TestReport`].
//!
//! [`correlate`] applies Sigma filters to the matches and evaluates correlation rules over them,
//! ordered by [`timestamp`].

pub mod convention;
pub mod correlate;
pub mod evtx;
pub mod model;
pub mod normalise;
pub mod prefilter;
pub mod reader;
pub mod route;
pub mod run;
pub mod saved;
pub mod timestamp;
pub mod tree;

pub use model::{CaseKind, CaseResult, EventRef, RuleResult, RuleStatus, Summary, TestReport};
pub use normalise::FieldMap;
pub use reader::ReadLimits;
pub use run::{run, TestInputs, TestOptions};
