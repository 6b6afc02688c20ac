//! The run pipeline: a run's plan to stored, judged and priced audits.
//!
//! `agar audit` writes a plan ([`start::create_run`]) and then takes the
//! path `agar resume` takes: [`prepare()`] (the run's or the shard's lock, what
//! is left of the plan, the scenarios read again and checked) and
//! [`execute()`] (audits run concurrently, each judged, priced and written as
//! it finishes, under a budget and a stop signal). `agar judge` re-judges
//! stored transcripts with the same judge settings, model resolution and
//! pricing ([`judge`], [`models`], [`Pricing`]). The binary parses flags and
//! prints: it follows the work through an [`Observer`].
//!
//! - [`shard`]: which audits shard I of N runs, and `--shard auto`.
//! - [`prompts`]: prompt override directories, checked before anything runs.
//! - [`settings`]: the sampling and judge settings a plan runs with.
//! - [`RunError`]: what can go wrong, by who must act on it.

mod error;
pub mod execute;
pub mod judge;
pub mod models;
pub mod prepare;
mod pricing;
pub mod prompts;
pub mod settings;
pub mod shard;
pub mod start;

pub use error::RunError;
pub use execute::{Executed, Execution, Finished, Observer, Stop, execute};
pub use models::{RoleModels, Runtime};
pub use prepare::{Job, Prepared, ResumeOptions, prepare};
pub use pricing::Pricing;
pub use settings::default_sampling;
pub use shard::{Shard, ShardError};
