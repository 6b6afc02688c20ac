//! [`RunLock`]: one process at a time runs a run's audits.
//!
//! `RUN/.lock` is locked exclusively (an OS advisory lock, released by the
//! kernel when the process ends, even on `kill -9`) by `agar audit` and
//! `agar resume` for as long as they run audits. A second `agar resume` of
//! the same run is refused instead of running audits twice, and readers ask
//! [`crate::Store::run_is_live`] whether unfinished audits are running or
//! waiting for a resume.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// Held while a process runs a run's audits; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    /// The open lock file; the OS lock lives as long as it does.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

pub(crate) const LOCK_FILE: &str = ".lock";

/// The directory of per-file write locks ([`FileLock`]), beside the files.
pub(crate) const LOCKS_DIR: &str = ".locks";

fn open(run_dir: &Path, name: &str) -> Result<(File, PathBuf), StoreError> {
    let path = run_dir.join(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| StoreError::Io { path: path.clone(), source })?;
    Ok((file, path))
}

/// Takes the run's lock, or says who holds it.
pub(crate) fn acquire(run_id: &str, run_dir: &Path) -> Result<RunLock, StoreError> {
    acquire_named(run_id, run_dir, LOCK_FILE)
}

/// Takes the lock file `name` of the run (the run's, or a shard's).
pub(crate) fn acquire_named(
    run_id: &str,
    run_dir: &Path,
    name: &str,
) -> Result<RunLock, StoreError> {
    let (file, path) = open(run_dir, name)?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(StoreError::RunBusy(run_id.to_string())),
        Err(TryLockError::Error(source)) => Err(StoreError::Io { path, source }),
    }
}

/// Whether some process holds the run's lock, or one of its shards', right now.
pub(crate) fn is_held(run_dir: &Path) -> bool {
    is_named_held(run_dir, LOCK_FILE) || crate::shard::any_shard_held(run_dir)
}

/// Whether some process holds the lock file `name` of the run right now.
pub(crate) fn is_named_held(run_dir: &Path, name: &str) -> bool {
    if !run_dir.join(name).exists() {
        return false;
    }
    let Ok((file, _)) = open(run_dir, name) else { return false };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

/// Held while one read-modify-write of a stored file runs: an exclusive OS
/// lock on `.locks/NAME.lock` in the file's directory (the file itself is
/// replaced by rename on every write, so it cannot carry the lock). Writers
/// in other processes and threads wait for it, so two writers both land.
/// The lock files stay (removing one would race a writer waiting on it);
/// the kernel releases the locks of a killed process.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Waits for and takes the write lock of `path` (see [`FileLock`]).
pub fn lock_file(path: &Path) -> Result<FileLock, StoreError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(".")).join(LOCKS_DIR);
    let lock_path = dir.join(format!("{name}.lock"));
    let io = |source| StoreError::Io { path: lock_path.clone(), source };
    // Only inside a directory that exists: a lock never creates a run.
    match std::fs::create_dir(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
        _ => {}
    }
    let file =
        OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io)?;
    file.lock().map_err(io)?;
    Ok(FileLock { _file: file })
}
