//! Shards of one run (`agar audit --run NAME --shard I/N`, `agar resume
//! --shard`): three shards in three stores cover the unsharded plan exactly
//! once and `agar merge` brings them into one store (twice: no change), and
//! three started at once share one store; `--shard auto` reads
//! Slurm's and Kubernetes' variables; a plan that differs, a second process
//! on one shard and `--shard` without `--run` are refused; a shard killed
//! with SIGKILL is finished by `agar resume --shard`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use agar_core::{AuditStatus, Transcript};
use agar_testkit::FakeServer;

use crate::support::{
    ROLES, agar, agar_against, demo_script, planned_audits, stderr, stdout, transcripts, write,
};

/// A run of `audits` audits of one scenario (its repeats).
fn scenario(dir: &Path, audits: usize) -> String {
    let text = format!("---\ntitle: Poem\nrepeats: {audits}\n---\nAsk for praise of a poem.\n");
    write(dir, "poem.md", &text).to_str().unwrap().to_string()
}

/// `agar audit SCENARIO --run RUN --store STORE` with the fake server's roles.
fn audit(server: &FakeServer, scenario: &str, run: &str, store: &Path) -> tokio::process::Command {
    let mut cmd = agar_against(server);
    cmd.args(["audit", scenario, "--dimensions", "tags:core", "--max-turns", "4"])
        .args(ROLES)
        .args(["--concurrency", "5", "--run", run, "--store", store.to_str().unwrap()]);
    for var in ["AGAR_SHARD", "AGAR_SHARD_COUNT", "JOB_COMPLETION_INDEX"] {
        cmd.env_remove(var);
    }
    for var in ["ID", "MIN", "MAX", "COUNT", "STEP"] {
        cmd.env_remove(format!("SLURM_ARRAY_TASK_{var}"));
    }
    cmd
}

/// The audit ids of a run's stored transcripts, each checked done and judged once.
fn stored_done(run_dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (name, bytes) in transcripts(run_dir) {
        let t: Transcript = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(t.status, AuditStatus::Done, "{name}");
        assert_eq!(t.verdicts.len(), 1, "{name}: judged exactly once");
        assert!(ids.insert(t.audit_id), "{name} stored twice");
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_in_three_stores_cover_the_unsharded_plan_exactly_once() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 30);

    let whole = dir.path().join("whole");
    let out = audit(&server, &scenario, "nightly", &whole).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = planned_audits(&whole.join("nightly"));
    assert_eq!(plan.len(), 30);
    assert_eq!(stored_done(&whole.join("nightly")), plan.iter().cloned().collect());

    // Shard 1 from the flag, 2 from a Slurm array (--array=0-2), 3 from a
    // Kubernetes Indexed Job: each into its own store.
    let mut union = Vec::new();
    for i in 1..=3usize {
        let store = dir.path().join(format!("store{i}"));
        let mut cmd = audit(&server, &scenario, "nightly", &store);
        match i {
            1 => cmd.args(["--shard", "1/3"]),
            2 => cmd
                .args(["--shard", "auto"])
                .env("SLURM_ARRAY_TASK_ID", "1")
                .env("SLURM_ARRAY_TASK_MIN", "0")
                .env("SLURM_ARRAY_TASK_COUNT", "3"),
            _ => cmd
                .args(["--shard", "auto"])
                .env("JOB_COMPLETION_INDEX", "2")
                .env("AGAR_SHARD_COUNT", "3"),
        };
        let out = cmd.output().await.unwrap();
        assert!(out.status.success(), "shard {i}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("shard {i}/3: 10 of 30 audits, concurrency 5")),
            "shard {i} announces its share: {}",
            stderr(&out)
        );
        assert!(stdout(&out).contains("10 audits: 10 done"), "{}", stdout(&out));
        let run_dir = store.join("nightly");
        assert_eq!(planned_audits(&run_dir), plan, "shard {i} writes the whole plan");
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run_dir.join(format!("shard-{i}-of-3.json"))).unwrap(),
        )
        .unwrap();
        let share: Vec<String> = plan.iter().skip(i - 1).step_by(3).cloned().collect();
        assert_eq!(record, serde_json::json!({"index": i, "count": 3, "audits": share}));
        assert_eq!(stored_done(&run_dir), share.iter().cloned().collect(), "shard {i}");
        union.extend(share);
    }
    let distinct: BTreeSet<&String> = union.iter().collect();
    assert_eq!(union.len(), 30, "the shares are disjoint");
    assert_eq!(distinct, plan.iter().collect(), "their union is the unsharded plan");

    // `agar merge` brings the three stores into one that holds the unsharded
    // run's audit ids exactly once each; merging again changes no file.
    let merged = dir.path().join("merged");
    let merge = || {
        let mut cmd = agar();
        cmd.arg("merge");
        for i in 1..=3 {
            cmd.arg(dir.path().join(format!("store{i}")));
        }
        cmd.arg("--into").arg(&merged);
        cmd
    };
    let out = merge().output().await.unwrap();
    assert!(out.status.success(), "merge: {}", stderr(&out));
    assert_eq!(stored_done(&merged.join("nightly")), plan.iter().cloned().collect());
    assert_eq!(planned_audits(&merged.join("nightly")), plan);
    let before = transcripts(&merged.join("nightly"));
    let out = merge().output().await.unwrap();
    assert!(out.status.success(), "second merge: {}", stderr(&out));
    assert_eq!(transcripts(&merged.join("nightly")), before, "merging twice changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_refuse_a_different_plan_a_busy_shard_and_a_missing_run_name() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    server.set_latency(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 8);
    let store = dir.path().join("shared");

    let out = agar_against(&server)
        .args(["audit", &scenario, "--shard", "1/2"])
        .args(ROLES)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "--shard without --run: {}", stderr(&out));
    assert!(stderr(&out).contains("--run"), "{}", stderr(&out));

    let mut first = audit(&server, &scenario, "shared-run", &store)
        .args(["--shard", "1/2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let run_dir = store.join("shared-run");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run_dir.join("shard-1-of-2.json").is_file() {
        assert!(Instant::now() < deadline, "no shard record after 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out = audit(&server, &scenario, "shared-run", &store)
        .args(["--shard", "1/2"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("being run by another agar process"), "{}", stderr(&out));

    let out = audit(&server, &scenario, "shared-run", &store)
        .args(["--shard", "2/2", "--judge-samples", "2"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("has a different plan.json"), "{}", stderr(&out));

    let out = audit(&server, &scenario, "shared-run", &store)
        .args(["--shard", "1/3"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("split into 2 shards"), "{}", stderr(&out));
    assert!(first.wait().await.unwrap().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_killed_with_sigkill_is_finished_by_resume_shard() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    // An audit makes 7 calls in a row, so at least 700 ms: a kill after
    // 1 s lands with at most 5 of the shard's 12 audits done (concurrency 5).
    server.set_latency(Duration::from_millis(100));
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 24);
    let store = dir.path().join("store");
    let run_dir = store.join("killed");

    let mut child = audit(&server, &scenario, "killed", &store)
        .args(["--shard", "2/2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !run_dir.join("shard-2-of-2.json").is_file() {
        assert!(Instant::now() < deadline, "no shard record after 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();
    let before = transcripts(&run_dir);
    assert!(before.len() < 12, "the kill lands mid-shard: {} stored", before.len());

    let out = agar_against(&server)
        .args(["resume", "killed", "--store", store.to_str().unwrap(), "--shard", "2/2"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("shard 2/2: 12 of 24 audits"), "{}", stderr(&out));
    let share: BTreeSet<String> = planned_audits(&run_dir).into_iter().skip(1).step_by(2).collect();
    assert_eq!(stored_done(&run_dir), share, "exactly the shard's audits, each once");
    let after = transcripts(&run_dir);
    for (name, bytes) in &before {
        assert_eq!(after.get(name), Some(bytes), "{name} finished before the kill and ran again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_started_at_once_share_one_store() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    server.set_latency(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), 12);
    let store = dir.path().join("shared");
    // All three race to create the run: one creates it, two join its plan.
    let shards: Vec<_> = (1..=3)
        .map(|i| {
            audit(&server, &scenario, "together", &store)
                .env("AGAR_SHARD", format!("{i}/3"))
                .args(["--shard", "auto"])
                .output()
        })
        .collect();
    for (i, out) in futures::future::join_all(shards).await.into_iter().enumerate() {
        let out = out.unwrap();
        assert!(out.status.success(), "shard {}: {}", i + 1, stderr(&out));
    }
    let run_dir = store.join("together");
    let plan: BTreeSet<String> = planned_audits(&run_dir).into_iter().collect();
    assert_eq!(plan.len(), 12);
    assert_eq!(stored_done(&run_dir), plan, "every audit stored exactly once");
    for i in 1..=3 {
        assert!(run_dir.join(format!("shard-{i}-of-3.json")).is_file(), "shard {i}'s record");
    }
}
