//! Runs of another kind than audits (`agar survey`, `agar introspect`):
//! an ordinary `run.json` that also names its `kind` and keeps the kind's
//! spec under a key of the same name, beside the kind's own files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agar_core::{RoleName, RunRecord, RunSettings};
use serde::Serialize;
use serde::de::DeserializeOwned;

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
}
