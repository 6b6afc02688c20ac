//! `merge`: plans checked, the better copy of each audit kept, labels merged,
//! missing audits reported per shard, and a second merge changing nothing.

use std::collections::BTreeMap;
use std::path::Path;

use agar_core::{AuditStatus, Transcript};
use agar_store::labels::{Agreement, Label};
use agar_store::{MergeError, MissingAudits, ShardRecord, Store, merge};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::support::{judged, plan, record};

/// A store under `root/name` with run `r` planning `planned`, holding `audits` finished.
fn shard_store(root: &Path, name: &str, planned: &[&str], audits: &[&str]) -> Store {
    let store = Store::open(root.join(name)).unwrap();
    store.create_run_with_plan(&record("r"), &plan("r", planned)).unwrap();
    for a in audits {
        store.write_transcript(&judged("r", a, &[("d", 4)])).unwrap();
    }
    store
}

fn judged_at(audit: &str, score: u8, at: DateTime<Utc>) -> Transcript {
    let mut t = judged("r", audit, &[("d", score)]);
    t.verdicts[0].created_at = at;
    t
}

/// Every file a reader sees (not the index, locks or temporaries), with its sha256.
fn snapshot(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, hex::encode(Sha256::digest(std::fs::read(e.path()).unwrap())));
            }
        }
    }
    out
}

#[test]
fn a_plan_mismatch_is_refused_naming_what_differs_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard_store(dir.path(), "a", &["x", "y"], &["x"]);
    let b = Store::open(dir.path().join("b")).unwrap();
    let mut other = plan("r", &["x", "y"]);
    other.settings.target = "openai/other".into();
    other.audits[1].scenario_sha256 = "changed".into();
    b.create_run_with_plan(&record("r"), &other).unwrap();
    let into = Store::open(dir.path().join("into")).unwrap();

    let e = merge(&[a, b], &into).unwrap_err();
    assert!(matches!(e, MergeError::PlanMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    for part in
        ["run \"r\"", "settings.target", "openai/other", "audits.y.scenario_sha256", "/a", "/b"]
    {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert!(snapshot(into.root()).is_empty(), "nothing merged after a refusal");
}

#[test]
fn scenario_paths_and_concurrency_may_differ_between_shards() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard_store(dir.path(), "a", &["x"], &["x"]);
    let b = Store::open(dir.path().join("b")).unwrap();
    let mut other = plan("r", &["x"]);
    other.settings.concurrency = 40;
    other.audits[0].scenario_path = "/elsewhere/x.md".into();
    b.create_run_with_plan(&record("r"), &other).unwrap();
    let into = Store::open(dir.path().join("into")).unwrap();
    assert!(merge(&[a, b], &into).is_ok());
}

#[test]
fn a_finished_audit_beats_an_unfinished_one_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let done = shard_store(dir.path(), "done", &["x"], &["x"]);
    let unfinished = shard_store(dir.path(), "unfinished", &["x"], &[]);
    let mut t = judged("r", "x", &[("d", 9)]);
    t.status = AuditStatus::Running;
    t.verdicts.clear();
    unfinished.write_transcript(&t).unwrap();
    for (name, order) in [("one", [&done, &unfinished]), ("two", [&unfinished, &done])] {
        let into = Store::open(dir.path().join(name)).unwrap();
        let report = merge(&[order[0].clone(), order[1].clone()], &into).unwrap();
        let got = into.read_transcript("r", "x").unwrap();
        assert_eq!(got.status, AuditStatus::Done, "{name}");
        assert!(report.runs[0].complete(), "{name}: {report:?}");
    }
}

#[test]
fn of_two_finished_audits_the_newer_verdict_wins_in_either_order() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc::now();
    let old = shard_store(dir.path(), "old", &["x"], &[]);
    old.write_transcript(&judged_at("x", 2, t0)).unwrap();
    let new = shard_store(dir.path(), "new", &["x"], &[]);
    new.write_transcript(&judged_at("x", 7, t0 + Duration::seconds(5))).unwrap();
    for (name, order) in [("one", [&old, &new]), ("two", [&new, &old])] {
        let into = Store::open(dir.path().join(name)).unwrap();
        merge(&[order[0].clone(), order[1].clone()], &into).unwrap();
        assert_eq!(
            into.read_transcript("r", "x").unwrap().verdicts[0].score("d"),
            Some(7),
            "{name}"
        );
    }
}

#[test]
fn missing_audits_are_reported_per_shard_and_merging_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let planned = ["a", "b", "c", "d", "e"];
    let one = shard_store(dir.path(), "one", &planned, &["a", "b"]);
    let two = shard_store(dir.path(), "two", &planned, &["c"]);
    let shard = |index, audits: &[&str]| ShardRecord {
        index,
        count: 2,
        audits: audits.iter().map(|a| a.to_string()).collect(),
    };
    one.write_shard_record("r", &shard(1, &["a", "b"])).unwrap();
    two.write_shard_record("r", &shard(2, &["c", "d"])).unwrap();
    let into = Store::open(dir.path().join("into")).unwrap();

    let first = merge(&[one.clone(), two.clone()], &into).unwrap();
    let run = &first.runs[0];
    assert_eq!((run.sources, run.added, run.planned, run.finished), (2, 3, 5, 3));
    assert_eq!(
        run.missing,
        [
            MissingAudits { shard: Some((1, 2)), planned: 2, audits: vec![] },
            MissingAudits { shard: Some((2, 2)), planned: 2, audits: vec!["d".into()] },
            MissingAudits { shard: None, planned: 1, audits: vec!["e".into()] },
        ]
    );
    assert_eq!(into.shard_records("r").unwrap().len(), 2);
    assert_eq!(into.view("r").unwrap().finished().count(), 3, "the index follows the files");

    let before = snapshot(into.root());
    let again = merge(&[one, two], &into).unwrap();
    assert_eq!((again.runs[0].added, again.runs[0].replaced, again.runs[0].kept), (0, 0, 3));
    assert_eq!(snapshot(into.root()), before, "a second merge changes no file");
}

#[test]
fn without_shard_records_missing_audits_are_one_group() {
    let dir = tempfile::tempdir().unwrap();
    let one = shard_store(dir.path(), "one", &["a", "b"], &["a"]);
    let into = Store::open(dir.path().join("into")).unwrap();
    let report = merge(&[one], &into).unwrap();
    assert_eq!(
        report.runs[0].missing,
        [MissingAudits { shard: None, planned: 2, audits: vec!["b".into()] }]
    );
    assert!(!report.runs[0].complete());
}

#[test]
fn labels_merge_per_dimension_the_newer_winning() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc::now();
    let label =
        |agreement, note: &str, at| Label { agreement, note: note.into(), reviewer: None, at };
    let one = shard_store(dir.path(), "one", &["a"], &["a"]);
    one.set_label("r", "a", "d", label(Agreement::Agree, "old", t0)).unwrap();
    one.set_label("r", "a", "e", label(Agreement::Agree, "only here", t0)).unwrap();
    let two = shard_store(dir.path(), "two", &["a"], &["a"]);
    two.set_label("r", "a", "d", label(Agreement::Disagree, "new", t0 + Duration::seconds(1)))
        .unwrap();
    let into = Store::open(dir.path().join("into")).unwrap();
    merge(&[one, two], &into).unwrap();
    let labels = into.labels("r", "a").unwrap();
    assert_eq!(labels["d"].note, "new");
    assert_eq!(labels["e"].note, "only here");
}

#[test]
fn a_transcript_written_during_a_merge_is_not_lost() {
    // The merge writes under each file's lock and only when its copy is
    // better: a newer verdict a judge stores concurrently survives.
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc::now();
    let source = shard_store(dir.path(), "one", &["a"], &[]);
    source.write_transcript(&judged_at("a", 2, t0)).unwrap();
    let into = shard_store(dir.path(), "into", &["a"], &[]);
    into.write_transcript(&judged_at("a", 8, t0 + Duration::seconds(1))).unwrap();
    let report = merge(&[source], &into).unwrap();
    assert_eq!(report.runs[0].kept, 1);
    assert_eq!(into.read_transcript("r", "a").unwrap().verdicts[0].score("d"), Some(8));
}

#[test]
fn writers_during_a_merge_lose_nothing() {
    // A judge appends verdicts and a reviewer sets labels in the target
    // while merges run: every verdict and every label lands.
    let dir = tempfile::tempdir().unwrap();
    let t0 = Utc::now() - Duration::hours(1);
    let source = shard_store(dir.path(), "one", &["a"], &[]);
    source.write_transcript(&judged_at("a", 2, t0)).unwrap();
    let label = |agreement| Label { agreement, note: String::new(), reviewer: None, at: t0 };
    source.set_label("r", "a", "from-source", label(Agreement::Agree)).unwrap();
    let into = shard_store(dir.path(), "into", &["a"], &[]);
    into.write_transcript(&judged_at("a", 5, t0 + Duration::seconds(1))).unwrap();
    std::thread::scope(|s| {
        let judge = s.spawn(|| {
            for i in 0..20 {
                into.update_transcript("r", "a", |t| {
                    let mut v = t.verdicts[0].clone();
                    v.created_at = Utc::now();
                    v.summary = format!("verdict {i}");
                    t.verdicts.push(v);
                })
                .unwrap();
            }
        });
        let reviewer = s.spawn(|| {
            for i in 0..20 {
                into.set_label("r", "a", &format!("dim{i}"), label(Agreement::Disagree)).unwrap();
            }
        });
        for _ in 0..10 {
            merge(std::slice::from_ref(&source), &into).unwrap();
        }
        judge.join().unwrap();
        reviewer.join().unwrap();
    });
    assert_eq!(into.read_transcript("r", "a").unwrap().verdicts.len(), 21);
    let labels = into.labels("r", "a").unwrap();
    assert_eq!(labels.len(), 21, "{:?}", labels.keys().collect::<Vec<_>>());
}
