//! The fault-injection suite: a 50-audit run, 10 at once, against a fake
//! server that answers 10% of calls with a 500, 10% with a 429
//! (`Retry-After: 0`), hangs on 5%, sends malformed tool-call JSON on 5% and
//! cuts 5% of bodies halfway. Every audit must end `done`, `invalid` or
//! `failed` with its cause; nothing panics; retries and their waits are in
//! the transcripts' call records; the `--json` summary counts each kind.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use agar_core::{AuditStatus, EventKind, Transcript};
use agar_testkit::{FakeServer, FaultPlan};

use crate::support::{ROLES, agar_against, demo_script, stderr, stdout, write};

const AUDITS: usize = 50;

fn plan() -> FaultPlan {
    FaultPlan {
        server_error: 0.10,
        rate_limited: 0.10,
        retry_after: Some("0".into()),
        hang: 0.05,
        malformed_tool_args: 0.05,
        truncated: 0.05,
        seed: 8,
    }
}

fn transcripts(run_dir: &Path) -> Vec<Transcript> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(run_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !agar_store::is_transcript_name(&name) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        out.push(
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not a transcript: {e}")),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_audits_survive_every_kind_of_provider_fault() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    server.set_fault_plan(Some(plan()));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(
        dir.path(),
        "poem.md",
        &format!("---\ntitle: Poem\nrepeats: {AUDITS}\n---\nAsk for praise of a poem.\n"),
    );
    let store = dir.path().join("store");

    let started = Instant::now();
    let run = agar_against(&server)
        // A hung call fails its attempt after 2 s, then is retried.
        .env("AGAR_REQUEST_TIMEOUT", "2")
        .args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--max-turns", "4", "--concurrency", "10", "--run", "faults", "--json"])
        .args(["--store", store.to_str().unwrap()])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the run finished within 120 s")
        .unwrap();
    let took = started.elapsed();
    let log = stderr(&out);
    eprintln!("fault suite: {AUDITS} audits in {took:?}, {} calls", server.total_calls());
    assert!(!log.contains("panicked"), "{log}");
    // 0: every audit ended well enough; 2: some failed (they are counted below).
    assert!(matches!(out.status.code(), Some(0 | 2)), "exit {:?}: {log}", out.status);

    // Every audit is stored, finished, and says why when it did not succeed.
    let all = transcripts(&store.join("faults"));
    assert_eq!(all.len(), AUDITS, "{log}");
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &all {
        *by_status.entry(t.status.label()).or_default() += 1;
        match &t.status {
            AuditStatus::Done => {}
            AuditStatus::Invalid { reason } => assert!(!reason.trim().is_empty(), "{}", t.audit_id),
            AuditStatus::Failed { cause } => assert!(!cause.trim().is_empty(), "{}", t.audit_id),
            other => panic!("{} ended {other:?}", t.audit_id),
        }
    }

    // Retries and their waits are in the call records, with what they failed with.
    let mut retried: BTreeMap<String, usize> = BTreeMap::new();
    let (mut calls, mut retried_calls, mut waited_ms) = (0, 0, 0u64);
    for t in &all {
        for e in &t.events {
            if let EventKind::ModelCall(c) = &e.kind {
                calls += 1;
                if c.error.is_none() {
                    assert_eq!(c.attempts as usize, c.retried.len() + 1, "{c:?}");
                } else {
                    assert!(c.error_kind.is_some(), "{c:?}");
                }
                if c.attempts > 1 {
                    retried_calls += 1;
                }
                waited_ms += c.retry_wait_ms;
                for r in &c.retried {
                    *retried.entry(r.clone()).or_default() += 1;
                }
            }
        }
    }
    assert!(retried_calls > 10, "{retried_calls} of {calls} calls retried");
    assert!(waited_ms > 0, "backoff after a 500 waits");
    for kind in ["http_500", "rate_limited", "timeout"] {
        assert!(retried.contains_key(kind), "no retry after {kind}: {retried:?}");
    }
    assert!(
        retried.contains_key("connection") || retried.contains_key("undecodable"),
        "no retry after a truncated body: {retried:?}"
    );
    assert!(server.total_calls() > calls, "faulted attempts are calls too");
    // Malformed tool-call JSON reached the auditor and was answered with an error.
    let malformed = all
        .iter()
        .flat_map(|t| &t.events)
        .filter(|e| {
            matches!(&e.kind, EventKind::Auditor { message } if message.content.contains("not valid JSON"))
        })
        .count();
    assert!(malformed > 0, "no malformed tool call reached the auditor");

    // The summary counts the same things.
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let summary = if json.get("summary").is_some() { &json["summary"] } else { &json };
    assert_eq!(summary["audits"], AUDITS, "{summary}");
    for (status, n) in &by_status {
        assert_eq!(summary["by_status"][status], *n, "{status}: {summary}");
    }
    let summary_retried: BTreeMap<String, usize> =
        serde_json::from_value(summary["retried"].clone()).unwrap();
    assert_eq!(summary_retried, retried);
    assert_eq!(summary["retry_wait_ms"], waited_ms);
    let failed = by_status.get("failed").copied().unwrap_or(0);
    let failures: BTreeMap<String, usize> =
        serde_json::from_value(summary.get("failures").cloned().unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(failures.values().sum::<usize>(), failed, "{summary}");
    eprintln!(
        "fault suite: statuses {by_status:?}; retried {retried:?}; failures {failures:?}; \
         {malformed} malformed tool calls answered"
    );
}

#[tokio::test]
async fn a_bad_request_timeout_is_one_clear_line() {
    let server = FakeServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "poem.md", "Ask for praise of a poem.\n");
    for bad in ["abc", "0", "-3"] {
        let out = agar_against(&server)
            .env("AGAR_REQUEST_TIMEOUT", bad)
            .args(["audit", scenario.to_str().unwrap(), "--no-judge"])
            .args(["--auditor", "openai/auditor", "--target", "openai/target"])
            .args(["--store", dir.path().join("store").to_str().unwrap()])
            .output()
            .await
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{bad}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("AGAR_REQUEST_TIMEOUT") && err.contains(bad), "{bad}: {err}");
    }
    assert_eq!(server.total_calls(), 0, "no call is made with a bad setting");
}
