//! agar-introspect's integration tests: the whole experiment against a fake
//! subject and a scripted grader (no model), and, ignored unless the local
//! model is present, against SmolLM2 (`local_model`).

#![expect(clippy::unwrap_used, reason = "tests")]

mod fake;
mod smoke;
