//! [`FakeServer`]: an HTTP server on `127.0.0.1` that answers from scripts,
//! faults and request-derived defaults, speaking one [`Protocol`]: OpenAI's
//! chat completions (the default), Anthropic's Messages API
//! ([`crate::anthropic`]), or an HTTP application's ([`crate::app`]).
//!
//! OpenAI routes: `POST /v1/chat/completions` (non-streaming) and `GET /v1/models`.
//!
//! How one chat request is answered, in order of precedence, per model name
//! (the body's `model` field):
//!
//! 1. `stream: true` -> 400 (streaming is not implemented);
//! 2. a one-shot fault pushed with [`FakeServer::push_fault`];
//! 3. a fault drawn from the [`FaultPlan`], if one is set;
//! 4. the next reply of the queue set with [`FakeServer::script`];
//! 5. the reply for this turn of [`FakeServer::script_by_turn`];
//! 6. a derived reply: a call of the forced tool with arguments built from its
//!    schema ([`crate::args_from_schema`]; `quote` strings quote the first
//!    `[M#]` message of the last user message, see [`crate::quote_prompt`]),
//!    else a short text echoing the last user message.
//!
//! Faults never consume a scripted reply, so a client that retries sees the
//! script carry on where it was. Every request is counted and recorded first,
//! whatever it gets. The state is one `std::sync::Mutex`, held only to record
//! the request and pick the reply, never across an `.await`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::TestkitError;
use crate::fault::FaultPlan;
use crate::quirks::{self, Quirks, Verdict};
use crate::reply::{Reply, Script};
use crate::schema::{args_from_schema, quote_prompt};
use crate::wire::{self, WireCall};

/// Request bodies up to this size are accepted (axum's default of 2 MiB is too
/// small for long audit transcripts in benchmarks).
const BODY_LIMIT: usize = 64 << 20;

/// How long [`FakeServer::shutdown`] waits for connections to close before
/// aborting the server task.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The arguments of a [`Reply::MalformedToolArguments`] call: cut mid-object.
pub(crate) const MALFORMED_ARGUMENTS: &str = r#"{"oops": "unterminated"#;

/// How long a [`Reply::Truncated`] body waits between its half and the
/// connection reset, so the headers and the half are flushed first.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// The API a [`FakeServer`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OpenAI's chat completions under `/v1`.
    #[default]
    OpenAi,
    /// Anthropic's Messages API: `POST /v1/messages` ([`crate::anthropic`]).
    Anthropic,
    /// A chatbot application: any method on `/chat` ([`crate::app`]).
    App,
}

/// How the fake server starts. `FakeConfig::default()` binds a free port with
/// no latency, no faults and no script, speaking OpenAI's protocol.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    /// The API it speaks.
    pub protocol: Protocol,
    /// Port on 127.0.0.1; 0 lets the OS choose one.
    pub port: u16,
    /// Delay before every answer (see [`FakeServer::set_latency`]).
    pub latency: Duration,
    /// Per-model delays, overriding `latency`.
    pub model_latency: BTreeMap<String, Duration>,
    /// Replies to load at start.
    pub script: Script,
    /// Random faults; when set, it wins over `script.fault_plan`.
    pub fault_plan: Option<FaultPlan>,
    /// Extra model names for `GET /v1/models` (scripted and requested names are
    /// listed anyway).
    pub models: Vec<String>,
    /// Behaviours of a real server to reproduce (OpenAI protocol only).
    pub quirks: Quirks,
    /// Keep no copy of the requests ([`FakeServer::requests`] is then empty):
    /// the standalone server does, since nothing can read them there, and a
    /// benchmark's tens of thousands of requests would only cost it CPU and
    /// memory beside the `agar` it measures.
    pub forget_requests: bool,
}

/// A running fake OpenAI-compatible server. Dropping it (or
/// [`shutdown`](FakeServer::shutdown)) stops it.
pub struct FakeServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// The task running `axum::serve`; it ends once `shared.shutdown` is
    /// cancelled and every connection has closed. Taken by `shutdown`.
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

/// What the server task and every handler share.
pub(crate) struct Shared {
    pub(crate) protocol: Protocol,
    state: Mutex<ServerState>,
    /// The one shutdown signal. Cancelled by [`FakeServer::shutdown`] or on
    /// drop; `axum::serve` waits on it to stop accepting and close idle
    /// connections, and handlers parked in [`Reply::Hang`] or in a latency
    /// sleep wake on it and answer 503, so graceful shutdown never waits on them.
    pub(crate) shutdown: CancellationToken,
    /// Source of tool-call ids (`call_<n>`), unique per server. Outside the
    /// mutex because ids are handed out while answering.
    next_call_id: AtomicU64,
    /// Source of an application's session ids (`sess-<n>`).
    next_session: AtomicU64,
    /// [`FakeConfig::forget_requests`].
    forget_requests: bool,
}

/// Everything the server knows, per model name.
#[derive(Debug, Default)]
struct ModelState {
    faults: VecDeque<Reply>,
    queue: VecDeque<Reply>,
    by_turn: Vec<Reply>,
    latency: Option<Duration>,
    calls: usize,
    requests: Vec<Value>,
    /// Requests that carried an `Authorization` header (the header itself is
    /// never stored), or `x-api-key` for the Anthropic protocol.
    with_auth: usize,
    /// Every request's headers, for the application protocol only.
    headers: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Default)]
pub(crate) struct ServerState {
    models: BTreeMap<String, ModelState>,
    /// Extra names for `GET /v1/models`.
    listed: BTreeSet<String>,
    latency: Duration,
    fault_plan: Option<FaultPlan>,
    pub(crate) total_calls: usize,
    /// Faults served (pushed ones and the plan's draws).
    pub(crate) faults_served: usize,
    /// Hashes of the prompt prefixes the Anthropic protocol has cached.
    pub(crate) prompt_cache: BTreeSet<u64>,
    quirks: Quirks,
}

/// What the handler decided under the lock, to carry out after releasing it.
pub(crate) struct Planned {
    /// `None`: derive the reply from the request.
    pub(crate) reply: Option<Reply>,
    /// The request's 1-based index among its model's calls.
    pub(crate) call_index: usize,
    pub(crate) latency: Duration,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, ServerState> {
        // A panic elsewhere while holding the lock leaves the state usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the request and, unless `record_only`, picks its reply.
    pub(crate) fn plan(
        &self,
        model: &str,
        request: &Value,
        has_auth: bool,
        record_only: bool,
    ) -> Planned {
        self.plan_with_headers(model, request, has_auth, None, record_only)
    }

    /// [`Shared::plan`], also recording the request's headers.
    pub(crate) fn plan_with_headers(
        &self,
        model: &str,
        request: &Value,
        has_auth: bool,
        headers: Option<BTreeMap<String, String>>,
        record_only: bool,
    ) -> Planned {
        let mut guard = self.lock();
        let state = &mut *guard;
        state.total_calls += 1;
        let m = state.models.entry(model.to_string()).or_default();
        m.calls += 1;
        if !self.forget_requests {
            m.requests.push(request.clone());
        }
        if has_auth {
            m.with_auth += 1;
        }
        m.headers.extend(headers);
        let call_index = m.calls;
        let latency = m.latency.unwrap_or(state.latency);
        if record_only {
            return Planned { reply: None, call_index, latency };
        }
        let fault = m
            .faults
            .pop_front()
            .or_else(|| state.fault_plan.as_ref().and_then(|p| p.fault_for(model, call_index)));
        state.faults_served += usize::from(fault.is_some());
        let reply = fault.or_else(|| m.queue.pop_front()).or_else(|| {
            let last = m.by_turn.len().checked_sub(1)?;
            m.by_turn.get(turn(self.protocol, request).min(last)).cloned()
        });
        tracing::debug!(model, call = call_index, scripted = reply.is_some(), "fake chat request");
        Planned { reply, call_index, latency }
    }

    pub(crate) fn call_id(&self) -> String {
        format!("call_{}", self.next_call_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub(crate) fn session_id(&self) -> String {
        format!("sess-{}", self.next_session.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Waits out the planned latency, or forever for a [`Reply::Hang`]; the
    /// 503 to send instead when the server shuts down meanwhile.
    pub(crate) async fn delay(&self, planned: &Planned) -> Option<Response> {
        if matches!(planned.reply, Some(Reply::Hang)) {
            self.shutdown.cancelled().await;
            return Some(shutting_down());
        }
        if !planned.latency.is_zero() {
            tokio::select! {
                () = tokio::time::sleep(planned.latency) => {}
                () = self.shutdown.cancelled() => return Some(shutting_down()),
            }
        }
        None
    }
}

/// The turn index of a by-turn script: the assistant messages already in the
/// request, not counting an Anthropic prefill (a final assistant message).
fn turn(protocol: Protocol, request: &Value) -> usize {
    let turns = wire::assistant_turns(request);
    let messages = request.get("messages").and_then(Value::as_array);
    let prefilled = messages.and_then(|m| m.last()).is_some_and(|m| m["role"] == "assistant");
    if protocol == Protocol::Anthropic && prefilled { turns.saturating_sub(1) } else { turns }
}

impl FakeServer {
    /// Starts a server on a free port of 127.0.0.1 with the default config.
    ///
    /// # Panics
    /// If no port can be bound (see [`FakeServer::try_start_with`]).
    pub async fn start() -> FakeServer {
        Self::start_with(FakeConfig::default()).await
    }

    /// Starts a server with `config`.
    ///
    /// # Panics
    /// If the port cannot be bound.
    pub async fn start_with(config: FakeConfig) -> FakeServer {
        Self::try_start_with(config).await.expect("the fake server could bind 127.0.0.1")
    }

    /// Starts a server with `config`, reporting a port that cannot be bound or
    /// an invalid fault plan.
    pub async fn try_start_with(config: FakeConfig) -> Result<FakeServer, TestkitError> {
        let fault_plan = config.fault_plan.clone().or_else(|| config.script.fault_plan.clone());
        if let Some(plan) = &fault_plan {
            plan.check()?;
        }
        let requested = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
        let listener = TcpListener::bind(requested)
            .await
            .map_err(|source| TestkitError::Bind { addr: requested, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| TestkitError::Bind { addr: requested, source })?;

        let shared = Arc::new(Shared {
            protocol: config.protocol,
            state: Mutex::new(ServerState::default()),
            shutdown: CancellationToken::new(),
            next_call_id: AtomicU64::new(0),
            next_session: AtomicU64::new(0),
            forget_requests: config.forget_requests,
        });
        let mut server = FakeServer { addr, shared: Arc::clone(&shared), task: None };
        server.load_script(&config.script);
        server.set_fault_plan(fault_plan);
        server.set_latency(config.latency);
        for (model, latency) in &config.model_latency {
            server.set_model_latency(model, *latency);
        }
        server.shared.lock().listed.extend(config.models);
        server.set_quirks(config.quirks);

        let shutdown = shared.shutdown.clone();
        let listener = listener.tap_io(|tcp| {
            // Small request/response exchanges: do not let Nagle delay them.
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(%err, "could not set TCP_NODELAY");
            }
        });
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app(shared))
                .with_graceful_shutdown(shutdown.cancelled_owned());
            if let Err(err) = served.await {
                tracing::warn!(%err, "fake server stopped with an error");
            }
        });
        server.task = Some(task);
        Ok(server)
    }

    /// Starts a server speaking Anthropic's Messages API on a free port.
    ///
    /// # Panics
    /// If no port can be bound.
    pub async fn start_anthropic() -> FakeServer {
        Self::start_with(FakeConfig { protocol: Protocol::Anthropic, ..FakeConfig::default() })
            .await
    }

    /// The base URL a provider is given: `http://127.0.0.1:PORT/v1` for
    /// OpenAI (`OPENAI_BASE_URL`), `http://127.0.0.1:PORT` for Anthropic
    /// (`ANTHROPIC_BASE_URL`) and applications.
    pub fn base_url(&self) -> String {
        match self.shared.protocol {
            Protocol::OpenAi => format!("http://{}/v1", self.addr),
            Protocol::Anthropic | Protocol::App => format!("http://{}", self.addr),
        }
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> Protocol {
        self.shared.protocol
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, wakes hanging handlers, and waits (a few seconds at
    /// most) for open connections to close.
    pub async fn shutdown(mut self) {
        self.shared.shutdown.cancel();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err()
        {
            task.abort();
        }
    }

    /// Appends `replies` to `model`'s queue: each call takes the next one;
    /// once it is empty, the by-turn script or the derived reply applies.
    pub fn script(&self, model: &str, replies: Vec<Reply>) {
        self.shared.lock().models.entry(model.to_string()).or_default().queue.extend(replies);
    }

    /// Sets `model`'s by-turn script, replacing any previous one: a request
    /// holding `k` assistant messages gets `replies[k]` (the last one past the
    /// end). Stateless, so concurrent conversations each follow the script.
    pub fn script_by_turn(&self, model: &str, replies: Vec<Reply>) {
        self.shared.lock().models.entry(model.to_string()).or_default().by_turn = replies;
    }

    /// Queues a one-shot fault for `model`, served before anything else.
    pub fn push_fault(&self, model: &str, fault: Reply) {
        self.shared.lock().models.entry(model.to_string()).or_default().faults.push_back(fault);
    }

    /// Loads a [`Script`]: by-turn scripts replace, queues and faults append,
    /// and its fault plan (if any) replaces the current one.
    pub fn load_script(&self, script: &Script) {
        for (model, replies) in &script.by_turn {
            self.script_by_turn(model, replies.clone());
        }
        for (model, replies) in &script.queue {
            self.script(model, replies.clone());
        }
        for (model, faults) in &script.faults {
            for fault in faults {
                self.push_fault(model, fault.clone());
            }
        }
        if script.fault_plan.is_some() {
            self.set_fault_plan(script.fault_plan.clone());
        }
    }

    /// Delays every answer by `latency` (unless the model has its own).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.lock().latency = latency;
    }

    /// Delays `model`'s answers by `latency`.
    pub fn set_model_latency(&self, model: &str, latency: Duration) {
        self.shared.lock().models.entry(model.to_string()).or_default().latency = Some(latency);
    }

    /// Sets the real-server behaviours to reproduce ([`Quirks`]).
    pub fn set_quirks(&self, quirks: Quirks) {
        self.shared.lock().quirks = quirks;
    }

    /// Sets or clears the random fault plan.
    pub fn set_fault_plan(&self, plan: Option<FaultPlan>) {
        self.shared.lock().fault_plan = plan;
    }

    /// Requests received for `model`, faults and errors included.
    pub fn calls(&self, model: &str) -> usize {
        self.shared.lock().models.get(model).map_or(0, |m| m.calls)
    }

    /// Chat requests received, for all models (and those naming none).
    pub fn total_calls(&self) -> usize {
        self.shared.lock().total_calls
    }

    /// Faults served so far: pushed ones and the fault plan's draws.
    pub fn faults_served(&self) -> usize {
        self.shared.lock().faults_served
    }

    /// Every request body received for `model`, oldest first.
    pub fn requests(&self, model: &str) -> Vec<Value> {
        self.shared.lock().models.get(model).map(|m| m.requests.clone()).unwrap_or_default()
    }

    /// The headers of every request for `model`, oldest first (recorded for
    /// the application protocol only; empty otherwise).
    pub fn request_headers(&self, model: &str) -> Vec<BTreeMap<String, String>> {
        self.shared.lock().models.get(model).map(|m| m.headers.clone()).unwrap_or_default()
    }

    /// Whether any request for `model` carried an `Authorization` header
    /// (`x-api-key` for Anthropic).
    pub fn saw_auth(&self, model: &str) -> bool {
        self.requests_with_auth(model) > 0
    }

    /// How many requests for `model` carried an `Authorization` header.
    pub fn requests_with_auth(&self, model: &str) -> usize {
        self.shared.lock().models.get(model).map_or(0, |m| m.with_auth)
    }

    /// The names `GET /v1/models` lists: configured, scripted and requested ones.
    pub fn models(&self) -> Vec<String> {
        known_models(&self.shared.lock())
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // The server task sees the token and ends on its own.
        self.shared.shutdown.cancel();
    }
}

fn known_models(state: &ServerState) -> Vec<String> {
    let mut names: BTreeSet<&String> = state.listed.iter().collect();
    names.extend(state.models.keys());
    names.into_iter().cloned().collect()
}

/// The web layer, defined once per protocol.
fn app(shared: Arc<Shared>) -> Router {
    let routes = match shared.protocol {
        Protocol::OpenAi => Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/models", get(list_models))
            .route("/props", get(props))
            .fallback(not_found),
        Protocol::Anthropic => crate::anthropic::routes(),
        Protocol::App => crate::app::routes(),
    };
    routes.layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(shared)
}

async fn list_models(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let names = known_models(&state);
    let mut list = wire::model_list(names.iter());
    if let (Some(window), Some(data)) =
        (state.quirks.context_window, list.get_mut("data").and_then(Value::as_array_mut))
    {
        // vLLM's field for the context window.
        for model in data {
            model["max_model_len"] = Value::from(window);
        }
    }
    axum::Json(list).into_response()
}

/// llama.cpp's `GET /props`: the context window, when the quirks set one.
async fn props(State(shared): State<Arc<Shared>>) -> Response {
    let props = shared.lock().quirks.props();
    match props {
        Some(body) => axum::Json(body).into_response(),
        None => not_found().await,
    }
}

async fn not_found() -> Response {
    openai_error(StatusCode::NOT_FOUND, "no such route on the agar fake server", "not_found")
}

async fn chat_completions(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let has_auth = headers.contains_key(header::AUTHORIZATION);
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            shared.lock().total_calls += 1;
            let message = format!("the request body is not JSON: {err}");
            return openai_error(StatusCode::BAD_REQUEST, &message, "invalid_request_error");
        }
    };
    let Some(model) = request.get("model").and_then(Value::as_str).map(str::to_string) else {
        shared.lock().total_calls += 1;
        return openai_error(
            StatusCode::BAD_REQUEST,
            "the request names no model",
            "invalid_request_error",
        );
    };
    let stream = request.get("stream") == Some(&Value::Bool(true));
    let verdict = shared.lock().quirks.judge(&request);
    if let Verdict::Fail { status, body } = verdict {
        shared.plan(&model, &request, has_auth, true);
        return status_reply(status, None, body.to_string());
    }
    let planned = shared.plan(&model, &request, has_auth, stream);
    if stream {
        return openai_error(
            StatusCode::BAD_REQUEST,
            "streaming is not supported by the agar fake server",
            "invalid_request_error",
        );
    }
    if let Some(stopped) = shared.delay(&planned).await {
        return stopped;
    }
    let Verdict::Answer { drop_tool_calls, ramble_tokens } = verdict else {
        return shutting_down();
    };
    let mut planned = planned;
    if drop_tool_calls && let Some(Reply::ToolCalls(calls)) = &planned.reply {
        // The server never showed the model its tools: it answers in words.
        let names: Vec<&str> = calls.iter().map(|c| c.name.as_str()).collect();
        planned.reply =
            Some(Reply::Text(format!("[{model}] (would have called {})", names.join(", "))));
    }
    let texts = || match &planned.reply {
        Some(Reply::Text(_)) => true,
        None => wire::forced_tool(&request).is_none(),
        Some(_) => false,
    };
    if let Some(tokens) = ramble_tokens.filter(|_| texts()) {
        let prompt_tokens = quirks::prompt_tokens(&request);
        let id = format!("chatcmpl-fake-{}-{}", model, planned.call_index);
        let mut body =
            wire::completion(&id, &model, Some(&quirks::ramble(tokens)), &[], prompt_tokens);
        body["choices"][0]["finish_reason"] = Value::from("length");
        return axum::Json(body).into_response();
    }
    respond(&shared, &model, &request, planned)
}

/// Turns the planned reply into an HTTP response.
fn respond(shared: &Shared, model: &str, request: &Value, planned: Planned) -> Response {
    let prompt_tokens = wire::tokens(wire::request_chars(request));
    let response_id = format!("chatcmpl-fake-{}-{}", model, planned.call_index);
    let success = |content: Option<&str>, calls: &[WireCall]| {
        axum::Json(wire::completion(&response_id, model, content, calls, prompt_tokens))
            .into_response()
    };
    match planned.reply {
        Some(Reply::Text(text)) => success(Some(&text), &[]),
        Some(Reply::ToolCalls(calls)) => {
            let calls: Vec<WireCall> = calls
                .into_iter()
                .map(|c| WireCall {
                    id: shared.call_id(),
                    name: c.name,
                    arguments: c.arguments.to_string(),
                })
                .collect();
            success(None, &calls)
        }
        Some(Reply::Status { code, retry_after, body }) => status_reply(code, retry_after, body),
        Some(Reply::Malformed) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "this is not JSON {\"choices\": [",
        )
            .into_response(),
        Some(Reply::MalformedToolArguments) => {
            let name = wire::forced_tool(request)
                .map(|(name, _)| name)
                .or_else(|| wire::tools(request).next().map(|(name, _)| name))
                .unwrap_or("unknown_tool")
                .to_string();
            let call =
                WireCall { id: shared.call_id(), name, arguments: MALFORMED_ARGUMENTS.to_string() };
            success(None, &[call])
        }
        Some(Reply::Truncated) => {
            let (content, calls) = derived(shared, model, request, planned.call_index);
            let full =
                wire::completion(&response_id, model, content.as_deref(), &calls, prompt_tokens)
                    .to_string();
            truncated(full.into_bytes())
        }
        Some(Reply::Logprobs(tokens)) => {
            let text = Reply::first_token(&tokens);
            let mut body = wire::completion(&response_id, model, Some(&text), &[], prompt_tokens);
            wire::add_logprobs(&mut body, request, &tokens);
            axum::Json(body).into_response()
        }
        // `plan` never lets a hang through to here; answering is the safe default.
        Some(Reply::Hang) => shutting_down(),
        None => {
            let (content, calls) = derived(shared, model, request, planned.call_index);
            success(content.as_deref(), &calls)
        }
    }
}

/// The reply when nothing is scripted: a call of the forced tool, or a text.
fn derived(
    shared: &Shared,
    model: &str,
    request: &Value,
    call_index: usize,
) -> (Option<String>, Vec<WireCall>) {
    if let Some((name, schema)) = wire::forced_tool(request) {
        let mut arguments = args_from_schema(schema);
        quote_prompt(&mut arguments, &wire::last_user_text(request));
        let arguments = arguments.to_string();
        let name = name.to_string();
        return (None, vec![WireCall { id: shared.call_id(), name, arguments }]);
    }
    let last_user: String = wire::last_user_text(request).chars().take(80).collect();
    (Some(format!("[{model}] reply #{call_index} to: {last_user}")), Vec::new())
}

pub(crate) fn status_reply(code: u16, retry_after: Option<String>, body: String) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    // A redirect points where its body says (a `Reply::status(307, URL)`).
    let location =
        status.is_redirection().then(|| HeaderValue::from_str(body.trim()).ok()).flatten();
    let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Some(location) = location {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Some(after) = retry_after {
        match HeaderValue::from_str(&after) {
            Ok(value) => {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Err(_) => tracing::warn!(after, "Retry-After value is not a valid header; not sent"),
        }
    }
    response
}

/// A 200 whose `Content-Length` promises `full` but whose connection is reset
/// after half of it.
pub(crate) fn truncated(full: Vec<u8>) -> Response {
    let length = full.len();
    let half = Bytes::from(full).slice(..length / 2);
    let first = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(half) });
    let cut = futures::stream::once(async {
        // Let the headers and the half be flushed before the reset.
        tokio::time::sleep(TRUNCATE_PAUSE).await;
        Err(std::io::Error::other("truncated on purpose by the agar fake server"))
    });
    let body = Body::from_stream(futures::StreamExt::chain(first, cut));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
        ],
        body,
    )
        .into_response()
}

pub(crate) fn shutting_down() -> Response {
    openai_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the fake server is shutting down",
        "server_error",
    )
}

fn openai_error(status: StatusCode, message: &str, kind: &str) -> Response {
    (status, axum::Json(wire::error_body(message, kind))).into_response()
}
