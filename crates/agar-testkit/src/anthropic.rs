//! The fake server's Anthropic Messages API ([`crate::Protocol::Anthropic`]):
//! `POST /v1/messages`, answered from the same [`Reply`] scripts, faults and
//! fault plans as the OpenAI protocol, in Anthropic's shapes.
//!
//! It checks requests the way the real API does where a provider could get
//! them wrong, and answers `400 invalid_request_error` (without using up a
//! scripted reply) when they are not: the `anthropic-version` header and
//! `max_tokens` are required; turns alternate, starting with the user; text
//! blocks are not blank; every `tool_use` is answered by a `tool_result` at
//! the start of the next user turn; a prefilled final assistant turn does not
//! end in whitespace; thinking blocks come back with the signature this
//! server gave them; thinking is not combined with a forced tool choice.
//!
//! With `thinking` enabled, every answer starts with a thinking block whose
//! signature is [`thinking_signature`]. Blocks marked `cache_control` are
//! cached by prefix, so usage reports cache writes and, for a prefix seen
//! before, cache reads. Error bodies written in OpenAI's shape (as the
//! [`Reply`] helpers and the fault plan make them) are rewritten in
//! Anthropic's: `{"type": "error", "error": {"type", "message"}}`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::det::{fnv1a, mix64};
use crate::reply::Reply;
use crate::schema::{args_from_schema, quote_prompt};
use crate::server::{MALFORMED_ARGUMENTS, Planned, Shared, status_reply, truncated};
use crate::wire::tokens;

/// The routes of the Anthropic protocol.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/v1/messages", post(messages)).fallback(not_found)
}

/// The signature this server gives a thinking block with this text; a
/// replayed block must carry it unchanged.
pub fn thinking_signature(thinking: &str) -> String {
    format!("fake-sig-{:016x}", mix64(fnv1a(thinking)))
}

/// An error body in Anthropic's shape.
pub fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// A reply with this status and an Anthropic-shaped error body.
pub fn error_reply(code: u16, kind: &str, message: &str) -> Reply {
    Reply::status(code, error_body(kind, message).to_string())
}

/// `529 overloaded_error`, as the API answers when it is overloaded.
pub fn overloaded() -> Reply {
    error_reply(529, "overloaded_error", "Overloaded (fake)")
}

/// `429 rate_limit_error` with `retry-after: <retry_after>`.
pub fn rate_limited(retry_after: impl Into<String>) -> Reply {
    Reply::Status {
        code: 429,
        retry_after: Some(retry_after.into()),
        body: error_body("rate_limit_error", "rate limit reached (fake)").to_string(),
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, axum::Json(error_body(kind, message))).into_response()
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found_error", "no such route on the agar fake server")
}

async fn messages(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let has_key = headers.contains_key("x-api-key");
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            shared.lock().total_calls += 1;
            let message = format!("the request body is not JSON: {err}");
            return error(StatusCode::BAD_REQUEST, "invalid_request_error", &message);
        }
    };
    let Some(model) = request.get("model").and_then(Value::as_str).map(str::to_string) else {
        shared.lock().total_calls += 1;
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "model: Field required");
    };
    let problem = check(&headers, &request);
    let planned = shared.plan(&model, &request, has_key, problem.is_some());
    if let Some(problem) = problem {
        tracing::debug!(model, problem, "fake anthropic request refused");
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", &problem);
    }
    if let Some(stopped) = shared.delay(&planned).await {
        return stopped;
    }
    respond(&shared, &model, &request, planned)
}

/// The content blocks of a message (a string content is one text block).
fn blocks(message: &Value) -> Vec<Value> {
    match &message["content"] {
        Value::String(text) => vec![json!({"type": "text", "text": text})],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    }
}

fn thinking_enabled(request: &Value) -> bool {
    request["thinking"]["type"] == "enabled"
}

/// What the real API would refuse in this request, if anything.
fn check(headers: &HeaderMap, request: &Value) -> Option<String> {
    if !headers.contains_key("anthropic-version") {
        return Some("anthropic-version: header is required".into());
    }
    if request.get("stream") == Some(&Value::Bool(true)) {
        return Some("streaming is not supported by the agar fake server".into());
    }
    let max_tokens = request.get("max_tokens").and_then(Value::as_u64).filter(|n| *n >= 1);
    let Some(max_tokens) = max_tokens else {
        return Some("max_tokens: Field required (a positive integer)".into());
    };
    let messages = request.get("messages").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    if messages.is_empty() {
        return Some("messages: at least one message is required".into());
    }
    let tool_names: Vec<&str> = request["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    for (i, m) in messages.iter().enumerate() {
        let role = m["role"].as_str().unwrap_or_default();
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            return Some(format!(
                "messages.{i}: roles must alternate between user and assistant, starting with user (got {role:?})"
            ));
        }
        let blocks = blocks(m);
        if blocks.is_empty() {
            return Some(format!("messages.{i}: content must not be empty"));
        }
        for (j, b) in blocks.iter().enumerate() {
            match b["type"].as_str().unwrap_or_default() {
                "text" if b["text"].as_str().is_none_or(|t| t.trim().is_empty()) => {
                    return Some(format!(
                        "messages.{i}.content.{j}: text content blocks must contain non-whitespace text"
                    ));
                }
                "thinking" => {
                    let text = b["thinking"].as_str().unwrap_or_default();
                    if b["signature"].as_str() != Some(thinking_signature(text).as_str()) {
                        return Some(format!(
                            "messages.{i}.content.{j}: invalid `signature` in `thinking` block"
                        ));
                    }
                }
                "tool_use" if !b["input"].is_object() => {
                    return Some(format!("messages.{i}.content.{j}.input: must be an object"));
                }
                _ => {}
            }
        }
        let uses: Vec<&str> = blocks
            .iter()
            .filter(|b| b["type"] == "tool_use")
            .filter_map(|b| b["id"].as_str())
            .collect();
        if !uses.is_empty() {
            let Some(next) = messages.get(i + 1) else {
                return Some(format!("messages.{i}: `tool_use` blocks need a following user turn"));
            };
            let answers = self::blocks(next);
            let leading: Vec<&str> = answers
                .iter()
                .take_while(|b| b["type"] == "tool_result")
                .filter_map(|b| b["tool_use_id"].as_str())
                .collect();
            if let Some(missing) = uses.iter().find(|id| !leading.contains(id)) {
                return Some(format!(
                    "messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message, before any other content",
                    i + 1
                ));
            }
        }
        if role == "user" {
            let previous: Vec<String> = i
                .checked_sub(1)
                .map(|p| self::blocks(&messages[p]))
                .unwrap_or_default()
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .filter_map(|b| b["id"].as_str().map(str::to_string))
                .collect();
            for b in blocks.iter().filter(|b| b["type"] == "tool_result") {
                let id = b["tool_use_id"].as_str().unwrap_or_default();
                if !previous.iter().any(|p| p == id) {
                    return Some(format!(
                        "messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: {id}"
                    ));
                }
            }
        }
    }
    if let Some(last) = messages.last().filter(|m| m["role"] == "assistant")
        && let Some(text) = self::blocks(last).last().and_then(|b| b["text"].as_str())
        && text.ends_with(char::is_whitespace)
    {
        return Some("final assistant content cannot end with trailing whitespace".into());
    }
    let choice = request["tool_choice"]["type"].as_str();
    if let Some("tool") = choice {
        let name = request["tool_choice"]["name"].as_str().unwrap_or_default();
        if !tool_names.contains(&name) {
            return Some(format!("tool_choice: the tool `{name}` is not among the tools offered"));
        }
    }
    if matches!(choice, Some("any" | "tool")) && tool_names.is_empty() {
        return Some("tool_choice: forcing a tool call needs tools".into());
    }
    if thinking_enabled(request) {
        let budget = request["thinking"]["budget_tokens"].as_u64().unwrap_or(0);
        if budget < 1024 || budget >= max_tokens {
            return Some(
                "thinking.budget_tokens: must be at least 1024 and less than max_tokens".into(),
            );
        }
        if matches!(choice, Some("any" | "tool")) {
            return Some("Thinking may not be enabled when tool_choice forces tool use.".into());
        }
        let n = messages.len();
        let in_tool_loop =
            self::blocks(&messages[n - 1]).iter().any(|b| b["type"] == "tool_result");
        if in_tool_loop
            && n >= 2
            && !matches!(
                self::blocks(&messages[n - 2]).first().and_then(|b| b["type"].as_str()),
                Some("thinking" | "redacted_thinking")
            )
        {
            return Some(format!(
                "messages.{}.content.0.type: Expected `thinking` or `redacted_thinking`, but found another block. When `thinking` is enabled, a final `assistant` message must start with a thinking block",
                n - 2
            ));
        }
    }
    None
}

/// Characters of the prompt: system, tools and every block's text or input.
fn block_chars(block: &Value) -> usize {
    let text = |k: &str| block[k].as_str().map_or(0, |s| s.chars().count());
    match block["type"].as_str().unwrap_or_default() {
        "text" => text("text"),
        "thinking" => text("thinking"),
        "tool_use" => text("name") + block["input"].to_string().chars().count(),
        "tool_result" => match &block["content"] {
            Value::String(s) => s.chars().count(),
            Value::Array(parts) => parts.iter().map(block_chars).sum(),
            _ => 0,
        },
        _ => 0,
    }
}

/// The prompt's tokens, and the cache reads and writes its `cache_control`
/// markers cause: `(uncached input, cache read, cache write)`.
fn prompt_usage(shared: &Shared, request: &Value) -> (u64, u64, u64) {
    let mut system_blocks = match &request["system"] {
        Value::String(s) => vec![json!({"type": "text", "text": s})],
        Value::Array(b) => b.clone(),
        _ => Vec::new(),
    };
    let mut all: Vec<Value> = Vec::new();
    all.append(&mut system_blocks);
    for m in request["messages"].as_array().map_or(&[][..], Vec::as_slice) {
        all.extend(blocks(m));
    }
    // The cache key of a prefix covers the model and tools, then every block
    // up to a boundary (without any marker). A marker writes its prefix; a
    // later request reads the longest cached prefix ending at any block
    // boundary up to its last marker, as the real cache looks back.
    let mut prefix = format!("{}|{}", request["model"], request["tools"]);
    let mut chars = request["tools"].to_string().chars().count();
    let mut boundaries: Vec<(u64, u64, bool)> = Vec::new();
    for block in &all {
        let mut plain = block.clone();
        let marked = plain.as_object_mut().and_then(|o| o.remove("cache_control")).is_some();
        prefix.push_str(&plain.to_string());
        chars += block_chars(block);
        boundaries.push((fnv1a(&prefix), tokens(chars), marked));
    }
    let total = tokens(chars);
    let Some(last_marker) = boundaries.iter().rposition(|(_, _, marked)| *marked) else {
        return (total, 0, 0);
    };
    let mut state = shared.lock();
    let read = boundaries[..=last_marker]
        .iter()
        .filter(|(hash, _, _)| state.prompt_cache.contains(hash))
        .map(|(_, t, _)| *t)
        .max()
        .unwrap_or(0);
    let write = boundaries[last_marker].1.saturating_sub(read);
    state.prompt_cache.extend(boundaries.iter().filter(|b| b.2).map(|(hash, _, _)| *hash));
    (total.saturating_sub(read + write), read, write)
}

fn last_user_text(request: &Value) -> String {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .map(|m| blocks(m).iter().filter_map(|b| b["text"].as_str()).collect::<String>())
        .unwrap_or_default()
}

/// The forced tool and its schema: `tool_choice` `{"type": "tool", "name"}`, or the first tool under `any`.
fn forced_tool(request: &Value) -> Option<(String, Value)> {
    let tools = request["tools"].as_array()?;
    let schema_of =
        |t: &Value| (t["name"].as_str().unwrap_or_default().to_string(), t["input_schema"].clone());
    match request["tool_choice"]["type"].as_str()? {
        "any" => tools.first().map(schema_of),
        "tool" => {
            let name = request["tool_choice"]["name"].as_str()?;
            tools.iter().find(|t| t["name"] == name).map(schema_of)
        }
        _ => None,
    }
}

fn tool_use(shared: &Shared, name: &str, input: Value) -> Value {
    let id = shared.call_id().replace("call_", "toolu_");
    json!({"type": "tool_use", "id": id, "name": name, "input": input})
}

/// The answer when nothing is scripted: a call of the forced tool, else a text.
fn derived(shared: &Shared, model: &str, request: &Value, call_index: usize) -> Vec<Value> {
    if let Some((name, schema)) = forced_tool(request) {
        let mut input = args_from_schema(&schema);
        quote_prompt(&mut input, &last_user_text(request));
        return vec![tool_use(shared, &name, input)];
    }
    let last_user: String = last_user_text(request).chars().take(80).collect();
    vec![json!({"type": "text", "text": format!("[{model}] reply #{call_index} to: {last_user}")})]
}

/// An OpenAI-shaped error body (`{"error": {"message", "type"}}`) rewritten
/// in Anthropic's shape; other bodies as they are.
fn anthropic_error_body(code: u16, body: String) -> String {
    let Ok(parsed) = serde_json::from_str::<Value>(&body) else { return body };
    if parsed["type"] == "error" || !parsed["error"].is_object() {
        return body;
    }
    let kind = match code {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    let message = parsed["error"]["message"].as_str().unwrap_or("error (fake)");
    error_body(kind, message).to_string()
}

fn respond(shared: &Shared, model: &str, request: &Value, planned: Planned) -> Response {
    let content = match planned.reply {
        Some(Reply::Text(text)) => vec![json!({"type": "text", "text": text})],
        Some(Reply::Logprobs(tokens)) => {
            vec![json!({"type": "text", "text": Reply::first_token(&tokens)})]
        }
        Some(Reply::ToolCalls(calls)) => {
            calls.into_iter().map(|c| tool_use(shared, &c.name, c.arguments)).collect()
        }
        Some(Reply::Status { code, retry_after, body }) => {
            return status_reply(code, retry_after, anthropic_error_body(code, body));
        }
        Some(Reply::Malformed) => {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "this is not JSON {\"content\": [",
            )
                .into_response();
        }
        Some(Reply::MalformedToolArguments) => {
            let name = forced_tool(request)
                .map(|(name, _)| name)
                .or_else(|| request["tools"][0]["name"].as_str().map(str::to_string))
                .unwrap_or_else(|| "unknown_tool".to_string());
            // `input` should be an object; a string of broken JSON is as wrong as it gets.
            vec![tool_use(shared, &name, Value::String(MALFORMED_ARGUMENTS.to_string()))]
        }
        Some(Reply::Truncated) => {
            let content = derived(shared, model, request, planned.call_index);
            let full = message(shared, model, request, planned.call_index, content);
            return truncated(full.to_string().into_bytes());
        }
        Some(Reply::Hang) => return crate::server::shutting_down(),
        None => derived(shared, model, request, planned.call_index),
    };
    axum::Json(message(shared, model, request, planned.call_index, content)).into_response()
}

/// A whole `message` reply around `content`, with thinking when the request
/// enabled it, and usage.
fn message(
    shared: &Shared,
    model: &str,
    request: &Value,
    call_index: usize,
    mut content: Vec<Value>,
) -> Value {
    if thinking_enabled(request) {
        let last_user: String = last_user_text(request).chars().take(60).collect();
        let thinking = format!("(fake reasoning #{call_index}) The user said: {last_user}");
        let signature = thinking_signature(&thinking);
        content
            .insert(0, json!({"type": "thinking", "thinking": thinking, "signature": signature}));
    }
    let stop_reason =
        if content.iter().any(|b| b["type"] == "tool_use") { "tool_use" } else { "end_turn" };
    let output = tokens(content.iter().map(block_chars).sum());
    let (input, cache_read, cache_write) = prompt_usage(shared, request);
    json!({
        "id": format!("msg_fake_{model}_{call_index}"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {
            "input_tokens": input,
            "output_tokens": output,
            "cache_creation_input_tokens": cache_write,
            "cache_read_input_tokens": cache_read,
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
        h
    }

    fn request(messages: Value) -> Value {
        json!({"model": "m", "max_tokens": 100, "messages": messages})
    }

    #[test]
    fn well_formed_requests_pass() {
        let ok = request(json!([
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}, {"type": "text", "text": "go on"}]},
            {"role": "assistant", "content": "Sure,"}
        ]));
        assert_eq!(check(&headers(), &ok), None);
    }

    #[test]
    fn what_the_api_refuses_is_refused() {
        let cases = [
            (request(json!([{"role": "assistant", "content": "x"}])), "alternate"),
            (request(json!([{"role": "user", "content": " "}])), "non-whitespace"),
            (
                request(
                    json!([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b "}]),
                ),
                "trailing whitespace",
            ),
            (
                request(json!([
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                    {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "tool_result", "tool_use_id": "t1"}]}
                ])),
                "immediately after",
            ),
            (
                request(json!([
                    {"role": "user", "content": "hi"},
                    {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "forged"}, {"type": "text", "text": "a"}]},
                    {"role": "user", "content": "b"}
                ])),
                "invalid `signature`",
            ),
            (json!({"model": "m", "messages": [{"role": "user", "content": "a"}]}), "max_tokens"),
        ];
        for (body, expected) in cases {
            let problem = check(&headers(), &body).unwrap_or_default();
            assert!(problem.contains(expected), "{expected}: {problem:?}");
        }
        let problem = check(&HeaderMap::new(), &request(json!([{"role": "user", "content": "a"}])));
        assert_eq!(problem.as_deref(), Some("anthropic-version: header is required"));
    }

    #[test]
    fn openai_shaped_errors_are_rewritten() {
        let body = crate::wire::error_body("busy", "rate_limit_exceeded").to_string();
        let rewritten: Value =
            serde_json::from_str(&anthropic_error_body(429, body)).expect("json");
        assert_eq!(rewritten, error_body("rate_limit_error", "busy"));
        assert_eq!(anthropic_error_body(500, "plain text".into()), "plain text");
    }
}
