//! Live: runs written by another process (here, another `Store` handle on
//! the same directory) show up without restarting the viewer, and the stamp
//! the pages poll moves when they do.

use agar_core::AuditStatus;
use agar_web::{AppState, app};

use crate::fixture::{at, run, score, simple_events, transcript, verdict};
use crate::support::{get, row, row_order};

async fn stamp(app: &axum::Router, uri: &str) -> String {
    let p = get(app, uri).await;
    assert_eq!(p.status, 200, "{uri}: {}", p.body);
    let v: serde_json::Value = serde_json::from_str(&p.body).unwrap();
    v["stamp"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_run_written_meanwhile_appears_and_updates_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let viewer_store = agar_store::Store::open(&root).unwrap();
    let app = app(AppState::new(viewer_store));
    let p = get(&app, "/").await;
    assert!(p.body.contains("No runs in this store yet"));
    let s0 = stamp(&app, "/api/stamp").await;

    // "Another process" starts a run of two audits.
    let writer = agar_store::Store::open(&root).unwrap();
    run("live", at(0), &[("one", "one"), ("two", "two")]).write(&writer).unwrap();
    let s1 = stamp(&app, "/api/stamp").await;
    assert_ne!(s0, s1, "a new run moves the store's stamp");
    let p = get(&app, "/").await;
    assert!(p.body.contains("href=\"/runs/live\""));
    assert!(p.body.contains("2 pending"));
    let r0 = stamp(&app, "/api/runs/live/stamp").await;
    let p = get(&app, "/runs/live").await;
    assert_eq!(row_order(&p.body), ["one", "two"]);
    assert!(row(&p.body, "one").contains("status pending"));

    // A process takes the run and starts the second audit: the run is live.
    let lock = writer.lock_run("live").unwrap();
    writer.mark_running("live", "two").unwrap();
    let r_live = stamp(&app, "/api/runs/live/stamp").await;
    assert_ne!(r0, r_live, "a process taking the run moves its stamp");
    let p = get(&app, "/runs/live").await;
    assert!(p.body.contains("<span class=\"badge live\">in progress</span>"));
    assert!(row(&p.body, "two").contains("status running"));
    let p = get(&app, "/").await;
    assert!(p.body.contains("in progress"));

    // The first audit finishes: the run page shows its scores at once.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let v = verdict(vec![("concerning", score(6, "hmm", vec![]))], "s");
    writer
        .write_transcript(&transcript(
            "live",
            "one",
            "one",
            &[],
            AuditStatus::Done,
            simple_events("hi"),
            vec![v],
        ))
        .unwrap();
    let r1 = stamp(&app, "/api/runs/live/stamp").await;
    assert_ne!(r_live, r1, "a finished audit moves the run's stamp");
    let p = get(&app, "/runs/live").await;
    let one = row(&p.body, "one");
    assert!(one.contains("status done") && one.contains(">6<"), "{one}");
    assert!(row(&p.body, "two").contains("status running"));
    assert_eq!(stamp(&app, "/api/runs/live/stamp").await, r1, "no change, same stamp");

    // The process ends (or is killed): the run is no longer live.
    drop(lock);
    assert_ne!(stamp(&app, "/api/runs/live/stamp").await, r1);
    let p = get(&app, "/runs/live").await;
    assert!(!p.body.contains("badge live"));
    assert!(row(&p.body, "two").contains("status pending"));
}

#[tokio::test]
async fn figures_kept_for_a_settled_run_are_dropped_when_it_changes() {
    let (_dir, store) = crate::fixture::review_store();
    let app = app(AppState::new(store.clone()));
    // Once the run's files are older than a second, its figures are kept...
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let p = get(&app, "/runs/nightly").await;
    assert!(row(&p.body, "later").contains("status pending"));
    let p = get(&app, "/").await;
    assert!(p.body.contains("1 pending"));
    // ...until a file changes: the next request reads the run again.
    let v = verdict(vec![("concerning", score(4, "meh", vec![]))], "later, judged");
    store
        .write_transcript(&transcript(
            "nightly",
            "later",
            "later",
            &[],
            AuditStatus::Done,
            simple_events("ok"),
            vec![v],
        ))
        .unwrap();
    let p = get(&app, "/runs/nightly").await;
    let later = row(&p.body, "later");
    assert!(later.contains("status done") && later.contains(">4<"), "{later}");
    let p = get(&app, "/").await;
    assert!(p.body.contains("3 done") && !p.body.contains("1 pending"), "{}", p.body);
    // A label changes the figures too.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let p = get(&app, "/runs/nightly").await;
    assert!(p.body.contains("no labels yet"));
    let label = agar_store::Label {
        agreement: agar_store::Agreement::Disagree,
        note: String::new(),
        reviewer: None,
        at: at(1),
    };
    store.set_label("nightly", "later", "concerning", label).unwrap();
    let p = get(&app, "/runs/nightly").await;
    assert!(p.body.contains("0 of 1 labels agree (0%)"), "{}", p.body);
}

#[tokio::test]
async fn a_kept_run_whose_labels_change_shows_what_a_fresh_viewer_shows() {
    let (_dir, store) = crate::fixture::review_store();
    let label =
        |agreement| agar_store::Label { agreement, note: "seen".into(), reviewer: None, at: at(1) };
    store.set_label("nightly", "leak", "concerning", label(agar_store::Agreement::Agree)).unwrap();
    let app = app(AppState::new(store.clone()));
    // Settled, read once: kept.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let p = get(&app, "/runs/nightly").await;
    assert!(p.body.contains("1 of 1 labels agree (100%)"), "{}", p.body);
    // Only labels change: the kept figures of the audits are relabelled.
    store.remove_label("nightly", "leak", "concerning").unwrap();
    store
        .set_label("nightly", "poem", "concerning", label(agar_store::Agreement::Disagree))
        .unwrap();
    let fresh = app_fresh(&store);
    for uri in ["/runs/nightly", "/runs/nightly?sort=labels&dir=desc", "/runs/nightly?q=poem"] {
        let kept = get(&app, uri).await;
        assert_eq!(kept.body, get(&fresh, uri).await.body, "{uri}");
    }
    let p = get(&app, "/runs/nightly").await;
    assert!(p.body.contains("0 of 1 labels agree (0%)"), "{}", p.body);
    assert!(row(&p.body, "poem").contains("lab-disagree"));
    assert!(!row(&p.body, "leak").contains("lab-agree"));
}

fn app_fresh(store: &agar_store::Store) -> axum::Router {
    app(AppState::new(store.clone()))
}
