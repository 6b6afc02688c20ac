//! Persona-monitor projections on the transcript page: each file in
//! `STORE/RUN/persona/` is named in the legend, its figures sit under the
//! target message they measured (proxy readers labelled), and a malformed
//! file becomes a note naming it instead of breaking the page.

use std::path::PathBuf;

use agar_core::{AuditStatus, Event, Message};
use agar_store::Store;
use agar_web::{AppState, app};
use tempfile::TempDir;

use crate::fixture::{at, run, target, transcript};
use crate::support::get;

/// The `<article>` of message `id` on the page.
fn article<'a>(body: &'a str, id: &str) -> &'a str {
    let start = body.find(&format!("id=\"msg-{id}\"")).unwrap_or_else(|| panic!("{id} missing"));
    let end = start + body[start..].find("</article>").unwrap();
    &body[start..end]
}

/// A store holding run `run` with one audit `a1` of `events`, and the
/// run's (created) persona directory.
fn store_with(run_id: &str, events: Vec<Event>) -> (TempDir, Store, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    run(run_id, at(0), &[("a1", "probe")]).write(&store).unwrap();
    let t = transcript(run_id, "a1", "probe", &[], AuditStatus::Done, events, vec![]);
    store.write_transcript(&t).unwrap();
    let persona = store.run_dir(run_id).join("persona");
    std::fs::create_dir_all(&persona).unwrap();
    (dir, store, persona)
}

#[tokio::test]
async fn projections_sit_under_the_messages_they_measured() {
    let events = vec![
        target("M1", None, 0, Message::system("You are helpful.")),
        target("M2", Some("M1"), 0, Message::user("Hello?")),
        target("M3", Some("M2"), 0, Message::assistant("Hi there.")),
        target("M4", Some("M3"), 0, Message::user("And now?")),
        target("M5", Some("M4"), 0, Message::assistant("")),
    ];
    let (_dir, store, persona) = store_with("mon", events);
    let own = serde_json::json!({
        "run_id": "mon", "vector": "evil", "layer": 3, "reader": "local/smollm2",
        "proxy": false,
        "messages": [
            {"audit_id": "a1", "message": "M3", "before": 1.23456, "mean": 0.5, "tokens": 4},
            {"audit_id": "a1", "message": "M5", "before": -2.0, "mean": null, "tokens": 0},
            {"audit_id": "other", "message": "M3", "before": 99.0, "mean": 99.0, "tokens": 1},
            {"audit_id": "a1", "message": "M2", "before": 77.0, "mean": 77.0, "tokens": 1}
        ]
    });
    let proxy = serde_json::json!({
        "run_id": "mon", "vector": "sycophantic", "layer": 5, "reader": "local/reader",
        "proxy": true,
        "messages": [
            {"audit_id": "a1", "message": "M5", "before": 0.25, "mean": 0.125, "tokens": 0}
        ]
    });
    std::fs::write(persona.join("monitor-evil-L3.json"), own.to_string()).unwrap();
    std::fs::write(persona.join("monitor-sycophantic-L5.json"), proxy.to_string()).unwrap();
    std::fs::write(persona.join("monitor-broken-L1.json"), "{\"run_id\": ").unwrap();
    std::fs::write(persona.join("vector.json"), "not a monitor file").unwrap();

    let app = app(AppState::new(store));
    let p = get(&app, "/runs/mon/audits/a1").await;
    assert_eq!(p.status, 200, "{}", p.body);
    let body = &p.body;
    // M3: the target's own reading, 3 decimals, no proxy label.
    let m3 = article(body, "M3");
    assert!(m3.contains("evil L3: before 1.235 · mean 0.500<"), "{m3}");
    assert!(!m3.contains("sycophantic") && !m3.contains("proxy"), "{m3}");
    assert!(!m3.contains("99.000"), "another audit's figures: {m3}");
    // M5: an empty message has no mean; the proxy reader is labelled.
    let m5 = article(body, "M5");
    assert!(m5.contains("evil L3: before -2.000 · mean n/a<"), "{m5}");
    assert!(m5.contains("sycophantic L5: before 0.250 · mean 0.125 · proxy<"), "{m5}");
    assert!(m5.contains("badge monitor proxy"), "{m5}");
    // Only target messages carry projections.
    assert!(!article(body, "M2").contains("77.000"));
    assert!(!body.contains("77.000"));
    // The legend names each file; the malformed one is a note.
    let legend = &body[body.find("id=\"monitors\"").unwrap()..body.find("id=\"msg-M1\"").unwrap()];
    assert!(
        legend.contains("monitor-evil-L3.json</code>: trait evil, layer 3, reader local/smollm2"),
        "{legend}"
    );
    assert!(legend.contains("· projections for this audit: 3<"), "{legend}");
    assert!(
        legend.contains("monitor-sycophantic-L5.json</code>: trait sycophantic, layer 5, reader local/reader <span class=\"badge proxy\">proxy</span>"),
        "{legend}"
    );
    assert!(legend.contains("monitor-broken-L1.json: could not be read ("), "{legend}");
    assert!(!legend.contains("vector.json"), "{legend}");
}

#[tokio::test]
async fn a_page_without_monitor_files_has_no_legend() {
    let events = vec![
        target("M1", None, 0, Message::user("Hello?")),
        target("M2", Some("M1"), 0, Message::assistant("Hi.")),
    ];
    let (_dir, store, _) = store_with("plain", events);
    let p = get(&app(AppState::new(store)), "/runs/plain/audits/a1").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(!p.body.contains("id=\"monitors\"") && !p.body.contains("monitor-row"));
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_named_like_a_monitor_file_is_a_note_not_a_hang() {
    let events = vec![target("M1", None, 0, Message::assistant("Hi."))];
    let (_dir, store, persona) = store_with("fifo", events);
    let fifo = persona.join("monitor-evil-L1.json");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success(), "mkfifo failed");
    let p = get(&app(AppState::new(store)), "/runs/fifo/audits/a1").await;
    assert_eq!(p.status, 200, "{}", p.body);
    assert!(p.body.contains("monitor-evil-L1.json: could not be read ("), "{}", p.body);
    assert!(p.body.contains("only regular files are read"), "{}", p.body);
}
