//! What the fake server answers: [`Reply`], and the [`Script`] file that maps
//! model names to replies.
//!
//! Both are plain serde types, so a JSON file can hold them:
//!
//! ```json
//! {
//!   "by_turn": { "auditor": [ {"tool_calls": [{"name": "end_conversation", "arguments": {}}]} ] },
//!   "queue":   { "target":  [ {"text": "Hello!"}, {"status": {"code": 429, "retry_after": "0", "body": "slow down"}} ] },
//!   "faults":  { "judge":   [ "malformed" ] },
//!   "fault_plan": { "server_error": 0.05, "seed": 7 }
//! }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TestkitError;
use crate::fault::FaultPlan;

/// One answer of the fake server to one `POST /v1/chat/completions`.
///
/// In JSON, unit variants are strings (`"hang"`) and the others are objects
/// with one key (`{"text": "hi"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply {
    /// 200 with an assistant message holding this text (`finish_reason: stop`).
    Text(String),
    /// 200 with one or several tool calls (`finish_reason: tool_calls`); the
    /// server gives them ids `call_<n>`, unique per server.
    ToolCalls(Vec<ScriptedCall>),
    /// Any status with this body, sent verbatim (it need not be JSON); with a
    /// `Retry-After` header, also sent verbatim, when `retry_after` is set.
    /// A 3xx also carries the body as its `Location` (where it redirects).
    Status {
        code: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<String>,
        #[serde(default)]
        body: String,
    },
    /// 200 whose body is not JSON.
    Malformed,
    /// 200 with a valid envelope holding a tool call whose `arguments` string is
    /// not valid JSON.
    MalformedToolArguments,
    /// 200 whose headers promise the whole body (`Content-Length`) but whose
    /// connection closes halfway through it: the client fails reading the body.
    Truncated,
    /// Never answers: the request stays open until the client gives up or the
    /// server shuts down.
    Hang,
    /// 200 whose answer is the first token's text. The OpenAI fake adds, when
    /// the request asks (`logprobs: true`), the first position's
    /// log-probabilities: that token's, and the first `top_logprobs` of
    /// these as its alternatives (likeliest first, as written). The Anthropic
    /// and application fakes answer with the text only.
    Logprobs(Vec<ScriptedLogprob>),
}

/// One token of a [`Reply::Logprobs`] and its natural-log probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedLogprob {
    pub token: String,
    pub logprob: f64,
}

impl ScriptedLogprob {
    /// `(token, probability)` pairs as scripted log-probabilities.
    pub fn from_probs(pairs: &[(&str, f64)]) -> Vec<Self> {
        pairs.iter().map(|(t, p)| Self { token: (*t).to_string(), logprob: p.ln() }).collect()
    }
}

impl Reply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Self {
        Reply::Text(text.into())
    }

    /// A reply made of one tool call.
    pub fn tool_call(name: impl Into<String>, arguments: serde_json::Value) -> Self {
        Reply::ToolCalls(vec![ScriptedCall { name: name.into(), arguments }])
    }

    /// The text of a [`Reply::Logprobs`]: its first token.
    pub(crate) fn first_token(tokens: &[ScriptedLogprob]) -> String {
        tokens.first().map(|t| t.token.clone()).unwrap_or_default()
    }

    /// A status reply without `Retry-After`.
    pub fn status(code: u16, body: impl Into<String>) -> Self {
        Reply::Status { code, retry_after: None, body: body.into() }
    }

    /// A 429 with an OpenAI-shaped error body and `Retry-After: <retry_after>`.
    pub fn rate_limited(retry_after: impl Into<String>) -> Self {
        Reply::Status {
            code: 429,
            retry_after: Some(retry_after.into()),
            body: crate::wire::error_body("rate limit reached (fake)", "rate_limit_exceeded")
                .to_string(),
        }
    }

    /// A 500 with an OpenAI-shaped error body.
    pub fn server_error() -> Self {
        Reply::status(
            500,
            crate::wire::error_body("internal error (fake)", "server_error").to_string(),
        )
    }
}

/// One tool call in a [`Reply::ToolCalls`]: the tool's name and its arguments
/// as JSON (sent to the client as a JSON string, as OpenAI does).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    pub name: String,
    #[serde(default = "empty_object")]
    pub arguments: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// A script file: replies per model name, as read by `agar-fake-server --script`
/// and by [`crate::FakeServer::load_script`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// Stateless replies chosen by the number of `assistant` messages already in
    /// the request (clamped to the last one); safe under concurrency.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_turn: BTreeMap<String, Vec<Reply>>,
    /// Replies consumed one per call, in order.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queue: BTreeMap<String, Vec<Reply>>,
    /// One-shot faults served before any other reply for that model.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub faults: BTreeMap<String, Vec<Reply>>,
    /// Probabilistic faults applied to every call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_plan: Option<FaultPlan>,
}

impl Script {
    /// Parses a script from JSON text; `origin` names it in errors.
    pub fn from_json(origin: &Path, json: &str) -> Result<Self, TestkitError> {
        let script: Script = serde_json::from_str(json)
            .map_err(|source| TestkitError::ParseScript { path: origin.to_path_buf(), source })?;
        if let Some(plan) = &script.fault_plan {
            plan.check()?;
        }
        Ok(script)
    }

    /// Reads and parses a script file.
    pub fn load(path: &Path) -> Result<Self, TestkitError> {
        let json = std::fs::read_to_string(path)
            .map_err(|source| TestkitError::ReadScript { path: path.to_path_buf(), source })?;
        Self::from_json(path, &json)
    }

    /// Every model name the script mentions.
    pub fn models(&self) -> impl Iterator<Item = &str> {
        self.by_turn.keys().chain(self.queue.keys()).chain(self.faults.keys()).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_read_naturally_in_json() {
        let replies: Vec<Reply> = serde_json::from_value(json!([
            {"text": "hi"},
            {"tool_calls": [{"name": "f", "arguments": {"a": 1}}, {"name": "g"}]},
            {"status": {"code": 429, "retry_after": "0", "body": "slow"}},
            {"status": {"code": 500}},
            "malformed", "malformed_tool_arguments", "truncated", "hang"
        ]))
        .expect("valid replies");
        assert_eq!(replies[0], Reply::text("hi"));
        assert_eq!(
            replies[1],
            Reply::ToolCalls(vec![
                ScriptedCall { name: "f".into(), arguments: json!({"a": 1}) },
                ScriptedCall { name: "g".into(), arguments: json!({}) },
            ])
        );
        assert_eq!(
            replies[2],
            Reply::Status { code: 429, retry_after: Some("0".into()), body: "slow".into() }
        );
        assert_eq!(replies[3], Reply::status(500, ""));
        assert_eq!(replies[7], Reply::Hang);
        let back = serde_json::to_value(&replies).expect("serialisable");
        assert_eq!(back[4], json!("malformed"));
        assert_eq!(back[0], json!({"text": "hi"}));
    }

    #[test]
    fn unknown_script_keys_are_rejected() {
        let err =
            Script::from_json(Path::new("s.json"), r#"{"by_turns": {}}"#).expect_err("unknown key");
        assert!(err.to_string().contains("s.json"), "{err}");
    }
}
