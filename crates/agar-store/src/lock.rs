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

fn open(run_dir: &Path) -> Result<(File, PathBuf), StoreError> {
    let path = run_dir.join(LOCK_FILE);
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
    let (file, path) = open(run_dir)?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock { _file: file, path }),
        Err(TryLockError::WouldBlock) => Err(StoreError::RunBusy(run_id.to_string())),
        Err(TryLockError::Error(source)) => Err(StoreError::Io { path, source }),
    }
}

/// Whether some process holds the run's lock right now.
pub(crate) fn is_held(run_dir: &Path) -> bool {
    if !run_dir.join(LOCK_FILE).exists() {
        return false;
    }
    let Ok((file, _)) = open(run_dir) else { return false };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}
