//! The store: a directory of runs, with an index beside the files.
//!
//! ```text
//! STORE/RUN_ID/run.json            the run's resolved configuration (RunRecord)
//! STORE/RUN_ID/plan.json           every planned audit and the settings (RunPlan)
//! STORE/RUN_ID/AUDIT_ID.json       one transcript per finished audit
//! STORE/RUN_ID/labels/AUDIT_ID.json reviewer labels of one audit
//! STORE/RUN_ID/shard-I-of-N.json   the audits shard I of N runs (ShardRecord)
//! STORE/RUN_ID/.lock               held by the process running the run's audits
//! STORE/RUN_ID/.lock-shard-I-of-N  held by the process running shard I of N
//! STORE/RUN_ID/.running.log        +AUDIT_ID / -AUDIT_ID lines: audits running now
//! STORE/RUN_ID/.locks/XX.lock      write locks of the run's files, 256 stripes (labels: labels/.locks/)
//! STORE/.index/runs/RUN_ID         the index's part for a run (a cache of its files)
//! STORE/.index/lock                held for an index session
//! STORE/.cache/responses/          cached model answers (`--cache`)
//! ```
//!
//! Every file is written atomically ([`atomic::write_atomic`]: a temporary
//! file in the same directory, synced, then renamed over the target, then the
//! directory synced), so a crash never leaves a half-written file. Every
//! read-modify-write of a file (a verdict appended by `agar judge`, a label
//! set in the viewer) holds that file's OS write lock ([`lock::FileLock`]),
//! so two writers in two processes both land. Readers open only regular
//! files up to [`read::MAX_FILE_BYTES`] ([`read::read_regular`]): a fifo, a
//! device or a link named like a transcript is skipped with a warning. The JSON
//! files are the source of truth: the [`index`] is rebuilt from them when it
//! is missing or stale, and readers that cannot open it (another process
//! holds `.index/lock`) read the files instead.
//!
//! - [`Store`]: runs, plans, transcripts, labels, run locks; [`RunView`] and
//!   [`RunOverview`] read runs back.
//! - [`plan`]: the [`RunPlan`], what `agar resume` needs.
//! - [`labels`]: reviewer labels ([`Label`]).
//! - [`lock`]: the [`RunLock`] of a run being run, and per-file write locks.
//! - [`read`]: reading only regular files, under a size cap.
//! - [`shard`]: shard records and per-shard locks (`agar audit --shard I/N`).
//! - [`cache`]: the response cache ([`CachedModel`]).
//! - [`kind`]: runs of another kind (surveys, introspection): `run.json` with a `kind`.
//! - [`mod@merge`]: runs of several stores (shards) brought into one (`agar merge`).
//! - [`location`]: `--store DIR` or `--store s3://bucket/prefix`, and [`open_store`].
//! - [`mirror`]: a store whose writes are also put to an object store (S3).

pub mod atomic;
pub mod cache;
mod codec;
mod encoded;
pub mod index;
pub mod kind;
pub mod labels;
pub mod location;
pub mod lock;
pub mod merge;
pub mod mirror;
pub mod plan;
pub mod read;
mod running;
pub mod shard;
mod store;
mod view;

pub use cache::{CachedModel, ResponseCache};
pub use encoded::EncodedTranscript;
pub use labels::{Agreement, Label, run_labels, run_reviewer_labels};
pub use location::{StoreLocation, open as open_store, open_existing as open_existing_store};
pub use lock::{FileLock, RunLock};
pub use merge::{MergeError, MergeReport, MissingAudits, Offer, RunMerge, merge};
pub use plan::{PlanSettings, PlannedAudit, RunPlan};
pub use shard::ShardRecord;
pub use store::{
    RunOverview, RunView, Store, StoreError, check_audit_id, check_id, is_transcript_name,
};
