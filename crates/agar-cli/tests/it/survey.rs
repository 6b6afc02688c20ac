//! Issue 21: `agar survey` end to end against the fake OpenAI server
//! (log-probabilities), the fake Anthropic server (sampling) and the local
//! model (log-probabilities from its logits), each stored as a run that
//! `show`, `compare`, `report`, `resume` and `--fail-if` read.

use std::path::{Path, PathBuf};

use agar_testkit::{FakeServer, Reply, ScriptedLogprob};
use serde_json::Value;

use crate::support::{agar, agar_against, local_model_cached, stderr, stdout};

fn dataset() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../agar-survey/tests/data/synthetic.csv"))
}

fn lp(pairs: &[(&str, f64)]) -> Reply {
    Reply::Logprobs(ScriptedLogprob::from_probs(pairs))
}

/// The model answers every question of the synthetic file as Germany does.
fn like_germany() -> Vec<Reply> {
    let third = 1.0 / 3.0;
    vec![
        lp(&[("A", 0.6), ("B", 0.3), ("C", 0.1)]),
        lp(&[("A", 0.25), ("B", 0.25), ("C", 0.25), ("D", 0.25)]),
        lp(&[("A", third), ("B", third), ("C", third)]),
    ]
}

/// ... as France does (q0, q1) and Brazil (q2).
fn like_france() -> Vec<Reply> {
    vec![
        lp(&[("B", 0.7), ("A", 0.2), ("C", 0.1)]),
        lp(&[("A", 0.4), ("B", 0.3), ("C", 0.2), ("D", 0.1)]),
        lp(&[("C", 0.6), ("A", 0.2), ("B", 0.2)]),
    ]
}

async fn survey(
    server: &FakeServer,
    store: &Path,
    run: &str,
    extra: &[&str],
) -> std::process::Output {
    agar_against(server)
        .arg("survey")
        .arg(dataset())
        .args(["--model", "openai/m", "--concurrency", "1", "--run", run, "--store"])
        .arg(store)
        .args(extra)
        .output()
        .await
        .unwrap()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn country<'a>(figures: &'a Value, name: &str) -> &'a Value {
    figures["similarity"]["countries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["country"] == name)
        .unwrap_or_else(|| panic!("no {name} in {figures}"))
}

#[tokio::test]
async fn issue_21_logprobs_from_the_fake_server_are_stored_shown_and_gated() {
    let server = FakeServer::start().await;
    server.script("m", like_germany());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out =
        survey(&server, &store, "a", &["--json", "--fail-if", "similarity.Germany<0.99"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let f = json(&out);
    let germany = country(&f, "Germany");
    // 1 up to the wire's f32 log-probabilities (the square root in the
    // distance turns their 1e-8 into about 1e-8 of similarity).
    assert!((germany["similarity"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{germany}");
    assert_eq!(germany["questions"], 3);
    assert_eq!(f["most_similar"][0], "Germany");
    assert_eq!((f["answered"].as_u64(), f["invalid"].as_u64()), (Some(3), Some(0)));
    assert_eq!(f["similarity"]["log_base"], 2);
    assert_eq!(f["gates"][0]["held"], false);
    // Every request asked for the top 20 log-probabilities, with no prefill
    // (the chat-completions API cannot continue a turn).
    let requests = server.requests("m");
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert_eq!(
            (r["logprobs"].clone(), r["top_logprobs"].clone()),
            (Value::Bool(true), 20.into())
        );
        assert_eq!(r["messages"].as_array().unwrap().len(), 1);
    }
    // One stored item per question, with its prompt and distribution.
    let item: Value =
        serde_json::from_slice(&std::fs::read(store.join("a/survey/q0001.json")).unwrap()).unwrap();
    assert_eq!(item["status"], "done");
    assert_eq!(item["line"], 3);
    assert!(item["prompt"]["user"].as_str().unwrap().contains("(D) Not at all"));
    assert_eq!(item["answer"]["distribution"].as_array().unwrap().len(), 4);
    let run: Value =
        serde_json::from_slice(&std::fs::read(store.join("a/run.json")).unwrap()).unwrap();
    assert_eq!(
        (run["kind"].as_str(), run["survey"]["method"].as_str()),
        (Some("survey"), Some("logprobs"))
    );

    // show prints the table; a gap gate holds (exit 3); an unknown country is an input error.
    let show = agar().args(["show", "a", "--store"]).arg(&store).output().await.unwrap();
    assert!(show.status.success(), "{}", stderr(&show));
    let table = stdout(&show);
    assert!(table.contains("log base 2") && table.contains("most similar: Germany"), "{table}");
    let gap = agar()
        .args(["show", "a", "--fail-if", "gap.Germany.France>0.05", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert_eq!(gap.status.code(), Some(3), "{}", stderr(&gap));
    assert!(stderr(&gap).contains("gap.Germany.France>0.05 held"));
    let unknown = agar()
        .args(["show", "a", "--fail-if", "similarity.Atlantis<0.5", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));

    // The CSV and HTML exports.
    let csv = agar()
        .args(["report", "a", "--format", "csv", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert!(csv.status.success(), "{}", stderr(&csv));
    let csv = stdout(&csv);
    assert!(
        csv.starts_with("country,similarity,lower,upper,questions\nGermany,1.000000,"),
        "{csv}"
    );
    assert!(csv.contains("\nNigeria (Non-national sample),"), "{csv}");
    let html = agar()
        .args(["report", "a", "--format", "html", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert!(stdout(&html).contains("<svg") && stdout(&html).contains("Côte d&#39;Ivoire"));
}

#[tokio::test]
async fn issue_21_two_survey_runs_compare_per_country() {
    let server = FakeServer::start().await;
    server.script("m", like_germany());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    assert!(survey(&server, &store, "a", &[]).await.status.success());
    server.script("m", like_france());
    assert!(survey(&server, &store, "b", &[]).await.status.success());
    let out = agar()
        .args([
            "compare",
            "a",
            "b",
            "--json",
            "--fail-if",
            "delta.similarity.France>0.1",
            "--store",
        ])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let cmp = json(&out);
    let row = |name: &str| {
        cmp["countries"].as_array().unwrap().iter().find(|c| c["country"] == name).unwrap().clone()
    };
    let (france, germany) = (row("France"), row("Germany"));
    assert!((france["b"].as_f64().unwrap() - 1.0).abs() < 1e-6, "{france}");
    assert!(france["delta"].as_f64().unwrap() > 0.1);
    assert!(germany["delta"].as_f64().unwrap() < 0.0);
    assert!(france["interval"][0].as_f64().unwrap() <= france["delta"].as_f64().unwrap());
    let text = agar().args(["compare", "a", "b", "--store"]).arg(&store).output().await.unwrap();
    assert!(stdout(&text).contains("b minus a"), "{}", stdout(&text));
}

#[tokio::test]
async fn issue_21_invalid_and_failed_items_are_counted_and_resume_asks_only_the_rest() {
    let server = FakeServer::start().await;
    server.script(
        "m",
        vec![
            lp(&[("The", 0.9), ("A", 0.1)]),
            Reply::status(400, "{\"error\": {\"message\": \"bad\"}}"),
            lp(&[("A", 0.5), ("B", 0.5)]),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = survey(&server, &store, "r", &["--json"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed item leaves the run unfinished: {}",
        stderr(&out)
    );
    let f = json(&out);
    assert_eq!(
        (f["answered"].as_u64(), f["invalid"].as_u64(), f["failed"].as_u64()),
        (Some(2), Some(1), Some(1))
    );
    assert!(stderr(&out).contains("agar resume r"), "{}", stderr(&out));
    // A gate cannot be vouched for while an item failed.
    let gated = agar()
        .args(["show", "r", "--fail-if", "invalid.count>5", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert_eq!(gated.status.code(), Some(2), "{}", stderr(&gated));

    server.script("m", vec![lp(&[("B", 1.0)])]);
    let resumed = agar_against(&server)
        .args(["resume", "r", "--json", "--fail-if", "invalid.share>0.5", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert_eq!(server.calls("m"), 4, "only the failed item is asked again");
    let f = json(&resumed);
    assert_eq!(
        (f["answered"].as_u64(), f["invalid"].as_u64(), f["failed"].as_u64()),
        (Some(3), Some(1), Some(0))
    );
    assert!((f["gates"][0]["value"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
}

#[tokio::test]
async fn issue_21_sampling_on_anthropic_records_k_and_the_method() {
    let anthropic = FakeServer::start_anthropic().await;
    anthropic.script("claude-test", ["A", "B) No", "A", "Because"].map(Reply::text).to_vec());
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = agar()
        .env("ANTHROPIC_BASE_URL", anthropic.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .arg("survey")
        .arg(dataset())
        .args(["--model", "anthropic/claude-test", "--method", "sample", "--samples", "4"])
        .args(["--limit", "1", "--run", "s", "--json", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(anthropic.calls("claude-test"), 4);
    let f = json(&out);
    assert_eq!(
        (f["survey"]["method"].as_str(), f["survey"]["samples"].as_u64()),
        (Some("sample"), Some(4))
    );
    assert_eq!(f["survey"]["temperature"], 1.0);
    let item = &f["items"][0];
    assert_eq!(item["replies"].as_array().unwrap().len(), 4);
    assert!((item["answer"]["mass"].as_f64().unwrap() - 0.75).abs() < 1e-12);
    let d = item["answer"]["distribution"].as_array().unwrap();
    assert!((d[0].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-12);
    // Prefilled with the answer prefix, at temperature 1.
    let r = &anthropic.requests("claude-test")[0];
    assert_eq!(r["temperature"], 1.0);
    let last = r["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["role"], "assistant");
    assert!(last.to_string().contains("Answer: ("), "{last}");
    // Asking Anthropic for log-probabilities fails the item, with the reason.
    let lp = agar()
        .env("ANTHROPIC_BASE_URL", anthropic.base_url())
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .arg("survey")
        .arg(dataset())
        .args(["--model", "anthropic/claude-test", "--limit", "1", "--run", "l", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert_eq!(lp.status.code(), Some(2));
    assert!(stderr(&lp).contains("does not return log-probabilities"), "{}", stderr(&lp));
}

#[tokio::test]
async fn issue_21_a_malformed_dataset_is_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../agar-survey/tests/data/malformed.csv"
    ));
    let out = agar()
        .arg("survey")
        .arg(&bad)
        .args(["--model", "openai/m", "--store"])
        .arg(dir.path().join("store"))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for line in [3, 4, 6, 7] {
        assert!(err.contains(&format!("malformed.csv:{line}: ")), "{err}");
    }
    assert!(!dir.path().join("store").exists(), "no run is created for a bad file");
}

#[tokio::test]
async fn issue_21_the_local_model_answers_by_logprobs_and_by_sampling() {
    if !local_model_cached() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let run = |name: &str, extra: &[&str]| {
        let mut cmd = agar();
        cmd.arg("survey")
            .arg(dataset())
            .args([
                "--model",
                "local/smollm2",
                "--run",
                name,
                "--json",
                "--min-mass",
                "0.05",
                "--store",
            ])
            .arg(&store)
            .args(extra);
        cmd
    };
    let out = run("local-lp", &["--limit", "2"]).output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let f = json(&out);
    for item in f["items"].as_array().unwrap() {
        assert_eq!(item["prefilled"], true);
        let chosen = item["logprobs"][0]["chosen"].as_array().unwrap();
        let letters = item["prompt"]["letters"].as_array().unwrap().len();
        assert_eq!(chosen.len(), letters, "every letter is one token: {item}");
        let mass = item["answer"]["mass"].as_f64().unwrap();
        assert!(mass > 0.0 && mass <= 1.0 + 1e-9, "{mass}");
        let sum: f64 = item["answer"]["distribution"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
    let out = run("local-sample", &["--limit", "2", "--method", "sample", "--samples", "3"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["items"][0]["replies"].as_array().unwrap().len(), 3);
    let cmp = agar()
        .args(["compare", "local-lp", "local-sample", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    assert!(cmp.status.success(), "{}", stderr(&cmp));
    assert!(stdout(&cmp).contains("Germany"), "{}", stdout(&cmp));
}
