//! Helpers shared by the tests: an HTTP client and request bodies.

use std::time::Duration;

use agar_testkit::FakeServer;
use serde_json::{Value, json};

/// A client with a timeout well under the per-test budget.
pub(crate) fn client() -> reqwest::Client {
    client_with_timeout(Duration::from_secs(2))
}

pub(crate) fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder().timeout(timeout).build().unwrap()
}

/// A chat request for `model` with one user message.
pub(crate) fn ask(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

/// Sends `body` to the server's chat endpoint.
pub(crate) async fn post(server: &FakeServer, body: &Value) -> reqwest::Response {
    post_with(&client(), server, body).await.unwrap()
}

pub(crate) async fn post_with(
    client: &reqwest::Client,
    server: &FakeServer,
    body: &Value,
) -> reqwest::Result<reqwest::Response> {
    client.post(format!("{}/chat/completions", server.base_url())).json(body).send().await
}

/// Sends `body` and returns the JSON of a 200 answer.
pub(crate) async fn chat(server: &FakeServer, body: &Value) -> Value {
    let response = post(server, body).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// The text of a completion.
pub(crate) fn content(completion: &Value) -> &str {
    completion["choices"][0]["message"]["content"].as_str().unwrap_or_default()
}

/// The tool calls of a completion as `(name, parsed arguments)`.
pub(crate) fn calls(completion: &Value) -> Vec<(String, Value)> {
    completion["choices"][0]["message"]["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    let f = &c["function"];
                    let args = serde_json::from_str(f["arguments"].as_str().unwrap()).unwrap();
                    (f["name"].as_str().unwrap().to_string(), args)
                })
                .collect()
        })
        .unwrap_or_default()
}
