//! agar's vocabulary, shared by every other crate.
//!
//! - [`message`]: what a conversation is made of: [`Message`], [`ToolCall`], [`ToolDef`].
//! - [`model`]: the [`ChatModel`] trait and the request/response types it speaks,
//!   with the typed [`ModelError`] every provider converts its failures into.
//! - [`scenario`]: a resolved [`Scenario`] and [`Dimension`] (parsing lives in `agar-scenario`).
//! - [`transcript`]: the append-only record of one audit ([`Transcript`], [`Event`]).
//! - [`branches`]: the branch structure of a target conversation ([`Branch`]).
//! - [`verdict`]: the judge's scores ([`Verdict`]).
//! - [`state`]: the bare [`AuditState`] and [`VerdictState`] that figures and filters compare.
//! - [`run`]: what `run.json` records of a run ([`RunRecord`]).
//! - [`cost`]: prices per million tokens and an audit's [`Cost`].
//! - [`server_error`]: what real servers' error bodies say (context overflow,
//!   invalid requests under a 5xx, the feature blamed).
//! - [`tool_schema`]: the one rule for target tools' names and parameter schemas.
//! - [`file_kind`]: a non-regular file named in words, for the readers that refuse them.
//! - [`det`]: stable hashing and seeded random numbers (FNV-1a, SplitMix64).
//!
//! Data flow: scenario -> audit loop -> transcript -> judge -> verdict -> store.
//! This crate does no IO and spawns no tasks.

pub mod branches;
pub mod cost;
pub mod det;
pub mod file_kind;
pub mod message;
pub mod model;
pub mod run;
pub mod scenario;
pub mod server_error;
pub mod state;
pub mod text;
pub mod tool_schema;
pub mod transcript;
pub mod verdict;

pub use branches::{Branch, BranchStart};
pub use cost::{Cost, Price};
pub use message::{Message, Role, ToolCall, ToolDef};
pub use model::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, Grounding, LogprobRequest, ModelError,
    Reasoning, RetriedCall, Sampling, TokenLogprob, TokenLogprobs, ToolChoice, Usage,
};
pub use run::{DEMONSTRATION_BANNER, RunRecord, RunScenario, RunSettings, is_demonstration_model};
pub use scenario::{Dimension, Generated, Palette, Scenario, TargetTool};
pub use state::{AuditState, UnknownState, VerdictState};
pub use text::Text;
pub use transcript::{
    AuditStatus, Event, EventKind, ModelCall, Origin, RoleName, ScenarioInfo, TargetNode,
    Transcript,
};
pub use verdict::{Citation, DimensionScore, JudgeSample, SampleStats, Verdict, VerdictStatus};

/// The version of the transcript JSON format written by this build.
pub const SCHEMA_VERSION: u32 = 1;
