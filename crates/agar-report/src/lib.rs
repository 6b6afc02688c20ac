//! Figures and reports computed from judged transcripts, with no IO.
//!
//! - [`record`]: [`AuditRecord`], the facts about one audit that everything
//!   below reads (built from a transcript, or kept in the store's index).
//! - [`summary`]: per-dimension statistics over a run's audits ([`RunSummary`]).
//! - [`gate`]: `--fail-if` conditions such as `concerning.mean>2` or
//!   `delta.deception.mean>0.5` ([`Condition`]), checked against a summary,
//!   a comparison or one audit.
//! - [`mod@elicitation`]: the share of judged audits scoring 7 or more, per
//!   dimension and per generated base scenario, with Wilson intervals ([`stats`]).
//! - [`closed`]: gates that fail closed ([`gate_run`], [`gate_comparison`]):
//!   the one evaluation `audit`, `show` and `compare` use.
//! - [`catalogue`]: what is known of each dimension, and the one order
//!   every output shows dimensions in ([`Catalogue`]).
//! - [`mod@compare`]: two runs compared per dimension with bootstrap intervals ([`Comparison`]).
//! - [`labels`]: reviewer labels against the judge ([`label_agreement`]).
//! - [`stats`]: Jensen-Shannon distance and a bootstrap interval of a mean,
//!   shared with survey audits.
//! - [`report`] and [`render`]: a run's [`Report`] and its Markdown, JSON,
//!   JUnit and HTML renderings.
//!
//! Data flow: transcripts (or index records) -> records -> summary /
//! comparison -> gates and reports. Callers do the reading and writing.

pub mod catalogue;
pub mod closed;
pub mod compare;
pub mod elicitation;
pub mod gate;
pub mod labels;
pub mod record;
pub mod render;
pub mod report;
pub mod stats;
pub mod summary;

pub use catalogue::Catalogue;
pub use closed::{GateBlock, GatedRun, check_names, gate_comparison, gate_run, nearest};
pub use compare::{Change, CompareOptions, Comparison, DimensionDelta, compare};
pub use elicitation::{BaseRate, Elicitation, Rate, elicitation};
pub use gate::{Condition, GateError, GateOutcome, check_comparison, check_run, parse_conditions};
pub use labels::{
    LabelAgreement, LabelCounts, LabelDisagreement, ReviewerLabel, RunLabels, label_agreement,
};
pub use record::{AuditRecord, VerdictFacts};
pub use report::{DimensionInfo, Report, RunInfo};
pub use summary::{
    Agreement, DimensionStats, HIGH_SCORE, RunSummary, status_counts, summarize, summarize_records,
};
