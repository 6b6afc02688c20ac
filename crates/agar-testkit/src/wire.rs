//! The OpenAI chat-completions wire format, as far as the fake server needs it:
//! reading a request body loosely (as `serde_json::Value`, so odd requests are
//! recorded rather than rejected) and writing response and error bodies.

use serde_json::{Value, json};

use crate::reply::ScriptedLogprob;

/// A tool call about to be sent: id, name, and the arguments as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WireCall {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) arguments: String,
}

/// An OpenAI-shaped error body: `{"error": {"message", "type", "param", "code"}}`.
pub(crate) fn error_body(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": kind}})
}

/// The text of a message's `content`: a string, or an array of parts whose
/// `text` fields are joined.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect()
        }
        _ => String::new(),
    }
}

fn messages(body: &Value) -> &[Value] {
    body.get("messages").and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Characters of a message's `content` (see [`content_text`]), counted
/// without copying it.
fn content_chars(content: &Value) -> usize {
    match content {
        Value::String(s) => s.chars().count(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .map(|t| t.chars().count())
            .sum(),
        _ => 0,
    }
}

/// Characters of the request's messages: contents plus tool-call names and arguments.
pub(crate) fn request_chars(body: &Value) -> usize {
    messages(body)
        .iter()
        .map(|m| {
            let content = m.get("content").map_or(0, content_chars);
            let calls = m.get("tool_calls").and_then(Value::as_array).map_or(0, |calls| {
                calls
                    .iter()
                    .map(|c| {
                        let f = &c["function"];
                        f["name"].as_str().map_or(0, |s| s.chars().count())
                            + f["arguments"].as_str().map_or(0, |s| s.chars().count())
                    })
                    .sum()
            });
            content + calls
        })
        .sum()
}

/// The usual rough estimate: a token is about four characters.
pub(crate) fn tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// How many `assistant` messages the request already holds: the turn index of
/// a by-turn script.
pub(crate) fn assistant_turns(body: &Value) -> usize {
    messages(body).iter().filter(|m| m["role"] == "assistant").count()
}

/// The text of the last `user` message, if any.
pub(crate) fn last_user_text(body: &Value) -> String {
    messages(body)
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default()
}

/// The tools offered: `(name, parameters schema)`, borrowed from the request.
pub(crate) fn tools(body: &Value) -> impl Iterator<Item = (&str, &Value)> {
    body.get("tools").and_then(Value::as_array).into_iter().flatten().filter_map(|t| {
        let f = t.get("function")?;
        let name = f.get("name")?.as_str()?;
        Some((name, f.get("parameters").unwrap_or(&Value::Null)))
    })
}

/// The tool the request makes the model call, with its parameters schema
/// (`null` if the tool is not among those offered): the one named by
/// `tool_choice: {"type": "function", "function": {"name": X}}`, or the first
/// tool under `tool_choice: "required"`.
pub(crate) fn forced_tool(body: &Value) -> Option<(&str, &Value)> {
    let choice = body.get("tool_choice")?;
    let mut offered = tools(body);
    if choice == "required" {
        return offered.next();
    }
    let name = choice.get("function")?.get("name")?.as_str()?;
    let schema = offered.find(|(n, _)| *n == name).map_or(&Value::Null, |(_, s)| s);
    Some((name, schema))
}

/// A successful, non-streamed chat completion.
pub(crate) fn completion(
    id: &str,
    model: &str,
    content: Option<&str>,
    calls: &[WireCall],
    prompt_tokens: u64,
) -> Value {
    let completion_chars = content.map_or(0, |c| c.chars().count())
        + calls.iter().map(|c| c.name.chars().count() + c.arguments.chars().count()).sum::<usize>();
    let completion_tokens = tokens(completion_chars);
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        message["tool_calls"] = calls
            .iter()
            .map(|c| {
                json!({
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}
                })
            })
            .collect();
    }
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    json!({
        "id": id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": if calls.is_empty() { "stop" } else { "tool_calls" },
            "logprobs": null
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens
        }
    })
}

/// Adds a scripted first position's log-probabilities to a completion, as
/// far as the request asked for them (`logprobs: true`, `top_logprobs: N`),
/// and marks it cut at its one token.
pub(crate) fn add_logprobs(body: &mut Value, request: &Value, tokens: &[ScriptedLogprob]) {
    body["choices"][0]["finish_reason"] = json!("length");
    if request["logprobs"] != json!(true) {
        return;
    }
    let top_n = request["top_logprobs"].as_u64().unwrap_or(0) as usize;
    let entry = |t: &ScriptedLogprob| json!({"token": t.token, "logprob": t.logprob, "bytes": t.token.as_bytes()});
    let Some(first) = tokens.first() else { return };
    let mut position = entry(first);
    position["top_logprobs"] = tokens.iter().take(top_n).map(entry).collect();
    body["choices"][0]["logprobs"] = json!({"content": [position], "refusal": null});
}

/// The body of `GET /v1/models`.
pub(crate) fn model_list<'a>(names: impl Iterator<Item = &'a String>) -> Value {
    let data: Vec<Value> = names
        .map(|n| json!({"id": n, "object": "model", "created": 0, "owned_by": "agar-testkit"}))
        .collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_reading_tolerates_every_content_shape() {
        let body = json!({
            "messages": [
                {"role": "system", "content": "abcd"},
                {"role": "user", "content": [{"type": "text", "text": "ef"}, {"type": "text", "text": "gh"}]},
                {"role": "assistant", "content": null,
                 "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c", "content": "ok"}
            ]
        });
        assert_eq!(request_chars(&body), 4 + 4 + 3 + 2);
        assert_eq!(assistant_turns(&body), 1);
        assert_eq!(last_user_text(&body), "efgh");
        assert_eq!(tokens(13), 4);
        assert_eq!(request_chars(&json!({})), 0);
    }

    #[test]
    fn forced_tools_are_found() {
        let tools = json!([
            {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "b", "parameters": {"type": "string"}}}
        ]);
        let named =
            json!({"tools": tools, "tool_choice": {"type": "function", "function": {"name": "b"}}});
        assert_eq!(forced_tool(&named), Some(("b", &json!({"type": "string"}))));
        let required = json!({"tools": tools, "tool_choice": "required"});
        assert_eq!(forced_tool(&required).map(|t| t.0), Some("a"));
        let auto = json!({"tools": tools, "tool_choice": "auto"});
        assert_eq!(forced_tool(&auto), None);
    }
}
