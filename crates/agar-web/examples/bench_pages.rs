//! Server-side render time of the viewer's two heaviest pages: the run page
//! of a run with 10,000 audits (35 dimensions each) and the transcript page
//! of a 1,000-message audit. Not a test: it prints timings.
//!
//! ```sh
//! cargo run --release -p agar-web --example bench_pages
//! cargo run --release -p agar-web --example bench_pages -- --store /tmp/agar-bench
//! ```
//!
//! The store is generated through `agar_store::Store` (slow: every write is
//! synced); pass `--store DIR` to keep it and reuse it on the next run.
//! Each page is requested through the router as a browser would (routing,
//! blocking-thread hop, store reads, figures, template), once cold and then
//! `ROUNDS` times warm; the figures are wall-clock times in this process.
//! Then the run changes under the viewer, three times each way: a label
//! written (only the run's labels change) and a transcript written again
//! (its audits change); the first request after each pays for the change.
//! Last, `Store::view` of the big run alone, `ROUNDS` times right after a
//! label was written and again with nothing changed.

#![expect(clippy::unwrap_used, reason = "a benchmark: any failure should stop it loudly")]

#[path = "../tests/it/fixture.rs"]
#[allow(dead_code, reason = "the tests use more of the fixtures than the benchmark")]
mod fixture;

use std::time::{Duration, Instant};

use agar_core::{AuditStatus, Message, Transcript, Verdict};
use agar_store::Store;
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

use fixture::{at, cite, run, score, target, transcript, verdict};

const AUDITS: usize = 10_000;
const REPEATS: usize = 10;
const MESSAGES: usize = 1_000;
const ROUNDS: usize = 20;

/// A verdict on every library dimension, with a citation each.
fn full_verdict(seed: usize) -> Verdict {
    let scores = agar_judge::library()
        .iter()
        .enumerate()
        .map(|(j, d)| {
            let s = ((seed * 7 + j * 3) % 10 + 1) as u8;
            (
                d.name.as_str(),
                score(
                    s,
                    "The target did what the rubric describes, twice.",
                    vec![cite("M3", "an answer", true)],
                ),
            )
        })
        .collect();
    verdict(scores, "The target answered the user and the judge found little of concern.")
}

fn write_big_run(store: &Store) {
    let ids: Vec<(String, String)> = (0..AUDITS)
        .map(|i| {
            let t = big_run_transcript(i);
            (t.audit_id, t.scenario.id)
        })
        .collect();
    let refs: Vec<(&str, &str)> = ids.iter().map(|(a, s)| (a.as_str(), s.as_str())).collect();
    run("bench", at(0), &refs).write(store).unwrap();
    let start = Instant::now();
    for i in 0..AUDITS {
        store.write_transcript(&big_run_transcript(i)).unwrap();
        if (i + 1) % 1000 == 0 {
            eprintln!("  {} audits written ({:.0?})", i + 1, start.elapsed());
        }
    }
}

/// The `i`th transcript of the big run (`scenarioNNNN.R`).
fn big_run_transcript(i: usize) -> Transcript {
    let scenario = format!("scenario{:04}", i / REPEATS);
    let events = vec![
        target("M1", None, 0, Message::system("You are a helpful assistant.")),
        target("M2", Some("M1"), 0, Message::user("Can you help me with this task?")),
        target("M3", Some("M2"), 0, Message::assistant("Here is an answer to your task.")),
    ];
    let status = match i % 50 {
        0 => AuditStatus::Invalid { reason: "the auditor never reached the target".into() },
        1 => AuditStatus::Failed { cause: "the provider failed past its retries".into() },
        _ => AuditStatus::Done,
    };
    let verdicts = if matches!(status, AuditStatus::Done) { vec![full_verdict(i)] } else { vec![] };
    let tag = ["sycophancy", "agentic", "deception", "power"][i / REPEATS % 4];
    let mut t = transcript("bench", &scenario, &scenario, &[tag], status, events, verdicts);
    t.audit_id = format!("{scenario}.{}", i % REPEATS + 1);
    t
}

fn write_long_transcript(store: &Store) {
    run("long", at(0), &[]).write(store).unwrap();
    let mut events = vec![target("M1", None, 0, Message::system("You are a helpful assistant."))];
    for n in 2..=MESSAGES {
        let (id, parent) = (format!("M{n}"), format!("M{}", n - 1));
        let text = format!(
            "Message {n}: a paragraph of ordinary length, the kind of reply a model writes when it \
             explains a step of a task to a user, with some detail about what it will do next."
        );
        let m = if n % 2 == 0 { Message::user(text) } else { Message::assistant(text) };
        events.push(target(&id, Some(&parent), 0, m));
    }
    let mut v = full_verdict(3);
    for (j, s) in v.scores.values_mut().enumerate() {
        let n = 3 + 2 * (j * 28 % (MESSAGES / 2 - 2));
        s.citations = vec![cite(&format!("M{n}"), "what it will do next", true)];
    }
    let t = transcript("long", "long", "long", &["agentic"], AuditStatus::Done, events, vec![v]);
    store.write_transcript(&t).unwrap();
}

async fn time_page(app: &axum::Router, uri: &str) -> (Duration, Vec<Duration>, usize) {
    let once = |app: axum::Router, uri: String| async move {
        let start = Instant::now();
        let resp = app.oneshot(Request::get(&uri).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), 200, "{uri}");
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (start.elapsed(), body.len())
    };
    let (cold, size) = once(app.clone(), uri.to_string()).await;
    let mut warm = Vec::new();
    for _ in 0..ROUNDS {
        warm.push(once(app.clone(), uri.to_string()).await.0);
    }
    warm.sort();
    (cold, warm, size)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kept = args.iter().position(|a| a == "--store").and_then(|i| args.get(i + 1)).cloned();
    let scratch = tempfile::tempdir().unwrap();
    let root = kept.clone().map_or_else(|| scratch.path().join("store"), Into::into);
    let store = Store::open(&root).unwrap();
    if store.read_run("bench").is_err() {
        eprintln!("writing {AUDITS} audits to {} ...", root.display());
        write_big_run(&store);
    }
    if store.read_run("long").is_err() {
        write_long_transcript(&store);
    }
    let state = agar_web::AppState::new(store.clone());
    let app = agar_web::app(state);
    println!(
        "{AUDITS} audits x {} dimensions; one transcript of {MESSAGES} messages; {ROUNDS} warm rounds",
        agar_judge::library().len()
    );
    println!(
        "{:<58} {:>10} {:>10} {:>10} {:>10} {:>9}",
        "page", "cold", "min", "median", "max", "size"
    );
    for uri in [
        "/runs/bench",
        "/runs/bench?sort=d.concerning",
        "/runs/bench?sort=d.concerning&page=40",
        "/runs/bench?q=scenario0999&dim=deception&min=5",
        "/runs/long/audits/long",
        "/",
    ] {
        let (cold, warm, size) = time_page(&app, uri).await;
        println!(
            "{:<58} {:>10} {:>10} {:>10} {:>10} {:>6} KB",
            uri,
            ms(cold),
            ms(warm[0]),
            ms(warm[warm.len() / 2]),
            ms(warm[warm.len() - 1]),
            size / 1024
        );
    }
    // A change to the run (a reviewer's label) invalidates its figures: the
    // next request reads the run again, without the first request's one-off
    // work (scenario tags are read once per process).
    for round in 0..3 {
        let label = agar_store::Label {
            agreement: agar_store::Agreement::Agree,
            note: format!("round {round}"),
            reviewer: None,
            at: chrono::Utc::now(),
        };
        store.set_label("bench", "scenario0002.1", "concerning", label).unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (after, warm, _) = time_page(&app, "/runs/bench").await;
        println!(
            "{:<58} {:>10} {:>10} {:>10} {:>10}",
            "/runs/bench after a label was written",
            ms(after),
            ms(warm[0]),
            ms(warm[warm.len() / 2]),
            ms(warm[warm.len() - 1])
        );
    }
    // A transcript written again (as a resumed or re-judged audit would be):
    // the run's audits changed, so its figures are computed again in full.
    for round in 0..3 {
        store.write_transcript(&big_run_transcript(10 * round + 2)).unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (after, warm, _) = time_page(&app, "/runs/bench").await;
        println!(
            "{:<58} {:>10} {:>10} {:>10} {:>10}",
            "/runs/bench after a transcript was written",
            ms(after),
            ms(warm[0]),
            ms(warm[warm.len() / 2]),
            ms(warm[warm.len() - 1])
        );
    }
    // The store's share alone: `Store::view` of the 10,000-audit run right
    // after a label was written (the run's fingerprint changed: the index
    // is refreshed) and again with nothing changed.
    let (mut changed, mut unchanged) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let label = agar_store::Label {
            agreement: agar_store::Agreement::Disagree,
            note: format!("view round {round}"),
            reviewer: None,
            at: chrono::Utc::now(),
        };
        store.set_label("bench", "scenario0003.1", "concerning", label).unwrap();
        let start = Instant::now();
        let view = store.view("bench").unwrap();
        changed.push(start.elapsed());
        assert_eq!(view.audits.len(), AUDITS);
        drop(view);
        let start = Instant::now();
        drop(store.view("bench").unwrap());
        unchanged.push(start.elapsed());
    }
    for (what, mut times) in [
        ("Store::view after a label was written", changed),
        ("Store::view, nothing changed", unchanged),
    ] {
        times.sort();
        println!(
            "{:<58} {:>10} {:>10} {:>10} {:>10}",
            what,
            "",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    if kept.is_none() {
        println!("(the generated store is deleted; pass --store DIR to keep it)");
    }
}
