//! [`Store`]: create runs, write and read transcripts.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use agar_core::{RunRecord, Transcript};

use crate::atomic::write_atomic;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not valid JSON: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("run {0:?} already exists in the store")]
    RunExists(String),
    #[error("no run {0:?} in the store")]
    NoSuchRun(String),
    #[error("{0:?} is not a valid run or audit id (letters, digits, '-', '_' and '.' only)")]
    BadId(String),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
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

/// A directory of runs.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn run_dir(&self, run_id: &str) -> PathBuf {
        self.root.join(run_id)
    }

    /// Creates the run's directory and writes its `run.json`. Fails if the run exists.
    pub fn create_run(&self, record: &RunRecord) -> Result<PathBuf, StoreError> {
        check_id(&record.run_id)?;
        let dir = self.run_dir(&record.run_id);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(StoreError::RunExists(record.run_id.clone()));
            }
            Err(e) => return Err(io_err(&dir)(e)),
        }
        let path = dir.join("run.json");
        write_json(&path, record)?;
        Ok(dir)
    }

    /// Reads a run's `run.json`.
    pub fn read_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        check_id(run_id)?;
        let path = self.run_dir(run_id).join("run.json");
        if !path.exists() {
            return Err(StoreError::NoSuchRun(run_id.to_string()));
        }
        read_json(&path)
    }

    /// Writes (or replaces) a finished audit's transcript, durably.
    pub fn write_transcript(&self, t: &Transcript) -> Result<PathBuf, StoreError> {
        check_id(&t.run_id)?;
        check_id(&t.audit_id)?;
        let path = self.run_dir(&t.run_id).join(format!("{}.json", t.audit_id));
        write_json(&path, t)?;
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
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_name()
                        .is_some_and(|n| n != "run.json" && !n.to_string_lossy().starts_with('.'))
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| read_json(p)).collect()
    }
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|source| StoreError::Json { path: path.to_path_buf(), source })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes).map_err(io_err(path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, StoreError> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes)
        .map_err(|source| StoreError::Json { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn ids_cannot_escape_the_store() {
        for bad in ["", "..", "../x", "a/b", ".hidden", "a\\b", "a b"] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        for good in ["run-1", "2026-11-27T22-54-29Z", "scenario.r0"] {
            assert!(check_id(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn a_run_cannot_be_created_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let rec = RunRecord {
            schema_version: 1,
            run_id: "r1".into(),
            created_at: chrono::Utc::now(),
            agar_version: "0".into(),
            models: Default::default(),
            settings: agar_core::RunSettings {
                max_turns: 1,
                concurrency: 1,
                repeats: 1,
                judge: true,
                dimensions: vec![],
            },
            scenarios: vec![],
            prompt_hashes: Default::default(),
        };
        store.create_run(&rec).unwrap();
        assert!(matches!(store.create_run(&rec), Err(StoreError::RunExists(_))));
        assert_eq!(store.read_run("r1").unwrap(), rec);
        assert!(store.transcripts("r1").unwrap().is_empty());
        assert!(matches!(store.read_run("r2"), Err(StoreError::NoSuchRun(_))));
    }
}
