//! [`LocalError`]: why loading, fetching or running a local model failed.

use std::path::PathBuf;

/// Why a local model could not be fetched, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("no local model named `{name}`; the embedded models are: {known}")]
    UnknownModel { name: String, known: String },
    #[error(
        "the local model `{name}` is not downloaded yet ({path}); run `agar models pull {name}`"
    )]
    NotDownloaded { name: String, path: PathBuf },
    #[error("cannot read {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{path} is not a usable GGUF model: {reason}")]
    BadModel { path: PathBuf, reason: String },
    #[error("unsupported model architecture `{0}` (supported: llama, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("could not download the model: {0}")]
    Download(String),
    #[error("the package index cannot be reached: {0}")]
    Offline(String),
    #[error("checksum mismatch for {what}: expected {expected}, got {actual}")]
    Checksum { what: String, expected: String, actual: String },
    #[error("the chat template failed: {0}")]
    Template(String),
    #[error("the prompt has {tokens} tokens; the model's context holds {context}")]
    ContextOverflow { tokens: usize, context: usize },
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("the local model engine has stopped")]
    EngineStopped,
    #[error("the request was cancelled")]
    Cancelled,
    #[error("{0}")]
    InvalidSetting(String),
    #[error("invalid hook: {0}")]
    InvalidHook(String),
    #[error("invalid vector file: {0}")]
    InvalidVectors(String),
    #[error(
        "the vectors `{name}` were made for {made_for}, not for {model}; extract them again with this model"
    )]
    VectorsForAnotherModel { name: String, made_for: String, model: String },
}

impl From<candle_core::Error> for LocalError {
    fn from(e: candle_core::Error) -> Self {
        LocalError::Inference(e.to_string())
    }
}
