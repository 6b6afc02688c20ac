//! The index at `STORE/.index`: a cache of what the JSON files say, so that
//! listing runs and summarising them does not parse every transcript.
//!
//! **Files.** One file per run, `.index/runs/RUN`, holds that run's part:
//! - its fingerprint (below);
//! - the stamps of `run.json` and `plan.json`, the run's record and its
//!   planned audits (rewritten only when those two files change: a plan
//!   lists every audit);
//! - per audit, the transcript's stamp (32 bytes) then its [`AuditRecord`]
//!   (status, latest verdict scores, tokens, cost) in the compact encoding
//!   of `codec.rs`: a refresh compares stamps without decoding records, and
//!   a view decodes each record once, with no parser;
//! - per audit, its `LabelEntry` (the label file's stamp and its labels).
//!
//! A part is read whole when a session first touches its run and written
//! whole (a temporary file renamed into place) when the session ends, if it
//! changed. It starts with a magic line and the format (`FORMAT`) and ends
//! with the sha256 of what precedes it: a part of another format, cut short
//! or damaged, reads as empty and is rebuilt from the files. `.index/lock`
//! is held (an OS advisory lock) for a session.
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
//! **Concurrency.** A session (one refresh, one batch of updates) holds
//! `.index/lock`, under a process-wide mutex; a process that finds it locked
//! by another retries for about a second and then goes on without it:
//! readers compute the same figures from the JSON files, writers leave the
//! update to the next reader (the fingerprint catches it). No process keeps
//! the index locked while it waits on models.
//!
//! **Batching.** A [`Store`](crate::Store) does not open a session per
//! transcript. A written transcript's record joins the store's pending batch
//! (shared by the store's clones), and the batch is written in one session:
//! on a write when this process's last session ended at least
//! [`FLUSH_INTERVAL`] ago (without waiting for another process), at the
//! start of every session the store opens anyway (a reader's refresh, a
//! label write: readers in this process therefore see every record written),
//! on [`Store::flush_index`](crate::Store::flush_index), which a run calls
//! when its audits end, and when the store's last handle is dropped (best
//! effort). A run defers every write's session while its audits are in
//! flight ([`Store::defer_index_writes`](crate::Store::defer_index_writes)):
//! its closing view writes the whole batch at once. Each record is written
//! only if its file still has the stamp it had when written, so a batch
//! never overrides a newer file. A crash loses at most the pending batch
//! from the index, never a transcript: the run's fingerprint no longer
//! matches its files, and the next reader parses the missing transcripts
//! again. Label writes are rare and update the index at once.
//!
//! Until agar 0.1's index format 3 the index was a sled database; a
//! directory holding sled's files is removed and the index started again.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, UNIX_EPOCH};

use agar_core::RunRecord;
use agar_report::AuditRecord;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic::write_atomic;
use crate::labels::{LABELS_DIR, Label};
use crate::plan::{PLAN_FILE, RunPlan};
use crate::store::{StoreError, io_err, is_transcript_name, read_json};

/// The index's directory under the store.
pub const INDEX_DIR: &str = ".index";

/// Bumped whenever what the index keeps changes; a part of another format reads as empty.
const FORMAT: u32 = 4;

/// The first bytes of every part file.
const MAGIC: &[u8] = b"agar index\n";

/// The directory of the run parts, under the index's.
const RUNS_DIR: &str = "runs";

/// The lock file held for a session, under the index's directory.
pub(crate) const LOCK_NAME: &str = "lock";

/// How long a process waits for another's index session before going on without it.
const BUSY_WAIT: Duration = Duration::from_millis(1500);
const BUSY_STEP: Duration = Duration::from_millis(25);

/// One index session at a time per process (the OS lock of `.index/lock`
/// would not exclude a second session of the same process reliably).
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
    let mut listing = Listing::default();
    for entry in fs::read_dir(run_dir).map_err(io_err(run_dir))? {
        let entry = entry.map_err(io_err(run_dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let run_file = name == "run.json";
        if run_file || name == PLAN_FILE || is_transcript_name(name) {
            let stamp = Stamp::of(&entry.metadata().map_err(io_err(&entry.path()))?);
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
        for entry in fs::read_dir(&labels_dir).map_err(io_err(&labels_dir))? {
            let entry = entry.map_err(io_err(&labels_dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| is_transcript_name(n)) else { continue };
            let stamp = Stamp::of(&entry.metadata().map_err(io_err(&entry.path()))?);
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

/// An open index session: the lock, and the parts of the runs it touched.
pub(crate) struct Index {
    dir: PathBuf,
    /// The open lock file; the OS lock lives as long as it does.
    _lock: File,
    parts: Mutex<BTreeMap<String, Loaded>>,
}

/// One run's part of the index (`.index/runs/RUN`).
#[derive(Debug, Default, Clone, PartialEq)]
struct Part {
    /// The run's fingerprint when last refreshed; empty when never (or stale).
    fingerprint: Vec<u8>,
    /// The stamps of `run.json` and `plan.json`, the record and the plan, encoded.
    files: Option<Vec<u8>>,
    /// audit id -> the transcript's stamp, then its record.
    audits: BTreeMap<String, Vec<u8>>,
    /// audit id -> its encoded `LabelEntry`.
    labels: BTreeMap<String, Vec<u8>>,
}

impl Part {
    fn is_empty(&self) -> bool {
        self.fingerprint.is_empty()
            && self.files.is_none()
            && self.audits.is_empty()
            && self.labels.is_empty()
    }

    fn encode(&self) -> Vec<u8> {
        fn bytes(out: &mut Vec<u8>, b: &[u8]) {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        }
        fn map(out: &mut Vec<u8>, m: &BTreeMap<String, Vec<u8>>) {
            out.extend_from_slice(&(m.len() as u64).to_le_bytes());
            for (k, v) in m {
                bytes(out, k.as_bytes());
                bytes(out, v);
            }
        }
        let size: usize =
            self.audits.values().chain(self.labels.values()).map(|v| v.len() + 64).sum();
        let mut out = Vec::with_capacity(size + 4096);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        bytes(&mut out, &self.fingerprint);
        match &self.files {
            Some(f) => {
                out.push(1);
                bytes(&mut out, f);
            }
            None => out.push(0),
        }
        map(&mut out, &self.audits);
        map(&mut out, &self.labels);
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// The part `b` encodes; `None` for another format, a cut or a change.
    fn decode(b: &[u8]) -> Option<Part> {
        struct Cursor<'a>(&'a [u8]);
        impl<'a> Cursor<'a> {
            fn take(&mut self, n: usize) -> Option<&'a [u8]> {
                if n > self.0.len() {
                    return None;
                }
                let (head, rest) = self.0.split_at(n);
                self.0 = rest;
                Some(head)
            }
            fn len(&mut self) -> Option<usize> {
                usize::try_from(u64::from_le_bytes(self.take(8)?.try_into().ok()?)).ok()
            }
            fn bytes(&mut self) -> Option<&'a [u8]> {
                let n = self.len()?;
                self.take(n)
            }
            fn map(&mut self) -> Option<BTreeMap<String, Vec<u8>>> {
                let n = self.len()?;
                let mut m = BTreeMap::new();
                for _ in 0..n {
                    let k = std::str::from_utf8(self.bytes()?).ok()?.to_string();
                    m.insert(k, self.bytes()?.to_vec());
                }
                Some(m)
            }
        }
        let body_len = b.len().checked_sub(32)?;
        let (body, sum) = b.split_at(body_len);
        if Sha256::digest(body).as_slice() != sum {
            return None;
        }
        let mut c = Cursor(body);
        if c.take(MAGIC.len())? != MAGIC || c.take(4)? != FORMAT.to_le_bytes() {
            return None;
        }
        let fingerprint = c.bytes()?.to_vec();
        let files = match c.take(1)? {
            [0] => None,
            [1] => Some(c.bytes()?.to_vec()),
            _ => return None,
        };
        let audits = c.map()?;
        let labels = c.map()?;
        c.0.is_empty().then_some(Part { fingerprint, files, audits, labels })
    }
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
    if let Err(e) = index.write_parts() {
        return Some(Err(e));
    }
    Some(out)
}

/// A run's part as loaded in a session, and whether the session changed it.
struct Loaded {
    part: Part,
    dirty: bool,
}

impl Index {
    /// Opens (creating) the index; `Ok(None)` when another process holds it.
    fn open(dir: &Path, busy_wait: Duration) -> Result<Option<Index>, StoreError> {
        if dir.join("db").exists() || dir.join("conf").exists() {
            // An index of agar's sled days: only a cache, started again.
            tracing::info!("replacing the old sled index at {}", dir.display());
            fs::remove_dir_all(dir).map_err(io_err(dir))?;
        }
        let runs = dir.join(RUNS_DIR);
        fs::create_dir_all(&runs).map_err(io_err(&runs))?;
        let (file, path) = crate::lock::open(dir, LOCK_NAME)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= busy_wait {
                        return Ok(None);
                    }
                    std::thread::sleep(BUSY_STEP);
                }
                Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
            }
        }
        Ok(Some(Index { dir: dir.to_path_buf(), _lock: file, parts: Mutex::new(BTreeMap::new()) }))
    }

    fn part_path(&self, run_id: &str) -> PathBuf {
        self.dir.join(RUNS_DIR).join(run_id)
    }

    /// Runs `f` on the run's part, read from its file on first use in this
    /// session; `f` returns whether it changed the part.
    fn with_part<T>(
        &self,
        run_id: &str,
        f: impl FnOnce(&mut Part) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let mut parts = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        if !parts.contains_key(run_id) {
            let part = self.read_part(run_id)?;
            parts.insert(run_id.to_string(), Loaded { part, dirty: false });
        }
        let loaded = parts.get_mut(run_id).expect("just inserted");
        let (out, changed) = f(&mut loaded.part)?;
        loaded.dirty |= changed;
        Ok(out)
    }

    /// The run's part as stored; empty when absent, of another format or damaged.
    fn read_part(&self, run_id: &str) -> Result<Part, StoreError> {
        let path = self.part_path(run_id);
        match fs::read(&path) {
            Ok(bytes) => Ok(Part::decode(&bytes).unwrap_or_else(|| {
                tracing::warn!("the index part {} is unreadable; rebuilding it", path.display());
                Part::default()
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Part::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes every part this session changed ([`write_atomic`], as every
    /// file of the store), and removes the parts left empty.
    fn write_parts(&self) -> Result<(), StoreError> {
        let parts = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        for (run_id, loaded) in parts.iter().filter(|(_, l)| l.dirty) {
            let path = self.part_path(run_id);
            if loaded.part.is_empty() {
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(io_err(&path)(e));
                    }
                    _ => continue,
                }
            }
            write_atomic(&path, &loaded.part.encode()).map_err(io_err(&path))?;
        }
        Ok(())
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
        self.with_part(run_id, |part| {
            let (entry, mut changed) = run_entry(part, run_dir, listing.files)?;
            if part.fingerprint == listing.fingerprint.as_bytes() {
                let records = if with_records { records(part) } else { BTreeMap::new() };
                return Ok(((entry, records), changed));
            }
            changed = true;
            let mut records = BTreeMap::new();
            let mut fingerprint = listing.fingerprint.clone();
            // Transcripts: parse only what changed, drop what vanished.
            part.audits.retain(|audit, _| listing.transcripts.contains_key(audit));
            for (audit, stamp) in &listing.transcripts {
                if let Some(v) = part.audits.get(audit)
                    && audit_stamp(v) == Some(*stamp)
                {
                    if !with_records {
                        continue;
                    }
                    // A record that does not decode is parsed again below.
                    if let Some(record) = audit_record(v) {
                        records.insert(record.audit_id.clone(), record);
                        continue;
                    }
                }
                match read_json::<agar_core::Transcript>(&run_dir.join(format!("{audit}.json"))) {
                    Ok(t) => {
                        let record = AuditRecord::from_transcript(&t);
                        part.audits.insert(audit.clone(), encode_audit(*stamp, &record));
                        if with_records {
                            records.insert(record.audit_id.clone(), record);
                        }
                    }
                    Err(e) => {
                        // Left out, and the fingerprint left stale so it is tried again.
                        tracing::warn!("{e}; left out of the index");
                        part.audits.remove(audit);
                        fingerprint.clear();
                    }
                }
            }
            // Labels, the same way.
            part.labels.retain(|audit, _| listing.labels.contains_key(audit));
            for (audit, stamp) in &listing.labels {
                let fresh = part
                    .labels
                    .get(audit)
                    .and_then(|v| decode::<LabelEntry>(v))
                    .is_some_and(|e| e.stamp == *stamp);
                if fresh {
                    continue;
                }
                let path = run_dir.join(LABELS_DIR).join(format!("{audit}.json"));
                match read_json::<BTreeMap<String, Label>>(&path) {
                    Ok(labels) => {
                        let entry = LabelEntry { stamp: *stamp, labels };
                        part.labels.insert(audit.clone(), encode(&entry)?);
                    }
                    Err(e) => {
                        tracing::warn!("{e}; left out of the index");
                        fingerprint.clear();
                    }
                }
            }
            part.fingerprint = fingerprint.into_bytes();
            Ok(((entry, records), changed))
        })
    }

    /// Drops runs whose directory is gone; `present` lists the runs on disk.
    pub(crate) fn retain_runs(&self, present: &BTreeSet<String>) -> Result<(), StoreError> {
        let dir = self.dir.join(RUNS_DIR);
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || present.contains(&name) {
                continue;
            }
            let mut parts = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
            parts.insert(name, Loaded { part: Part::default(), dirty: true });
        }
        Ok(())
    }

    /// The indexed records of a run's stored transcripts, by audit id.
    #[cfg(test)]
    pub(crate) fn records(
        &self,
        run_id: &str,
    ) -> Result<BTreeMap<String, AuditRecord>, StoreError> {
        self.with_part(run_id, |part| Ok((records(part), false)))
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
        self.with_part(run_id, |part| {
            part.audits.insert(record.audit_id.clone(), encode_audit(stamp, &record));
            Ok((true, true))
        })
    }

    /// The labels of one audit, as indexed.
    pub(crate) fn labels(
        &self,
        run_id: &str,
        audit_id: &str,
    ) -> Result<Option<BTreeMap<String, Label>>, StoreError> {
        self.with_part(run_id, |part| {
            let labels =
                part.labels.get(audit_id).and_then(|v| decode::<LabelEntry>(v)).map(|e| e.labels);
            Ok((labels, false))
        })
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
        let value = encode(&entry)?;
        self.with_part(run_id, |part| {
            part.labels.insert(audit_id.to_string(), value);
            Ok(((), true))
        })
    }
}

/// The records of a part's transcripts, by audit id.
fn records(part: &Part) -> BTreeMap<String, AuditRecord> {
    part.audits.values().filter_map(|v| audit_record(v)).map(|r| (r.audit_id.clone(), r)).collect()
}

/// The run's record and plan: from the part while the stamps of `run.json`
/// and `plan.json` are `files`, else read from them (and kept). Returns
/// whether the part changed.
fn run_entry(
    part: &mut Part,
    run_dir: &Path,
    files: RunFiles,
) -> Result<(RunEntry, bool), StoreError> {
    if let Some(v) = &part.files
        && let Some((stored, record, planned)) =
            decode::<(RunFiles, RunRecord, Vec<(String, String)>)>(v)
        && stored == files
        && files.0.is_some()
    {
        return Ok((RunEntry { record, planned }, false));
    }
    let record: RunRecord = read_json(&run_dir.join("run.json"))?;
    let planned = if files.1.is_some() {
        let plan: RunPlan = read_json(&run_dir.join(PLAN_FILE))?;
        plan.audits.into_iter().map(|a| (a.audit_id, a.scenario_id)).collect()
    } else {
        Vec::new()
    };
    part.files = Some(encode(&(files, &record, &planned))?);
    Ok((RunEntry { record, planned }, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Part {
        Part {
            fingerprint: b"abc".to_vec(),
            files: Some(b"{\"x\":1}".to_vec()),
            audits: [("a".to_string(), vec![1, 2, 3]), ("b".to_string(), vec![])].into(),
            labels: [("a".to_string(), b"{}".to_vec())].into(),
        }
    }

    #[test]
    fn a_part_round_trips_and_any_damage_reads_as_none() {
        let part = sample();
        let bytes = part.encode();
        assert_eq!(Part::decode(&bytes), Some(part));
        assert_eq!(Part::decode(&Part::default().encode()), Some(Part::default()));
        for cut in [0, 1, MAGIC.len(), bytes.len() / 2, bytes.len() - 1] {
            assert_eq!(Part::decode(&bytes[..cut]), None, "cut at {cut}");
        }
        for at in [0, MAGIC.len(), MAGIC.len() + 4, bytes.len() / 2, bytes.len() - 1] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert_eq!(Part::decode(&flipped), None, "byte {at} changed");
        }
        // Another format, with a valid checksum, is not read either.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        other[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&(FORMAT + 1).to_le_bytes());
        let sum = Sha256::digest(&other);
        other.extend_from_slice(&sum);
        assert_eq!(Part::decode(&other), None);
    }

    #[test]
    fn a_session_writes_only_what_it_changed_and_an_old_sled_index_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let ix = dir.path().join(INDEX_DIR);
        fs::create_dir_all(&ix).unwrap();
        fs::write(ix.join("conf"), "segment_size: 524288").unwrap();
        fs::write(ix.join("db"), "sled").unwrap();
        let index = Index::open(&ix, Duration::ZERO).unwrap().unwrap();
        assert!(!ix.join("db").exists() && !ix.join("conf").exists(), "sled's files removed");
        index
            .with_part("r1", |part| {
                *part = sample();
                Ok(((), true))
            })
            .unwrap();
        index.with_part("r2", |_| Ok(((), false))).unwrap();
        index.write_parts().unwrap();
        assert!(ix.join(RUNS_DIR).join("r1").is_file());
        assert!(!ix.join(RUNS_DIR).join("r2").exists(), "an untouched part is not written");
        // A second session of another "process" is refused while this one holds the lock.
        assert!(Index::open(&ix, Duration::ZERO).unwrap().is_none());
        drop(index);
        let index = Index::open(&ix, Duration::ZERO).unwrap().unwrap();
        assert_eq!(index.read_part("r1").unwrap(), sample());
        index.retain_runs(&BTreeSet::new()).unwrap();
        index.write_parts().unwrap();
        assert!(!ix.join(RUNS_DIR).join("r1").exists(), "a gone run's part is removed");
        let leftovers: Vec<_> = fs::read_dir(ix.join(RUNS_DIR)).unwrap().collect();
        assert!(leftovers.is_empty(), "no temporary file left: {leftovers:?}");
    }
}
