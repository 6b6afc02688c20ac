//! agar's prompt templates, compiled into the binary.
//!
//! [`Prompts`] holds one minijinja environment with every template of the
//! auditor and the judge. Rendering is strict: an undefined variable is an
//! error, never an empty string. Each template's sha256 is recorded in
//! `run.json` ([`Prompts::hashes`]) so a transcript names the prompts it ran with.

mod templates;

pub use minijinja::{Value, context, value::Serde};
pub use templates::{PromptError, Prompts, Template};
