//! The OpenAI provider over real HTTP against the fake server on 127.0.0.1,
//! resolved through `resolve` exactly as the binary does, in real time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agar_core::{ChatModel, ChatRequest, Message, ModelError, ToolCall, ToolChoice, ToolDef};
use agar_models::{CallPolicy, Env, ResolveSettings, resolve};
use agar_testkit::{FakeServer, Reply};
use serde_json::json;

const MODEL: &str = "gpt-test";
const REFERENCE: &str = "openai/gpt-test";
const KEY: &str = "sk-test-0123456789abcdef";

/// Fast retries so the tests stay quick; `Retry-After` is still honoured in full.
fn settings() -> ResolveSettings {
    ResolveSettings {
        policy: CallPolicy {
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
            connection_budget: Duration::ZERO,
        },
        ..ResolveSettings::default()
    }
}

fn env(server: &FakeServer, key: Option<&str>) -> Env {
    let env = Env::empty().with("OPENAI_BASE_URL", server.base_url());
    match key {
        Some(key) => env.with("OPENAI_API_KEY", key),
        None => env,
    }
}

fn model(server: &FakeServer) -> Arc<dyn ChatModel> {
    resolve(REFERENCE, &env(server, Some(KEY)), &settings()).expect("resolves")
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system("be brief"), Message::user(text)],
        ..Default::default()
    }
}

fn lookup_tool() -> ToolDef {
    ToolDef {
        name: "lookup".into(),
        description: "Looks a word up.".into(),
        parameters: json!({
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"]
        })
        .into(),
    }
}

#[tokio::test]
async fn a_plain_text_turn() {
    let server = FakeServer::start().await;
    server.script(MODEL, vec![Reply::text("hello there")]);

    let answer = model(&server).chat(&ask("hi")).await.expect("answers");

    assert_eq!(answer.content, "hello there");
    assert!(answer.tool_calls.is_empty());
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.attempts, 1);
    assert!(answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0);
    let sent = &server.requests(MODEL)[0];
    assert_eq!(sent["model"], MODEL);
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    );
    assert!(server.saw_auth(MODEL));
}

#[tokio::test]
async fn a_forced_tool_call_round_trip() {
    let server = FakeServer::start().await;
    server.script(
        MODEL,
        vec![Reply::tool_call("lookup", json!({"word": "agar"})), Reply::text("it is a jelly")],
    );
    let model = model(&server);
    let mut request = ChatRequest {
        tools: vec![lookup_tool()],
        tool_choice: ToolChoice::Tool("lookup".into()),
        ..ask("what is agar?")
    };

    let first = model.chat(&request).await.expect("tool call");

    assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
    let [call] = first.tool_calls.as_slice() else { panic!("one call: {first:?}") };
    assert_eq!(call.name, "lookup");
    assert_eq!(call.parse_arguments().expect("json"), json!({"word": "agar"}));
    let sent = &server.requests(MODEL)[0];
    assert_eq!(sent["tool_choice"], json!({"type": "function", "function": {"name": "lookup"}}));
    assert_eq!(sent["tools"][0]["type"], "function");
    assert_eq!(sent["tools"][0]["function"]["name"], "lookup");
    assert_eq!(sent["tools"][0]["function"]["parameters"], *lookup_tool().parameters);

    // Send the call back with its result.
    request.messages.push(first.to_message());
    request.messages.push(Message::tool(call.id.clone(), "a jelly made from seaweed"));
    request.tool_choice = ToolChoice::Auto;
    let second = model.chat(&request).await.expect("text");

    assert_eq!(second.content, "it is a jelly");
    let sent = &server.requests(MODEL)[1];
    let messages = sent["messages"].as_array().expect("messages");
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": "", "tool_calls": [{
            "id": call.id, "type": "function",
            "function": {"name": "lookup", "arguments": call.arguments}
        }]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "tool_call_id": call.id, "content": "a jelly made from seaweed"})
    );
    assert_eq!(sent["tool_choice"], "auto", "explicit: some servers ignore tools without it");
}

#[tokio::test]
async fn malformed_tool_arguments_are_kept_as_written() {
    let server = FakeServer::start().await;
    server.script(MODEL, vec![Reply::MalformedToolArguments]);
    let request = ChatRequest { tools: vec![lookup_tool()], ..ask("go") };

    let answer = model(&server).chat(&request).await.expect("a valid envelope");

    let call: &ToolCall = &answer.tool_calls[0];
    assert!(call.parse_arguments().is_err(), "kept raw: {:?}", call.arguments);
    assert!(!call.arguments.is_empty());
}

#[tokio::test]
async fn a_429_with_retry_after_and_a_non_json_body_is_retried() {
    let server = FakeServer::start().await;
    server.push_fault(
        MODEL,
        Reply::Status {
            code: 429,
            retry_after: Some("1".into()),
            body: "slow down (not json)".into(),
        },
    );
    server.script(MODEL, vec![Reply::text("finally")]);
    let start = Instant::now();

    let answer = model(&server).chat(&ask("hi")).await.expect("second attempt answers");

    assert_eq!(answer.content, "finally");
    assert_eq!(answer.attempts, 2);
    assert_eq!(server.calls(MODEL), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn the_rate_limit_error_carries_status_retry_after_and_body() {
    let server = FakeServer::start().await;
    for _ in 0..4 {
        server.push_fault(
            MODEL,
            Reply::Status {
                code: 429,
                retry_after: Some("0".into()),
                body: "<html>busy</html>".into(),
            },
        );
    }

    let err = model(&server).chat(&ask("hi")).await.expect_err("always 429");

    assert_eq!(err.attempts(), 4);
    match err.last_attempt() {
        ModelError::RateLimited { status, retry_after, body } => {
            assert_eq!((*status, *retry_after), (429, Some(Duration::ZERO)));
            assert_eq!(body, "<html>busy</html>");
        }
        other => panic!("expected rate limited, got {other:?}"),
    }
    assert_eq!(server.calls(MODEL), 4);
}

#[tokio::test]
async fn a_400_is_not_retried() {
    let server = FakeServer::start().await;
    server.push_fault(MODEL, Reply::status(400, r#"{"error": {"message": "bad request"}}"#));
    server.script(MODEL, vec![Reply::text("never")]);

    let err = model(&server).chat(&ask("hi")).await.expect_err("400");

    assert!(
        matches!(&err, ModelError::Provider { status: 400, body, .. } if body.contains("bad request")),
        "{err}"
    );
    assert_eq!(server.calls(MODEL), 1);
}

#[tokio::test]
async fn a_500_is_retried() {
    let server = FakeServer::start().await;
    server.push_fault(MODEL, Reply::server_error());
    server.script(MODEL, vec![Reply::text("recovered")]);

    let answer = model(&server).chat(&ask("hi")).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("recovered", 2));
}

#[tokio::test]
async fn a_malformed_body_is_undecodable() {
    let server = FakeServer::start().await;
    for _ in 0..4 {
        server.push_fault(MODEL, Reply::Malformed);
    }

    let err = model(&server).chat(&ask("hi")).await.expect_err("never decodes");

    assert!(matches!(err.last_attempt(), ModelError::Undecodable { .. }), "{err}");
    assert_eq!(server.calls(MODEL), 4, "undecodable replies are retried");
}

#[tokio::test]
async fn a_truncated_body_is_retried() {
    let server = FakeServer::start().await;
    server.push_fault(MODEL, Reply::Truncated);
    server.script(MODEL, vec![Reply::text("whole")]);

    let answer = model(&server).chat(&ask("hi")).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("whole", 2));
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let server = FakeServer::start().await;
    server.push_fault(MODEL, Reply::Hang);
    let settings = ResolveSettings {
        policy: CallPolicy {
            timeout: Duration::from_millis(300),
            max_attempts: 1,
            ..settings().policy
        },
        ..settings()
    };
    let model = resolve(REFERENCE, &env(&server, None), &settings).expect("resolves");

    let err = model.chat(&ask("hi")).await.expect_err("hangs");

    assert!(matches!(err, ModelError::Timeout(_)), "{err}");
}

#[tokio::test]
async fn the_key_never_appears_in_errors_even_when_echoed() {
    let server = FakeServer::start().await;
    let echo = format!(r#"{{"error": {{"message": "Incorrect API key provided: {KEY}"}}}}"#);
    server.push_fault(MODEL, Reply::status(401, echo));
    server.push_fault(MODEL, Reply::status(503, format!("upstream rejected Bearer {KEY}")));
    server.push_fault(MODEL, Reply::status(503, format!("upstream rejected Bearer {KEY}")));
    server.push_fault(MODEL, Reply::status(503, format!("upstream rejected Bearer {KEY}")));
    server.push_fault(MODEL, Reply::status(503, format!("upstream rejected Bearer {KEY}")));
    let model = model(&server);

    let unauthorized = model.chat(&ask("hi")).await.expect_err("401");
    let unavailable = model.chat(&ask("hi")).await.expect_err("503 four times");

    for err in [unauthorized, unavailable] {
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(KEY), "key leaked: {shown}");
        assert!(shown.contains("***"), "{shown}");
    }
    assert!(!format!("{model:?}").contains(KEY));
}

#[tokio::test]
async fn a_base_url_with_a_trailing_slash_and_newline_works() {
    let server = FakeServer::start().await;
    server.script(MODEL, vec![Reply::text("ok")]);
    let env = Env::empty()
        .with("OPENAI_BASE_URL", format!("{}/\n", server.base_url()))
        .with("OPENAI_API_KEY", format!("{KEY}\n"));

    let model = resolve(REFERENCE, &env, &settings()).expect("resolves");
    let answer = model.chat(&ask("hi")).await.expect("answers");

    assert_eq!(answer.content, "ok");
    assert_eq!(server.requests_with_auth(MODEL), 1);
}

#[tokio::test]
async fn a_local_server_gets_no_authorization_header() {
    let server = FakeServer::start().await;
    server.script(MODEL, vec![Reply::text("ok")]);

    let model = resolve(REFERENCE, &env(&server, None), &settings()).expect("no key needed");
    model.chat(&ask("hi")).await.expect("answers");

    assert_eq!(server.calls(MODEL), 1);
    assert!(!server.saw_auth(MODEL));
}

#[tokio::test]
async fn prefill_is_refused_before_any_request() {
    let server = FakeServer::start().await;
    let model = model(&server);
    assert!(!model.capabilities().prefill);

    let request = ChatRequest { prefill: Some("Sure,".into()), ..ask("hi") };
    let err = model.chat(&request).await.expect_err("no prefill");

    assert!(
        matches!(&err, ModelError::Unsupported(m) if m == "the openai provider does not support prefill")
    );
    assert_eq!(server.calls(MODEL), 0);
}

#[tokio::test]
async fn the_meter_counts_a_resolved_models_calls() {
    let server = FakeServer::start().await;
    server.push_fault(MODEL, Reply::server_error());
    server.script(MODEL, vec![Reply::text("one"), Reply::text("two")]);
    let settings = settings();
    let env = env(&server, Some(KEY));
    let target = resolve(REFERENCE, &env, &settings).expect("resolves");
    let judge = resolve(REFERENCE, &env, &settings).expect("resolves again");

    target.chat(&ask("a")).await.expect("answers after a retry");
    judge.chat(&ask("b")).await.expect("answers");

    let meter = settings.shared.meter(REFERENCE).expect("metered").snapshot();
    assert_eq!((meter.calls, meter.retries, meter.failed_calls), (2, 1, 0));
    assert!(meter.input_tokens > 0 && meter.output_tokens > 0);
}

#[tokio::test]
async fn a_refused_connection_is_a_retried_connection_error() {
    // A port that was just free: nothing listens on it any more.
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let env = Env::empty().with("OPENAI_BASE_URL", format!("http://{port}/v1"));
    let settings = settings();
    let model = resolve(REFERENCE, &env, &settings).expect("resolves");

    let err = model.chat(&ask("hi")).await.expect_err("nobody listens");

    assert!(matches!(err.last_attempt(), ModelError::Connection(_)), "{err}");
    let meter = settings.shared.meter(REFERENCE).expect("metered").snapshot();
    assert_eq!((meter.calls, meter.retries, meter.failed_calls), (1, 3, 1));
}

/// The body goes out as one chunk of announced length (the provider frees it
/// once written rather than holding it until the answer): `Content-Length`
/// equal to the bytes sent, no chunked encoding, and the JSON whole.
#[tokio::test]
async fn the_request_body_has_a_content_length_and_no_chunked_encoding() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a connection");
        let mut data = Vec::new();
        let mut buf = [0u8; 65536];
        let head_end = loop {
            let n = socket.read(&mut buf).await.expect("reads");
            assert!(n > 0, "closed before the head ended");
            data.extend_from_slice(&buf[..n]);
            if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .expect("a content-length header")
            .trim()
            .parse()
            .expect("a number");
        while data.len() < head_end + length {
            let n = socket.read(&mut buf).await.expect("reads");
            assert!(n > 0, "closed before the body ended");
            data.extend_from_slice(&buf[..n]);
        }
        let body: serde_json::Value =
            serde_json::from_slice(&data[head_end..head_end + length]).expect("the body is JSON");
        let reply = json!({"id": "x", "object": "chat.completion", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": "ok"}}]})
        .to_string();
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{reply}",
            reply.len()
        );
        socket.write_all(answer.as_bytes()).await.expect("writes");
        (head, body)
    });
    let env = Env::empty().with("OPENAI_BASE_URL", format!("http://127.0.0.1:{port}/v1"));
    let model = resolve(REFERENCE, &env, &settings()).expect("resolves");
    let request = ChatRequest { tools: vec![lookup_tool()], ..ask("hi") };

    let answer = model.chat(&request).await.expect("answers");

    assert_eq!(answer.content, "ok");
    let (head, body) = server.await.expect("the server ran");
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert_eq!(body["messages"][1]["content"], "hi");
    assert_eq!(body["tools"][0]["function"]["parameters"], *lookup_tool().parameters);
}
