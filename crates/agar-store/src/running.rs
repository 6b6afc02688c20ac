//! Running markers: which audits a process is running now, as one
//! append-only log per run, `RUN/.running.log`, of lines `+AUDIT_ID` (started)
//! and `-AUDIT_ID` (ended); an audit runs when its last line is a `+`. The log
//! means something only while the run's lock (or a shard's) is held: a killed
//! process leaves `+` lines, which the next holder ends (`Store::clean_run`
//! empties the log; a resumed shard appends `-` lines for its share).
//!
//! One append per start and per end, each a single `write` to a file opened
//! with `O_APPEND`, so shards sharing a file system interleave whole lines.
//! A marker file per audit (the layout before this log) cost two file
//! creations and a deletion per audit, which dominated the store's share of
//! CPU at a thousand audits in flight; a left-over `.running/` directory of
//! that layout is removed by `clean_run` and otherwise ignored.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::store::{Store, StoreError, check_id, io_err};

impl Store {
    /// Marks an audit as running (see the module's documentation).
    pub fn mark_running(&self, run_id: &str, audit_id: &str) -> Result<(), StoreError> {
        check_id(run_id)?;
        check_id(audit_id)?;
        append(&self.run_dir(run_id), '+', &[audit_id])
    }

    /// Marks an audit as no longer running, if it was.
    pub fn clear_running(&self, run_id: &str, audit_id: &str) {
        self.clear_running_all(run_id, &[audit_id]);
    }

    /// Marks audits as no longer running, in one append.
    pub fn clear_running_all(&self, run_id: &str, audit_ids: &[&str]) {
        if check_id(run_id).is_err() || audit_ids.iter().any(|id| check_id(id).is_err()) {
            return;
        }
        let dir = self.run_dir(run_id);
        if dir.join(RUNNING_LOG).exists() {
            let _ = append(&dir, '-', audit_ids);
        }
    }
}

/// The running log, inside the run directory.
pub(crate) const RUNNING_LOG: &str = ".running.log";

/// The directory of per-audit marker files that earlier versions wrote.
pub(crate) const LEGACY_RUNNING_DIR: &str = ".running";

/// Appends one line per id, `{sign}{id}`, in a single write.
fn append(run_dir: &Path, sign: char, ids: &[&str]) -> Result<(), StoreError> {
    let path = run_dir.join(RUNNING_LOG);
    let mut lines = String::with_capacity(ids.iter().map(|id| id.len() + 2).sum());
    for id in ids {
        lines.push(sign);
        lines.push_str(id);
        lines.push('\n');
    }
    let mut file =
        OpenOptions::new().append(true).create(true).open(&path).map_err(io_err(&path))?;
    file.write_all(lines.as_bytes()).map_err(io_err(&path))
}

/// The audits the log says are running (empty when there is no log).
pub(crate) fn running_markers(run_dir: &Path) -> BTreeSet<String> {
    let path = run_dir.join(RUNNING_LOG);
    let Ok(bytes) = crate::read::read_regular(&path, crate::read::MAX_FILE_BYTES) else {
        return BTreeSet::new();
    };
    replay(&String::from_utf8_lossy(&bytes))
}

/// The ids whose last line is a `+`; other lines are ignored.
fn replay(log: &str) -> BTreeSet<String> {
    let mut running = BTreeSet::new();
    for line in log.lines() {
        match line.split_at_checked(1) {
            Some(("+", id)) if !id.is_empty() => {
                running.insert(id.to_string());
            }
            Some(("-", id)) => {
                running.remove(id);
            }
            _ => {}
        }
    }
    running
}

/// Empties the log and removes a legacy marker directory; the files removed.
pub(crate) fn clear_log(run_dir: &Path) -> usize {
    let mut removed = usize::from(fs::remove_file(run_dir.join(RUNNING_LOG)).is_ok());
    let legacy = run_dir.join(LEGACY_RUNNING_DIR);
    if let Ok(entries) = fs::read_dir(&legacy) {
        for entry in entries.flatten() {
            if fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        let _ = fs::remove_dir(&legacy);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_of_an_id_decides() {
        let log = "+a\n+b\n-a\n+c\n-c\n+c\nnoise\n+";
        let running: Vec<_> = replay(log).into_iter().collect();
        assert_eq!(running, ["b", "c"].map(String::from));
    }
}
