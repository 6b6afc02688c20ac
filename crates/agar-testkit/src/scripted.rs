//! [`ScriptedModel`]: an in-process [`ChatModel`] that answers from a queue or a
//! closure, for unit tests of the audit loop and the judge without HTTP; and the
//! [`text`], [`tool_call`] and [`tool_calls`] response helpers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError, ToolCall, Usage};

type Answer = Result<ChatResponse, ModelError>;
type AnswerFn = dyn Fn(&ChatRequest) -> Answer + Send + Sync;

/// A [`ChatModel`] that answers from a script and records what it was asked.
///
/// Each call takes the next queued reply; when the queue is empty it asks the
/// closure given to [`ScriptedModel::from_fn`] (if any); when there is neither,
/// it fails with [`ModelError::Config`] (`scripted model NAME has no reply left`).
///
/// Tool calls with an empty id get `call_<n>`, numbered per model, so the
/// helpers below need not invent ids.
pub struct ScriptedModel {
    name: String,
    queue: Mutex<VecDeque<Answer>>,
    fallback: Option<Box<AnswerFn>>,
    capabilities: Capabilities,
    delay: Duration,
    /// Every request received, oldest first.
    requests: Mutex<Vec<ChatRequest>>,
    next_call_id: AtomicU64,
}

impl std::fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModel")
            .field("name", &self.name)
            .field("queued", &lock(&self.queue).len())
            .field("fallback", &self.fallback.is_some())
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A failed assertion in another task must not hide this model's record.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ScriptedModel {
    /// A model that answers with `replies`, in order.
    pub fn new(name: impl Into<String>, replies: impl IntoIterator<Item = Answer>) -> Self {
        Self {
            name: name.into(),
            queue: Mutex::new(replies.into_iter().collect()),
            fallback: None,
            capabilities: Capabilities::default(),
            delay: Duration::ZERO,
            requests: Mutex::new(Vec::new()),
            next_call_id: AtomicU64::new(0),
        }
    }

    /// A model that answers with `responses`, in order, and never fails before
    /// they run out.
    pub fn from_responses(
        name: impl Into<String>,
        responses: impl IntoIterator<Item = ChatResponse>,
    ) -> Self {
        Self::new(name, responses.into_iter().map(Ok))
    }

    /// A model that answers every call with `reply(request)`.
    pub fn from_fn(
        name: impl Into<String>,
        reply: impl Fn(&ChatRequest) -> Answer + Send + Sync + 'static,
    ) -> Self {
        Self { fallback: Some(Box::new(reply)), ..Self::new(name, []) }
    }

    /// A stateless model that answers `responses[k]`, where `k` is the number of
    /// assistant messages in the request (the last response past the end); the
    /// in-process twin of [`crate::FakeServer::script_by_turn`].
    pub fn by_turn(name: impl Into<String>, responses: Vec<ChatResponse>) -> Self {
        let name = name.into();
        let model = name.clone();
        Self::from_fn(name, move |request| {
            let turn =
                request.messages.iter().filter(|m| m.role == agar_core::Role::Assistant).count();
            responses
                .get(turn.min(responses.len().saturating_sub(1)))
                .cloned()
                .ok_or_else(|| no_reply_left(&model))
        })
    }

    /// Reports these capabilities (e.g. prefill) instead of none.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Waits `delay` (on the tokio clock, so paused-time tests are instant)
    /// before each answer.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Queues one more reply (queued replies come before the closure's).
    pub fn push(&self, reply: Answer) {
        lock(&self.queue).push_back(reply);
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<ChatRequest> {
        lock(&self.requests).clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<ChatRequest> {
        lock(&self.requests).last().cloned()
    }

    /// How many times `chat` was called.
    pub fn calls(&self) -> usize {
        lock(&self.requests).len()
    }

    /// Queued replies not yet used.
    pub fn remaining(&self) -> usize {
        lock(&self.queue).len()
    }

    fn number_calls(&self, mut response: ChatResponse) -> ChatResponse {
        for call in response.tool_calls.iter_mut().filter(|c| c.id.is_empty()) {
            call.id = format!("call_{}", self.next_call_id.fetch_add(1, Ordering::Relaxed) + 1);
        }
        response
    }
}

fn no_reply_left(name: &str) -> ModelError {
    ModelError::Config(format!("scripted model {name} has no reply left"))
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        lock(&self.requests).push(request.clone());
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let queued = lock(&self.queue).pop_front();
        let reply = match (queued, &self.fallback) {
            (Some(reply), _) => reply,
            (None, Some(fallback)) => fallback(request),
            (None, None) => Err(no_reply_left(&self.name)),
        };
        reply.map(|r| self.number_calls(r))
    }
}

fn estimate_tokens(chars: usize) -> u64 {
    chars.div_ceil(4) as u64
}

/// A text answer (`finish_reason: stop`), with output tokens estimated at four
/// characters each.
pub fn text(content: impl Into<String>) -> ChatResponse {
    let content = content.into();
    ChatResponse {
        usage: Usage {
            output_tokens: estimate_tokens(content.chars().count()),
            ..Usage::default()
        },
        content,
        tool_calls: Vec::new(),
        finish_reason: Some("stop".into()),
        attempts: 1,
        ..ChatResponse::default()
    }
}

/// An answer made of one tool call (`finish_reason: tool_calls`). Its id is
/// empty; [`ScriptedModel`] fills it in.
pub fn tool_call(name: impl Into<String>, arguments: serde_json::Value) -> ChatResponse {
    tool_calls([(name, arguments)])
}

/// An answer made of several tool calls, in order, with empty ids.
pub fn tool_calls<N: Into<String>>(
    calls: impl IntoIterator<Item = (N, serde_json::Value)>,
) -> ChatResponse {
    let tool_calls: Vec<ToolCall> = calls
        .into_iter()
        .map(|(name, arguments)| ToolCall {
            id: String::new(),
            name: name.into(),
            arguments: arguments.to_string(),
        })
        .collect();
    let chars = tool_calls.iter().map(|c| c.name.len() + c.arguments.len()).sum();
    ChatResponse {
        content: String::new(),
        usage: Usage { output_tokens: estimate_tokens(chars), ..Usage::default() },
        tool_calls,
        finish_reason: Some("tool_calls".into()),
        attempts: 1,
        ..ChatResponse::default()
    }
}
