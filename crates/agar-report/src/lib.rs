//! Figures computed from judged transcripts, with no IO.
//!
//! - [`summary`]: per-dimension statistics over a run's audits ([`RunSummary`]).
//! - [`gate`]: `--fail-if` conditions such as `concerning.mean>2` ([`Condition`]),
//!   parsed and checked against a summary.

pub mod gate;
pub mod summary;

pub use gate::{Condition, GateError};
pub use summary::{Agreement, DimensionStats, RunSummary, summarize};
