//! The mirror over an in-memory object store: what is put, create-only
//! semantics, and a run brought down on another "machine".

use std::path::Path;
use std::sync::Arc;

use agar_core::Transcript;
use agar_store::Store;
use agar_store::mirror::ObjectMirror;
use object_store::memory::InMemory;

use crate::support::{judged, plan, record};

fn mirrored(bucket: &Arc<InMemory>, dir: &Path) -> Store {
    let mirror = ObjectMirror::new(bucket.clone(), "team/nightly", "mem://team/nightly").unwrap();
    Store::open_mirrored(dir, Arc::new(mirror)).unwrap()
}

#[test]
fn finished_transcripts_are_put_create_only_and_verdict_updates_overwrite() {
    let bucket = Arc::new(InMemory::new());
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = mirrored(&bucket, one.path());
    a.create_run_with_plan(&record("r"), &plan("r", &["x", "y"])).unwrap();
    a.write_transcript(&judged("r", "x", &[("d", 3)])).unwrap();
    let m = a.mirror().unwrap().clone();
    assert_eq!(m.list("").unwrap(), ["r/plan.json", "r/run.json", "r/x.json"]);

    // A second writer of the same run on another machine: same plan, accepted.
    let b = mirrored(&bucket, two.path());
    b.create_run_with_plan(&record("r"), &plan("r", &["x", "y"])).unwrap();
    let mut other = judged("r", "x", &[("d", 9)]);
    other.summary_mark("the second writer's copy");
    b.write_transcript(&other).unwrap();
    let in_bucket: Transcript = serde_json::from_slice(&m.get("r/x.json").unwrap()).unwrap();
    assert_eq!(in_bucket.verdicts[0].score("d"), Some(3), "create-only: the first copy stays");

    // A verdict update replaces the bucket's copy.
    a.update_transcript("r", "x", |t| {
        t.verdicts.push(judged("r", "x", &[("d", 5)]).verdicts[0].clone())
    })
    .unwrap();
    let in_bucket: Transcript = serde_json::from_slice(&m.get("r/x.json").unwrap()).unwrap();
    assert_eq!(in_bucket.verdicts.len(), 2);
}

#[test]
fn a_different_plan_under_the_same_run_is_refused() {
    let bucket = Arc::new(InMemory::new());
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    mirrored(&bucket, one.path()).create_run_with_plan(&record("r"), &plan("r", &["x"])).unwrap();
    let e = mirrored(&bucket, two.path())
        .create_run_with_plan(&record("r"), &plan("r", &["x", "z"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("another plan") && e.contains("audits.z"), "{e}");
}

#[test]
fn unfinished_transcripts_stay_local_and_a_missing_run_is_pulled() {
    let bucket = Arc::new(InMemory::new());
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = mirrored(&bucket, one.path());
    a.create_run_with_plan(&record("r"), &plan("r", &["x", "y"])).unwrap();
    a.write_transcript(&judged("r", "x", &[("d", 3)])).unwrap();
    let mut running = judged("r", "y", &[("d", 3)]);
    running.status = agar_core::AuditStatus::Running;
    a.write_transcript(&running).unwrap();
    assert!(!a.mirror().unwrap().list("r/").unwrap().contains(&"r/y.json".to_string()));

    // Another machine resumes: reading the run brings it down.
    let b = mirrored(&bucket, two.path());
    assert_eq!(b.read_plan("r").unwrap().audits.len(), 2);
    assert_eq!(b.read_transcript("r", "x").unwrap().verdicts[0].score("d"), Some(3));
    assert!(b.read_transcript("r", "y").is_err());
}

trait Mark {
    fn summary_mark(&mut self, text: &str);
}

impl Mark for Transcript {
    fn summary_mark(&mut self, text: &str) {
        for v in &mut self.verdicts {
            v.summary = text.to_string();
        }
    }
}
