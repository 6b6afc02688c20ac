//! The judge: scores a finished transcript on behaviour dimensions.
//!
//! - [`render`]: the transcript as the judge reads it, with `[M#]` labels over
//!   every branch.
//! - [`dimensions`]: the built-in dimensions used when none are chosen.
//! - [`scoring`]: the forced `submit_verdict` tool call, its JSON Schema, the
//!   validation of the answer and bounded retries; the result is a
//!   [`agar_core::Verdict`].
//!
//! Models are seen only through [`agar_core::ChatModel`].

pub mod dimensions;
pub mod render;
pub mod scoring;

pub use dimensions::default_dimensions;
pub use render::render_transcript;
pub use scoring::{JudgeSettings, judge_transcript, verdict_tool};
