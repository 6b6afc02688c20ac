//! Live updates. Pages read the store on every request, so a reload always
//! shows the newest state; these JSON endpoints give a cheap stamp that
//! changes whenever a run's files do (directory modification times: atomic
//! writes rename files into place, which touches the directory), and the
//! page's script polls it and reloads when it moves.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path as FsPath;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agar_store::{Store, check_id};
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::Serialize;

use crate::app::AppState;
use crate::error::WebError;

fn mtime(path: &FsPath) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn mtime_ns(path: &FsPath) -> u128 {
    mtime(path).and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos())
}

/// What a run's directories say about its state, cheaply (three `stat`s and
/// a lock probe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunStamp {
    /// Changes when any file of the run changes, an audit starts or ends, a
    /// label is written, or the process running the run comes or goes.
    pub(crate) value: String,
    /// The latest of the directories' modification times.
    pub(crate) newest: Option<SystemTime>,
}

impl RunStamp {
    /// Whether figures read now may be kept for as long as this stamp holds.
    /// A write within the same clock tick as the newest one seen would not
    /// move the stamp, so data is kept only once the newest change is older
    /// than [`SETTLED`].
    pub(crate) fn settled(&self) -> bool {
        self.newest
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > SETTLED)
    }
}

/// How old a run's newest change must be before figures read from it are cached.
const SETTLED: Duration = Duration::from_secs(1);

pub(crate) fn stamp_run(store: &Store, run_id: &str) -> RunStamp {
    let dir = store.run_dir(run_id);
    let mut h = DefaultHasher::new();
    let mut newest = None;
    for sub in [dir.clone(), dir.join("labels"), dir.join(".running")] {
        let t = mtime(&sub);
        newest = newest.max(t);
        t.hash(&mut h);
    }
    store.run_is_live(run_id).hash(&mut h);
    RunStamp { value: format!("{:016x}", h.finish()), newest }
}

pub(crate) fn run_stamp_of(store: &Store, run_id: &str) -> String {
    stamp_run(store, run_id).value
}

/// A value that changes when a run is added or removed, or any run changes.
pub(crate) fn store_stamp_of(store: &Store) -> Result<String, WebError> {
    let ids = store.run_ids().map_err(|e| WebError::Internal(format!("listing runs: {e}")))?;
    let mut h = DefaultHasher::new();
    mtime_ns(store.root()).hash(&mut h);
    for id in &ids {
        id.hash(&mut h);
        run_stamp_of(store, id).hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

#[derive(Debug, Serialize)]
pub(crate) struct Stamp {
    stamp: String,
    live: bool,
}

/// `GET /api/stamp`: the whole store's stamp.
pub(crate) async fn store_stamp(State(state): State<AppState>) -> Result<Json<Stamp>, WebError> {
    let stamp = state
        .blocking(|s| {
            let store = s.store();
            let live = store.run_ids().unwrap_or_default().iter().any(|r| store.run_is_live(r));
            Ok(Stamp { stamp: store_stamp_of(store)?, live })
        })
        .await?;
    Ok(Json(stamp))
}

/// `GET /api/runs/{run}/stamp`: one run's stamp.
pub(crate) async fn run_stamp(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Stamp>, WebError> {
    let Path(run) = path?;
    let stamp = state
        .blocking(move |s| {
            let store = s.store();
            check_id(&run).map_err(|e| WebError::from_store("run", e))?;
            if !store.run_dir(&run).join("run.json").is_file() {
                return Err(WebError::NotFound(format!("no run {run:?} in the store")));
            }
            Ok(Stamp { stamp: run_stamp_of(store, &run), live: store.run_is_live(&run) })
        })
        .await?;
    Ok(Json(stamp))
}
