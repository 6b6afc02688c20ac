//! The sled index at `STORE/.index`: a cache of what the JSON files say, so
//! that listing runs and summarising them does not parse every transcript.
//!
//! Trees:
//! - `meta`: `format` -> the index format version (a mismatch clears the index);
//! - `runs`: run id -> the run's fingerprint (small: rewritten whenever
//!   the run changes);
//! - `run_files`: run id -> the stamps of `run.json` and `plan.json`, the
//!   run's record and its planned audits (rewritten only when those two
//!   files change: a plan lists every audit);
//! - `audits`: `RUN \0 AUDIT` -> the file's stamp (32 bytes) then its
//!   [`AuditRecord`] (status, latest verdict scores, tokens, cost) in the
//!   compact encoding of `codec.rs`: a refresh compares stamps without
//!   decoding records, and a view decodes each record once, with no parser;
//! - `labels`: `RUN \0 AUDIT` -> `LabelEntry` (the label file's stamp and
//!   its labels).
//!
//! **Staleness.** A run's fingerprint is a sha256 over the name, size,
//! modification time and inode of `run.json`, `plan.json`, every transcript
//! and every label file, in name order. Each read of a run recomputes it
//! from a directory listing (no file is opened); when it differs from the
//! stored one, only the files whose stamp changed are parsed again
//! (`run.json` and `plan.json` included) and entries of vanished files are
//! dropped. Atomic writes replace a file by a new inode, so every rewrite is
//! seen. A missing or unreadable index is simply rebuilt.
//!
//! **Concurrency.** sled locks its database to one process. The index is
//! therefore opened only for short sessions (one refresh, one batch of
//! updates), under a process-wide mutex; a process that finds it locked by
//! another retries for about a second and then goes on without it: readers
//! compute the same figures from the JSON files, writers leave the update to
//! the next reader (the fingerprint catches it). No process keeps the index
//! open while it waits on models.
//!
//! **Batching.** Opening sled is not cheap (it allocates about 1 MB and
//! syncs), so a [`Store`](crate::Store) does not open it once per transcript.
//! A written transcript's record joins the store's pending batch (shared by
//! the store's clones), and the batch is written in one session: on a write
//! when this process's last session ended at least [`FLUSH_INTERVAL`] ago
//! (without waiting for another process), at the start of every session the
//! store opens anyway (a reader's refresh, a label write: readers in this
//! process therefore see every record written), on
//! [`Store::flush_index`](crate::Store::flush_index), which a run calls when
//! its audits end, and when the store's last handle is dropped (best effort).
//! A run defers every write's session while its audits are in flight
//! ([`Store::defer_index_writes`](crate::Store::defer_index_writes)): its
//! closing view writes the whole batch at once.
//! Each record is written only if its file still has the stamp it had when
//! written, so a batch never overrides a newer file. A crash loses at most
//! the pending batch from the index, never a transcript: the run's
//! fingerprint no longer matches its files, so the next reader parses the
//! missing transcripts again. Label writes are rare and update the index at
//! once.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};

use agar_core::RunRecord;
use agar_report::AuditRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::labels::{LABELS_DIR, Label};
use crate::plan::{PLAN_FILE, RunPlan};
use crate::store::{StoreError, is_transcript_name, read_json};

/// The index's directory under the store.
pub const INDEX_DIR: &str = ".index";

/// Bumped whenever what the index keeps changes; an index of another format is cleared.
const FORMAT: u32 = 3;

/// How long a process waits for another's index session before going on without it.
const BUSY_WAIT: Duration = Duration::from_millis(1500);
const BUSY_STEP: Duration = Duration::from_millis(25);

/// One index session at a time per process (sled's lock is per process, and
/// a second open in the same process would fail too).
static SESSION: Mutex<()> = Mutex::new(());

/// When this process's last index session ended (or found the index busy).
static LAST_SESSION: Mutex<Option<Instant>> = Mutex::new(None);

/// A writer opens the index for its pending records at most this often.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// A file's identity: a rewrite changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    size: u64,
    mtime_ns: u128,
    inode: u64,
}

impl Stamp {
    /// Bytes of [`Stamp::to_bytes`].
    const LEN: usize = 32;

    fn to_bytes(self) -> [u8; Stamp::LEN] {
        let mut out = [0; Stamp::LEN];
        out[..8].copy_from_slice(&self.size.to_le_bytes());
        out[8..24].copy_from_slice(&self.mtime_ns.to_le_bytes());
        out[24..].copy_from_slice(&self.inode.to_le_bytes());
        out
    }

    fn from_bytes(b: &[u8]) -> Option<Stamp> {
        let b: &[u8; Stamp::LEN] = b.get(..Stamp::LEN)?.try_into().ok()?;
        let (size, rest) = b.split_at(8);
        let (mtime, inode) = rest.split_at(16);
        Some(Stamp {
            size: u64::from_le_bytes(size.try_into().ok()?),
            mtime_ns: u128::from_le_bytes(mtime.try_into().ok()?),
            inode: u64::from_le_bytes(inode.try_into().ok()?),
        })
    }

    pub(crate) fn of(meta: &fs::Metadata) -> Stamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(meta);
        #[cfg(not(unix))]
        let inode = 0;
        Stamp { size: meta.len(), mtime_ns, inode }
    }
}

/// What the index knows of a run's own files.
#[derive(Debug, Clone)]
pub(crate) struct RunEntry {
    pub(crate) record: RunRecord,
    /// (audit id, scenario id) of every planned audit; empty for runs without a plan.
    pub(crate) planned: Vec<(String, String)>,
}

/// The stamps of a run's `run.json` and `plan.json`, when present.
type RunFiles = (Option<Stamp>, Option<Stamp>);

/// An `audits` value: the transcript's stamp, then its record.
fn encode_audit(stamp: Stamp, record: &AuditRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(&stamp.to_bytes());
    crate::codec::encode(record, &mut out);
    out
}

/// The stamp of an `audits` value, without decoding its record.
fn audit_stamp(value: &[u8]) -> Option<Stamp> {
    Stamp::from_bytes(value)
}

/// The record of an `audits` value.
fn audit_record(value: &[u8]) -> Option<AuditRecord> {
    crate::codec::decode(value.get(Stamp::LEN..)?)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LabelEntry {
    stamp: Stamp,
    pub(crate) labels: BTreeMap<String, Label>,
}

/// What a directory listing of a run shows.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) fingerprint: String,
    files: RunFiles,
    /// audit id -> the stamp of its transcript (`AUDIT.json`).
    pub(crate) transcripts: BTreeMap<String, Stamp>,
    /// audit id -> the stamp of its label file (`labels/AUDIT.json`).
    pub(crate) labels: BTreeMap<String, Stamp>,
}

/// Lists a run directory and fingerprints it, opening no file.
pub(crate) fn list_run(run_dir: &Path) -> Result<Listing, StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let mut listing = Listing::default();
    for entry in fs::read_dir(run_dir).map_err(io(run_dir))? {
        let entry = entry.map_err(io(run_dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let run_file = name == "run.json";
        if run_file || name == PLAN_FILE || is_transcript_name(name) {
            let stamp = Stamp::of(&entry.metadata().map_err(io(&entry.path()))?);
            if run_file {
                listing.files.0 = Some(stamp);
            } else if name == PLAN_FILE {
                listing.files.1 = Some(stamp);
            } else {
                let id = name.strip_suffix(".json").unwrap_or(name).to_string();
                listing.transcripts.insert(id, stamp);
            }
        }
    }
    let labels_dir = run_dir.join(LABELS_DIR);
    if labels_dir.is_dir() {
        for entry in fs::read_dir(&labels_dir).map_err(io(&labels_dir))? {
            let entry = entry.map_err(io(&labels_dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| is_transcript_name(n)) else { continue };
            let stamp = Stamp::of(&entry.metadata().map_err(io(&entry.path()))?);
            listing.labels.insert(name.strip_suffix(".json").unwrap_or(name).to_string(), stamp);
        }
    }
    // Hashed in a fixed order (the maps are sorted by id), each part tagged
    // and length-prefixed so no two listings hash the same parts.
    let mut h = Sha256::new();
    for (tag, stamp) in [(b'r', listing.files.0), (b'p', listing.files.1)] {
        h.update([tag, u8::from(stamp.is_some())]);
        h.update(stamp.map_or([0; Stamp::LEN], Stamp::to_bytes));
    }
    for (tag, files) in [(b't', &listing.transcripts), (b'l', &listing.labels)] {
        h.update([tag]);
        h.update((files.len() as u64).to_le_bytes());
        for (id, stamp) in files {
            h.update((id.len() as u64).to_le_bytes());
            h.update(id.as_bytes());
            h.update(stamp.to_bytes());
        }
    }
    listing.fingerprint = hex::encode(h.finalize());
    Ok(listing)
}

/// An open index session.
pub(crate) struct Index {
    db: sled::Db,
    runs: sled::Tree,
    run_files: sled::Tree,
    audits: sled::Tree,
    labels: sled::Tree,
}

fn db_err(e: sled::Error) -> StoreError {
    StoreError::Index(e.to_string())
}

fn key(run: &str, audit: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(run.len() + audit.len() + 1);
    k.extend_from_slice(run.as_bytes());
    k.push(0);
    k.extend_from_slice(audit.as_bytes());
    k
}

fn prefix(run: &str) -> Vec<u8> {
    let mut k = run.as_bytes().to_vec();
    k.push(0);
    k
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Index(e.to_string()))
}

/// Runs `f` with the index of the store at `root` open, then flushes and
/// closes it. Waits for this process's other sessions, and up to
/// `BUSY_WAIT` for another process. `None` when another process holds the
/// index past the wait.
pub(crate) fn with_index<T>(
    root: &Path,
    f: impl FnOnce(&Index) -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    let session = SESSION.lock().unwrap_or_else(PoisonError::into_inner);
    run_session(session, root, BUSY_WAIT, f)
}

/// [`with_index`] only if it is due: no other session of this process is
/// open and the last one ended at least `interval` ago (or there was none).
/// Does not wait for another process. `None` when not due or busy.
pub(crate) fn with_index_if_due<T>(
    root: &Path,
    interval: Duration,
    f: impl FnOnce(&Index) -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    let session = match SESSION.try_lock() {
        Ok(guard) => guard,
        Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return None,
    };
    if !session_due(interval) {
        return None;
    }
    run_session(session, root, Duration::ZERO, f)
}

/// Whether this process's last index session ended at least `interval` ago.
pub(crate) fn session_due(interval: Duration) -> bool {
    LAST_SESSION
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .is_none_or(|last| last.elapsed() >= interval)
}

fn run_session<T>(
    _session: std::sync::MutexGuard<'_, ()>,
    root: &Path,
    busy_wait: Duration,
    f: impl FnOnce(&Index) -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    let out = open_and_run(root, busy_wait, f);
    *LAST_SESSION.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
    out
}

fn open_and_run<T>(
    root: &Path,
    busy_wait: Duration,
    f: impl FnOnce(&Index) -> Result<T, StoreError>,
) -> Option<Result<T, StoreError>> {
    let index = match Index::open(&root.join(INDEX_DIR), busy_wait) {
        Ok(Some(index)) => index,
        Ok(None) => {
            tracing::debug!("the index is in use by another process; reading the files");
            return None;
        }
        Err(e) => return Some(Err(e)),
    };
    let out = f(&index);
    if let Err(e) = index.db.flush() {
        return Some(Err(db_err(e)));
    }
    Some(out)
}

impl Index {
    /// Opens (creating) the index; `Ok(None)` when another process holds it.
    fn open(dir: &Path, busy_wait: Duration) -> Result<Option<Index>, StoreError> {
        let start = std::time::Instant::now();
        let db = loop {
            match sled::Config::new().path(dir).flush_every_ms(None).cache_capacity(16 << 20).open()
            {
                Ok(db) => break db,
                Err(sled::Error::Io(e)) if is_lock_error(&e) => {
                    if start.elapsed() >= busy_wait {
                        return Ok(None);
                    }
                    std::thread::sleep(BUSY_STEP);
                }
                Err(e) => {
                    // A damaged index is only a cache: start it again.
                    tracing::warn!(
                        "the index at {} is unreadable ({e}); rebuilding it",
                        dir.display()
                    );
                    fs::remove_dir_all(dir)
                        .map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
                    break sled::Config::new()
                        .path(dir)
                        .flush_every_ms(None)
                        .open()
                        .map_err(db_err)?;
                }
            }
        };
        let index = Index {
            runs: db.open_tree("runs").map_err(db_err)?,
            run_files: db.open_tree("run_files").map_err(db_err)?,
            audits: db.open_tree("audits").map_err(db_err)?,
            labels: db.open_tree("labels").map_err(db_err)?,
            db,
        };
        let format = index.db.get("format").map_err(db_err)?;
        if format.as_deref() != Some(&FORMAT.to_be_bytes()[..]) {
            index.runs.clear().map_err(db_err)?;
            index.run_files.clear().map_err(db_err)?;
            index.audits.clear().map_err(db_err)?;
            index.labels.clear().map_err(db_err)?;
            index.db.insert("format", &FORMAT.to_be_bytes()).map_err(db_err)?;
        }
        Ok(Some(index))
    }

    /// Brings one run up to date with its files; returns its entry and,
    /// when `with_records`, what [`Index::records`] would return after it
    /// (from the same pass over the index; else empty).
    pub(crate) fn refresh_run(
        &self,
        run_dir: &Path,
        run_id: &str,
        with_records: bool,
    ) -> Result<(RunEntry, BTreeMap<String, AuditRecord>), StoreError> {
        let listing = list_run(run_dir)?;
        let entry = self.run_entry(run_dir, run_id, listing.files)?;
        let stored = self.runs.get(run_id).map_err(db_err)?;
        if stored.as_deref() == Some(listing.fingerprint.as_bytes()) {
            let records = if with_records { self.records(run_id)? } else { BTreeMap::new() };
            return Ok((entry, records));
        }
        let mut records = BTreeMap::new();
        let mut fingerprint = listing.fingerprint.clone();
        // Transcripts: parse only what changed, drop what vanished.
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for item in self.audits.scan_prefix(prefix(run_id)) {
            let (k, v) = item.map_err(db_err)?;
            let listed = std::str::from_utf8(&k[run_id.len() + 1..])
                .ok()
                .and_then(|audit| listing.transcripts.get_key_value(audit));
            match (listed, audit_stamp(&v)) {
                (Some((audit, stamp)), Some(indexed)) if indexed == *stamp => {
                    if with_records {
                        // A record that does not decode is parsed again below.
                        let Some(record) = audit_record(&v) else { continue };
                        records.insert(record.audit_id.clone(), record);
                    }
                    seen.insert(audit.as_str());
                }
                (Some(_), _) => {}
                (None, _) => {
                    self.audits.remove(k).map_err(db_err)?;
                }
            }
        }
        for (audit, stamp) in &listing.transcripts {
            if seen.contains(audit.as_str()) {
                continue;
            }
            match read_json::<agar_core::Transcript>(&run_dir.join(format!("{audit}.json"))) {
                Ok(t) => {
                    let record = AuditRecord::from_transcript(&t);
                    let value = encode_audit(*stamp, &record);
                    self.audits.insert(key(run_id, audit), value).map_err(db_err)?;
                    if with_records {
                        records.insert(record.audit_id.clone(), record);
                    }
                }
                Err(e) => {
                    // Left out, and the fingerprint left stale so it is tried again.
                    tracing::warn!("{e}; left out of the index");
                    self.audits.remove(key(run_id, audit)).map_err(db_err)?;
                    fingerprint.clear();
                }
            }
        }
        // Labels, the same way.
        let mut fresh = BTreeSet::new();
        for item in self.labels.scan_prefix(prefix(run_id)) {
            let (k, v) = item.map_err(db_err)?;
            let audit = String::from_utf8_lossy(&k[run_id.len() + 1..]).into_owned();
            match (listing.labels.get(&audit), decode::<LabelEntry>(&v)) {
                (Some(stamp), Some(entry)) if entry.stamp == *stamp => {
                    fresh.insert(audit);
                }
                (Some(_), _) => {}
                (None, _) => {
                    self.labels.remove(k).map_err(db_err)?;
                }
            }
        }
        for (audit, stamp) in &listing.labels {
            if fresh.contains(audit) {
                continue;
            }
            let path = run_dir.join(LABELS_DIR).join(format!("{audit}.json"));
            match read_json::<BTreeMap<String, Label>>(&path) {
                Ok(labels) => {
                    let entry = LabelEntry { stamp: *stamp, labels };
                    self.labels.insert(key(run_id, audit), encode(&entry)?).map_err(db_err)?;
                }
                Err(e) => {
                    tracing::warn!("{e}; left out of the index");
                    fingerprint.clear();
                }
            }
        }
        self.runs.insert(run_id, fingerprint.as_bytes()).map_err(db_err)?;
        Ok((entry, records))
    }

    /// The run's record and plan: from the index while the stamps of
    /// `run.json` and `plan.json` are `files`, else read from them (and kept).
    fn run_entry(
        &self,
        run_dir: &Path,
        run_id: &str,
        files: RunFiles,
    ) -> Result<RunEntry, StoreError> {
        if let Some(v) = self.run_files.get(run_id).map_err(db_err)?
            && let Some((stored, record, planned)) =
                decode::<(RunFiles, RunRecord, Vec<(String, String)>)>(&v)
            && stored == files
            && files.0.is_some()
        {
            return Ok(RunEntry { record, planned });
        }
        let record: RunRecord = read_json(&run_dir.join("run.json"))?;
        let planned = if files.1.is_some() {
            let plan: RunPlan = read_json(&run_dir.join(PLAN_FILE))?;
            plan.audits.into_iter().map(|a| (a.audit_id, a.scenario_id)).collect()
        } else {
            Vec::new()
        };
        let value = encode(&(files, &record, &planned))?;
        self.run_files.insert(run_id, value).map_err(db_err)?;
        Ok(RunEntry { record, planned })
    }

    /// Drops runs whose directory is gone; `present` lists the runs on disk.
    pub(crate) fn retain_runs(&self, present: &BTreeSet<String>) -> Result<(), StoreError> {
        let mut gone = Vec::new();
        for item in self.runs.iter() {
            let (k, _) = item.map_err(db_err)?;
            let id = String::from_utf8_lossy(&k).into_owned();
            if !present.contains(&id) {
                gone.push(id);
            }
        }
        for id in gone {
            self.runs.remove(id.as_bytes()).map_err(db_err)?;
            self.run_files.remove(id.as_bytes()).map_err(db_err)?;
            for tree in [&self.audits, &self.labels] {
                let keys: Vec<_> = tree
                    .scan_prefix(prefix(&id))
                    .keys()
                    .collect::<Result<_, _>>()
                    .map_err(db_err)?;
                for k in keys {
                    tree.remove(k).map_err(db_err)?;
                }
            }
        }
        Ok(())
    }

    /// The indexed records of a run's stored transcripts, by audit id.
    pub(crate) fn records(
        &self,
        run_id: &str,
    ) -> Result<BTreeMap<String, AuditRecord>, StoreError> {
        let mut out = BTreeMap::new();
        for item in self.audits.scan_prefix(prefix(run_id)) {
            let (_, v) = item.map_err(db_err)?;
            if let Some(record) = audit_record(&v) {
                out.insert(record.audit_id.clone(), record);
            }
        }
        Ok(out)
    }

    /// Records a transcript written earlier, if its file at `path` still has
    /// `stamp` (else the file changed since, and the next refresh parses it).
    /// Returns whether the record was written.
    pub(crate) fn put_audit(
        &self,
        run_id: &str,
        path: &Path,
        stamp: Stamp,
        record: AuditRecord,
    ) -> Result<bool, StoreError> {
        let current = fs::metadata(path).ok().map(|m| Stamp::of(&m));
        if current != Some(stamp) {
            return Ok(false);
        }
        let k = key(run_id, &record.audit_id);
        self.audits.insert(k, encode_audit(stamp, &record)).map_err(db_err)?;
        Ok(true)
    }

    /// The labels of one audit, as indexed.
    pub(crate) fn labels(
        &self,
        run_id: &str,
        audit_id: &str,
    ) -> Result<Option<BTreeMap<String, Label>>, StoreError> {
        Ok(self
            .labels
            .get(key(run_id, audit_id))
            .map_err(db_err)?
            .and_then(|v| decode::<LabelEntry>(&v))
            .map(|e| e.labels))
    }

    /// Records a label file just written.
    pub(crate) fn put_labels(
        &self,
        run_id: &str,
        audit_id: &str,
        meta: &fs::Metadata,
        labels: BTreeMap<String, Label>,
    ) -> Result<(), StoreError> {
        let entry = LabelEntry { stamp: Stamp::of(meta), labels };
        self.labels.insert(key(run_id, audit_id), encode(&entry)?).map_err(db_err)?;
        Ok(())
    }
}

fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().contains("could not acquire lock")
        || e.raw_os_error() == Some(11)
}
