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
//! - [`support`]: the rules that make an answer `unsupported` (quotes not
//!   found, repetition, scores against their own justification).
//! - [`rubric`]: the system prompt and verdict tool of a dimension set, built
//!   once per run and shared by every judgment ([`RubricCache`]).
//! - [`scoring`]: the model calls ([`judge_transcript`], [`JudgeSettings`]).
//! - [`fit`]: the prompt fitted to the judge model's context window
//!   ([`judge_fitted`]: dimensions judged in groups, the method recorded).
//!
//! Models are seen only through [`agar_core::ChatModel`].

pub mod answer;
pub mod citations;
pub mod fit;
pub mod library;
pub mod render;
pub mod rubric;
pub mod samples;
pub mod scoring;
pub mod set;
pub mod support;

pub use answer::{VERDICT_TOOL, verdict_tool};
pub use citations::{CitationChecker, grounding, normalise};
pub use fit::judge_fitted;
pub use library::{LIBRARY_FILES, default_dimensions, library};
pub use render::render_transcript;
pub use rubric::{Rubric, RubricCache};
pub use samples::median_half_up;
pub use scoring::{JudgePrompt, JudgeSettings, META_TAG, judge_prompt, judge_transcript};
pub use set::{
    CORE_DIMENSIONS, DimensionSetError, RESERVED_NAMES, check_dimension_set, reserved_reason,
    with_core,
};
pub use support::{DEFAULT_MAX_UNVERIFIED_SHARE, SupportRules};
