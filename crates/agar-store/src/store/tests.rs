//! Unit tests of the store: atomic writes, listings, plans and the index they keep.

use agar_core::AuditStatus;

use super::*;

/// A store whose writes open the index only `flush_interval` after this
/// process's last session, with run `r` created (run.json only).
fn store_with_run(root: &Path, flush_interval: Duration) -> Store {
    let store = Store { shared: Shared::new(root.to_path_buf(), flush_interval, None) };
    fs::create_dir_all(root).unwrap();
    let record: RunRecord = serde_json::from_value(serde_json::json!({
        "schema_version": 1,
        "run_id": "r",
        "created_at": "2026-01-01T00:00:00Z",
        "agar_version": "0",
        "models": {},
        "settings": {"max_turns": 1, "concurrency": 1, "repeats": 1, "judge": false, "dimensions": []},
        "scenarios": [],
        "prompt_hashes": {}
    }))
    .unwrap();
    store.create_run(&record).unwrap();
    store
}

fn transcript(audit: &str, status: agar_core::AuditStatus) -> Transcript {
    agar_testkit::TranscriptBuilder::new("r", audit).status(status).build()
}

fn pending(store: &Store) -> usize {
    store.shared.pending.lock().unwrap().len()
}

/// What the index holds for run `r`, read without refreshing it.
fn indexed(root: &Path) -> BTreeMap<String, AuditRecord> {
    with_index(root, |ix| ix.records("r")).unwrap().unwrap()
}

const AN_HOUR: Duration = Duration::from_secs(3600);

#[test]
fn a_write_loop_opens_the_index_a_few_times_not_once_per_transcript() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_run(dir.path(), index::FLUSH_INTERVAL);
    let start = std::time::Instant::now();
    for i in 0..200 {
        store.write_transcript(&transcript(&format!("a{i:03}"), AuditStatus::Done)).unwrap();
    }
    store.flush_index();
    let elapsed = start.elapsed();
    let sessions = store.shared.sessions.load(Ordering::Relaxed);
    eprintln!("200 transcript writes in {elapsed:?}: {sessions} index sessions");
    // At most one when the first write finds no recent session, one per
    // interval after it, and the final flush.
    let bound = 2 + (elapsed.as_secs_f64() / index::FLUSH_INTERVAL.as_secs_f64()) as usize;
    assert!(sessions >= 1 && sessions <= bound, "{sessions} sessions, bound {bound}");
    assert_eq!(pending(&store), 0);
    assert_eq!(indexed(dir.path()).len(), 200, "every record reached the index");
}

#[test]
fn a_deferring_store_writes_no_index_until_flushed_and_lists_transcripts_cheaply() {
    let dir = tempfile::tempdir().unwrap();
    // Due at every write, were writes not deferred.
    let store = store_with_run(dir.path(), Duration::ZERO);
    assert!(!store.has_transcripts("r").unwrap(), "run.json alone is not a transcript");
    assert!(!store.has_transcripts("no-such-run").unwrap());
    store.defer_index_writes();
    let clone = store.clone();
    for i in 0..20 {
        clone.write_transcript(&transcript(&format!("a{i:02}"), AuditStatus::Done)).unwrap();
    }
    assert!(store.has_transcripts("r").unwrap());
    assert_eq!(store.shared.sessions.load(Ordering::Relaxed), 0, "no write opened the index");
    assert_eq!(pending(&store), 20);
    assert!(!dir.path().join(index::INDEX_DIR).exists(), "the index was never opened");
    store.flush_index();
    assert_eq!(store.shared.sessions.load(Ordering::Relaxed), 1, "one session for the batch");
    assert_eq!(pending(&store), 0);
    assert_eq!(indexed(dir.path()).len(), 20);
}

#[test]
fn readers_and_the_last_handle_write_the_pending_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_run(dir.path(), AN_HOUR);
    store.view("r").unwrap(); // a session just ended: writes are not due for an hour
    let clone = store.clone();
    store.write_transcript(&transcript("a", AuditStatus::Done)).unwrap();
    clone.write_transcript(&transcript("b", AuditStatus::Done)).unwrap();
    assert_eq!(pending(&store), 2, "clones share one batch");
    assert!(indexed(dir.path()).is_empty());
    let view = store.view("r").unwrap();
    assert!(view.from_index);
    let ids: Vec<&str> = view.audits.iter().map(|a| a.audit_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(pending(&store), 0, "the reader's session wrote the batch");
    assert_eq!(indexed(dir.path()).len(), 2);

    clone.write_transcript(&transcript("c", AuditStatus::Done)).unwrap();
    drop(clone);
    assert_eq!(pending(&store), 1, "a clone's drop leaves the batch to the others");
    let sessions = store.shared.sessions.load(Ordering::Relaxed);
    store.flush_index();
    store.flush_index();
    assert_eq!(
        store.shared.sessions.load(Ordering::Relaxed),
        sessions + 1,
        "a flush with nothing pending opens nothing"
    );
    store.write_transcript(&transcript("d", AuditStatus::Done)).unwrap();
    drop(store);
    assert_eq!(indexed(dir.path()).len(), 4, "the last handle's drop wrote the batch");
}

#[test]
fn a_crash_loses_only_pending_index_records_and_a_reader_rebuilds_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_run(dir.path(), AN_HOUR);
    assert!(store.view("r").unwrap().audits.is_empty());
    for i in 0..5 {
        store.write_transcript(&transcript(&format!("a{i}"), AuditStatus::Done)).unwrap();
    }
    assert_eq!(pending(&store), 5);
    // The process dies: no flush, no drop.
    std::mem::forget(store);
    assert!(indexed(dir.path()).is_empty(), "the batch never reached the index");

    let store = Store::open(dir.path()).unwrap();
    let view = store.view("r").unwrap();
    assert!(view.from_index);
    assert_eq!(view.audits.len(), 5, "every transcript is there");
    assert!(view.audits.iter().all(|a| a.status == agar_core::AuditState::Done));
    assert_eq!(indexed(dir.path()).len(), 5, "the reader rebuilt the index");
    let rows = store.runs().unwrap();
    assert_eq!(rows[0].by_status["done"], 5);
}

#[test]
fn dropping_a_store_whose_directory_is_gone_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let store = store_with_run(&root, AN_HOUR);
    store.view("r").unwrap();
    store.write_transcript(&transcript("a", AuditStatus::Done)).unwrap();
    assert_eq!(pending(&store), 1);
    fs::remove_dir_all(&root).unwrap();
    drop(store);
    assert!(!root.exists(), "the drop's flush did not recreate the store");
}

#[test]
fn a_pending_record_never_overrides_a_newer_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_run(dir.path(), AN_HOUR);
    store.view("r").unwrap();
    store.write_transcript(&transcript("a", AuditStatus::Done)).unwrap();
    assert_eq!(pending(&store), 1);
    // Another writer replaces the file, and another store reads it.
    let failed = AuditStatus::Failed { cause: "later".into() };
    Store::open(dir.path()).unwrap().write_transcript(&transcript("a", failed)).unwrap();
    let other = Store::open(dir.path()).unwrap();
    assert_eq!(other.view("r").unwrap().audits[0].status, agar_core::AuditState::Failed);
    // The first store's stale record is not written over it.
    store.flush_index();
    assert_eq!(pending(&store), 0);
    assert_eq!(indexed(dir.path())["a"].status, agar_core::AuditState::Failed);
    assert_eq!(store.view("r").unwrap().audits[0].status, agar_core::AuditState::Failed);
}

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
    let rec = agar_testkit::RunBuilder::new("r1").created(chrono::Utc::now()).record().clone();
    store.create_run(&rec).unwrap();
    assert!(matches!(store.create_run(&rec), Err(StoreError::RunExists(_))));
    assert_eq!(store.read_run("r1").unwrap(), rec);
    assert!(store.transcripts("r1").unwrap().is_empty());
    assert!(matches!(store.read_run("r2"), Err(StoreError::NoSuchRun(_))));
}

#[test]
fn an_encoded_transcript_is_written_as_write_transcript_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_run(dir.path(), AN_HOUR);
    let t = transcript("a", AuditStatus::Done);
    let path = store.write_transcript(&t).unwrap();
    let plain = fs::read(&path).unwrap();
    let encoded = EncodedTranscript::new(&t).unwrap();
    assert_eq!(store.write_encoded(encoded).unwrap(), path);
    assert_eq!(fs::read(&path).unwrap(), plain, "the same bytes");
    assert!(plain.ends_with(b"}\n") && plain.contains(&b'\n'), "pretty, with a final newline");
    let back: Transcript = serde_json::from_slice(&plain).unwrap();
    assert_eq!(back.audit_id, "a");
    assert_eq!(pending(&store), 1, "one record, for one audit");
    let mut bad = t.clone();
    bad.audit_id = "../escape".into();
    assert!(matches!(EncodedTranscript::new(&bad), Err(StoreError::BadId(_))));
}
