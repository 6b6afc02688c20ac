//! Shards of a run: `RUN/shard-I-of-N.json` records which audits shard I of
//! N runs ([`ShardRecord`]), and `RUN/.lock-shard-I-of-N` is that shard's
//! lock ([`lock_shard`]), so shards of one run can share a store and two
//! processes never run the same shard at once.
//!
//! A shard's lock and the whole run's lock (`RUN/.lock`, taken by an
//! unsharded `agar audit` or `agar resume`) exclude each other: whoever
//! takes one checks that none of the others is held, and gives its own back
//! when one is.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::lock::{self, RunLock};
use crate::store::{Store, StoreError, read_json, write_json};

/// `RUN/shard-I-of-N.json`: the audits shard `index` (1-based) of `count` runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: u32,
    pub count: u32,
    /// Audit ids, in the plan's order.
    pub audits: Vec<String>,
}

/// The record's file name: `shard-I-of-N.json`.
pub fn record_name(index: u32, count: u32) -> String {
    format!("shard-{index}-of-{count}.json")
}

/// `(I, N)` when `name` is a shard record's file name (never a transcript's).
pub fn parse_record_name(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("shard-")?.strip_suffix(".json")?;
    let (i, n) = rest.split_once("-of-")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(i) || !digits(n) {
        return None;
    }
    Some((i.parse().ok()?, n.parse().ok()?))
}

/// The lock file of shard `index` of `count`.
fn lock_name(index: u32, count: u32) -> String {
    format!("{}-shard-{index}-of-{count}", lock::LOCK_FILE)
}

/// Whether `name` is a shard's lock file.
pub(crate) fn is_lock_name(name: &str) -> bool {
    name.strip_prefix(lock::LOCK_FILE).is_some_and(|rest| rest.starts_with("-shard-"))
}

/// Writes the shard's record (replacing one written before); see
/// [`Store::write_shard_record`].
pub fn write_record(store: &Store, run_id: &str, record: &ShardRecord) -> Result<(), StoreError> {
    store.write_shard_record(run_id, record)
}

/// Every shard record of the run; see [`Store::shard_records`].
pub fn records(store: &Store, run_id: &str) -> Result<Vec<ShardRecord>, StoreError> {
    store.shard_records(run_id)
}

impl Store {
    /// Writes (or replaces) a shard record of run `run_id`, atomically, and
    /// puts it to the mirror.
    pub fn write_shard_record(&self, run_id: &str, record: &ShardRecord) -> Result<(), StoreError> {
        self.read_run(run_id)?;
        let path = self.run_dir(run_id).join(record_name(record.index, record.count));
        let _lock = crate::lock::lock_file(&path)?;
        write_json(&path, record)?;
        self.mirror_file(&path, crate::mirror::PutKind::Overwrite)?;
        Ok(())
    }

    /// Every shard record of a run, by (count, index); a file that does not
    /// parse, or whose name disagrees with its content, is left out with a warning.
    pub fn shard_records(&self, run_id: &str) -> Result<Vec<ShardRecord>, StoreError> {
        crate::check_id(run_id)?;
        let dir = self.run_dir(run_id);
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(out) };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((index, count)) = parse_record_name(&name) else { continue };
            match read_json::<ShardRecord>(&entry.path()) {
                Ok(r) if r.index == index && r.count == count => out.push(r),
                Ok(_) => tracing::warn!(
                    "{}: says another shard than its name; left out",
                    entry.path().display()
                ),
                Err(e) => tracing::warn!("{e}; left out"),
            }
        }
        out.sort_by_key(|r| (r.count, r.index));
        Ok(out)
    }
}

/// Takes the lock of shard `index` of `count` of the run; fails with
/// [`StoreError::RunBusy`] while another process runs that shard or the
/// whole run.
pub fn lock_shard(
    store: &Store,
    run_id: &str,
    index: u32,
    count: u32,
) -> Result<RunLock, StoreError> {
    crate::check_id(run_id)?;
    let dir = store.run_dir(run_id);
    if !dir.join("run.json").exists() {
        return Err(StoreError::NoSuchRun(run_id.to_string()));
    }
    let held = lock::acquire_named(run_id, &dir, &lock_name(index, count))?;
    if lock::is_named_held(&dir, lock::LOCK_FILE) {
        return Err(StoreError::RunBusy(run_id.to_string()));
    }
    Ok(held)
}

/// Whether some process holds a shard lock of the run in `run_dir`.
pub(crate) fn any_shard_held(run_dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(run_dir) else { return false };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_lock_name(n))
        .any(|n| lock::is_named_held(run_dir, &n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_are_recognised_exactly() {
        assert_eq!(record_name(2, 3), "shard-2-of-3.json");
        assert_eq!(parse_record_name("shard-2-of-3.json"), Some((2, 3)));
        assert_eq!(parse_record_name("shard-x-of-3.json"), None);
        assert_eq!(parse_record_name("shard-2-of-3.1.json"), None);
        assert_eq!(parse_record_name("shard_poem.json"), None);
        assert!(
            is_lock_name(".lock-shard-1-of-2") && !is_lock_name(".lock") && !is_lock_name(".locks")
        );
    }

    #[test]
    fn a_shard_lock_excludes_the_same_shard_and_the_whole_run() -> Result<(), StoreError> {
        let dir = tempfile::tempdir()
            .map_err(|source| StoreError::Io { path: std::env::temp_dir(), source })?;
        let store = Store::open(dir.path())?;
        std::fs::create_dir(store.run_dir("r")).ok();
        std::fs::write(store.run_dir("r").join("run.json"), b"{}").ok();
        let one = lock_shard(&store, "r", 1, 2)?;
        assert!(matches!(lock_shard(&store, "r", 1, 2), Err(StoreError::RunBusy(_))));
        let two = lock_shard(&store, "r", 2, 2)?;
        assert!(matches!(store.lock_run("r"), Err(StoreError::RunBusy(_))));
        assert!(store.run_is_live("r"));
        drop((one, two));
        assert!(!store.run_is_live("r"));
        let whole = store.lock_run("r")?;
        assert!(matches!(lock_shard(&store, "r", 1, 2), Err(StoreError::RunBusy(_))));
        drop(whole);
        Ok(())
    }
}
