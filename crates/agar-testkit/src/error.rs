//! The testkit's one error type: what can go wrong loading a script or
//! starting the fake server.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a script could not be loaded or the fake server could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    #[error("could not read script {path}: {source}")]
    ReadScript { path: PathBuf, source: std::io::Error },
    #[error("invalid script {path}: {source}")]
    ParseScript { path: PathBuf, source: serde_json::Error },
    #[error("invalid fault plan: {}", .0.join("; "))]
    InvalidFaultPlan(Vec<String>),
    #[error("could not bind {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}
