//! The run pipeline shared by `agar audit`, `agar resume` and `agar judge`
//! (crate agar-run): every command resolves models with the same request
//! settings, so `agar judge` honours `AGAR_REQUEST_TIMEOUT` as `agar audit`
//! does (it used to ignore it, and a hung judge call waited 120 s).

use std::time::{Duration, Instant};

use agar_testkit::{FakeServer, Reply};

use crate::support::{ROLES, agar_against, demo_script, read_transcript, stderr, write};

/// A stored run `r` of one audit, not judged, in `store`.
async fn unjudged_run(server: &FakeServer, dir: &std::path::Path) -> std::path::PathBuf {
    let scenario = write(dir, "poem.md", "---\ntitle: Poem\n---\nAsk for praise of a poem.\n");
    let store = dir.join("store");
    let out = agar_against(server)
        .args(["audit", scenario.to_str().unwrap(), "--no-judge", "--max-turns", "4"])
        .args(&ROLES[..4])
        .args(["--run", "r", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agar_judge_refuses_an_invalid_request_timeout_as_agar_audit_does() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let store = unjudged_run(&server, dir.path()).await;
    let out = agar_against(&server)
        .args(["judge", "r", "--judge", "openai/judge", "--store", store.to_str().unwrap()])
        .env("AGAR_REQUEST_TIMEOUT", "soon")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("AGAR_REQUEST_TIMEOUT"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agar_judge_times_out_hung_calls_after_agar_request_timeout() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let store = unjudged_run(&server, dir.path()).await;
    // The judge's first two calls never get an answer: each must be cut at
    // the half-second timeout and retried (the default timeout is 120 s).
    server.push_fault("judge", Reply::Hang);
    server.push_fault("judge", Reply::Hang);
    let started = Instant::now();
    let out = agar_against(&server)
        .args(["judge", "r", "--judge", "openai/judge"])
        .args(["--store", store.to_str().unwrap()])
        .env("AGAR_REQUEST_TIMEOUT", "0.5")
        .output()
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.faults_served(), 2, "both hung calls were made");
    assert!(took < Duration::from_secs(30), "judging took {took:?}: the timeout was not applied");
    let t = read_transcript(&store.join("r").join("poem.json"));
    assert!(t.verdicts.last().is_some_and(|v| v.is_ok()), "{:?}", t.verdicts);
}
