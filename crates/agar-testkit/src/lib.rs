//! Test support for agar: models that answer from a script, never from a real provider.
//!
//! Two doubles, one per layer under test:
//!
//! - [`FakeServer`] ([`server`]): a real OpenAI-compatible HTTP server on
//!   `127.0.0.1:0` (`POST /v1/chat/completions`, `GET /v1/models`) for testing
//!   the HTTP provider, its retries and timeouts, and whole audits end to end.
//!   Replies are [`Reply`] values ([`reply`]), scripted per model name as a queue
//!   or by turn, injected as one-shot faults or drawn from a seeded [`FaultPlan`]
//!   ([`fault`]); without a script it derives a reply from the request, building
//!   forced tool-call arguments from the tool's JSON Schema ([`schema`]).
//!   The same server speaks Anthropic's Messages API ([`FakeServer::start_anthropic`],
//!   [`anthropic`]: `POST /v1/messages`, thinking blocks with checked signatures,
//!   prompt caching, Anthropic error shapes) and a chatbot application's
//!   ([`FakeApp`], [`app`]) when its [`Protocol`] says so, with the same scripts
//!   and faults.
//! - [`ScriptedModel`] ([`scripted`]): an in-process [`agar_core::ChatModel`]
//!   for unit tests of the audit loop and the judge, with the [`text`] and
//!   [`tool_call`] response helpers.
//!
//! [`Quirks`] ([`quirks`]) make the OpenAI side behave like a real server
//! observed in the wild (profile `llama-cpp-python-0.3.36`): the conformance
//! suite and whole audits run against each profile.
//!
//! Fixtures: [`TranscriptBuilder`] and [`VerdictBuilder`]
//! ([`transcript_builder`]) build transcripts from defaults, naming only
//! what a test is about; [`RunBuilder`] ([`run_builder`]) writes a run
//! (record, plan, transcripts) into a store through agar-store.
//!
//! The `agar-fake-server` binary serves a [`Script`] file for benchmarks and the
//! README demo (`fixtures/demo-script.json`), and reports its own CPU time
//! ([`cpu`]) on exit.
//!
//! Data flow: test or benchmark -> agar provider (HTTP) -> [`FakeServer`] / [`FakeApp`];
//! test -> audit loop -> [`ScriptedModel`].

pub mod anthropic;
pub mod app;
pub mod cpu;
pub mod error;
pub mod fault;
pub mod quirks;
pub mod reply;
pub mod run_builder;
pub mod schema;
pub mod scripted;
pub mod server;
pub mod transcript_builder;

mod det;
mod wire;

pub use app::FakeApp;
pub use cpu::process_cpu_time;
pub use error::TestkitError;
pub use fault::FaultPlan;
pub use quirks::Quirks;
pub use reply::{Reply, Script, ScriptedCall, ScriptedLogprob};
pub use run_builder::RunBuilder;
pub use schema::{args_from_schema, quote_prompt};
pub use scripted::{ScriptedModel, text, tool_call, tool_calls};
pub use server::{FakeConfig, FakeServer, Protocol};
pub use transcript_builder::{
    TranscriptBuilder, VerdictBuilder, citation, dimension_score, prefilled, target, tool_result,
};
