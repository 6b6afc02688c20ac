//! One audit, and many.
//!
//! - [`run_audit`] plays one scenario: the auditor model acts through its
//!   tools ([`tools`]: system prompt, target tools, messages, tool results,
//!   environment briefings, rollback, restart, end); the target answers; the
//!   simulated [`environment`] answers the target's tool calls from an
//!   explicit world state; the optional [`realism`] filter refuses
//!   implausible actions. Everything is recorded into a
//!   [`agar_core::Transcript`] by the [`Recorder`], which also keeps the
//!   branch the conversation is on. `run_audit` never fails: a provider error
//!   past its retries ends the audit `failed`; an audit that never reached
//!   the target, looped, or broke the protocol ends `invalid`. With
//!   [`AuditorGuidance::Guided`] the loop, not the auditor, picks each turn's
//!   tool (for small models that cannot choose tools).
//! - [`schema`] checks and normalises the parameter schemas of target tools.
//! - [`runner`] runs many audits with bounded concurrency and stops starting
//!   new ones when cancelled.
//!
//! Models are seen only through [`agar_core::ChatModel`].

mod audit;
pub mod environment;
pub mod realism;
mod recorder;
pub mod runner;
pub mod schema;
pub mod tools;

pub use audit::{AuditIds, AuditModels, AuditSettings, AuditorGuidance, run_audit};
pub use recorder::Recorder;
