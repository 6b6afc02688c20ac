//! agar's persona vectors (issue 20): a trait described by opposite system
//! instructions and questions ([`traits`]) is turned into one direction per
//! layer of a local model's residual stream ([`extract`]): answers written
//! under each instruction are judged ([`judge`]), pairs where the
//! instructions worked are kept, and the vector is the difference of the
//! mean hidden states over the kept answers' tokens. Every answer and score
//! is stored as an ordinary run ([`store`]); [`commands`] runs `extract`,
//! resumable; [`sweep`] steers held-out questions over layers and
//! coefficients and recommends one; [`monitor`] projects a stored run's target messages onto a
//! vector. The vector file format and the engine's hooks are agar-local's
//! (`agar_local::vectors`, `agar_local::hooks`).

pub mod commands;
pub mod extract;
pub mod judge;
pub mod monitor;
pub mod store;
pub mod sweep;
pub mod traits;

pub use traits::{InstructionPair, LoadedTrait, TraitFile};

/// Why a persona command failed.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// Bad input: a trait file, a vector file, a flag (exit 1).
    #[error("{0}")]
    Input(String),
    /// The run could not be completed (exit 2).
    #[error("{0}")]
    Run(String),
    /// No pair was kept: no vector can be computed (exit 2).
    #[error("{0}")]
    NothingKept(String),
}
