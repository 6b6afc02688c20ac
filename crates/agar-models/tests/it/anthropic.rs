//! The Anthropic provider beyond the shared suite, against the fake Messages
//! API on 127.0.0.1: extended thinking kept and replayed (the fake checks
//! signatures and that a tool loop's assistant turn starts with its
//! thinking), prompt caching and its usage, prefill whitespace, the
//! variables `resolve` reads, and final errors.

use std::sync::Arc;
use std::time::Duration;

use agar_core::{ChatModel, ChatRequest, Message, ModelError, Sampling, ToolChoice, ToolDef};
use agar_models::{
    AnthropicConfig, AnthropicProvider, ApiKey, CallPolicy, Env, ResolveSettings, resolve,
};
use agar_testkit::anthropic::{error_reply, thinking_signature};
use agar_testkit::{FakeServer, Reply};
use serde_json::{Value, json};

const MODEL: &str = "claude-test";
const KEY: &str = "sk-ant-test-0123456789abcdef";

fn settings() -> ResolveSettings {
    ResolveSettings {
        policy: CallPolicy {
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            connection_budget: Duration::ZERO,
        },
        ..ResolveSettings::default()
    }
}

fn model(server: &FakeServer, config: AnthropicConfig) -> Arc<dyn ChatModel> {
    let config =
        AnthropicConfig { base_url: server.base_url(), api_key: Some(ApiKey::new(KEY)), ..config };
    settings().wrap(Arc::new(AnthropicProvider::new(MODEL, config).expect("builds")))
}

fn thinking() -> AnthropicConfig {
    AnthropicConfig {
        thinking_budget: Some(2048),
        prompt_cache: false,
        ..AnthropicConfig::default()
    }
}

fn lookup_tool() -> ToolDef {
    ToolDef {
        name: "lookup".into(),
        description: "Looks a word up.".into(),
        parameters: json!({"type": "object", "properties": {"word": {"type": "string"}}}).into(),
    }
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("be brief"), Message::user(text)],
        ..Default::default()
    }
}

#[tokio::test]
async fn thinking_is_kept_and_replayed_unchanged_through_a_tool_loop() {
    let server = FakeServer::start_anthropic().await;
    server.script(
        MODEL,
        vec![Reply::tool_call("lookup", json!({"word": "agar"})), Reply::text("a jelly")],
    );
    let model = model(&server, thinking());
    let mut request = ChatRequest {
        tools: vec![lookup_tool()],
        sampling: Sampling { temperature: Some(0.3), ..Sampling::default() },
        ..ask("what is agar?")
    };

    let first = model.chat(&request).await.expect("a tool call with thinking");

    let reasoning = first.reasoning.clone().expect("reasoning kept");
    assert!(reasoning.starts_with("(fake reasoning #1)"), "{reasoning}");
    let sent = &server.requests(MODEL)[0];
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
    assert!(sent.get("temperature").is_none(), "thinking takes no temperature");
    assert!(sent["max_tokens"].as_u64().expect("set") > 2048);

    // The transcript keeps the message; the next turn sends it back.
    let call_id = first.tool_calls[0].id.clone();
    let message = first.to_message();
    let stored: Message = serde_json::from_value(serde_json::to_value(&message).expect("ser"))
        .expect("a transcript round trip keeps the blocks");
    request.messages.push(stored);
    request.messages.push(Message::tool(call_id, "a seaweed jelly"));
    let second = model.chat(&request).await.expect("the fake accepts the replayed thinking");

    assert_eq!(second.content, "a jelly");
    let replayed = &server.requests(MODEL)[1]["messages"][1]["content"][0];
    assert_eq!(replayed["type"], "thinking");
    assert_eq!(replayed["thinking"], reasoning.as_str());
    assert_eq!(replayed["signature"], thinking_signature(&reasoning).as_str());
}

#[tokio::test]
async fn a_tampered_thinking_block_is_a_final_invalid_request() {
    let server = FakeServer::start_anthropic().await;
    let model = model(&server, thinking());
    let first = model.chat(&ask("hi")).await.expect("answers");
    let mut message = first.to_message();
    let state = message.provider_state.as_mut().expect("thinking kept");
    state["anthropic_thinking"][0]["thinking"] = Value::String("edited".into());
    let mut request = ask("hi");
    request.messages.push(message);
    request.messages.push(Message::user("and?"));

    let err = model.chat(&request).await.expect_err("refused");

    assert!(
        matches!(&err, ModelError::Provider { status: 400, body, .. } if body.contains("signature")),
        "{err}"
    );
    assert_eq!(server.calls(MODEL), 2, "an invalid request is not retried");
}

#[tokio::test]
async fn forced_tool_calls_and_prefills_go_without_thinking() {
    let server = FakeServer::start_anthropic().await;
    let model = model(&server, thinking());
    let forced = ChatRequest {
        tools: vec![lookup_tool()],
        tool_choice: ToolChoice::Tool("lookup".into()),
        ..ask("look it up")
    };

    let call = model.chat(&forced).await.expect("the fake would refuse thinking here");
    let prefilled = ChatRequest { prefill: Some("Well,".into()), ..ask("hi") };
    model.chat(&prefilled).await.expect("answers");

    assert_eq!(call.tool_calls[0].name, "lookup");
    assert!(call.reasoning.is_none());
    for sent in server.requests(MODEL) {
        assert!(sent.get("thinking").is_none(), "{sent}");
    }
}

#[tokio::test]
async fn the_prompt_cache_is_written_then_read_and_counted_as_input() {
    let server = FakeServer::start_anthropic().await;
    let model = model(&server, AnthropicConfig::default());
    let mut request = ask(&"a long question ".repeat(50));

    let first = model.chat(&request).await.expect("answers");
    request.messages.push(first.to_message());
    request.messages.push(Message::user("and then?"));
    let second = model.chat(&request).await.expect("answers");

    assert!(first.usage.cache_write_tokens > 0, "{:?}", first.usage);
    assert_eq!(first.usage.cache_read_tokens, 0);
    assert!(second.usage.cache_read_tokens >= first.usage.cache_write_tokens, "{:?}", second.usage);
    assert!(
        second.usage.input_tokens
            >= second.usage.cache_read_tokens + second.usage.cache_write_tokens,
        "input counts every token: {:?}",
        second.usage
    );
    let sent = &server.requests(MODEL)[1];
    assert_eq!(sent["system"][0]["cache_control"], json!({"type": "ephemeral"}));
}

#[tokio::test]
async fn a_prefill_ending_in_a_space_is_trimmed_and_continued_without_one() {
    let server = FakeServer::start_anthropic().await;
    server.script(MODEL, vec![Reply::text(" it is a jelly.")]);
    let model = model(&server, AnthropicConfig::default());
    let request = ChatRequest { prefill: Some("I think ".into()), ..ask("what is agar?") };

    let answer = model.chat(&request).await.expect("answers");

    let sent = &server.requests(MODEL)[0]["messages"];
    assert_eq!(sent[1]["content"][0]["text"], "I think");
    assert_eq!(format!("I think {}", answer.content), "I think it is a jelly.");
}

#[tokio::test]
async fn resolve_reads_the_base_url_and_key_and_sends_the_headers() {
    let server = FakeServer::start_anthropic().await;
    server.script(MODEL, vec![Reply::text("ok")]);
    let env = Env::empty()
        .with("ANTHROPIC_BASE_URL", format!("{}/\n", server.base_url()))
        .with("ANTHROPIC_API_KEY", format!("{KEY}\n"));

    let model = resolve(&format!("anthropic/{MODEL}"), &env, &settings()).expect("resolves");
    let answer = model.chat(&ask("hi")).await.expect("the fake requires anthropic-version");

    assert_eq!(answer.content, "ok");
    assert_eq!(model.name(), "anthropic/claude-test");
    assert!(model.capabilities().prefill && !model.capabilities().stateful);
    assert_eq!(server.requests_with_auth(MODEL), 1, "x-api-key sent");
    assert_eq!(server.requests(MODEL)[0]["max_tokens"], 4096);
}

#[tokio::test]
async fn client_errors_are_final_and_keys_stay_masked() {
    let server = FakeServer::start_anthropic().await;
    server.push_fault(
        MODEL,
        error_reply(400, "invalid_request_error", &format!("bad request from key {KEY}")),
    );
    let model = model(&server, AnthropicConfig::default());

    let err = model.chat(&ask("hi")).await.expect_err("400");

    assert!(matches!(err, ModelError::Provider { status: 400, .. }), "{err}");
    assert!(!format!("{err:?}").contains(KEY));
    assert_eq!(server.calls(MODEL), 1);
}
