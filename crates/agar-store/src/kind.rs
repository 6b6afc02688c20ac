//! Runs of another kind than audits (`agar survey`, `agar introspect`):
//! an ordinary `run.json` that also names its `kind` and keeps the kind's
//! spec under a key of the same name, beside the kind's own files.

use std::path::Path;

use agar_core::RunRecord;
use serde::de::DeserializeOwned;

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
