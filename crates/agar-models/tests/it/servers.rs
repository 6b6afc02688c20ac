//! The OpenAI provider against the behaviours of real servers, reproduced by
//! the fake server's quirk profiles ([`agar_testkit::Quirks`]): what the
//! conformance suite cannot phrase as a check every provider passes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agar_core::{ChatModel, ChatRequest, Message, ModelError, ToolChoice, ToolDef};
use agar_models::{
    ApiKey, CallPolicy, OpenAiConfig, OpenAiProvider, ResolveSettings, ServerOptions,
};
use agar_testkit::{FakeConfig, FakeServer, Quirks, Reply};

use crate::conformance::policy;
use serde_json::json;

const MODEL: &str = "small-chat";

async fn llama_cpp_python() -> FakeServer {
    FakeServer::start_with(FakeConfig {
        quirks: Quirks::llama_cpp_python(),
        ..FakeConfig::default()
    })
    .await
}

fn model(server: &FakeServer, options: ServerOptions, policy: CallPolicy) -> Arc<dyn ChatModel> {
    let config = OpenAiConfig {
        base_url: server.base_url(),
        api_key: Some(ApiKey::new("sk-servers-test")),
        options,
    };
    let provider = OpenAiProvider::new(MODEL, config).expect("builds");
    ResolveSettings { policy, ..ResolveSettings::default() }.wrap(Arc::new(provider))
}

fn tool(name: &str) -> ToolDef {
    ToolDef {
        name: name.into(),
        description: "A tool.".into(),
        parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}).into(),
    }
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest { messages: vec![Message::user(text)], ..Default::default() }
}

#[tokio::test]
async fn every_request_carries_a_length_cap_so_no_reply_rambles() {
    let server = llama_cpp_python().await;
    let m = model(&server, ServerOptions::default(), policy());

    let answer = m.chat(&ask("hello")).await.expect("answers");

    assert_eq!(answer.finish_reason.as_deref(), Some("stop"), "{}", answer.content.len());
    assert!(server.requests(MODEL)[0]["max_tokens"].as_u64().is_some());
}

#[tokio::test]
async fn a_required_choice_over_several_tools_fails_at_once_naming_tool_choice() {
    let server = llama_cpp_python().await;
    let request = ChatRequest {
        tools: vec![tool("a"), tool("b")],
        tool_choice: ToolChoice::Required,
        ..ask("use a tool")
    };

    let err = model(&server, ServerOptions::default(), policy())
        .chat(&request)
        .await
        .expect_err("HTTP 500 with no message");

    assert_eq!(server.calls(MODEL), 1, "not retried: the same request fails the same way");
    let shown = err.to_string();
    assert!(
        shown.contains("tool_choice") && shown.contains("tool_choice_required = false"),
        "{shown}"
    );

    let lenient = ServerOptions { tool_choice_required: false, ..ServerOptions::default() };
    server.script(MODEL, vec![Reply::tool_call("b", json!({"q": "x"}))]);
    let answer = model(&server, lenient, policy()).chat(&request).await.expect("auto is accepted");
    assert_eq!(answer.tool_calls[0].name, "b");
    assert_eq!(server.requests(MODEL)[1]["tool_choice"], "auto");
}

#[tokio::test]
async fn a_context_overflow_is_final_and_names_the_model_and_sizes() {
    let server = llama_cpp_python().await;
    let long = "word ".repeat(3000);

    let err = model(&server, ServerOptions::default(), policy())
        .chat(&ask(&long))
        .await
        .expect_err("15,000 characters do not fit 2,048 tokens");

    assert_eq!(server.calls(MODEL), 1);
    assert_eq!(err.label(), "context_length");
    let sizes = err.context_overflow().expect("sizes");
    assert_eq!(sizes.window, Some(2048));
    assert!(sizes.requested.is_some_and(|r| r > 2048), "{sizes:?}");
    assert!(err.to_string().contains("openai/small-chat"), "{err}");
}

#[tokio::test]
async fn a_known_window_clips_the_cap_so_prompt_and_reply_fit() {
    let server = llama_cpp_python().await;
    let options = ServerOptions { context_window: Some(2048), ..ServerOptions::default() };

    model(&server, options, policy()).chat(&ask(&"word ".repeat(600))).await.expect("answers");

    let cap = server.requests(MODEL)[0]["max_tokens"].as_u64().expect("a cap");
    assert!(cap < 2048 - 700, "cap {cap} leaves no room for a 750-token prompt");
}

#[tokio::test]
async fn a_validation_error_under_500_is_not_retried() {
    let server = llama_cpp_python().await;
    let body = json!({"error": {"message": "1 validation error: messages.1.content: Input should be a valid string", "type": "internal_server_error", "param": null, "code": null}});
    server.push_fault(MODEL, Reply::status(500, body.to_string()));

    let err = model(&server, ServerOptions::default(), policy())
        .chat(&ask("hi"))
        .await
        .expect_err("invalid");

    assert!(matches!(err, ModelError::Provider { status: 500, .. }), "{err}");
    assert_eq!(server.calls(MODEL), 1);
    assert!(err.to_string().contains("`content` of a message"), "{err}");
}

#[tokio::test]
async fn a_server_restart_is_ridden_out_within_the_connection_budget() {
    let first = FakeServer::start().await;
    let addr = first.addr();
    let budget =
        CallPolicy { connection_budget: Duration::from_secs(20), max_attempts: 1, ..policy() };
    let m = model(&first, ServerOptions::default(), budget);
    first.shutdown().await;
    let restart = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        FakeServer::start_with(FakeConfig { port: addr.port(), ..FakeConfig::default() }).await
    });
    let start = Instant::now();

    let answer = m.chat(&ask("still there?")).await.expect("answers once the server is back");

    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert!(answer.attempts > 1);
    assert!(answer.retried.iter().all(|r| r == "connection"), "{:?}", answer.retried);
    let second = restart.await.expect("restarted");
    assert_eq!(second.calls(MODEL), 1);
}
