//! [`Store`]: create runs, write and read transcripts, plans and labels, and
//! read runs back through the index.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use agar_core::{AuditState, RunRecord, Transcript};

use agar_report::AuditRecord;

use crate::atomic::write_atomic;
use crate::encoded::EncodedTranscript;
use crate::index::{self, Index, Stamp, with_index, with_index_if_due};
use crate::labels::{LABELS_DIR, Label};
use crate::lock::{self, RunLock};
use crate::plan::{PLAN_FILE, RESERVED_AUDIT_IDS, RunPlan};
pub use crate::view::{RunOverview, RunView};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not valid JSON: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    /// A file of a kind's records that is not one ([`crate::kind::read_kind_records`]).
    #[error("{path}: not {what}: {source}")]
    Record { path: PathBuf, what: &'static str, source: serde_json::Error },
    #[error("run {0:?} already exists in the store")]
    RunExists(String),
    #[error("no run {0:?} in the store")]
    NoSuchRun(String),
    #[error("{0:?} is not a valid run or audit id (letters, digits, '-', '_' and '.' only)")]
    BadId(String),
    #[error("{0:?} cannot be an audit id: it would clash with the run's own files")]
    ReservedId(String),
    #[error("run {0:?} is being run by another agar process right now")]
    RunBusy(String),
    #[error("run {0:?} has no plan.json (it was started by an older agar); it cannot be resumed")]
    NoPlan(String),
    #[error("the store index: {0}")]
    Index(String),
    /// The object store a store is mirrored to (see [`crate::mirror`]).
    #[error("{0}")]
    Mirror(String),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

/// Ids become file names: keep them to a safe alphabet so no id can name a
/// path outside the store.
pub fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 200
        && !id.starts_with('.')
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok { Ok(()) } else { Err(StoreError::BadId(id.to_string())) }
}

/// [`check_id`], and not one of the names a run's own files use.
pub fn check_audit_id(id: &str) -> Result<(), StoreError> {
    check_id(id)?;
    if RESERVED_AUDIT_IDS.contains(&id)
        || crate::shard::parse_record_name(&format!("{id}.json")).is_some()
    {
        return Err(StoreError::ReservedId(id.to_string()));
    }
    Ok(())
}

/// Whether a file name in a run directory is a transcript (or, under
/// `labels/`, a label file): a `.json` file that is not hidden (a temporary
/// file of an atomic write) and not `run.json`, `plan.json` or a shard record. The one test
/// of "is this a transcript file" for every reader of run directories.
pub fn is_transcript_name(name: &str) -> bool {
    name.ends_with(".json")
        && !name.starts_with('.')
        && name != "run.json"
        && name != PLAN_FILE
        && crate::shard::parse_record_name(name).is_none()
}

/// A directory of runs. Clones share one handle, and with it the batch of
/// index updates not yet written (see the [`index`] module's "Batching").
#[derive(Debug, Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

/// What a store's clones share.
#[derive(Debug)]
struct Shared {
    root: PathBuf,
    /// Transcripts written but not yet recorded in the index, by (run id, audit id).
    pending: Mutex<BTreeMap<(String, String), PendingAudit>>,
    /// A write opens the index for the pending batch when this process's last
    /// index session ended at least this long ago.
    flush_interval: Duration,
    /// Writes leave their records to [`Store::flush_index`] and to the
    /// sessions the store opens anyway (see [`Store::defer_index_writes`]).
    deferred: AtomicBool,
    /// Index sessions opened through this store (measurements and tests).
    sessions: AtomicUsize,
    /// Where the store's files are also put (an S3 bucket), if anywhere.
    mirror: Option<Arc<dyn crate::mirror::Mirror>>,
}

/// A transcript's index record awaiting an index session.
#[derive(Debug)]
struct PendingAudit {
    path: PathBuf,
    stamp: Stamp,
    record: AuditRecord,
}

type Batch = BTreeMap<(String, String), PendingAudit>;

impl Shared {
    fn new(
        root: PathBuf,
        flush_interval: Duration,
        mirror: Option<Arc<dyn crate::mirror::Mirror>>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            root,
            pending: Mutex::new(BTreeMap::new()),
            flush_interval,
            deferred: AtomicBool::new(false),
            sessions: AtomicUsize::new(0),
            mirror,
        })
    }

    fn take_pending(&self) -> Batch {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Writes this store's pending records in the open session `ix`.
    fn write_pending(&self, ix: &Index) -> Result<(), StoreError> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        write_batch(ix, self.take_pending())
    }
}

fn write_batch(ix: &Index, batch: Batch) -> Result<(), StoreError> {
    for ((run_id, _), p) in batch {
        ix.put_audit(&run_id, &p.path, p.stamp, p.record)?;
    }
    Ok(())
}

impl Drop for Shared {
    /// The last handle is gone: write the pending batch, best effort.
    fn drop(&mut self) {
        let batch = self.take_pending();
        // A store whose directory is gone (a test's temporary one) has nothing
        // to index, and opening the index there would create it again.
        if batch.is_empty() || !self.root.is_dir() {
            return;
        }
        let root = &self.root;
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            with_index(root, |ix| write_batch(ix, batch))
        }));
        match written {
            Ok(Some(Err(e))) => tracing::warn!("could not update the index: {e}"),
            Ok(_) => {}
            Err(_) => tracing::warn!("could not update the index: the session panicked"),
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(Self { shared: Shared::new(root, index::FLUSH_INTERVAL, None) })
    }

    /// Opens an existing store; an error if `root` is not a directory.
    pub fn open_existing(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        if !root.is_dir() {
            return Err(StoreError::Io {
                path: root,
                source: io::Error::new(io::ErrorKind::NotFound, "no such store directory"),
            });
        }
        Ok(Self { shared: Shared::new(root, index::FLUSH_INTERVAL, None) })
    }

    /// Opens (creating if needed) the store at `root` whose writes are also
    /// put to `mirror` (see [`crate::mirror`]).
    pub fn open_mirrored(
        root: impl Into<PathBuf>,
        mirror: Arc<dyn crate::mirror::Mirror>,
    ) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(Self { shared: Shared::new(root, index::FLUSH_INTERVAL, Some(mirror)) })
    }

    /// The mirror the store's writes are also put to, if any.
    pub fn mirror(&self) -> Option<&Arc<dyn crate::mirror::Mirror>> {
        self.shared.mirror.as_ref()
    }

    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.root().join(run_id)
    }

    /// The directory of the index (a cache: deleting it loses nothing).
    pub fn index_dir(&self) -> PathBuf {
        self.root().join(index::INDEX_DIR)
    }

    /// Writes the index records of transcripts written through this store
    /// (or its clones) that are not there yet, in one index session; nothing
    /// when there are none. A run calls it when its audits end; dropping the
    /// store's last handle does it too. Failures are logged: the index is a
    /// cache, and its next reader parses what it misses.
    pub fn flush_index(&self) {
        let empty = self.shared.pending.lock().unwrap_or_else(PoisonError::into_inner).is_empty();
        if !empty && let Some(Err(e)) = self.session(|_| Ok(())) {
            tracing::warn!("could not update the index: {e}");
        }
    }

    /// From now on, writes through this store and its clones never open the
    /// index themselves: their records wait for [`Store::flush_index`], for a
    /// session the store opens anyway (a view, a label) or for the last
    /// handle's drop. A run defers while its audits are in flight, so that no
    /// audit waits on an index session (reading and rewriting the run's part).
    /// A crash then loses more of the index, never a transcript: the
    /// run's fingerprint no longer matches its files, and the next reader
    /// parses what the index misses.
    pub fn defer_index_writes(&self) {
        self.shared.deferred.store(true, Ordering::Relaxed);
    }

    /// Whether the run's directory holds at least one stored transcript (a
    /// listing that stops at the first; no file is opened).
    pub fn has_transcripts(&self, run_id: &str) -> Result<bool, StoreError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            if is_transcript_name(&entry.file_name().to_string_lossy()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs `f` in an index session that first writes the pending batch.
    fn session<T>(
        &self,
        f: impl FnOnce(&Index) -> Result<T, StoreError>,
    ) -> Option<Result<T, StoreError>> {
        with_index(self.root(), |ix| {
            self.shared.write_pending(ix)?;
            f(ix)
        })
    }

    /// Creates the run's directory and writes its `run.json`. Fails if the run exists.
    pub fn create_run(&self, record: &RunRecord) -> Result<PathBuf, StoreError> {
        self.create_run_dir(&record.run_id)?;
        let dir = self.run_dir(&record.run_id);
        write_json(&dir.join("run.json"), record)?;
        self.mirror_first_stays(&dir.join("run.json"))?;
        Ok(dir)
    }

    /// Creates the run with its plan: `plan.json` first, then `run.json`, so a
    /// run that exists always has its plan. Every planned audit id is checked.
    pub fn create_run_with_plan(
        &self,
        record: &RunRecord,
        plan: &RunPlan,
    ) -> Result<PathBuf, StoreError> {
        let mut ids = BTreeSet::new();
        for a in &plan.audits {
            check_audit_id(&a.audit_id)?;
            if !ids.insert(a.audit_id.as_str()) {
                return Err(StoreError::BadId(format!("{} (planned twice)", a.audit_id)));
            }
        }
        self.create_run_dir(&record.run_id)?;
        let dir = self.run_dir(&record.run_id);
        write_json(&dir.join(PLAN_FILE), plan)?;
        self.mirror_plan(&dir.join(PLAN_FILE), plan)?;
        write_json(&dir.join("run.json"), record)?;
        self.mirror_first_stays(&dir.join("run.json"))?;
        Ok(dir)
    }

    fn create_run_dir(&self, run_id: &str) -> Result<(), StoreError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        match fs::create_dir(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                Err(StoreError::RunExists(run_id.to_string()))
            }
            Err(e) => Err(io_err(&dir)(e)),
        }
    }

    /// Reads a run's `run.json`.
    pub fn read_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        check_id(run_id)?;
        let path = self.run_dir(run_id).join("run.json");
        if !path.exists() && self.mirror().is_some() {
            // A run another machine started: bring it down first.
            self.pull_run(run_id)?;
        }
        if !path.exists() {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        read_json(&path)
    }

    /// Reads a run's `plan.json`.
    pub fn read_plan(&self, run_id: &str) -> Result<RunPlan, StoreError> {
        self.read_run(run_id)?;
        let path = self.run_dir(run_id).join(PLAN_FILE);
        if !path.exists() {
            return Err(StoreError::NoPlan(run_id.to_string()));
        }
        read_json(&path)
    }

    /// Writes (or replaces) a finished audit's transcript, durably: the file
    /// is synced and renamed into place. Its index record joins the pending
    /// batch, written when an index session is due (see the [`index`]
    /// module's "Batching"); a reader catches up with the file otherwise.
    pub fn write_transcript(&self, t: &Transcript) -> Result<PathBuf, StoreError> {
        self.write_encoded(EncodedTranscript::new(t)?)
    }

    /// [`Store::write_transcript`] of a transcript already encoded: only
    /// files and syscalls, for a blocking thread, while the encoding (CPU
    /// and allocations) happens where the transcript was built. A run's
    /// audits end in bursts; encoding on the blocking pool's many threads
    /// left each holding its own allocator pages.
    pub fn write_encoded(&self, e: EncodedTranscript) -> Result<PathBuf, StoreError> {
        let path = self.run_dir(&e.run_id).join(format!("{}.json", e.audit_id));
        let _lock = lock::lock_file(&path)?;
        let finished = e.finished;
        let path = self.put_encoded(path, e)?;
        if finished {
            self.mirror_first_stays(&path)?;
        }
        Ok(path)
    }

    /// Reads a stored transcript, changes it and writes it back, holding the
    /// file's write lock throughout (see [`lock::FileLock`]): a second writer,
    /// in this process or another, waits, so neither change is lost.
    /// Returns the transcript as written.
    pub fn update_transcript(
        &self,
        run_id: &str,
        audit_id: &str,
        change: impl FnOnce(&mut Transcript),
    ) -> Result<Transcript, StoreError> {
        check_id(run_id)?;
        check_audit_id(audit_id)?;
        let path = self.run_dir(run_id).join(format!("{audit_id}.json"));
        let _lock = lock::lock_file(&path)?;
        let mut t: Transcript = read_json(&path)?;
        change(&mut t);
        let path = self.put_transcript(path, &t)?;
        self.mirror_file(&path, crate::mirror::PutKind::Overwrite)?;
        Ok(t)
    }

    /// Writes `t` to `path` and queues its index record; the caller holds the lock.
    pub(crate) fn put_transcript(
        &self,
        path: PathBuf,
        t: &Transcript,
    ) -> Result<PathBuf, StoreError> {
        self.put_encoded(path, EncodedTranscript::new(t)?)
    }

    /// Writes `e` to `path` and queues its index record; the caller holds the lock.
    fn put_encoded(&self, path: PathBuf, e: EncodedTranscript) -> Result<PathBuf, StoreError> {
        write_atomic(&path, &e.bytes).map_err(io_err(&path))?;
        drop(e.bytes);
        let meta = fs::metadata(&path).map_err(io_err(&path))?;
        let pending =
            PendingAudit { path: path.clone(), stamp: Stamp::of(&meta), record: e.record };
        self.shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((e.run_id, e.audit_id), pending);
        if self.shared.deferred.load(Ordering::Relaxed) {
            return Ok(path);
        }
        let due = with_index_if_due(self.root(), self.shared.flush_interval, |ix| {
            self.shared.write_pending(ix)
        });
        if let Some(Err(e)) = due {
            tracing::warn!("could not update the index: {e}");
        }
        Ok(path)
    }

    pub fn read_transcript(&self, run_id: &str, audit_id: &str) -> Result<Transcript, StoreError> {
        check_id(run_id)?;
        check_id(audit_id)?;
        read_json(&self.run_dir(run_id).join(format!("{audit_id}.json")))
    }

    /// Every transcript of a run, sorted by audit id.
    pub fn transcripts(&self, run_id: &str) -> Result<Vec<Transcript>, StoreError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        if !dir.is_dir() {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
            .map_err(io_err(&dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().is_some_and(|n| is_transcript_name(&n.to_string_lossy())))
            .filter(|p| {
                // Only what the store wrote: a link, fifo or device named
                // like a transcript is skipped, never opened.
                let regular = crate::read::is_regular(p);
                if !regular && !p.is_dir() {
                    tracing::warn!("{}: not a regular file; skipped", p.display());
                }
                regular
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| read_json(p)).collect()
    }

    /// The ids of every run in the store (directories holding a `run.json`), sorted.
    pub fn run_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let root = self.root();
        for entry in fs::read_dir(root).map_err(io_err(root))? {
            let entry = entry.map_err(io_err(root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if check_id(&name).is_ok() && entry.path().join("run.json").is_file() {
                ids.push(name);
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// One run with every audit's status and figures, through the index
    /// (refreshed from the files first) or, when another process holds the
    /// index, straight from the files. Both give the same figures.
    pub fn view(&self, run_id: &str) -> Result<RunView, StoreError> {
        let record = self.read_run(run_id)?;
        let dir = self.run_dir(run_id);
        let indexed = self.session(|ix| {
            let (entry, records) = ix.refresh_run(&dir, run_id, true)?;
            Ok((entry.planned, records))
        });
        let (planned, stored, from_index) = match indexed {
            Some(Ok((planned, stored))) => (planned, stored, true),
            Some(Err(e)) => {
                tracing::warn!("could not use the index ({e}); reading the files");
                let (p, s) = self.read_without_index(run_id)?;
                (p, s, false)
            }
            None => {
                let (p, s) = self.read_without_index(run_id)?;
                (p, s, false)
            }
        };
        Ok(self.assemble(record, planned, stored, from_index))
    }

    /// Every run, oldest first, with its audits counted by status.
    pub fn runs(&self) -> Result<Vec<RunOverview>, StoreError> {
        let ids = self.run_ids()?;
        let present: BTreeSet<String> = ids.iter().cloned().collect();
        let indexed = self.session(|ix| {
            ix.retain_runs(&present)?;
            let mut out = Vec::new();
            for id in &ids {
                let (entry, records) = ix.refresh_run(&self.run_dir(id), id, true)?;
                out.push((entry.record, entry.planned, records));
            }
            Ok(out)
        });
        let rows = match indexed {
            Some(Ok(rows)) => rows
                .into_iter()
                .map(|(record, planned, stored)| {
                    self.assemble(record, planned, stored, true).overview()
                })
                .collect(),
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!("could not use the index ({e}); reading the files");
                }
                let mut rows = Vec::new();
                for id in &ids {
                    rows.push(self.view_without_index(id)?.overview());
                }
                rows
            }
        };
        let mut rows: Vec<RunOverview> = rows;
        rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.run_id.cmp(&b.run_id)));
        Ok(rows)
    }

    /// [`Store::view`] without touching the index.
    pub fn view_without_index(&self, run_id: &str) -> Result<RunView, StoreError> {
        let record = self.read_run(run_id)?;
        let (planned, stored) = self.read_without_index(run_id)?;
        Ok(self.assemble(record, planned, stored, false))
    }

    #[expect(clippy::type_complexity, reason = "a private pair")]
    fn read_without_index(
        &self,
        run_id: &str,
    ) -> Result<(Vec<(String, String)>, BTreeMap<String, AuditRecord>), StoreError> {
        let planned = match self.read_plan(run_id) {
            Ok(plan) => plan.audits.into_iter().map(|a| (a.audit_id, a.scenario_id)).collect(),
            Err(StoreError::NoPlan(_)) => Vec::new(),
            Err(e) => return Err(e),
        };
        let stored = self
            .transcripts(run_id)?
            .iter()
            .map(|t| (t.audit_id.clone(), AuditRecord::from_transcript(t)))
            .collect();
        Ok((planned, stored))
    }

    fn assemble(
        &self,
        record: RunRecord,
        planned: Vec<(String, String)>,
        mut stored: BTreeMap<String, AuditRecord>,
        from_index: bool,
    ) -> RunView {
        let dir = self.run_dir(&record.run_id);
        let live = lock::is_held(&dir);
        let running = if live { crate::running::running_markers(&dir) } else { BTreeSet::new() };
        for (audit_id, scenario_id) in planned {
            let finished = stored.get(&audit_id).is_some_and(AuditRecord::is_finished);
            if !finished {
                let status = if running.contains(&audit_id) {
                    AuditState::Running
                } else {
                    AuditState::Pending
                };
                stored.insert(
                    audit_id.clone(),
                    AuditRecord::unfinished(&audit_id, &scenario_id, status),
                );
            }
        }
        RunView { record, audits: stored.into_values().collect(), live, from_index }
    }

    /// Takes the run's lock for as long as the returned guard lives; fails
    /// with [`StoreError::RunBusy`] while another process holds it.
    pub fn lock_run(&self, run_id: &str) -> Result<RunLock, StoreError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        if !dir.join("run.json").exists() {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        let held = lock::acquire(run_id, &dir)?;
        if crate::shard::any_shard_held(&dir) {
            return Err(StoreError::RunBusy(run_id.to_string()));
        }
        Ok(held)
    }

    /// Whether some process is running the run's audits right now.
    pub fn run_is_live(&self, run_id: &str) -> bool {
        check_id(run_id).is_ok() && lock::is_held(&self.run_dir(run_id))
    }

    /// Removes what a killed process may have left in a run directory:
    /// temporary files of atomic writes whose writer is gone, and running
    /// markers. Call it while holding the run's lock. Returns the files removed.
    pub fn clean_run(&self, run_id: &str) -> Result<usize, StoreError> {
        check_id(run_id)?;
        let dir = self.run_dir(run_id);
        let mut removed = 0;
        for sub in [dir.clone(), dir.join(LABELS_DIR)] {
            let Ok(entries) = fs::read_dir(&sub) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = temp_file_pid(&name)
                    && !process_alive(pid)
                    && fs::remove_file(entry.path()).is_ok()
                {
                    removed += 1;
                }
            }
        }
        removed += crate::running::clear_log(&dir);
        Ok(removed)
    }

    /// Sets (or replaces) a reviewer's label of one audit's dimension. The
    /// label file is the source of truth; the index follows.
    pub fn set_label(
        &self,
        run_id: &str,
        audit_id: &str,
        dimension: &str,
        label: Label,
    ) -> Result<(), StoreError> {
        self.update_labels(run_id, audit_id, |labels| {
            labels.insert(dimension.to_string(), label);
        })
    }

    /// Removes a label, if there is one.
    pub fn remove_label(
        &self,
        run_id: &str,
        audit_id: &str,
        dimension: &str,
    ) -> Result<(), StoreError> {
        self.update_labels(run_id, audit_id, |labels| {
            labels.remove(dimension);
        })
    }

    pub(crate) fn update_labels(
        &self,
        run_id: &str,
        audit_id: &str,
        change: impl FnOnce(&mut BTreeMap<String, Label>),
    ) -> Result<(), StoreError> {
        self.read_run(run_id)?;
        check_audit_id(audit_id)?;
        let dir = self.run_dir(run_id).join(LABELS_DIR);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(format!("{audit_id}.json"));
        // One writer of this label file at a time, across processes too.
        let _lock = lock::lock_file(&path)?;
        let mut labels: BTreeMap<String, Label> =
            if path.exists() { read_json(&path)? } else { BTreeMap::new() };
        change(&mut labels);
        write_json(&path, &labels)?;
        self.mirror_file(&path, crate::mirror::PutKind::Overwrite)?;
        let meta = fs::metadata(&path).map_err(io_err(&path))?;
        if let Some(Err(e)) = self.session(|ix| ix.put_labels(run_id, audit_id, &meta, labels)) {
            tracing::warn!("could not update the index: {e}");
        }
        Ok(())
    }

    /// Every label of one audit, by dimension (empty when none).
    pub fn labels(
        &self,
        run_id: &str,
        audit_id: &str,
    ) -> Result<BTreeMap<String, Label>, StoreError> {
        check_id(run_id)?;
        check_id(audit_id)?;
        let dir = self.run_dir(run_id);
        let indexed = self.session(|ix| {
            ix.refresh_run(&dir, run_id, false)?;
            ix.labels(run_id, audit_id)
        });
        match indexed {
            Some(Ok(labels)) => Ok(labels.unwrap_or_default()),
            _ => {
                let path = dir.join(LABELS_DIR).join(format!("{audit_id}.json"));
                if path.exists() { read_json(&path) } else { Ok(BTreeMap::new()) }
            }
        }
    }

    /// One label, if set.
    pub fn label(
        &self,
        run_id: &str,
        audit_id: &str,
        dimension: &str,
    ) -> Result<Option<Label>, StoreError> {
        Ok(self.labels(run_id, audit_id)?.remove(dimension))
    }
}

/// The writer's pid in a temporary file name `.NAME.tmp-PID-RANDOM`.
fn temp_file_pid(name: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (_, rest) = name.rsplit_once(".tmp-")?;
    rest.split('-').next()?.parse().ok()
}

/// Whether a process with this pid exists (always true where that cannot be
/// told, so nothing in use is removed).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

pub(crate) fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let bytes = crate::encoded::json_bytes(value, 0)
        .map_err(|source| StoreError::Json { path: path.to_path_buf(), source })?;
    write_atomic(path, &bytes).map_err(io_err(path))
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let bytes =
        crate::read::read_regular(path, crate::read::MAX_FILE_BYTES).map_err(io_err(path))?;
    serde_json::from_slice(&bytes)
        .map_err(|source| StoreError::Json { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests;
