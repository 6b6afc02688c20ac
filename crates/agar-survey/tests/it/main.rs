//! agar-survey's integration tests: the synthetic dataset in the
//! GlobalOpinionQA format, its malformed twin, the metric against
//! hand-computed values, prompts and gates.

mod dataset;
mod metric;
mod prompt;

use std::path::PathBuf;

/// A file under `tests/data`.
pub(crate) fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}
