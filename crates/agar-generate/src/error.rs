//! [`GenerateError`]: what stops a generate run as a whole (a single
//! scenario that fails is reported in the outcome instead).

use std::path::PathBuf;

/// A failure that stops the run.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Example { path: PathBuf, message: String },
    #[error("the understanding stage failed: {0}")]
    Understanding(String),
    #[error(transparent)]
    Prompt(#[from] agar_prompts::PromptError),
    #[error("{0}")]
    Settings(String),
}

impl GenerateError {
    pub(crate) fn io(path: impl Into<PathBuf>, e: &std::io::Error) -> Self {
        GenerateError::Io { path: path.into(), message: e.to_string() }
    }
}
