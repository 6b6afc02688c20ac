//! Integration tests of the `agar` binary: the real executable, run as a
//! subprocess against the fake OpenAI-compatible server on 127.0.0.1.

#![expect(clippy::unwrap_used, reason = "tests")]

mod agentic;
mod audit_e2e;
mod bad_input;
mod campaign;
mod canary;
mod check;
mod cost_cache;
mod crash;
mod docs;
mod doctrine;
mod faults;
mod first_hour;
mod gates;
mod generate;
mod hostile;
mod introspect;
mod judge;
mod library;
mod local_model_audit;
mod merge;
mod pipeline;
mod providers_e2e;
mod resume;
mod runs_compare;
mod s3;
mod scenarios;
mod servers;
mod shards;
mod support;
mod survey;
mod tidy;
mod view;
