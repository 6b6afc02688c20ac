//! The audit loop against scripted models: every auditor tool and its
//! errors, branches, the simulated environment, the realism filter, and how
//! audits end (done, invalid, failed).

#![expect(clippy::unwrap_used, reason = "tests")]

mod audit_loop;
mod branches;
mod doctrine;
mod environment;
mod guided;
mod invalid;
mod realism;
mod snapshot;
mod support;
mod target_tools;
