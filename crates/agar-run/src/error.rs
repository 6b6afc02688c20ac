//! [`RunError`]: why the pipeline did not run, by who must act on it.

/// Why a run could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input: a flag, a file, a model reference, a plan that does not
    /// match the one stored (the user fixes it; exit 1 in the binary).
    #[error("{0}")]
    Input(String),
    /// Problems with input files, one `path:line: message` per entry.
    #[error("{}", .0.join("\n"))]
    Diagnostics(Vec<String>),
    /// The run itself failed: the store, a task (exit 2 in the binary).
    #[error("{0}")]
    Failed(String),
}

impl From<crate::shard::ShardError> for RunError {
    fn from(e: crate::shard::ShardError) -> RunError {
        RunError::Input(e.to_string())
    }
}
