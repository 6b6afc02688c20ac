//! The audit loop against scripted models: every tool, its errors, and how
//! audits end.

#![expect(clippy::unwrap_used, reason = "tests")]

mod audit_loop;
mod support;
