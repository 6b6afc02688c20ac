//! What an introspection run stores, beside any other run:
//!
//! ```text
//! STORE/RUN/run.json                  a RunRecord (models: target, judge) plus
//!                                     "kind": "introspect" and "introspect": the spec
//! STORE/RUN/introspect/vectors.json   the concept vectors (bound to the model's sha256)
//! STORE/RUN/introspect/TRIAL.json     one TrialRecord per trial, written atomically
//! ```
//!
//! Trial files live in their own folder, so the store's audit index never
//! reads them; resume skips every trial stored `done`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_core::{RoleName, RunRecord};
use agar_store::kind::{KindRun, create_kind_run, read_kind_records};
use agar_store::{Store, StoreError};
use serde::Serialize;

use crate::concept::ConceptVectors;
use crate::record::{IntrospectSpec, KIND, TrialRecord, TrialStatus};

const TRIALS_DIR: &str = "introspect";
const VECTORS: &str = "vectors.json";

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RunStoreError {
    /// The run exists already, or its name is not a valid id.
    #[error("{0}")]
    BadRun(StoreError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Corrupt { path: PathBuf, message: String },
    #[error("run {0:?} is not an introspection run")]
    NotIntrospect(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunStoreError + '_ {
    move |source| RunStoreError::Io { path: path.to_owned(), source }
}

/// Creates the run: `run.json` with the spec, and the trials' folder.
pub fn create_run(store: &Store, run_id: &str, spec: &IntrospectSpec) -> Result<(), RunStoreError> {
    let run = KindRun {
        run_id,
        models: BTreeMap::from([
            (RoleName::Target, spec.model.clone()),
            (RoleName::Judge, spec.judge.clone()),
        ]),
        max_turns: 0,
        concurrency: 1,
        judge: true,
    };
    let dir = create_kind_run(store, run, KIND, KIND, spec).map_err(|e| match e {
        StoreError::RunExists(_) | StoreError::BadId(_) => RunStoreError::BadRun(e),
        other => RunStoreError::Store(other),
    })?;
    let trials = dir.join(TRIALS_DIR);
    std::fs::create_dir_all(&trials).map_err(io(&trials))
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> RunStoreError {
    RunStoreError::Corrupt { path: path.to_owned(), message: e.to_string() }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), RunStoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| corrupt(path, e))?;
    bytes.push(b'\n');
    agar_store::atomic::write_atomic(path, &bytes).map_err(io(path))
}

/// The run record and spec of an introspection run, or `None` when the run
/// is missing or of another kind.
pub fn read_spec(store_dir: &Path, run_id: &str) -> Option<(RunRecord, IntrospectSpec)> {
    agar_store::kind::read_kind(store_dir, run_id, KIND)
}

/// Whether `run_id` in the store at `store_dir` is an introspection run.
pub fn is_introspect(store_dir: &Path, run_id: &str) -> bool {
    read_spec(store_dir, run_id).is_some()
}

/// Stores one trial durably.
pub fn write_trial(store: &Store, run_id: &str, trial: &TrialRecord) -> Result<(), RunStoreError> {
    let path = store.run_dir(run_id).join(TRIALS_DIR).join(format!("{}.json", trial.trial.id));
    write_json(&path, trial)
}

/// Stores the run's concept vectors.
pub fn write_vectors(
    store: &Store,
    run_id: &str,
    vectors: &ConceptVectors,
) -> Result<(), RunStoreError> {
    write_json(&store.run_dir(run_id).join(TRIALS_DIR).join(VECTORS), vectors)
}

/// The run's concept vectors, if stored.
pub fn read_vectors(store: &Store, run_id: &str) -> Result<Option<ConceptVectors>, RunStoreError> {
    let path = store.run_dir(run_id).join(TRIALS_DIR).join(VECTORS);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| corrupt(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Every stored trial of a run, by id.
pub fn read_trials(
    store: &Store,
    run_id: &str,
) -> Result<BTreeMap<String, TrialRecord>, RunStoreError> {
    let dir = store.run_dir(run_id).join(TRIALS_DIR);
    let trials: Vec<TrialRecord> = read_kind_records(&dir, &[VECTORS], "an introspection trial")?;
    Ok(trials.into_iter().map(|t| (t.trial.id.clone(), t)).collect())
}

/// The ids of the trials stored `done`.
pub fn done_ids(trials: &BTreeMap<String, TrialRecord>) -> Vec<&str> {
    trials.values().filter(|t| t.status == TrialStatus::Done).map(|t| t.trial.id.as_str()).collect()
}
