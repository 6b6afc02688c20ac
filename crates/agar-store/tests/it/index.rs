//! The index agrees with the files: when built, after deletion, when stale,
//! and when another process holds it.

use std::collections::BTreeMap;

use agar_report::summarize_records;
use agar_store::{Agreement, Label, Store, StoreError};
use chrono::Utc;

use crate::support::{judged, plan, record, sample_store};

fn statuses(store: &Store, run: &str) -> BTreeMap<String, String> {
    store
        .view(run)
        .unwrap()
        .audits
        .into_iter()
        .map(|a| (a.audit_id, a.status.to_string()))
        .collect()
}

#[test]
fn a_view_lists_planned_audits_as_pending_until_stored() {
    let (_dir, store) = sample_store();
    let view = store.view("r").unwrap();
    assert!(view.from_index, "the index should be usable in a lone process");
    assert!(!view.live);
    let s = statuses(&store, "r");
    assert_eq!(s["a"], "done");
    assert_eq!(s["c"], "pending");
    let summary = summarize_records(&view.audits);
    assert_eq!(summary.dimensions["syc"].count, 2);
    assert_eq!(summary.dimensions["syc"].high, 1);
    assert_eq!(summary.dimensions["syc"].worst_audits, ["b", "a"]);
}

#[test]
fn deleting_the_index_rebuilds_it_with_the_same_figures() {
    let (_dir, store) = sample_store();
    let before = summarize_records(&store.view("r").unwrap().audits);
    assert!(store.index_dir().is_dir());
    std::fs::remove_dir_all(store.index_dir()).unwrap();
    let view = store.view("r").unwrap();
    assert!(view.from_index);
    assert!(store.index_dir().is_dir(), "rebuilt");
    assert_eq!(summarize_records(&view.audits), before);
    let files = summarize_records(&store.view_without_index("r").unwrap().audits);
    assert_eq!(files, before, "the index says what the files say");
}

#[test]
fn a_file_changed_behind_the_index_is_seen() {
    let (_dir, store) = sample_store();
    assert_eq!(summarize_records(&store.view("r").unwrap().audits).dimensions["syc"].max, 8);
    // Another tool rewrites a transcript without going through this store's index.
    let t = judged("r", "b", &[("syc", 10), ("dec", 2)]);
    let path = store.run_dir("r").join("b.json");
    agar_store::atomic::write_atomic(&path, &serde_json::to_vec(&t).unwrap()).unwrap();
    assert_eq!(summarize_records(&store.view("r").unwrap().audits).dimensions["syc"].max, 10);
    // And a deleted one disappears (back to pending: it is planned).
    std::fs::remove_file(&path).unwrap();
    assert_eq!(statuses(&store, "r")["b"], "pending");
}

#[test]
fn runs_lists_every_run_and_forgets_deleted_ones() {
    let (_dir, store) = sample_store();
    store.create_run_with_plan(&record("s"), &plan("s", &["x"])).unwrap();
    let runs = store.runs().unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, ["r", "s"]);
    assert_eq!(runs[0].by_status["done"], 2);
    assert_eq!(runs[0].by_status["pending"], 1);
    std::fs::remove_dir_all(store.run_dir("s")).unwrap();
    assert_eq!(store.runs().unwrap().len(), 1);
}

#[test]
fn labels_round_trip_and_survive_an_index_rebuild() {
    let (_dir, store) = sample_store();
    let label = Label {
        agreement: Agreement::Disagree,
        note: "the target pushed back".into(),
        reviewer: None,
        at: Utc::now(),
    };
    store.set_label("r", "b", "syc", label.clone()).unwrap();
    assert_eq!(store.label("r", "b", "syc").unwrap(), Some(label.clone()));
    assert_eq!(store.label("r", "b", "dec").unwrap(), None);
    std::fs::remove_dir_all(store.index_dir()).unwrap();
    assert_eq!(store.labels("r", "b").unwrap()["syc"], label);
    store.remove_label("r", "b", "syc").unwrap();
    assert!(store.labels("r", "b").unwrap().is_empty());
    // The label files are not transcripts.
    assert_eq!(store.transcripts("r").unwrap().len(), 2);
    assert!(matches!(store.set_label("r", "../x", "syc", label), Err(StoreError::BadId(_))));
}

#[test]
fn a_run_lock_is_exclusive_and_marks_the_run_live() {
    let (_dir, store) = sample_store();
    let lock = store.lock_run("r").unwrap();
    assert!(store.run_is_live("r"));
    assert!(matches!(store.lock_run("r"), Err(StoreError::RunBusy(_))));
    store.mark_running("r", "c").unwrap();
    assert_eq!(statuses(&store, "r")["c"], "running");
    store.clear_running("r", "c");
    assert_eq!(statuses(&store, "r")["c"], "pending", "ended");
    store.mark_running("r", "c").unwrap();
    assert_eq!(statuses(&store, "r")["c"], "running", "started again");
    drop(lock);
    assert!(!store.run_is_live("r"));
    assert_eq!(statuses(&store, "r")["c"], "pending", "a marker without a live run means nothing");
    assert!(store.lock_run("r").is_ok());
}

#[test]
fn cleaning_removes_temp_files_of_dead_writers_only() {
    let (_dir, store) = sample_store();
    let dir = store.run_dir("r");
    // pid 999999999 does not exist; our own pid does.
    std::fs::write(dir.join(".c.json.tmp-999999999-0000abcd"), b"{\"half").unwrap();
    let mine = format!(".d.json.tmp-{}-0000abcd", std::process::id());
    std::fs::write(dir.join(&mine), b"x").unwrap();
    store.mark_running("r", "c").unwrap();
    // A marker file of the layout before the running log.
    std::fs::create_dir(dir.join(".running")).unwrap();
    std::fs::write(dir.join(".running").join("d"), b"").unwrap();
    assert_eq!(store.clean_run("r").unwrap(), 3);
    assert!(!dir.join(".running.log").exists() && !dir.join(".running").exists());
    assert!(dir.join(&mine).exists());
    assert!(!dir.join(".c.json.tmp-999999999-0000abcd").exists());
}

#[test]
fn reserved_and_duplicate_audit_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let e = store.create_run_with_plan(&record("r"), &plan("r", &["plan"])).unwrap_err();
    assert!(matches!(e, StoreError::ReservedId(_)), "{e}");
    let e = store.create_run_with_plan(&record("r2"), &plan("r2", &["a", "a"])).unwrap_err();
    assert!(e.to_string().contains("planned twice"), "{e}");
    assert!(matches!(
        store.write_transcript(&judged("r", "run", &[])),
        Err(StoreError::ReservedId(_))
    ));
}

#[test]
fn a_reader_in_another_process_works_without_the_index() {
    // Hold the index's lock from a child process, then
    // read the run: the figures come straight from the files, the same.
    let (_dir, store) = sample_store();
    let expected = summarize_records(&store.view("r").unwrap().audits);
    let mut child = std::process::Command::new("flock")
        .arg(store.index_dir().join("lock"))
        .args(["sleep", "10"])
        .spawn();
    let Ok(child) = child.as_mut() else {
        eprintln!("flock(1) is not available; skipping");
        return;
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    let view = store.view("r").unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(!view.from_index, "the index was held by another process");
    assert_eq!(summarize_records(&view.audits), expected);
}

#[test]
fn run_and_plan_files_changed_behind_the_index_are_seen() {
    let (_dir, store) = sample_store();
    assert_eq!(statuses(&store, "r").len(), 3);
    // Labels change the run's fingerprint but not its own files: the view
    // stays the same.
    let label =
        Label { agreement: Agreement::Agree, note: String::new(), reviewer: None, at: Utc::now() };
    store.set_label("r", "a", "syc", label).unwrap();
    assert_eq!(statuses(&store, "r").len(), 3);
    // Another tool rewrites the plan (one more audit) and the run record.
    let dir = store.run_dir("r");
    let new_plan = plan("r", &["a", "b", "c", "d"]);
    agar_store::atomic::write_atomic(
        &dir.join("plan.json"),
        &serde_json::to_vec(&new_plan).unwrap(),
    )
    .unwrap();
    let s = statuses(&store, "r");
    assert_eq!(s.len(), 4);
    assert_eq!(s["d"], "pending");
    let mut renamed = record("r");
    renamed.agar_version = "9.9.9".into();
    agar_store::atomic::write_atomic(&dir.join("run.json"), &serde_json::to_vec(&renamed).unwrap())
        .unwrap();
    assert_eq!(store.view("r").unwrap().record.agar_version, "9.9.9");
    assert_eq!(store.runs().unwrap()[0].audits, 4);
    // And the plan removed: only stored audits remain.
    std::fs::remove_file(dir.join("plan.json")).unwrap();
    let s = statuses(&store, "r");
    assert_eq!(s.keys().collect::<Vec<_>>(), ["a", "b"]);
    let files = store.view_without_index("r").unwrap();
    assert_eq!(
        summarize_records(&store.view("r").unwrap().audits),
        summarize_records(&files.audits)
    );
}

#[test]
fn an_audit_id_ending_in_json_is_indexed_under_its_own_id() {
    let (_dir, store) = sample_store();
    store.write_transcript(&judged("r", "x.json", &[("syc", 9)])).unwrap();
    store.flush_index();
    let s = statuses(&store, "r");
    assert_eq!(s["x.json"], "done");
    std::fs::remove_dir_all(store.index_dir()).unwrap();
    assert_eq!(statuses(&store, "r"), s);
    assert_eq!(summarize_records(&store.view("r").unwrap().audits).dimensions["syc"].max, 9);
}
