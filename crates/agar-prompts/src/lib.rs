//! agar's prompt templates, compiled into the binary.
//!
//! [`Prompts`] holds one minijinja environment with every template of the
//! auditor and the judge. Rendering is strict: an undefined variable is an
//! error, never an empty string. Each template's sha256 is recorded in
//! `run.json` ([`Prompts::hashes`]) so a transcript names the prompts it ran with.

//!
//! Any template can be replaced by a user's file (`--prompts DIR`):
//! [`check_override`] validates one (syntax, and only the variables agar
//! passes), [`Prompts::with_overrides`] uses them, and
//! [`Prompts::template_hashes`] names the sources actually in use.

mod overrides;
mod templates;

pub use minijinja::{Value, context, value::Serde};
pub use overrides::{OverrideProblem, check_override};
pub use templates::{PromptError, Prompts, Template};
