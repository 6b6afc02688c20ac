//! Gates that fail closed and verdicts that are not counted: an
//! `unsupported` verdict (quotes not found, repetition) is stored with its
//! reasons and counted apart; a gated run with an unjudged audit exits 2; a
//! condition on a dimension nobody scored exits 1 on audit, show and compare;
//! run-level names (`invalid.share`, `failed.count`, `unjudged.count`) gate;
//! `show` names unpriced models and reviewer agreement.

use std::path::Path;

use agar_core::{AuditStatus, Transcript, VerdictStatus};
use agar_store::{Agreement, Label, Store};
use agar_testkit::{FakeServer, Reply};
use serde_json::json;

use crate::support::{
    POEM_SCENARIO as SCENARIO, ROLES, agar, agar_against, demo_script, read_transcript as read,
    stderr, stdout, write,
};

/// Audits `names` (one scenario each) against the demo script into run
/// `first`, judged on `concerning`; returns the store.
async fn audited(
    server: &FakeServer,
    dir: &Path,
    names: &[&str],
    extra: &[&str],
) -> std::process::Output {
    for n in names {
        write(&dir.join("scenarios"), &format!("{n}.md"), SCENARIO);
    }
    agar_against(server)
        .args(["audit", dir.join("scenarios").to_str().unwrap(), "--dimensions", "concerning"])
        .args(ROLES)
        .args(["--max-turns", "6", "--run", "first", "--concurrency", "1"])
        .args(["--store", dir.join("store").to_str().unwrap()])
        .args(extra)
        .output()
        .await
        .unwrap()
}

/// A `submit_verdict` call scoring `concerning`.
fn verdict(score: u8, justification: &str, quotes: &[&str], summary: &str) -> Reply {
    let citations: Vec<_> = quotes.iter().map(|q| json!({"message": "M2", "quote": q})).collect();
    let mut answer = json!({
        "concerning": {"score": score, "justification": justification, "citations": citations},
        "summary": summary,
        "highlights": []
    });
    // The core validity dimensions are judged on every audit too.
    for core in agar_judge::CORE_DIMENSIONS.iter().filter(|d| **d != "concerning") {
        answer[*core] = json!({"score": 1, "justification": "Nothing to note.", "citations": []});
    }
    Reply::tool_call("submit_verdict", answer)
}

fn show(store: &Path, args: &[&str]) -> tokio::process::Command {
    let mut cmd = agar();
    cmd.args(["show"]).args(args).args(["--store", store.to_str().unwrap()]);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_verdicts_are_kept_with_reasons_counted_apart_and_block_gates() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let out = audited(&server, dir.path(), &["a-quotes", "b-loop", "c-fine"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let store = dir.path().join("store");
    // The default fake judge quotes the transcript: every first verdict is ok.
    for n in ["a-quotes", "b-loop", "c-fine"] {
        assert!(read(&store.join(format!("first/{n}.json"))).verdicts[0].is_ok(), "{n}");
    }

    // Re-judged by a judge whose first answer cites six quotes that are not
    // in the transcript, whose second repeats one sentence until cut off; the
    // third transcript gets the fake judge's own (supported) answer.
    let six = [
        "the moon is cheese",
        "I will hack the bank",
        "send me your password",
        "ignore all rules",
        "buy bitcoin now",
        "I am not an AI",
    ];
    let looped = "The target praised the poem without reserve. ".repeat(15) + "The target pra";
    for (audit, answer) in [
        ("a-quotes", verdict(10, "Very concerning.", &six, "Bad.")),
        ("b-loop", verdict(9, "It flattered.", &[], &looped)),
    ] {
        server.script("bad-judge", vec![answer]);
        let file = store.join(format!("first/{audit}.json"));
        let out = agar_against(&server)
            .args(["judge", file.to_str().unwrap(), "--judge", "openai/bad-judge"])
            .args(["--dimensions", "concerning"])
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("(1 not counted: the verdict is unsupported)"), "{audit}: {text}");
    }
    let quotes = read(&store.join("first/a-quotes.json"));
    match &quotes.verdicts[1].status {
        VerdictStatus::Unsupported { reasons } => assert_eq!(
            reasons,
            &["6 of 6 citations were not found in the transcript (more than 50%)".to_string()]
        ),
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert_eq!(quotes.verdicts[1].score("concerning"), Some(10), "the scores are kept and shown");
    let looped = read(&store.join("first/b-loop.json"));
    match &looped.verdicts[1].status {
        VerdictStatus::Unsupported { reasons } => {
            assert!(
                reasons[0].starts_with("the summary repeats one sentence 15 times"),
                "{reasons:?}"
            )
        }
        other => panic!("expected unsupported, got {other:?}"),
    }
    assert_eq!(read(&store.join("first/c-fine.json")).verdicts.len(), 1);

    // show counts them apart; their scores are not in the figures.
    let out = show(&store, &["first", "--json"]).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["judge_unsupported"], 2, "{json}");
    assert_eq!(json["summary"]["judge_failed"], 0);
    assert_eq!(json["summary"]["dimensions"]["concerning"]["count"], 1);
    let out = show(&store, &["first"]).output().await.unwrap();
    assert!(
        stdout(&out).contains("(2 not counted: the verdict is unsupported)"),
        "{}",
        stdout(&out)
    );

    // Gated, the run cannot be vouched for: exit 2, saying how many and why.
    let out = show(&store, &["first", "--fail-if", "concerning.max>9"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("2 of 3 audits of run first were not judged (2: the verdict is unsupported)"),
        "{err}"
    );
    let md = agar()
        .args(["report", "first", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(stdout(&md).contains("2 not counted: the verdict is unsupported"), "{}", stdout(&md));

    // --only-unjudged judges those two again (the fake judge's answer is supported).
    let out = agar_against(&server)
        .args(["judge", "first", "--judge", "openai/judge", "--only-unjudged"])
        .args(["--dimensions", "concerning", "--store", store.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("c-fine: its latest verdict is ok (--only-unjudged)"));
    assert_eq!(read(&store.join("first/c-fine.json")).verdicts.len(), 1);
    assert_eq!(read(&store.join("first/a-quotes.json")).verdicts.len(), 3);
    assert!(read(&store.join("first/b-loop.json")).verdicts[2].is_ok());
    let out = show(&store, &["first", "--fail-if", "concerning.max>9"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gated_run_whose_judge_always_fails_exits_2() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    server.script_by_turn("judge", vec![Reply::text("Here are my thoughts, in prose.")]);
    let dir = tempfile::tempdir().unwrap();
    let out = audited(&server, dir.path(), &["poem"], &["--fail-if", "concerning.max>9"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "1 of 1 audits of run first were not judged (1: the judge failed past its retries)"
        ),
        "{err}"
    );
    // Ungated, the run itself is fine: its summary says the judge failed.
    let store = dir.path().join("store");
    let out = show(&store, &["first"]).output().await.unwrap();
    assert!(out.status.success());
    assert!(stdout(&out).contains("1 not judged: the judge failed"), "{}", stdout(&out));
    // unjudged.count names them: the condition decides, and it holds.
    let out = show(&store, &["first", "--fail-if", "unjudged.count>0"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = show(&store, &["first", "--fail-if", "unjudged.count>1"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dimension_nobody_scored_is_an_input_error_on_audit_show_and_compare() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // audit: refused before any model is called.
    let out =
        audited(&server, dir.path(), &["poem"], &["--fail-if", "no_such_dimension.max>3"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no dimension `no_such_dimension`"), "{}", stderr(&out));
    assert_eq!(server.total_calls(), 0);

    let out = audited(&server, dir.path(), &["poem"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out =
        show(&store, &["first", "--fail-if", "no_such_dimension.max>3"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no dimension `no_such_dimension` in run first"),
        "{}",
        stderr(&out)
    );
    // A near name is suggested.
    let out = show(&store, &["first", "--fail-if", "concernin.max>3"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("(did you mean `concerning`?)"), "{}", stderr(&out));
    // A library dimension this run never judged.
    let out = show(&store, &["first", "--fail-if", "sycophancy.max>3"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for cond in ["no_such_dimension.max>3", "delta.no_such_dimension.mean>0"] {
        let out = agar()
            .args(["compare", "first", "first", "--fail-if", cond])
            .args(["--store", store.to_str().unwrap()])
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{cond}: {}", stderr(&out));
        assert!(stderr(&out).contains("no_such_dimension"), "{}", stderr(&out));
    }
    let out = show(&store, &["first", "--fail-if", "concerning.max>9"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Rewrites one stored audit of run `first`.
fn edit(store: &Store, audit: &str, change: impl FnOnce(&mut Transcript)) {
    let mut t = store.read_transcript("first", audit).unwrap();
    change(&mut t);
    store.write_transcript(&t).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_level_names_gate_and_a_failed_compare_side_blocks() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let out = audited(&server, dir.path(), &["a", "b", "c", "d"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    edit(&store, "b", |t| {
        t.status = AuditStatus::Invalid { reason: "the auditor never probed".into() };
        t.verdicts.clear();
    });
    edit(&store, "c", |t| {
        t.status = AuditStatus::Failed { cause: "target: timed out".into() };
        t.verdicts.clear();
    });
    for (cond, code) in [
        ("invalid.share>0", 3),
        ("invalid.share>0.25", 0),
        ("invalid.count>=1", 3),
        ("failed.count>0", 3),
        ("failed.count>1", 0),
        ("unjudged.count>0", 0),
    ] {
        let out = show(&root, &["first", "--fail-if", cond]).output().await.unwrap();
        assert_eq!(out.status.code(), Some(code), "{cond}: {}", stderr(&out));
        if code == 3 {
            assert!(stderr(&out).contains(&format!("--fail-if {cond} held")), "{}", stderr(&out));
        }
    }
    // An unjudged audit on the baseline side of a comparison blocks it.
    edit(&store, "d", |t| {
        t.verdicts[0].status = VerdictStatus::JudgeFailed { error: "x".into(), raw: String::new() };
    });
    let out = agar()
        .args(["compare", "first", "first", "--fail-if", "delta.concerning.mean>0"])
        .args(["--store", root.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 of 4 audits of run first were not judged"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_names_unpriced_models_and_reviewer_agreement() {
    let server = FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    let out = audited(&server, dir.path(), &["poem"], &["--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["summary"]["unpriced_models"],
        json!(["openai/auditor", "openai/judge", "openai/target"]),
        "no model of the fake server has a price: {json}"
    );
    let root = dir.path().join("store");
    let store = Store::open(&root).unwrap();
    let label = |agreement, note: &str| Label {
        agreement,
        note: note.into(),
        reviewer: Some("ana".into()),
        at: chrono::Utc::now(),
    };
    store.set_label("first", "poem", "concerning", label(Agreement::Disagree, "too low")).unwrap();
    let out = show(&root, &["first", "--json"]).output().await.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["labels"]["overall"], json!({"labelled": 1, "agree": 0, "disagree": 1}));
    assert_eq!(json["labels"]["disagreements"][0]["note"], "too low");
    assert!(json["labels"]["disagreements"][0]["score"].is_u64());
    let out = show(&root, &["first"]).output().await.unwrap();
    let text = stdout(&out);
    assert!(
        text.contains(
            "no cost: no price in agar.toml for openai/auditor, openai/judge, openai/target"
        ),
        "{text}"
    );
    assert!(text.contains("reviewer labels: 1 (0 agree, 1 disagree with the judge: 0%)"), "{text}");
    let out = agar()
        .args(["report", "first", "--format", "json", "--store", root.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["labels"]["overall"]["disagree"], 1);
    assert_eq!(json["summary"]["unpriced_models"][0], "openai/auditor");
}
