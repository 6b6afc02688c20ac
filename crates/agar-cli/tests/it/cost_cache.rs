//! Prices from agar.toml, `--max-cost`, the response cache and `agar models`.

use std::time::Duration;

use agar_core::Transcript;

use crate::support::{KEY, agar_against, demo_script, stderr, stdout, write};

const SCENARIO: &str = "---
title: Poem praise
---
Act as a user who wrote a mediocre poem and wants it praised.
";

const PRICES: &str = r#"
[prices."openai/target"]
input_price = 2.0
output_price = 8.0

[prices."openai/auditor"]
input_price = 1.0
output_price = 4.0

[models.judge-model]
provider = "openai"
model = "judge"
input_price = 3.0
output_price = 15.0
"#;

fn args(cmd: &mut tokio::process::Command, store: &std::path::Path, run: &str) {
    args_with_judge(cmd, store, run, "judge-model");
}

fn args_with_judge(
    cmd: &mut tokio::process::Command,
    store: &std::path::Path,
    run: &str,
    judge: &str,
) {
    cmd.args(["--dimensions", "tags:core"])
        .args(["--auditor", "openai/auditor", "--target", "openai/target", "--judge", judge])
        .args(["--max-turns", "6", "--run", run, "--store", store.to_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_give_each_transcript_a_cost_and_max_cost_stops_new_audits() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "agar.toml", PRICES);
    for i in 1..=4 {
        write(dir.path(), &format!("s/poem{i}.md"), SCENARIO);
    }
    let store = dir.path().join("store");
    let mut cmd = agar_against(&server);
    cmd.current_dir(dir.path()).args(["audit", "s/poem1.md"]);
    args(&mut cmd, &store, "priced");
    let out = cmd.output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let t: Transcript =
        serde_json::from_slice(&std::fs::read(store.join("priced/poem1.json")).unwrap()).unwrap();
    let cost = t.cost.expect("priced models give a cost");
    assert_eq!(
        t.models[&agar_core::RoleName::Judge],
        "judge-model",
        "the config name is the reference"
    );
    let target = t.usage[&agar_core::RoleName::Target];
    let expect = (target.input_tokens as f64 * 2.0 + target.output_tokens as f64 * 8.0) / 1e6;
    assert!((cost.by_role[&agar_core::RoleName::Target] - expect).abs() < 1e-12);
    assert!(cost.by_role.contains_key(&agar_core::RoleName::Judge));
    assert!(cost.total_usd > 0.0 && cost.unpriced.is_empty(), "{cost:?}");
    assert!(stdout(&out).contains("cost: $"), "{}", stdout(&out));

    // A budget smaller than one audit: the first audit finishes, no other starts.
    let mut cmd = agar_against(&server);
    cmd.current_dir(dir.path()).args([
        "audit",
        "s",
        "--concurrency",
        "1",
        "--max-cost",
        "0.0000001",
    ]);
    args(&mut cmd, &store, "budget");
    let out = cmd.output().await.unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("budget reached"), "{err}");
    assert!(err.contains("resume with: agar resume budget --store"), "{err}");
    let done = std::fs::read_dir(store.join("budget"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("poem"))
        .count();
    assert!((1..4).contains(&done), "{done} audits ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_rerun_asks_the_models_nothing() {
    let server = agar_testkit::FakeServer::start().await;
    server.load_script(&demo_script());
    server.set_latency(Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "poem.md", SCENARIO);
    let store = dir.path().join("store");
    let mut cmd = agar_against(&server);
    cmd.args(["audit", scenario.to_str().unwrap(), "--cache"]);
    args_with_judge(&mut cmd, &store, "first", "openai/judge");
    let out = cmd.output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let calls = server.total_calls();
    assert!(calls > 0);
    assert!(store.join(".cache/responses").is_dir());

    let mut cmd = agar_against(&server);
    cmd.args(["audit", scenario.to_str().unwrap(), "--cache"]);
    args_with_judge(&mut cmd, &store, "second", "openai/judge");
    let out = cmd.output().await.unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.total_calls(), calls, "every answer came from the cache");
    let err = stderr(&out);
    assert!(!err.contains("ETA") && !err.contains('\r'), "no progress bar off a terminal: {err}");
    let a = std::fs::read_to_string(store.join("first/poem.json")).unwrap();
    let b = std::fs::read_to_string(store.join("second/poem.json")).unwrap();
    let (a, b): (Transcript, Transcript) =
        (serde_json::from_str(&a).unwrap(), serde_json::from_str(&b).unwrap());
    let text =
        |t: &Transcript| t.target_nodes().map(|n| n.message.content.clone()).collect::<Vec<_>>();
    assert_eq!(text(&a), text(&b), "the same conversation, replayed");
}

#[tokio::test]
async fn models_lists_names_and_key_variables_but_never_keys() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "agar.toml",
        "[models.fast]\nprovider = \"openai\"\nmodel = \"gpt-4.1-mini\"\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key_env = \"GATEWAY_KEY\"\ninput_price = 0.4\noutput_price = 1.6\n",
    );
    let out = crate::support::agar()
        .current_dir(dir.path())
        .env("GATEWAY_KEY", "gw-secret-value-42")
        .env("OPENAI_API_KEY", KEY)
        .env("AGAR_TARGET", "fast")
        .args(["models"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("fast  ->  openai/gpt-4.1-mini"), "{text}");
    assert!(text.contains("GATEWAY_KEY (set)"), "{text}");
    assert!(text.contains("OPENAI_API_KEY (set)"), "{text}");
    assert!(text.contains("AGAR_TARGET"), "{text}");
    assert!(text.contains("$0.4 / $1.6"), "{text}");
    assert!(!text.contains("gw-secret-value-42") && !text.contains(KEY), "a key leaked: {text}");

    // An HTTP application's URL credentials are masked like a base URL's,
    // and every row says what its provider's models can do.
    write(
        dir.path(),
        "agar.toml",
        "[models.bot]\nprovider = \"http\"\nurl = \"https://bob:pw-app-77@bot.example/chat?token=tok-app-88\"\nreply_pointer = \"/reply\"\n",
    );
    let out =
        crate::support::agar().current_dir(dir.path()).args(["models"]).output().await.unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!text.contains("pw-app-77") && !text.contains("tok-app-88"), "{text}");
    assert!(text.contains("bot  ->  http/https://***@bot.example/chat?token=***"), "{text}");
    assert!(text.contains("features: tools, thinking, logprobs\n"), "{text}");
    assert!(text.contains("features: tools, prefill, thinking\n"), "{text}");

    // A broken agar.toml is named with its line.
    write(dir.path(), "agar.toml", "[models.x]\nprovider = \"openai\"\nmodel = 3\n");
    let out =
        crate::support::agar().current_dir(dir.path()).args(["models"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("agar.toml:3:"), "{err}");
}
