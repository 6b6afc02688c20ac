//! [`Quirks`]: behaviours of real OpenAI-compatible servers that the fake
//! server can reproduce, so that the provider conformance suite and whole
//! audits run against them in CI without a GPU.
//!
//! Each quirk says where it was observed. [`Quirks::llama_cpp_python`] is the
//! profile of llama-cpp-python 0.3.36's bundled server (`python -m
//! llama_cpp.server`, a small chat model, `n_ctx` 2048), as observed request
//! by request against agar (issue 22). Statuses and body shapes follow what
//! was observed; the wording of the validation message is representative
//! (the observed server put pydantic's or the chat template's exception text
//! there), except the context-length message, which is the server's own.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::wire;

/// Server behaviours to reproduce; `Quirks::default()` is a well-behaved server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// The profile's name, e.g. `llama-cpp-python-0.3.36`.
    pub name: String,
    /// Tools offered without `tool_choice` are ignored: the model answers
    /// in text (llama-cpp-python 0.3.36: tools reach the chat template only
    /// when `tool_choice` is set).
    pub tools_need_tool_choice: bool,
    /// `tool_choice: "required"` is answered with HTTP 500 and an empty
    /// message (llama-cpp-python 0.3.36).
    pub required_choice_fails: bool,
    /// An assistant turn with `tool_calls` and a missing or `null` `content`
    /// fails validation; `content: ""` works (llama-cpp-python 0.3.36).
    pub tool_call_turn_needs_content: bool,
    /// Validation errors are answered with HTTP 500 instead of 400
    /// (llama-cpp-python 0.3.36 answers every one with 500).
    pub validation_errors_as_500: bool,
    /// The context window in tokens (a token is counted as four characters
    /// of the request's messages and tools): a longer prompt gets HTTP 400
    /// `context_length_exceeded` in llama-cpp-python's words, and
    /// `GET /props` and `GET /v1/models` report it (llama.cpp's
    /// `n_ctx`, vLLM's `max_model_len`).
    pub context_window: Option<u64>,
    /// Without `max_tokens` (or `max_completion_tokens`) the model rambles
    /// until its context is full (`finish_reason: length`): llama-cpp-python
    /// generates up to `n_ctx - prompt` tokens when no cap is sent.
    pub ramble_without_max_tokens: bool,
}

/// How much a rambling reply says when no window is set, in tokens.
const RAMBLE_WITHOUT_WINDOW: u64 = 2048;

/// What a quirk does to one request.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Answer with this status and body instead of the planned reply.
    Fail { status: u16, body: Value },
    /// Answer as planned, with these changes.
    Answer { drop_tool_calls: bool, ramble_tokens: Option<u64> },
}

impl Quirks {
    /// The profile of llama-cpp-python 0.3.36's server with a 2,048-token
    /// context, as observed (see the module documentation).
    pub fn llama_cpp_python() -> Self {
        Quirks {
            name: "llama-cpp-python-0.3.36".into(),
            tools_need_tool_choice: true,
            required_choice_fails: true,
            tool_call_turn_needs_content: true,
            validation_errors_as_500: true,
            context_window: Some(2048),
            ramble_without_max_tokens: true,
        }
    }

    /// A profile by name: `none` (a well-behaved server) or
    /// `llama-cpp-python-0.3.36` (also `llama-cpp-python`).
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "none" | "" => Some(Quirks::default()),
            "llama-cpp-python" | "llama-cpp-python-0.3.36" => Some(Quirks::llama_cpp_python()),
            _ => None,
        }
    }

    /// The names [`Quirks::named`] knows.
    pub const NAMES: &'static [&'static str] = &["none", "llama-cpp-python-0.3.36"];

    /// What these quirks do to `request` (an OpenAI chat-completions body).
    pub(crate) fn judge(&self, request: &Value) -> Verdict {
        let validation_status = if self.validation_errors_as_500 { 500 } else { 400 };
        if self.tool_call_turn_needs_content
            && let Some(index) = tool_call_turn_without_content(request)
        {
            let message = format!(
                "1 validation error: messages.{index}.content: Input should be a valid string"
            );
            return Verdict::Fail {
                status: validation_status,
                body: error(&message, validation_status),
            };
        }
        if self.required_choice_fails && request.get("tool_choice") == Some(&json!("required")) {
            return Verdict::Fail { status: 500, body: error("", 500) };
        }
        // The prompt's size matters only against a window: not computed otherwise.
        let prompt = self.context_window.map(|window| (window, prompt_tokens(request)));
        if let Some((window, prompt)) = prompt
            && prompt > window
        {
            return Verdict::Fail { status: 400, body: context_exceeded(window, prompt) };
        }
        let capped = request.get("max_tokens").is_some_and(|v| !v.is_null())
            || request.get("max_completion_tokens").is_some_and(|v| !v.is_null());
        let ramble_tokens = (self.ramble_without_max_tokens && !capped)
            .then(|| prompt.map_or(RAMBLE_WITHOUT_WINDOW, |(w, p)| w.saturating_sub(p).max(1)));
        let drop_tool_calls = self.tools_need_tool_choice
            && request.get("tools").is_some_and(|t| !t.is_null())
            && request.get("tool_choice").is_none_or(Value::is_null);
        Verdict::Answer { drop_tool_calls, ramble_tokens }
    }

    /// The `GET /props` body (llama.cpp's server), when a window is set.
    pub(crate) fn props(&self) -> Option<Value> {
        let n_ctx = self.context_window?;
        Some(json!({"default_generation_settings": {"n_ctx": n_ctx}, "n_ctx": n_ctx}))
    }
}

/// The index of the first assistant message with tool calls whose `content`
/// is missing or `null`.
fn tool_call_turn_without_content(request: &Value) -> Option<usize> {
    let messages = request.get("messages")?.as_array()?;
    messages.iter().position(|m| {
        m["role"] == "assistant"
            && m.get("tool_calls").is_some_and(|c| c.as_array().is_some_and(|c| !c.is_empty()))
            && m.get("content").is_none_or(Value::is_null)
    })
}

/// The prompt's size in tokens: messages and tool definitions, four characters a token.
pub(crate) fn prompt_tokens(request: &Value) -> u64 {
    let tools =
        request.get("tools").map_or(0, |t| if t.is_null() { 0 } else { t.to_string().len() });
    wire::tokens(wire::request_chars(request) + tools)
}

/// llama-cpp-python's error shape: `{"error": {"message", "type", "param", "code"}}`.
fn error(message: &str, status: u16) -> Value {
    let kind = if status >= 500 { "internal_server_error" } else { "invalid_request_error" };
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}

/// llama-cpp-python's answer to a prompt longer than its window (HTTP 400).
fn context_exceeded(window: u64, prompt: u64) -> Value {
    json!({"error": {
        "message": format!(
            "This model's maximum context length is {window} tokens. However, you requested \
             {prompt} tokens ({prompt} in the messages, 0 in the completion). Please reduce the \
             length of the messages or completion."
        ),
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded"
    }})
}

/// A rambling reply of about `tokens` tokens.
pub(crate) fn ramble(tokens: u64) -> String {
    let words = "and so, as I was saying, there is a great deal more to add here ";
    let chars = usize::try_from(tokens.saturating_mul(4)).unwrap_or(usize::MAX);
    words.chars().cycle().take(chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_llama_cpp_python_profile_judges_requests_as_observed() {
        let q = Quirks::llama_cpp_python();
        let tools = json!([{"type": "function", "function": {"name": "f", "parameters": {}}}]);
        let null_content = json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        ], "max_tokens": 10});
        assert!(matches!(q.judge(&null_content), Verdict::Fail { status: 500, .. }));
        let required =
            json!({"messages": [], "tools": tools, "tool_choice": "required", "max_tokens": 10});
        let Verdict::Fail { status: 500, body } = q.judge(&required) else { panic!("fails") };
        assert_eq!(body["error"]["message"], "");
        let long = json!({"messages": [{"role": "user", "content": "x".repeat(9000)}]});
        let Verdict::Fail { status: 400, body } = q.judge(&long) else { panic!("overflows") };
        assert_eq!(body["error"]["code"], "context_length_exceeded");
        let no_choice = json!({"messages": [{"role": "user", "content": "hi"}], "tools": tools});
        let Verdict::Answer { drop_tool_calls, ramble_tokens } = q.judge(&no_choice) else {
            panic!("answers")
        };
        assert!(drop_tool_calls);
        assert!(ramble_tokens.is_some_and(|t| t > 1900), "{ramble_tokens:?}");
        let good = json!({"messages": [], "tools": tools, "tool_choice": "auto", "max_tokens": 5});
        assert_eq!(q.judge(&good), Verdict::Answer { drop_tool_calls: false, ramble_tokens: None });
        assert_eq!(
            Quirks::default().judge(&no_choice),
            Verdict::Answer { drop_tool_calls: false, ramble_tokens: None }
        );
    }
}
