//! The OpenAI provider against a real server that is already running
//! (`scripts/llama-cpp-conformance.sh` starts llama.cpp's `llama-server`):
//! the checks that hold whatever the model says. Not run in CI: without
//! `AGAR_REAL_SERVER_URL` the test prints why it did nothing.
//!
//! `AGAR_REAL_SERVER_URL` is the `/v1` root, `AGAR_REAL_SERVER_MODEL` the model
//! name sent (default `model`).

use std::sync::Arc;
use std::time::Duration;

use agar_core::{ChatModel, ChatRequest, Message, ToolChoice, ToolDef};
use agar_models::{CallPolicy, OpenAiConfig, OpenAiProvider, ResolveSettings};
use serde_json::json;

fn server() -> Arc<dyn ChatModel> {
    let Ok(url) = std::env::var("AGAR_REAL_SERVER_URL") else {
        panic!("AGAR_REAL_SERVER_URL is not set (scripts/llama-cpp-conformance.sh sets it)");
    };
    let model = std::env::var("AGAR_REAL_SERVER_MODEL").unwrap_or_else(|_| "model".into());
    let config = OpenAiConfig { base_url: url, ..OpenAiConfig::default() };
    let provider = OpenAiProvider::new(&model, config).expect("builds");
    let policy = CallPolicy { timeout: Duration::from_secs(300), ..CallPolicy::default() };
    ResolveSettings { policy, ..ResolveSettings::default() }.wrap(Arc::new(provider))
}

fn weather() -> ToolDef {
    ToolDef {
        name: "get_weather".into(),
        description: "The weather in a city.".into(),
        parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}).into(),
    }
}

#[tokio::test]
#[ignore = "needs a real llama.cpp server: scripts/llama-cpp-conformance.sh starts one and runs this"]
async fn a_real_server_accepts_agars_requests() {
    let model = server();
    let ask = |text: &str| ChatRequest {
        messages: vec![Message::system("Answer in one short sentence."), Message::user(text)],
        ..Default::default()
    };

    let plain = model.chat(&ask("What is agar made from?")).await.expect("a plain turn");
    assert!(!plain.content.trim().is_empty(), "{plain:?}");

    let forced = ChatRequest {
        tools: vec![weather()],
        tool_choice: ToolChoice::Tool("get_weather".into()),
        ..ask("What is the weather in Lyon?")
    };
    let call = model.chat(&forced).await.expect("a forced tool call");
    let [first] = call.tool_calls.as_slice() else { panic!("one call: {call:?}") };
    assert_eq!(first.name, "get_weather");

    let mut round = ChatRequest { tools: vec![weather()], ..ask("What is the weather in Lyon?") };
    round.messages.push(call.to_message());
    round.messages.push(Message::tool(first.id.clone(), "Sunny, 21 C."));
    let answer = model.chat(&round).await.expect("the turn after a tool call is accepted");
    assert!(answer.finish_reason.is_some(), "{answer:?}");

    let long = ask(&"agar ".repeat(200_000));
    let err = model.chat(&long).await.expect_err("a prompt larger than any small window");
    assert_eq!(err.label(), "context_length", "{err}");
}
