//! The [`ChatModel`] trait: the one interface through which the auditor, target,
//! environment and judge talk to any model, and the typed errors it returns.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::message::{Message, ToolCall, ToolDef};

/// Which tool, if any, the model must call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "name")]
pub enum ToolChoice {
    /// The model decides (the default when tools are offered).
    #[default]
    Auto,
    /// The model must not call a tool.
    None,
    /// The model must call some tool.
    Required,
    /// The model must call this tool.
    Tool(String),
}

/// Sampling settings. `None` leaves the provider's default.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sampling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Reasoning before the answer, where the provider offers it: an effort
    /// (`low`, `medium`, `high`) or a thinking budget in tokens. Set from
    /// `--ROLE-reasoning` or `reasoning` in `agar.toml`; `None` leaves the
    /// provider's default, and a provider without reasoning ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
}

/// How much a model should reason before it answers. Each provider maps it
/// onto what it offers: Anthropic's extended thinking takes a token budget
/// (an effort maps to 2048, 8192 or 16384 tokens for `low`, `medium`,
/// `high`); OpenAI-style APIs take `reasoning_effort` (a budget maps to
/// `low` below 4096 tokens, `medium` below 16384, `high` above).
///
/// Written as the flag and `agar.toml` take it: `"high"` or `4096`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reasoning {
    /// An effort level: `minimal`, `low`, `medium` or `high`.
    Effort(String),
    /// A budget of reasoning tokens.
    Budget(u32),
}

impl Reasoning {
    /// The token budget this setting stands for.
    pub fn budget(&self) -> u32 {
        match self {
            Reasoning::Budget(b) => *b,
            Reasoning::Effort(e) => match e.as_str() {
                "minimal" | "low" => 2048,
                "high" | "xhigh" | "max" => 16384,
                _ => 8192,
            },
        }
    }

    /// The effort level this setting stands for.
    pub fn effort(&self) -> &str {
        match self {
            Reasoning::Effort(e) => e,
            Reasoning::Budget(b) if *b < 4096 => "low",
            Reasoning::Budget(b) if *b < 16384 => "medium",
            Reasoning::Budget(_) => "high",
        }
    }
}

/// One request to a chat model. The model name is bound in the [`ChatModel`] itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDef>,
    #[serde(default)]
    pub tool_choice: ToolChoice,
    #[serde(default)]
    pub sampling: Sampling,
    /// Text the next assistant turn must start with (only where
    /// [`Capabilities::prefill`] holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill: Option<String>,
    /// What the answer's citations may quote (the judge sets it). A provider
    /// that can constrain its output (the local engine) uses it; API
    /// providers ignore it and send nothing of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounding: Option<Grounding>,
    /// Report log-probabilities of the answer's next tokens (see
    /// [`LogprobRequest`]); a provider that cannot fails with
    /// [`ModelError::Unsupported`] rather than answer without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<LogprobRequest>,
}

/// The texts a tool call's citations must quote. By convention, an object
/// in the tool's arguments whose properties include the strings `message`
/// and `quote` is a citation: `message` must be one of the labels of
/// `sources` and `quote` a contiguous span of that source's text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Grounding {
    /// Label (such as `M4`) and text of each message that may be cited, in
    /// transcript order.
    pub sources: Vec<(String, String)>,
    /// The most characters a free-text string of the answer (a
    /// justification, a summary) should have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_text_chars: Option<u32>,
}

/// What [`ChatRequest::logprobs`] asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogprobRequest {
    /// How many of the likeliest tokens to report at each answer position
    /// (the OpenAI API allows at most 20).
    pub top: u8,
    /// Tokens whose log-probability at the first answer position is wanted
    /// whatever their rank, by text; reported by providers that can (the
    /// local engine), in [`TokenLogprobs::chosen`]. A text that is not one
    /// token is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<String>,
}

/// One token and its natural-log probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenLogprob {
    pub token: String,
    pub logprob: f64,
}

/// The log-probabilities at one position of an answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenLogprobs {
    /// The token the answer has at this position (empty when the provider
    /// reported the position without producing it).
    pub token: String,
    pub logprob: f64,
    /// The likeliest tokens at this position, likeliest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<TokenLogprob>,
    /// The tokens [`LogprobRequest::tokens`] named (first position only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chosen: Vec<TokenLogprob>,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Every input (prompt) token, those read from or written to a prompt
    /// cache included, so totals and costs never undercount.
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Of `input_tokens`, those written to the provider's prompt cache.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, rhs: Self) {
        self.input_tokens += rhs.input_tokens;
        self.output_tokens += rhs.output_tokens;
        self.cache_read_tokens += rhs.cache_read_tokens;
        self.cache_write_tokens += rhs.cache_write_tokens;
    }
}

/// A model's answer: one assistant message, possibly with tool calls.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    pub content: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default)]
    pub usage: Usage,
    /// Why generation stopped, as the provider said it (`stop`, `length`, `tool_calls`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Attempts the middleware made for this answer (1 when no retry was needed).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Milliseconds the middleware waited between those attempts (backoff and
    /// `Retry-After`), in total.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retry_wait_ms: u64,
    /// What each retried attempt failed with ([`ModelError::label`]), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<String>,
    /// The model's reasoning before it answered, as readable text (see [`Message::reasoning`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Opaque data to send back with this answer in later turns (see [`Message::provider_state`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_state: Option<serde_json::Value>,
    /// Per answer position, when the request asked ([`ChatRequest::logprobs`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logprobs: Vec<TokenLogprobs>,
}

fn one() -> u32 {
    1
}

impl ChatResponse {
    /// The answer as an assistant [`Message`].
    pub fn to_message(&self) -> Message {
        Message {
            role: crate::Role::Assistant,
            content: self.content.as_str().into(),
            tool_calls: self.tool_calls.clone(),
            tool_call_id: None,
            reasoning: self.reasoning.clone(),
            provider_state: self.provider_state.clone().map(Box::new),
        }
    }
}

/// What a provider can do beyond plain chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// It can continue an assistant turn from given text.
    pub prefill: bool,
    /// It keeps the conversation on its side (an HTTP application with its own
    /// session state): each call only adds to it, so the conversation cannot be
    /// rolled back or restarted by resending a shorter history.
    pub stateful: bool,
}

/// Why a model call failed. Every provider converts its failures into this type.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    #[error("rate limited (HTTP {status}){}", fmt_retry_after(.retry_after))]
    RateLimited { status: u16, retry_after: Option<Duration>, body: String },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("provider answered HTTP {status}: {body}")]
    Provider { status: u16, retry_after: Option<Duration>, body: String },
    #[error("connection failed: {0}")]
    Connection(String),
    #[error("could not decode the provider's reply: {detail}")]
    Undecodable { detail: String, body: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Config(String),
    /// A call that failed after more than one attempt: the last attempt's
    /// error with what the attempts cost (the middleware's final word). Its
    /// kind, label, status and retryability are the last attempt's.
    #[error("{0}")]
    Retried(Box<RetriedCall>),
}

/// The attempts of a call that failed past its retries ([`ModelError::Retried`]).
#[derive(Debug, Clone)]
pub struct RetriedCall {
    /// The last attempt's error (never itself `Retried`).
    pub last: ModelError,
    /// Attempts made, the first included (at least 2).
    pub attempts: u32,
    /// From the first attempt's start to giving up.
    pub elapsed: Duration,
    /// Spent waiting between attempts (backoff and `Retry-After`).
    pub waited: Duration,
    /// What each retried attempt failed with ([`ModelError::label`]), in order.
    pub retried: Vec<String>,
    /// The last few distinct error messages, oldest first.
    pub distinct: Vec<String>,
}

impl std::fmt::Display for RetriedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} [agar: {} attempts over {:.1}s; last distinct errors: {}]",
            self.last,
            self.attempts,
            self.elapsed.as_secs_f64(),
            self.distinct.join(" | ")
        )
    }
}

fn fmt_retry_after(d: &Option<Duration>) -> String {
    match d {
        Some(d) => format!(", retry after {}s", d.as_secs_f64()),
        None => String::new(),
    }
}

impl ModelError {
    /// Whether trying the same request again may succeed: 429, 5xx, 408,
    /// connection failures, timeouts and garbled replies.
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::RateLimited { .. }
            | ModelError::Timeout(_)
            | ModelError::Connection(_)
            | ModelError::Undecodable { .. } => true,
            ModelError::Provider { status, body, .. } => {
                (*status >= 500 || *status == 408) && !crate::server_error::invalid_request(body)
            }
            ModelError::Unsupported(_) | ModelError::Config(_) => false,
            ModelError::Retried(call) => call.last.is_retryable(),
        }
    }

    /// The error of the last attempt: `self`, or what a [`ModelError::Retried`] wraps.
    pub fn last_attempt(&self) -> &ModelError {
        match self {
            ModelError::Retried(call) => &call.last,
            other => other,
        }
    }

    /// How many attempts the call made: a [`ModelError::Retried`]'s count, else 1.
    pub fn attempts(&self) -> u32 {
        match self {
            ModelError::Retried(call) => call.attempts,
            _ => 1,
        }
    }

    /// How long the call's attempts took, first to last, when retried.
    pub fn elapsed(&self) -> Option<Duration> {
        match self {
            ModelError::Retried(call) => Some(call.elapsed),
            _ => None,
        }
    }

    /// Time spent waiting between attempts (zero when not retried).
    pub fn retry_wait(&self) -> Duration {
        match self {
            ModelError::Retried(call) => call.waited,
            _ => Duration::ZERO,
        }
    }

    /// What each retried attempt failed with ([`ModelError::label`]), in order.
    pub fn retried(&self) -> &[String] {
        match self {
            ModelError::Retried(call) => &call.retried,
            _ => &[],
        }
    }

    /// The sizes named when the server said the request overflowed the
    /// model's context window (never retried: the same request overflows again).
    pub fn context_overflow(&self) -> Option<crate::server_error::ContextSizes> {
        match self {
            ModelError::Provider { body, .. } => crate::server_error::context_overflow(body),
            ModelError::Retried(call) => call.last.context_overflow(),
            _ => None,
        }
    }

    /// The request feature the server's message blames, if it names one.
    pub fn blamed_feature(&self) -> Option<&'static str> {
        match self {
            ModelError::Provider { body, .. } => crate::server_error::blamed_feature(body),
            ModelError::Retried(call) => call.last.blamed_feature(),
            _ => None,
        }
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ModelError::RateLimited { retry_after, .. }
            | ModelError::Provider { retry_after, .. } => *retry_after,
            ModelError::Retried(call) => call.last.retry_after(),
            _ => None,
        }
    }

    /// A short stable name for the kind of failure, used in summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelError::RateLimited { .. } => "rate_limited",
            ModelError::Timeout(_) => "timeout",
            ModelError::Provider { .. } => "provider",
            ModelError::Connection(_) => "connection",
            ModelError::Undecodable { .. } => "undecodable",
            ModelError::Unsupported(_) => "unsupported",
            ModelError::Config(_) => "config",
            ModelError::Retried(call) => call.last.kind(),
        }
    }

    /// [`ModelError::kind`], with the status for HTTP errors other than 429
    /// (`http_500`, `http_401`): what transcripts and summaries count.
    pub fn label(&self) -> String {
        match self {
            ModelError::Provider { .. } if self.context_overflow().is_some() => {
                "context_length".to_owned()
            }
            ModelError::Provider { status, .. } => format!("http_{status}"),
            ModelError::Retried(call) => call.last.label(),
            other => other.kind().to_string(),
        }
    }
}

/// A chat model: one provider's model, or a middleware wrapping another [`ChatModel`].
///
/// The audit loop and the judge see models only through this trait.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// The model reference it was built from, e.g. `openai/gpt-4.1-mini`.
    fn name(&self) -> &str;

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_the_transient_ones() {
        let p = |status| ModelError::Provider { status, retry_after: None, body: String::new() };
        assert!(p(500).is_retryable());
        assert!(p(503).is_retryable());
        assert!(!p(400).is_retryable());
        assert!(!p(401).is_retryable());
        assert!(ModelError::Timeout(Duration::from_secs(1)).is_retryable());
        assert!(!ModelError::Config("x".into()).is_retryable());
    }

    #[test]
    fn new_fields_stay_out_of_old_shaped_json() {
        let usage = Usage { input_tokens: 3, output_tokens: 4, ..Usage::default() };
        let j = serde_json::to_value(usage).unwrap();
        assert_eq!(j, serde_json::json!({"input_tokens": 3, "output_tokens": 4}));
        let old: Usage = serde_json::from_value(j).unwrap();
        assert_eq!(old, usage);
        let msg = serde_json::to_value(Message::assistant("hi")).unwrap();
        assert_eq!(msg, serde_json::json!({"role": "assistant", "content": "hi"}));
    }

    #[test]
    fn reasoning_and_provider_state_reach_the_message() {
        let mut total = Usage { input_tokens: 10, cache_read_tokens: 6, ..Usage::default() };
        total +=
            Usage { input_tokens: 5, cache_write_tokens: 5, output_tokens: 1, ..Usage::default() };
        assert_eq!(
            (total.input_tokens, total.cache_read_tokens, total.cache_write_tokens),
            (15, 6, 5)
        );
        let resp = ChatResponse {
            content: "yes".into(),
            reasoning: Some("think".into()),
            provider_state: Some(serde_json::json!({"k": 1})),
            ..ChatResponse::default()
        };
        let m = resp.to_message();
        assert_eq!(m.reasoning.as_deref(), Some("think"));
        assert_eq!(m.provider_state.as_deref(), Some(&serde_json::json!({"k": 1})));
    }

    #[test]
    fn tool_choice_serialises_readably() {
        let j = serde_json::to_value(ToolChoice::Tool("score".into())).unwrap();
        assert_eq!(j, serde_json::json!({"type": "tool", "name": "score"}));
    }
}
