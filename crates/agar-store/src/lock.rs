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

/// Opens (creating) the lock file `name` in `run_dir` (or the index's directory), for an OS lock.
pub(crate) fn open(run_dir: &Path, name: &str) -> Result<(File, PathBuf), StoreError> {
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
/// lock on one of [`LOCK_STRIPES`] lock files, `.locks/XX.lock` in the
/// file's directory, chosen by a stable hash of the file's name (the file
/// itself is replaced by rename on every write, so it cannot carry the
/// lock). Writers in other processes and threads wait for it, so two
/// writers both land; two files that share a stripe only take turns. The
/// lock files stay (removing one would race a writer waiting on it), at
/// most [`LOCK_STRIPES`] per directory, so a run of thousands of audits
/// creates no lock file per audit; the kernel releases the locks of a
/// killed process.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Lock files per directory (see [`FileLock`]).
pub const LOCK_STRIPES: u32 = 256;

/// The lock file name of the file named `name`: FNV-1a of the name, modulo
/// [`LOCK_STRIPES`], as two hex digits. The same on every machine and version.
pub(crate) fn stripe_name(name: &str) -> String {
    let hash =
        name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{:02x}.lock", hash % LOCK_STRIPES)
}

/// Waits for and takes the write lock of `path` (see [`FileLock`]).
pub fn lock_file(path: &Path) -> Result<FileLock, StoreError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(".")).join(LOCKS_DIR);
    let lock_path = dir.join(stripe_name(&name));
    let io = |source| StoreError::Io { path: lock_path.clone(), source };
    let open = || OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path);
    let file = match open() {
        Ok(file) => file,
        // Only inside a directory that exists: a lock never creates a run.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match std::fs::create_dir(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(e)),
                _ => {}
            }
            open().map_err(io)?
        }
        Err(e) => return Err(io(e)),
    };
    file.lock().map_err(io)?;
    Ok(FileLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripes_are_stable_and_spread() {
        // Fixed values: another version or machine must pick the same file.
        assert_eq!(stripe_name("a.json"), stripe_name("a.json"));
        assert_eq!(stripe_name(""), "c5.lock");
        let used: std::collections::HashSet<String> =
            (0..2000).map(|i| stripe_name(&format!("shape-1.{i}.json"))).collect();
        assert!(used.len() > 200, "{} stripes used by 2,000 names", used.len());
        assert!(used.len() <= LOCK_STRIPES as usize);
    }

    #[test]
    fn a_second_writer_of_a_file_waits_and_files_of_other_stripes_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let other = (0..)
            .map(|i| dir.path().join(format!("b{i}.json")))
            .find(|p| {
                stripe_name(&p.file_name().unwrap().to_string_lossy()) != stripe_name("a.json")
            })
            .unwrap();
        let held = lock_file(&a).unwrap();
        // Another stripe: taken at once, even while `a` is held.
        drop(lock_file(&other).unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let _second = lock_file(&a).unwrap();
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(std::time::Duration::from_millis(200)).is_err(), "did not wait");
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(10)).expect("taken once released");
        waiter.join().unwrap();
        let locks = std::fs::read_dir(dir.path().join(LOCKS_DIR)).unwrap().count();
        assert_eq!(locks, 2, "one lock file per stripe used");
    }
}
