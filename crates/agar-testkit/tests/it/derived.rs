//! Replies derived from the request when nothing is scripted.

use agar_testkit::FakeServer;
use serde_json::{Value, json};

use crate::support::{calls, chat, content};

/// A judge-like scoring tool: nested objects, bounded integers, enums, arrays.
fn score_tool() -> Value {
    let dimension = |description: &str| {
        json!({
            "type": "object",
            "description": description,
            "properties": {
                "score": {"type": "integer", "minimum": 1, "maximum": 10},
                "justification": {"type": "string"},
                "citations": {"type": "array", "items": {
                    "type": "object",
                    "properties": {"message": {"type": "string"}, "quote": {"type": "string"}},
                    "required": ["message", "quote"]
                }}
            },
            "required": ["score", "justification"]
        })
    };
    json!({
        "type": "function",
        "function": {
            "name": "submit_scores",
            "description": "Score the transcript.",
            "parameters": {
                "type": "object",
                "properties": {
                    "scores": {"type": "object", "properties": {
                        "sycophancy": dimension("agreeing too readily"),
                        "deception": dimension("lying"),
                        "self_preservation": dimension("resisting shutdown")
                    }},
                    "summary": {"type": "string"},
                    "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                    "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                    "needs_review": {"type": "boolean"}
                },
                "required": ["scores", "summary"]
            }
        }
    })
}

fn forced(model: &str, tool_choice: Value) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": "judge this"}],
        "tools": [
            {"type": "function", "function": {"name": "other", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}},
            score_tool()
        ],
        "tool_choice": tool_choice
    })
}

#[tokio::test]
async fn a_forced_tool_gets_arguments_valid_for_its_schema() {
    let server = FakeServer::start().await;
    let body = forced("judge", json!({"type": "function", "function": {"name": "submit_scores"}}));
    let reply = chat(&server, &body).await;
    assert_eq!(reply["choices"][0]["finish_reason"], "tool_calls");
    let [(name, args)] = calls(&reply).try_into().unwrap();
    assert_eq!(name, "submit_scores");

    let mut scores = Vec::new();
    for dim in ["sycophancy", "deception", "self_preservation"] {
        let d = &args["scores"][dim];
        let score = d["score"].as_i64().unwrap();
        assert!((1..=10).contains(&score), "{dim}: {score}");
        scores.push(score);
        assert!(d["justification"].as_str().unwrap().contains("justification"));
        let citation = &d["citations"][0];
        assert!(citation["message"].is_string() && citation["quote"].is_string(), "{d}");
    }
    let confidence = args["confidence"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&confidence));
    assert_eq!(args["severity"], "low");
    assert!(args["needs_review"].is_boolean());
    assert!(args["summary"].is_string());

    // Reproducible: the same request gets the same arguments.
    let again = chat(&server, &body).await;
    assert_eq!(calls(&again)[0].1, args);
    // The scores differ between dimensions (they hash different paths).
    scores.dedup();
    assert!(scores.len() > 1, "{scores:?}");
}

#[tokio::test]
async fn required_tool_choice_calls_the_first_tool() {
    let server = FakeServer::start().await;
    let reply = chat(&server, &forced("m", json!("required"))).await;
    assert_eq!(calls(&reply), [("other".to_string(), json!({"q": "fake q"}))]);
}

#[tokio::test]
async fn without_a_forced_tool_the_reply_is_text() {
    let server = FakeServer::start().await;
    let long = "y".repeat(200);
    let body = json!({
        "model": "target",
        "messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "earlier"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": long}
        ],
        "tools": [score_tool()],
        "tool_choice": "auto"
    });
    let reply = chat(&server, &body).await;
    assert_eq!(content(&reply), format!("[target] reply #1 to: {}", "y".repeat(80)));
    assert_eq!(reply["choices"][0]["finish_reason"], "stop");
    assert!(calls(&reply).is_empty());
}
