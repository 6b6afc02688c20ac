//! agar-generate with scripted models: files written and valid, answers
//! retried then reported, resumption, near-duplicates; prompt snapshots.

#![expect(clippy::unwrap_used, reason = "tests")]

mod pipeline;
mod prompts;
mod support;
