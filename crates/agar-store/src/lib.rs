//! The store: a directory of runs.
//!
//! ```text
//! STORE/RUN_ID/run.json        the run's resolved configuration (RunRecord)
//! STORE/RUN_ID/AUDIT_ID.json   one transcript per finished audit
//! ```
//!
//! Every file is written atomically ([`atomic::write_atomic`]: a temporary
//! file in the same directory, synced, then renamed over the target, then the
//! directory synced), so a crash never leaves a half-written file. The JSON
//! files are the source of truth.

pub mod atomic;
mod store;

pub use store::{Store, StoreError, check_id};
