//! The fault-and-kill campaign: one run under provider faults is killed with
//! SIGKILL at seeded moments and stopped once with SIGTERM, resumed to the
//! end; then two `agar judge` processes re-judge it while two `agar view`
//! processes record labels on it, all at once. It counts what a hostile
//! environment could cost (audits, verdicts, labels lost) and requires 0 of
//! each; the figures line it prints is quoted in docs/performance.md.
//! Run it alone with
//! `cargo test -p agar-cli --test it -- campaign --nocapture`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agar_core::Transcript;
use agar_testkit::{FakeServer, FaultPlan};

use crate::support::{
    agar, agar_against, demo_script, http, spawn_viewer, stderr, transcripts, url_addr, write,
};

const AUDITS: usize = 24;
const KILLS: usize = 3;
const JUDGE_ROUNDS: usize = 2;

fn plan() -> FaultPlan {
    FaultPlan {
        server_error: 0.08,
        rate_limited: 0.08,
        retry_after: Some("0".into()),
        hang: 0.0,
        malformed_tool_args: 0.05,
        truncated: 0.05,
        seed: 15,
    }
}

/// Every transcript of the run, parsed, by audit id.
fn parsed(run_dir: &Path) -> BTreeMap<String, Transcript> {
    transcripts(run_dir)
        .into_iter()
        .map(|(name, bytes)| {
            let t: Transcript = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
            (t.audit_id.clone(), t)
        })
        .collect()
}

/// Posts `labels` (audit, dimension) through the viewer at `addr`; the
/// number it answered with a redirect (success).
async fn post_labels(addr: String, labels: Vec<(String, String)>) -> usize {
    let get = format!(
        "GET /runs/r/audits/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        labels[0].0
    );
    let page = http(&addr, &get).await;
    let csrf = page.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let mut ok = 0;
    for (audit, dim) in &labels {
        let body = format!("csrf={csrf}&dimension={dim}&agreement=agree&note=by+{addr}");
        let req = format!(
            "POST /runs/r/audits/{audit}/labels HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        ok += usize::from(http(&addr, &req).await.starts_with("HTTP/1.1 303"));
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_kills_and_concurrent_writers_lose_nothing() {
    let started = Instant::now();
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    server.set_fault_plan(Some(plan()));
    server.set_latency(Duration::from_millis(60));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "poem.md",
        &format!("---\ntitle: Poem\nrepeats: {AUDITS}\n---\nAsk for praise of a poem.\n"),
    );
    let store = dir.path().join("store");
    let s = store.to_str().unwrap().to_string();
    let run_dir = store.join("r");

    // Phase 1: SIGKILL the audit and two resumes; SIGTERM a third resume.
    let mut seen: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut lost_audits = 0;
    let delays = [700, 900, 800, 800];
    for (i, delay) in delays.iter().enumerate() {
        let mut cmd = agar_against(&server);
        if i == 0 {
            cmd.args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
                .args(["--auditor", "openai/auditor", "--target", "openai/target"])
                .args(["--judge", "openai/judge", "--max-turns", "4", "--concurrency", "4"])
                .args(["--run", "r", "--store", &s]);
        } else {
            cmd.args(["resume", "r", "--store", &s]);
        }
        cmd.env("AGAR_REQUEST_TIMEOUT", "2");
        let mut child =
            cmd.stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true).spawn().unwrap();
        if i == 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !run_dir.join("plan.json").is_file() {
                assert!(Instant::now() < deadline, "no plan.json after 30 s");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(*delay)).await;
        if i < KILLS {
            child.start_kill().unwrap(); // SIGKILL
            child.wait().await.unwrap();
        } else {
            let pid = child.id().unwrap().to_string();
            let sent = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            assert!(sent.success());
            let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
                .await
                .expect("a SIGTERM'd resume exits")
                .unwrap();
            let err = stderr(&out);
            // Exit 2 with the resume command, unless it had already finished.
            assert!(
                out.status.code() == Some(2) && err.contains("resume with: agar resume r")
                    || out.status.success(),
                "{:?}: {err}",
                out.status
            );
        }
        let now = transcripts(&run_dir);
        lost_audits += seen.iter().filter(|(name, bytes)| now.get(*name) != Some(*bytes)).count();
        seen = now;
    }
    let out = agar_against(&server)
        .env("AGAR_REQUEST_TIMEOUT", "2")
        .args(["resume", "r", "--store", &s])
        .output()
        .await
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 2)), "{}", stderr(&out));
    let finished = parsed(&run_dir);
    lost_audits += AUDITS - finished.len();
    let stored = transcripts(&run_dir);
    lost_audits += seen.iter().filter(|(name, bytes)| stored.get(*name) != Some(*bytes)).count();

    // Phase 2: two judges and two viewers write to the run at once.
    let judged: BTreeMap<String, Vec<String>> = finished
        .iter()
        .filter(|(_, t)| matches!(t.status, agar_core::AuditStatus::Done))
        .map(|(id, t)| {
            (
                id.clone(),
                t.verdicts.last().map(|v| v.scores.keys().cloned().collect()).unwrap_or_default(),
            )
        })
        .collect();
    let labels: Vec<(String, String)> = judged
        .iter()
        .flat_map(|(id, dims)| dims.iter().map(move |d| (id.clone(), d.clone())))
        .collect();
    assert!(labels.len() >= 20, "too few judged audits to label: {}", labels.len());
    let view_args = ["--store", s.as_str()];
    let (mut view_a, url_a) = spawn_viewer(&mut agar(), &view_args).await;
    let (mut view_b, url_b) = spawn_viewer(&mut agar(), &view_args).await;
    let (addr_a, addr_b) = (url_addr(&url_a), url_addr(&url_b));
    let (half_a, half_b): (Vec<_>, Vec<_>) =
        labels.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
    let strip =
        |v: Vec<(usize, (String, String))>| v.into_iter().map(|(_, l)| l).collect::<Vec<_>>();
    server.set_fault_plan(None);
    let judge = || {
        let s = s.clone();
        let mut cmd = agar_against(&server);
        cmd.args(["judge", "r", "--judge", "openai/judge", "--concurrency", "4", "--store", &s]);
        async move {
            let mut ok = 0;
            for _ in 0..JUDGE_ROUNDS {
                ok += usize::from(cmd.output().await.unwrap().status.success());
            }
            ok
        }
    };
    let (judge_a, judge_b, posted_a, posted_b) = tokio::join!(
        judge(),
        judge(),
        post_labels(addr_a, strip(half_a)),
        post_labels(addr_b, strip(half_b)),
    );
    view_a.kill().await.unwrap();
    view_b.kill().await.unwrap();
    assert_eq!(judge_a + judge_b, 2 * JUDGE_ROUNDS, "a judge process failed");
    assert_eq!(posted_a + posted_b, labels.len(), "a label post failed");

    let after = parsed(&run_dir);
    let verdicts_written = judged.len() * 2 * JUDGE_ROUNDS;
    let verdicts_kept: usize =
        judged.keys().map(|id| after[id].verdicts.len() - finished[id].verdicts.len()).sum();
    let lost_verdicts = verdicts_written - verdicts_kept;
    let read = agar_store::Store::open(&store).unwrap();
    let kept_labels = judged.keys().map(|id| read.labels("r", id).unwrap().len()).sum::<usize>();
    let lost_labels = labels.len() - kept_labels;
    eprintln!(
        "campaign: {AUDITS} audits, {} faults injected, {KILLS} SIGKILLs, 1 SIGTERM; audits lost \
         {lost_audits}; verdicts written by 2 concurrent judges {verdicts_written}, lost \
         {lost_verdicts}; labels written by 2 concurrent viewers {}, lost {lost_labels}; {:.1} s",
        server.faults_served(),
        labels.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(lost_audits, 0, "audits lost");
    assert_eq!(lost_verdicts, 0, "verdicts lost");
    assert_eq!(lost_labels, 0, "labels lost");
    assert!(server.faults_served() > 20, "the faults must be served");
}
