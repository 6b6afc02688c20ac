//! Runs of another kind than audits (`agar survey`, `agar introspect`):
//! an ordinary `run.json` that also names its `kind` and keeps the kind's
//! spec under a key of the same name, beside the kind's own files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_core::{RoleName, RunRecord, RunSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::io_err;
use crate::{Store, StoreError};

/// What a run of another kind sets in its ordinary run record.
#[derive(Debug, Clone)]
pub struct KindRun<'a> {
    pub run_id: &'a str,
    /// The model of each role the run uses.
    pub models: BTreeMap<RoleName, String>,
    /// `settings.max_turns`: the turns each sample holds (0 when it has none).
    pub max_turns: u32,
    pub concurrency: u32,
    /// Whether a judge scores the run's samples.
    pub judge: bool,
}

/// Creates a run of kind `kind`: `run.json` is an ordinary [`RunRecord`]
/// (so `agar runs` and the index read it) plus `"kind": kind` and the kind's
/// spec under `key`. The run is marked a demonstration when its target is a
/// small local model, whose results show the method and are no evidence.
/// Returns the run's directory; the kind writes its own files there.
pub fn create_kind_run(
    store: &Store,
    run: KindRun<'_>,
    kind: &str,
    key: &str,
    spec: &impl Serialize,
) -> Result<PathBuf, StoreError> {
    let demonstration =
        run.models.get(&RoleName::Target).is_some_and(|m| agar_core::is_demonstration_model(m));
    let record = RunRecord {
        schema_version: agar_core::SCHEMA_VERSION,
        run_id: run.run_id.to_string(),
        created_at: chrono::Utc::now(),
        agar_version: env!("CARGO_PKG_VERSION").to_string(),
        models: run.models,
        settings: RunSettings {
            max_turns: run.max_turns,
            concurrency: run.concurrency,
            repeats: 1,
            judge: run.judge,
            dimensions: Vec::new(),
            auditor_guidance: Default::default(),
            max_unverified_share: None,
            sampling: BTreeMap::new(),
        },
        scenarios: Vec::new(),
        prompt_hashes: BTreeMap::new(),
        demonstration,
    };
    let dir = store.create_run(&record)?;
    let path = dir.join("run.json");
    let json = |source| StoreError::Json { path: path.clone(), source };
    let mut value = serde_json::to_value(&record).map_err(json)?;
    value["kind"] = kind.into();
    value[key] = serde_json::to_value(spec).map_err(json)?;
    crate::store::write_json(&path, &value)?;
    Ok(dir)
}

/// The run record and the `kind` spec of `run_id` in the store at
/// `store_dir`, or `None` when the run is missing, unreadable or of another kind.
pub fn read_kind<T: DeserializeOwned>(
    store_dir: &Path,
    run_id: &str,
    kind: &str,
) -> Option<(RunRecord, T)> {
    crate::check_id(run_id).ok()?;
    let text = std::fs::read_to_string(store_dir.join(run_id).join("run.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    if value.get("kind").and_then(|k| k.as_str()) != Some(kind) {
        return None;
    }
    let spec = serde_json::from_value(value.get(kind)?.clone()).ok()?;
    let record = serde_json::from_value(value).ok()?;
    Some((record, spec))
}

/// Every record a kind keeps as `NAME.json` files in `dir` (a survey's items, an
/// introspection run's trials), parsed as `T` and in file-name order; hidden files
/// (temporary ones) and the names in `skip` are left out, and a missing `dir` holds none.
/// `what` names a record in the error for a file that is not one ("an introspection
/// trial"). Each is read as every store file is ([`crate::read::read_regular`]): a
/// link, fifo or device named like a record is an error, never followed or waited on.
pub fn read_kind_records<T: DeserializeOwned>(
    dir: &Path,
    skip: &[&str],
    what: &'static str,
) -> Result<Vec<T>, StoreError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(io_err(dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(".json") && !name.starts_with('.') && !skip.contains(&name.as_str()) {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let bytes = crate::read::read_regular(&path, crate::read::MAX_FILE_BYTES)
                .map_err(io_err(&path))?;
            serde_json::from_slice(&bytes).map_err(|source| StoreError::Record {
                path,
                what,
                source,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_run_is_an_ordinary_run_with_its_kind_and_spec() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let models = BTreeMap::from([(RoleName::Target, "local/smollm2".to_string())]);
        let run = KindRun { run_id: "s1", models, max_turns: 0, concurrency: 4, judge: false };
        let made = create_kind_run(&store, run, "survey", "survey", &serde_json::json!({"n": 3}));
        assert_eq!(made.unwrap(), store.run_dir("s1"));
        let (record, spec) = read_kind::<serde_json::Value>(dir.path(), "s1", "survey").unwrap();
        assert_eq!(spec, serde_json::json!({"n": 3}));
        assert_eq!((record.settings.concurrency, record.settings.judge), (4, false));
        assert!(record.demonstration, "a small local target is a demonstration");
        assert_eq!(store.read_run("s1").unwrap().run_id, "s1");
        let again = KindRun {
            run_id: "s1",
            models: BTreeMap::new(),
            max_turns: 0,
            concurrency: 1,
            judge: false,
        };
        let twice = create_kind_run(&store, again, "survey", "survey", &1);
        assert!(matches!(twice, Err(StoreError::RunExists(_))));
    }

    #[test]
    fn only_a_run_of_the_named_kind_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let record = serde_json::json!({
            "schema_version": agar_core::SCHEMA_VERSION, "run_id": "r",
            "created_at": "2026-01-01T00:00:00Z", "agar_version": "0", "models": {},
            "settings": {"max_turns": 0, "concurrency": 1, "repeats": 1, "judge": false,
                         "dimensions": []},
            "scenarios": [], "prompt_hashes": {},
        });
        let mut typed = record.clone();
        typed["kind"] = "survey".into();
        typed["survey"] = serde_json::json!({"n": 3});
        for (run, value) in [("plain", &record), ("typed", &typed)] {
            std::fs::create_dir_all(dir.path().join(run)).unwrap();
            std::fs::write(dir.path().join(run).join("run.json"), value.to_string()).unwrap();
        }
        let read = read_kind::<serde_json::Value>(dir.path(), "typed", "survey");
        assert_eq!(read.map(|(_, spec)| spec), Some(serde_json::json!({"n": 3})));
        assert!(read_kind::<serde_json::Value>(dir.path(), "typed", "introspect").is_none());
        assert!(read_kind::<serde_json::Value>(dir.path(), "plain", "survey").is_none());
        assert!(read_kind::<serde_json::Value>(dir.path(), "../typed", "survey").is_none());
        assert!(read_kind::<serde_json::Value>(dir.path(), "missing", "survey").is_none());
    }

    #[test]
    fn a_kinds_records_are_read_in_order_and_a_stray_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("items");
        assert!(read_kind_records::<u32>(&missing, &[], "an item").unwrap().is_empty());
        std::fs::create_dir(&missing).unwrap();
        for (name, text) in [
            ("b.json", "2"),
            ("a.json", "1"),
            (".a.json.tmp-1", "x"),
            ("vectors.json", "[]"),
            ("notes.txt", "x"),
        ] {
            std::fs::write(missing.join(name), text).unwrap();
        }
        let read = read_kind_records::<u32>(&missing, &["vectors.json"], "an item").unwrap();
        assert_eq!(read, [1, 2]);
        std::fs::write(missing.join("c.json"), "\"three\"").unwrap();
        let err = read_kind_records::<u32>(&missing, &["vectors.json"], "an item").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("c.json: not an item: invalid type"), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_link_named_like_a_record_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "1").unwrap();
        let fifo = dir.path().join("b.json");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        // Read with `read_to_string`, the fifo would block this test until a writer came.
        let err = read_kind_records::<u32>(dir.path(), &[], "an item").unwrap_err().to_string();
        assert!(err.contains("b.json") && err.contains("a fifo"), "{err}");
        std::fs::remove_file(&fifo).unwrap();
        std::os::unix::fs::symlink(dir.path().join("a.json"), &fifo).unwrap();
        let err = read_kind_records::<u32>(dir.path(), &[], "an item").unwrap_err().to_string();
        assert!(err.contains("b.json") && err.contains("symbolic link"), "{err}");
    }
}
