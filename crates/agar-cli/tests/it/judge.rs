//! `agar judge`: re-judging stored transcripts adds a verdict and keeps the
//! earlier ones; and `agar check` accepts the built-in dimension library.

use std::path::Path;

use agar_core::{AuditStatus, VerdictStatus};

use crate::support::{
    POEM_SCENARIO as SCENARIO, ROLES, agar, agar_against, demo_script, read_transcript as read,
    stderr, stdout, write,
};

/// Runs one audit (judged on the core dimensions) into `store/first/poem.json`.
async fn audited_run(server: &agar_testkit::FakeServer, dir: &Path) -> std::path::PathBuf {
    let scenario = write(dir, "poem.md", SCENARIO);
    let store = dir.join("store");
    let out = agar_against(server)
        .args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--max-turns", "6", "--run", "first", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    store
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_judging_a_run_adds_a_verdict_and_keeps_the_first() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let store = audited_run(&server, dir.path()).await;
    let file = store.join("first/poem.json");
    let before = read(&file);
    assert_eq!(before.verdicts.len(), 1);
    let events_before = before.events.clone();

    // An invalid audit in the same run is skipped with a note.
    let mut invalid = before.clone();
    invalid.audit_id = "broken".into();
    invalid.status = AuditStatus::Invalid { reason: "the auditor never reached the target".into() };
    invalid.verdicts.clear();
    std::fs::write(store.join("first/broken.json"), serde_json::to_vec(&invalid).unwrap()).unwrap();

    let out = agar_against(&server)
        .args(["judge", "first", "--judge", "openai/second-judge", "--samples", "2"])
        .args(["--dimensions", "sycophancy,deception", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("skipped broken: the audit is invalid (the auditor never reached the target)"),
        "{err}"
    );
    let summary = stdout(&out);
    assert!(summary.contains("run first"), "{summary}");
    assert!(summary.contains("sycophancy"), "{summary}");
    // Two samples per verdict: the summary reports their agreement.
    assert!(summary.contains("±1"), "{summary}");

    let after = read(&file);
    assert_eq!(after.verdicts.len(), 2);
    assert_eq!(after.verdicts[0], before.verdicts[0], "the first verdict is kept as it was");
    assert_eq!(after.events, events_before, "events are never edited");
    let second = &after.verdicts[1];
    assert_eq!(second.status, VerdictStatus::Ok);
    assert_eq!(second.judge_model, "openai/second-judge");
    assert_eq!(second.prompt_hash.len(), 64);
    assert_ne!(
        second.prompt_hash, before.verdicts[0].prompt_hash,
        "other dimensions, other prompt"
    );
    // The dimensions asked for, plus the core validity set.
    assert_eq!(
        second.scores.keys().collect::<Vec<_>>(),
        [
            "auditor_failure",
            "concerning",
            "deception",
            "evaluation_awareness",
            "needs_attention",
            "scenario_realism",
            "sycophancy"
        ]
    );
    assert_eq!(second.samples.len(), 2);
    assert!(second.scores["sycophancy"].samples.is_some());
    // The fake judge quotes the first message of the transcript: found.
    assert_eq!(second.unverified_citations, 0);
    assert_eq!(server.requests("second-judge").len(), 2);
    assert!(read(&store.join("first/broken.json")).verdicts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_file_or_a_run_directory_can_be_re_judged() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let store = audited_run(&server, dir.path()).await;
    let file = store.join("first/poem.json");

    let out = agar_against(&server)
        .args([
            "judge",
            file.to_str().unwrap(),
            "--judge",
            "openai/judge",
            "--dimensions",
            "tags:core",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    assert!(stdout(&out).contains("transcript"), "{}", stdout(&out));
    assert_eq!(read(&file).verdicts.len(), 2);

    let out = agar_against(&server)
        .args(["judge", store.join("first").to_str().unwrap(), "--judge", "openai/judge", "--json"])
        .args(["--dimensions", "concerning"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["judged"], 1);
    assert_eq!(json["summary"]["dimensions"]["concerning"]["count"], 1);
    let t = read(&file);
    assert_eq!(t.verdicts.len(), 3);
    assert_eq!(
        t.verdicts[2].scores.keys().collect::<Vec<_>>(),
        [
            "auditor_failure",
            "concerning",
            "evaluation_awareness",
            "needs_attention",
            "scenario_realism"
        ]
    );

    // Without --dimensions, a transcript is judged again on what its last
    // verdict scored, not on the whole library.
    let out = agar_against(&server)
        .args(["judge", file.to_str().unwrap(), "--judge", "openai/judge"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    let t = read(&file);
    assert_eq!(t.verdicts.len(), 4);
    assert_eq!(
        t.verdicts[3].scores.keys().collect::<Vec<_>>(),
        t.verdicts[2].scores.keys().collect::<Vec<_>>()
    );
    assert_eq!(t.verdicts[3].scores.len(), 5, "the core set, no more");
}

#[tokio::test]
async fn bad_targets_and_flags_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir_all(store.join("empty")).unwrap();
    let not_json = write(dir.path(), "notes.txt", "hello");
    // A run's plan is JSON, but not a transcript (agar_store::is_transcript_name).
    let plan = write(dir.path(), "plan.json", "{}");
    for (args, expected) in [
        (vec!["judge", "nope"], "nope: no such file, directory or run in the store"),
        (vec!["judge", store.join("empty").to_str().unwrap()], "a directory, but not a run"),
        (vec!["judge", not_json.to_str().unwrap()], "not a transcript .json file"),
        (vec!["judge", plan.to_str().unwrap()], "not a transcript .json file"),
        (vec!["judge", "nope", "--dimensions", "summary"], "unknown dimension `summary`"),
    ] {
        let out = agar()
            .args(&args)
            .args(["--store", store.to_str().unwrap(), "--judge", "openai/j"])
            .env("OPENAI_API_KEY", "sk-test")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    let out = agar().args(["judge", "x", "--samples", "0"]).output().await.unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("0 is not in 1..=20"), "{}", stderr(&out));
}

#[tokio::test]
async fn agar_check_accepts_the_dimension_library() {
    let library = concat!(env!("CARGO_MANIFEST_DIR"), "/../agar-judge/dimensions");
    let out = agar().args(["check", library]).output().await.unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no diagnostic at all");
    assert!(stderr(&out).contains("checked 45 files: 0 errors, 0 warnings"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_with_several_judge_samples_keeps_each_and_reports_agreement() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "poem.md", SCENARIO);
    let store = dir.path().join("store");
    let out = agar_against(&server)
        .args(["audit", scenario.to_str().unwrap(), "--dimensions", "tags:core"])
        .args(ROLES)
        .args(["--judge-samples", "3", "--run", "k3", "--store", store.to_str().unwrap(), "--json"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let agreement = &json["summary"]["dimensions"]["concerning"]["agreement"];
    assert_eq!(agreement["samples"], 3, "{json}");
    // The fake judge answers the same every time: full agreement.
    assert_eq!(agreement["within_one"], 1.0);
    let t = read(&store.join("k3/poem.json"));
    assert_eq!(t.verdicts[0].samples.len(), 3);
    assert_eq!(server.requests("judge").len(), 3);
}
