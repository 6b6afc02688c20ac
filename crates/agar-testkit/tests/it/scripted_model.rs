//! The in-process scripted model.

use std::sync::Arc;
use std::time::Duration;

use agar_core::{Capabilities, ChatModel, ChatRequest, Message, ModelError};
use agar_testkit::{ScriptedModel, text, tool_call, tool_calls};
use serde_json::json;

fn request(text: &str) -> ChatRequest {
    ChatRequest { messages: vec![Message::user(text)], ..ChatRequest::default() }
}

#[tokio::test]
async fn replies_in_order_records_requests_and_errors_when_exhausted() {
    let model = Arc::new(ScriptedModel::new(
        "auditor",
        [
            Ok(tool_call("send_message", json!({"message": "hi"}))),
            Err(ModelError::Timeout(Duration::from_secs(3))),
            Ok(text("done")),
        ],
    ));
    let dyn_model: Arc<dyn ChatModel> = model.clone();
    assert_eq!(dyn_model.name(), "auditor");

    let first = dyn_model.chat(&request("one")).await.unwrap();
    assert_eq!(first.tool_calls[0].name, "send_message");
    assert_eq!(first.tool_calls[0].id, "call_1");
    assert_eq!(first.tool_calls[0].parse_arguments().unwrap(), json!({"message": "hi"}));
    assert_eq!(first.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(first.attempts, 1);
    assert!(matches!(dyn_model.chat(&request("two")).await, Err(ModelError::Timeout(_))));
    assert_eq!(dyn_model.chat(&request("three")).await.unwrap().content, "done");

    let err = dyn_model.chat(&request("four")).await.unwrap_err();
    assert!(matches!(err, ModelError::Config(_)));
    assert_eq!(err.to_string(), "scripted model auditor has no reply left");

    assert_eq!(model.calls(), 4);
    let seen: Vec<String> =
        model.requests().iter().map(|r| r.messages[0].content.to_string()).collect();
    assert_eq!(seen, ["one", "two", "three", "four"]);
    assert_eq!(model.last_request().unwrap().messages[0].content, "four");

    model.push(Ok(text("more")));
    assert_eq!(model.remaining(), 1);
    assert_eq!(model.chat(&request("five")).await.unwrap().content, "more");
}

#[tokio::test]
async fn a_closure_answers_from_the_request() {
    let model = ScriptedModel::from_fn("echo", |r: &ChatRequest| {
        Ok(text(format!("echo {}", r.messages.len())))
    })
    .with_capabilities(Capabilities { prefill: true, ..Capabilities::default() });
    assert!(model.capabilities().prefill);
    assert_eq!(model.chat(&request("x")).await.unwrap().content, "echo 1");
    // Queued replies come first.
    model.push(Ok(text("queued")));
    assert_eq!(model.chat(&request("x")).await.unwrap().content, "queued");
    assert_eq!(model.chat(&request("x")).await.unwrap().content, "echo 1");
}

#[tokio::test]
async fn by_turn_counts_assistant_messages_and_numbers_calls() {
    let model = ScriptedModel::by_turn(
        "auditor",
        vec![
            tool_calls([("a", json!({})), ("b", json!({"k": 1}))]),
            tool_call("end_conversation", json!({})),
        ],
    );
    let mut req = request("start");
    let first = model.chat(&req).await.unwrap();
    let ids: Vec<&str> = first.tool_calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["call_1", "call_2"]);
    req.messages.push(first.to_message());
    req.messages.push(Message::tool("call_1", "ok"));
    req.messages.push(Message::tool("call_2", "ok"));
    for _ in 0..2 {
        let next = model.chat(&req).await.unwrap();
        assert_eq!(next.tool_calls[0].name, "end_conversation");
        req.messages.push(next.to_message());
    }
}

#[tokio::test(start_paused = true)]
async fn a_delay_runs_on_the_tokio_clock() {
    let model =
        ScriptedModel::from_responses("slow", [text("late")]).with_delay(Duration::from_secs(60));
    let answer = tokio::time::timeout(Duration::from_secs(30), model.chat(&request("x"))).await;
    assert!(answer.is_err(), "the delay should outlast the timeout");
    assert_eq!(model.calls(), 1);
}
