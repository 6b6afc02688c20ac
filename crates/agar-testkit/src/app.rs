//! [`FakeApp`]: a fake chatbot application on `127.0.0.1`, the counterpart
//! of agar's HTTP application targets ([`crate::Protocol::App`]).
//!
//! Any method on `/chat`. The request body is whatever the target's template
//! made of the conversation; the app records it (parsed as JSON when it is
//! JSON) with its headers, and answers
//! `{"data": {"reply": TEXT}, "session_id": ID}` (reply pointer `/data/reply`,
//! session pointer `/session_id`). The session id is the request's
//! `/session_id` when it has one, else a new `sess-<n>`.
//!
//! Replies come from the same [`Reply`] queue and faults as the other
//! protocols, under the model name [`APP`]; unscripted, the reply echoes the
//! last user message it can find (`/messages/*/content` of the last user
//! turn, else `/message`). Tool calls are no application reply: scripting one
//! answers 500.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

use crate::error::TestkitError;
use crate::reply::Reply;
use crate::server::{FakeConfig, FakeServer, Planned, Protocol, Shared, status_reply, truncated};

/// The name an application's replies and requests are kept under.
pub const APP: &str = "app";

/// The routes of the application protocol.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/chat", any(chat)).fallback(not_found)
}

/// A running fake application. Dropping it stops it.
#[derive(Debug)]
pub struct FakeApp {
    server: FakeServer,
}

impl FakeApp {
    /// Starts an application on a free port of 127.0.0.1.
    ///
    /// # Panics
    /// If no port can be bound.
    pub async fn start() -> FakeApp {
        Self::try_start().await.expect("the fake app could bind 127.0.0.1")
    }

    /// Starts an application, reporting a port that cannot be bound.
    pub async fn try_start() -> Result<FakeApp, TestkitError> {
        let config = FakeConfig { protocol: Protocol::App, ..FakeConfig::default() };
        Ok(FakeApp { server: FakeServer::try_start_with(config).await? })
    }

    /// The chat endpoint: `http://127.0.0.1:PORT/chat`.
    pub fn url(&self) -> String {
        format!("{}/chat", self.server.base_url())
    }

    /// Appends replies to the queue; once it is empty, replies are derived.
    pub fn script(&self, replies: Vec<Reply>) {
        self.server.script(APP, replies);
    }

    /// Sets the reply per turn (the number of assistant turns in `/messages`).
    pub fn script_by_turn(&self, replies: Vec<Reply>) {
        self.server.script_by_turn(APP, replies);
    }

    /// Queues a one-shot fault, served before anything else.
    pub fn push_fault(&self, fault: Reply) {
        self.server.push_fault(APP, fault);
    }

    /// Delays every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.server.set_latency(latency);
    }

    /// Requests received, faults included.
    pub fn calls(&self) -> usize {
        self.server.calls(APP)
    }

    /// Every request body, oldest first (a body that is not JSON is kept as a string).
    pub fn requests(&self) -> Vec<Value> {
        self.server.requests(APP)
    }

    /// Every request's headers, oldest first (names in lower case).
    pub fn request_headers(&self) -> Vec<BTreeMap<String, String>> {
        self.server.request_headers(APP)
    }
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": "no such route on the fake app"})))
        .into_response()
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let request: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let recorded: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let has_auth = headers.contains_key(header::AUTHORIZATION);
    let planned = shared.plan_with_headers(APP, &request, has_auth, Some(recorded), false);
    if let Some(stopped) = shared.delay(&planned).await {
        return stopped;
    }
    respond(&shared, &request, planned)
}

/// The text of the last user turn in `/messages`, else `/message`.
fn last_user_text(request: &Value) -> String {
    let from_messages = request["messages"].as_array().and_then(|m| {
        m.iter().rev().find(|m| m["role"] == "user").and_then(|m| m["content"].as_str())
    });
    from_messages.or_else(|| request["message"].as_str()).unwrap_or_default().to_owned()
}

fn reply_body(shared: &Shared, request: &Value, text: &str) -> Value {
    let session = match &request["session_id"] {
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => shared.session_id(),
    };
    json!({"data": {"reply": text}, "session_id": session})
}

fn respond(shared: &Shared, request: &Value, planned: Planned) -> Response {
    let derived = || {
        let last: String = last_user_text(request).chars().take(80).collect();
        format!("[app] reply #{} to: {last}", planned.call_index)
    };
    let text = match planned.reply {
        Some(Reply::Text(text)) => text,
        Some(Reply::Logprobs(tokens)) => Reply::first_token(&tokens),
        None => derived(),
        Some(Reply::ToolCalls(_) | Reply::MalformedToolArguments) => {
            return status_reply(
                500,
                None,
                json!({"error": "the fake app was scripted a tool call, which is no application reply"})
                    .to_string(),
            );
        }
        Some(Reply::Status { code, retry_after, body }) => {
            return status_reply(code, retry_after, body);
        }
        Some(Reply::Malformed) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "this is not JSON {\"data\": [",
            )
                .into_response();
        }
        Some(Reply::Truncated) => {
            return truncated(reply_body(shared, request, &derived()).to_string().into_bytes());
        }
        Some(Reply::Hang) => return crate::server::shutting_down(),
    };
    axum::Json(reply_body(shared, request, &text)).into_response()
}
