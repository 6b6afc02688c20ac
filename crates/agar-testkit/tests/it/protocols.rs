//! The Anthropic and application protocols over real HTTP, spoken directly
//! (no agar provider in between): what the fakes refuse, how faults are
//! shaped, how turns, sessions and headers are counted and recorded.

use agar_testkit::anthropic::thinking_signature;
use agar_testkit::{FakeApp, FakeServer, FaultPlan, Reply};
use serde_json::{Value, json};

use crate::support::client;

async fn messages(server: &FakeServer, body: &Value, version: bool) -> reqwest::Response {
    let mut request = client().post(format!("{}/v1/messages", server.base_url())).json(body);
    if version {
        request = request.header("anthropic-version", "2023-06-01");
    }
    request.header("x-api-key", "k").send().await.unwrap()
}

fn ask(text: &str) -> Value {
    json!({"model": "m", "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
}

#[tokio::test]
async fn a_refused_request_keeps_the_script_for_the_next_one() {
    let server = FakeServer::start_anthropic().await;
    server.script("m", vec![Reply::text("scripted")]);

    let refused = messages(&server, &ask("hi"), false).await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let answer: Value = messages(&server, &ask("hi"), true).await.json().await.unwrap();
    assert_eq!(answer["type"], "message");
    assert_eq!(answer["content"][0], json!({"type": "text", "text": "scripted"}));
    assert_eq!(answer["stop_reason"], "end_turn");
    assert!(answer["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(server.calls("m"), 2, "both recorded");
    assert_eq!(server.requests_with_auth("m"), 2);
}

#[tokio::test]
async fn fault_plan_errors_come_in_anthropic_shape() {
    let server = FakeServer::start_anthropic().await;
    server.set_fault_plan(Some(FaultPlan {
        rate_limited: 1.0,
        retry_after: Some("3".into()),
        ..FaultPlan::default()
    }));

    let response = messages(&server, &ask("hi"), true).await;

    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");
}

#[tokio::test]
async fn thinking_is_signed_and_a_prefill_does_not_count_as_a_turn() {
    let server = FakeServer::start_anthropic().await;
    server.script_by_turn("m", vec![Reply::text("first"), Reply::text("second")]);
    let mut body = ask("hi");
    body["messages"].as_array_mut().unwrap().push(json!({"role": "assistant", "content": "So"}));
    body["max_tokens"] = json!(4096);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});

    let answer: Value = messages(&server, &body, true).await.json().await.unwrap();

    assert_eq!(answer["content"][1]["text"], "first", "the prefill is not a turn");
    let thinking = &answer["content"][0];
    assert_eq!(thinking["type"], "thinking");
    let text = thinking["thinking"].as_str().unwrap();
    assert_eq!(thinking["signature"], thinking_signature(text).as_str());
}

#[tokio::test]
async fn the_app_issues_and_keeps_sessions_and_records_headers() {
    let app = FakeApp::start().await;
    app.script(vec![Reply::text("one"), Reply::text("two")]);
    let send = |body: Value| {
        client().post(app.url()).header("authorization", "Bearer t").json(&body).send()
    };

    let first: Value = send(json!({"message": "hi"})).await.unwrap().json().await.unwrap();
    let session = first["session_id"].as_str().unwrap().to_owned();
    let second: Value = send(json!({"message": "again", "session_id": session}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let derived: Value = send(json!({"messages": [{"role": "user", "content": "third"}]}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(first["data"]["reply"], "one");
    assert_eq!(second, json!({"data": {"reply": "two"}, "session_id": session}));
    assert_eq!(derived["data"]["reply"], "[app] reply #3 to: third");
    assert_ne!(derived["session_id"], session.as_str(), "a request without one gets a new session");
    assert_eq!(app.request_headers()[0]["authorization"], "Bearer t");
    assert_eq!(app.requests()[1]["message"], "again");
}

#[tokio::test]
async fn a_tool_call_is_no_application_reply() {
    let app = FakeApp::start().await;
    app.script(vec![Reply::tool_call("f", json!({}))]);

    let response = client().post(app.url()).body("not json").send().await.unwrap();

    assert_eq!(response.status(), 500);
    assert_eq!(app.requests()[0], json!("not json"), "a body that is not JSON is kept as text");
}
