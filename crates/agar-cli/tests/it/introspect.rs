//! Issue 20: `agar introspect` through the binary. Input errors need no
//! model; the smoke run needs SmolLM2 (ignored unless `.ci/run` asks for
//! `local_model` tests) and grades with the fake OpenAI server.

use std::time::Instant;

use agar_testkit::{FakeServer, Reply};
use serde_json::Value;

use crate::support::{agar, agar_against, stderr, stdout, write};

#[tokio::test]
async fn issue_20_introspect_refuses_a_model_it_cannot_look_inside() {
    let dir = tempfile::tempdir().unwrap();
    let out = agar()
        .args(["introspect", "--model", "openai/gpt-4.1-mini", "--judge", "openai/m", "--store"])
        .arg(dir.path().join("store"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("must be local"), "{}", stderr(&out));
    assert!(!dir.path().join("store").exists(), "no run is created");
}

#[tokio::test]
async fn issue_20_introspect_reports_bad_lists_and_flags_before_loading_anything() {
    let dir = tempfile::tempdir().unwrap();
    let words = write(dir.path(), "concepts.txt", "volcano\nvolcano\nhot/cold\n");
    let out = agar()
        .args(["introspect", "--model", "local/smollm2", "--judge", "openai/m", "--concepts"])
        .arg(&words)
        .arg("--store")
        .arg(dir.path().join("store"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for line in [2, 3] {
        assert!(err.contains(&format!("concepts.txt:{line}: error: ")), "{err}");
    }
    for bad in [["--layers", "1.5"], ["--strengths", "0"], ["--limit", "0"]] {
        let out = agar()
            .args(["introspect", "--model", "local/smollm2", "--judge", "openai/m"])
            .args(bad)
            .arg("--store")
            .arg(dir.path().join("store"))
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad:?}: {}", stderr(&out));
    }
    assert!(!dir.path().join("store").exists(), "no run is created for bad input");
}

#[tokio::test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
async fn issue_20_local_model_introspection_smoke_run_through_the_binary() {
    crate::support::pull_smollm2().await;
    let server = FakeServer::start().await;
    // One reply answers every grader question: no claim, coherent, not named
    // (in text: the fallback a judge without tool calls takes).
    server.script_by_turn("grader", vec![Reply::text("CLAIM: NO\nCOHERENT: YES\nNAMED: NO")]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let started = Instant::now();
    let out = agar_against(&server)
        .args(["introspect", "--model", "local/smollm2", "--judge", "openai/grader"])
        .args(["--limit", "2", "--strengths", "4", "--run", "smoke", "--json", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    let took = started.elapsed();
    eprintln!("introspect smoke run on SmolLM2: {:.1} s", took.as_secs_f64());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["spec"]["design"]["layers"], serde_json::json!([19]), "2/3 of 30 layers");
    assert_eq!(v["spec"]["model_width"], 576);
    let row = &v["table"]["rows"][0];
    for (rate, n) in [("detected", 2), ("false_alarms", 2), ("identified", 2), ("yes_bias", 2)] {
        assert_eq!(row[rate]["n"], n, "{rate}: {row}");
        assert_eq!(row[rate]["k"], 0, "{rate}: {row}");
        let hi = row[rate]["interval"][1].as_f64().unwrap();
        assert!(hi > 0.5 && hi < 1.0, "a 95% Wilson interval for 0/2: {hi}");
    }
    assert_eq!(v["table"]["controls"]["n"], 2, "controls are counted apart");
    // 2 injected trials (2 grader calls each), 2 controls and 2 yes-bias (1 each).
    assert_eq!(server.calls("grader"), 8);
    let trials = std::fs::read_dir(store.join("smoke/introspect")).unwrap().count();
    assert_eq!(trials, 6 + 1, "six trials and the vectors");
    let injected: Value = serde_json::from_str(
        &std::fs::read_to_string(store.join("smoke/introspect/l19-s4-inj-000-volcano.json"))
            .unwrap(),
    )
    .unwrap();
    let from = injected["reply"]["injected_from"].as_u64().unwrap();
    let prompt = injected["reply"]["prompt_tokens"].as_u64().unwrap();
    assert!(from > 20 && from < prompt, "the injection starts inside the prompt: {from}/{prompt}");

    let show = agar().args(["show", "smoke", "--json", "--store"]).arg(&store).output().await;
    let show = show.unwrap();
    assert!(show.status.success(), "{}", stderr(&show));
    let shown: Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(shown["table"], v["table"]);

    let again = agar_against(&server).args(["resume", "smoke", "--store"]).arg(&store).output();
    let again = again.await.unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains("every trial of smoke is done"), "{}", stderr(&again));
    assert_eq!(server.calls("grader"), 8, "resume redoes nothing");
    assert!(took.as_secs() < 300, "the smoke run took {took:?}");
}

/// A stored introspection run with two graded trials (one injected trial
/// that noticed and named the concept, one control that claimed nothing),
/// made through agar-introspect's store, as `agar introspect` writes it.
fn stored_run(store: &std::path::Path) {
    use agar_introspect::plan::Design;
    use agar_introspect::{
        Grades, IntrospectSpec, ListKind, TrialKind, TrialRecord, TrialStatus, WordList,
    };
    let design = Design {
        layer_fractions: vec![0.67],
        layers: vec![19],
        strengths: vec![4.0],
        concepts: WordList::shipped(ListKind::Concepts),
        baselines: WordList::shipped(ListKind::Baselines),
        no_questions: WordList::shipped(ListKind::NoQuestions),
        limit: Some(1),
        temperature: 0.7,
        max_tokens: 48,
        seed: 0,
    };
    let trials = design.trials();
    let spec = IntrospectSpec {
        planned: trials.len(),
        design,
        model: "local/smollm2".into(),
        model_sha256: "ab".repeat(32),
        model_layers: 30,
        model_width: 576,
        judge: "openai/grader".into(),
        injection_point: "Question:".into(),
    };
    let store = agar_store::Store::open(store).unwrap();
    agar_introspect::store::create_run(&store, "intro", &spec).unwrap();
    for trial in trials.into_iter().filter(|t| t.kind != TrialKind::YesBias) {
        let injected = trial.kind == TrialKind::Injected;
        let record = TrialRecord {
            status: TrialStatus::Done,
            prompt: agar_introspect::prompt::trial_prompt(),
            vector_norm: injected.then_some(22.0),
            reply: None,
            grades: Some(Grades {
                claim: injected,
                coherent: true,
                named: injected.then_some(true),
                replies: Vec::new(),
                usage: Default::default(),
            }),
            error: None,
            trial,
        };
        agar_introspect::store::write_trial(&store, "intro", &record).unwrap();
    }
}

#[tokio::test]
async fn issue_20_show_report_and_compare_read_an_introspection_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    stored_run(&store);
    let run = |args: &[&str]| {
        let mut cmd = agar();
        cmd.args(args).arg("--store").arg(&store);
        cmd.output()
    };
    let out = run(&["show", "intro", "--json"]).await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["kind"], "introspect");
    let row = &v["table"]["rows"][0];
    assert_eq!((row["detected"]["k"].as_u64(), row["detected"]["n"].as_u64()), (Some(1), Some(1)));
    assert_eq!(row["false_alarms"]["n"], 1, "the control is counted apart");
    assert_eq!(row["false_alarms"]["k"], 0);
    assert_eq!(row["yes_bias"]["n"], 0, "the unrun yes-bias trial is in no rate");
    assert_eq!(v["table"]["pending"], 1);
    let text = run(&["show", "intro"]).await.unwrap();
    assert!(stdout(&text).contains("1/1 100% [21, 100]"), "{}", stdout(&text));
    let md = run(&["report", "intro", "--format", "md"]).await.unwrap();
    assert!(md.status.success(), "{}", stderr(&md));
    assert!(stdout(&md).starts_with("```text\nintrospection run intro"), "{}", stdout(&md));
    for refused in [
        &["report", "intro", "--format", "junit"][..],
        &["compare", "intro", "intro"],
        &["show", "intro", "--fail-if", "concerning.mean>1"],
    ] {
        let out = run(refused).await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{refused:?}: {}", stderr(&out));
    }
}
