//! One audit, and many.
//!
//! - [`run_audit`] plays one scenario: the auditor model acts through its tools
//!   ([`tools`]), the target answers, and everything is recorded into a
//!   [`agar_core::Transcript`] ([`recorder`]). It never fails: a provider error
//!   past its retries ends the audit `failed`, an audit that never reached the
//!   target ends `invalid`.
//! - [`runner`] runs many audits with bounded concurrency and stops starting new
//!   ones when cancelled.
//!
//! Models are seen only through [`agar_core::ChatModel`].

mod audit;
mod recorder;
pub mod runner;
pub mod tools;

pub use audit::{AuditIds, AuditModels, AuditSettings, run_audit};
pub use recorder::Recorder;
