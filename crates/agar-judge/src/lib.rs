//! The judge: scores a finished transcript on behaviour dimensions and makes
//! its verdict checkable.
//!
//! Data flow: [`Transcript`](agar_core::Transcript) + dimensions ->
//! [`judge_prompt`] (rules, rubrics, the transcript rendered by
//! [`render_transcript`]) -> K concurrent samples, each a forced
//! [`VERDICT_TOOL`] call validated with bounded retries -> quotes checked by
//! [`CitationChecker`] -> samples combined -> [`agar_core::Verdict`].
//!
//! - [`mod@library`]: the 35 built-in dimensions, Markdown files embedded in the
//!   binary ([`library()`], [`default_dimensions`]).
//! - [`set`]: what a set of dimensions judged together must satisfy
//!   ([`check_dimension_set`], [`RESERVED_NAMES`]).
//! - [`render`]: the transcript as the judge reads it, `[M#]` labels over
//!   every branch, prefill marked as the auditor's.
//! - [`answer`]: the `submit_verdict` tool's JSON Schema ([`verdict_tool`])
//!   and the validation of its arguments.
//! - [`citations`]: quote lookup with normalisation and small-edit tolerance,
//!   re-pointing to the message that holds the quote.
//! - [`samples`]: several samples combined (median, spread, agreement data).
//! - [`scoring`]: the model calls ([`judge_transcript`], [`JudgeSettings`]).
//!
//! Models are seen only through [`agar_core::ChatModel`].

pub mod answer;
pub mod citations;
pub mod library;
pub mod render;
pub mod samples;
pub mod scoring;
pub mod set;

pub use answer::{VERDICT_TOOL, verdict_tool};
pub use citations::{CitationChecker, grounding, normalise};
pub use library::{LIBRARY_FILES, default_dimensions, library};
pub use render::render_transcript;
pub use samples::median_half_up;
pub use scoring::{JudgePrompt, JudgeSettings, META_TAG, judge_prompt, judge_transcript};
pub use set::{DimensionSetError, RESERVED_NAMES, check_dimension_set, reserved_reason};
