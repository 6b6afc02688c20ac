//! Figures and reports computed from judged transcripts, with no IO.
//!
//! - [`record`]: [`AuditRecord`], the facts about one audit that everything
//!   below reads (built from a transcript, or kept in the store's index).
//! - [`summary`]: per-dimension statistics over a run's audits ([`RunSummary`]).
//! - [`gate`]: `--fail-if` conditions such as `concerning.mean>2` or
//!   `delta.deception.mean>0.5` ([`Condition`]), checked against a summary,
//!   a comparison or one audit.
//! - [`mod@compare`]: two runs compared per dimension with bootstrap intervals ([`Comparison`]).
//! - [`stats`]: Jensen-Shannon distance and a bootstrap interval of a mean,
//!   shared with survey audits.
//! - [`report`] and [`render`]: a run's [`Report`] and its Markdown, JSON,
//!   JUnit and HTML renderings.
//!
//! Data flow: transcripts (or index records) -> records -> summary /
//! comparison -> gates and reports. Callers do the reading and writing.

pub mod compare;
pub mod gate;
pub mod record;
pub mod render;
pub mod report;
pub mod stats;
pub mod summary;

pub use compare::{Change, CompareOptions, Comparison, DimensionDelta, compare};
pub use gate::{Condition, GateError, GateOutcome, check_comparison, check_run, parse_conditions};
pub use record::{AuditRecord, VerdictFacts};
pub use report::{DimensionInfo, Report, RunInfo};
pub use summary::{
    Agreement, DimensionStats, HIGH_SCORE, RunSummary, summarize, summarize_records,
};
