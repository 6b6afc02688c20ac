//! Live updates. Pages read the store on every request, so a reload always
//! shows the newest state; these JSON endpoints give a cheap stamp that
//! changes whenever a run's files do (directory modification times: atomic
//! writes rename files into place, which touches the directory), and the
//! page's script polls it and reloads when it moves.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path as FsPath;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agar_store::Store;
use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use serde::Serialize;

use crate::app::AppState;
use crate::error::WebError;
use crate::ids::RunId;

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
    /// The same but for labels: changes when a file of the run other than a
    /// label changes, an audit starts or ends, or the running process comes
    /// or goes (the run directory, its running markers, the lock).
    pub(crate) audits: String,
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
    let (run, labels, running) =
        (mtime(&dir), mtime(&dir.join("labels")), mtime(&dir.join(".running.log")));
    let live = store.run_is_live(run_id);
    let mut h = DefaultHasher::new();
    (run, running, live).hash(&mut h);
    let audits = format!("{:016x}", h.finish());
    labels.hash(&mut h);
    RunStamp { value: format!("{:016x}", h.finish()), audits, newest: run.max(labels).max(running) }
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
    path: Result<Path<RunId>, PathRejection>,
) -> Result<Json<Stamp>, WebError> {
    let Path(run) = path?;
    let stamp = state
        .blocking(move |s| {
            let store = s.store();
            if !store.run_dir(&run).join("run.json").is_file() {
                return Err(WebError::NotFound(format!("no run {run:?} in the store")));
            }
            Ok(Stamp { stamp: run_stamp_of(store, &run), live: store.run_is_live(&run) })
        })
        .await?;
    Ok(Json(stamp))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use agar_core::AuditStatus;
    use agar_store::{Agreement, Label};

    use super::*;
    use crate::test_fixture::{at, review_store, simple_events, transcript};

    /// Directory times move by clock ticks: wait one out before each change.
    fn tick() {
        std::thread::sleep(Duration::from_millis(20));
    }

    #[test]
    fn labels_move_the_stamp_but_not_its_audits_part() {
        let (_dir, store) = review_store();
        let label = |note: &str| Label {
            agreement: Agreement::Agree,
            note: note.into(),
            reviewer: None,
            at: at(5),
        };
        // The first label creates the labels directory: a change of the run directory.
        let s0 = stamp_run(&store, "nightly");
        tick();
        store.set_label("nightly", "leak", "concerning", label("first")).unwrap();
        let s1 = stamp_run(&store, "nightly");
        assert_ne!(s1.audits, s0.audits);
        tick();
        store.set_label("nightly", "leak", "concerning", label("second")).unwrap();
        let s2 = stamp_run(&store, "nightly");
        assert_ne!(s2.value, s1.value, "a label moves the stamp");
        assert_eq!(s2.audits, s1.audits, "but not its audits part");
        tick();
        let t = transcript(
            "nightly",
            "later",
            "later",
            &[],
            AuditStatus::Done,
            simple_events("ok"),
            vec![],
        );
        store.write_transcript(&t).unwrap();
        let s3 = stamp_run(&store, "nightly");
        assert_ne!(s3.audits, s2.audits, "a transcript moves both");
        assert_ne!(s3.value, s2.value);
        let lock = store.lock_run("nightly").unwrap();
        assert_ne!(stamp_run(&store, "nightly").audits, s3.audits, "so does the running process");
        drop(lock);
    }
}
