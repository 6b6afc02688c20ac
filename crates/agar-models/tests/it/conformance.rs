//! The provider conformance suite: one set of checks every provider passes
//! against a fake server speaking its protocol on 127.0.0.1, through the
//! same middleware the binary uses.
//!
//! A provider joins the suite by implementing [`Harness`] (how to build it
//! against its fake, how its fake is scripted, where its requests carry
//! things) and one `conformance!` line. [`Support`] says which checks apply;
//! where one does not (tools for an HTTP application, prefill for OpenAI),
//! the check asserts the provider's clear refusal instead, made before any
//! request is sent.
//!
//! Checks: a plain turn; a forced tool call with arguments; a tool round
//! trip; prefill; a 429 with `Retry-After`, then success; a 5xx, retried; a
//! hung response against a short timeout; a malformed body (undecodable,
//! retried); a truncated body (retried); the key never shown, even when the
//! server echoes it in an error; a redirect not followed (it would carry the
//! key along).

use std::sync::Arc;
use std::time::{Duration, Instant};

use agar_core::{ChatModel, ChatRequest, Message, ModelError, ToolChoice, ToolDef};
use agar_models::{
    AnthropicConfig, AnthropicProvider, ApiKey, CallPolicy, HttpApp, HttpAppConfig, OpenAiConfig,
    OpenAiProvider, ResolveSettings,
};
use agar_testkit::{FakeApp, FakeConfig, FakeServer, Quirks, Reply};
use serde_json::{Value, json};

/// Which optional checks a provider supports.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Support {
    pub(crate) tools: bool,
    pub(crate) prefill: bool,
}

/// A provider and the fake server it is tested against.
pub(crate) trait Harness {
    /// The provider under `policy`, wrapped in the middleware as `resolve` does.
    fn model(&self, policy: CallPolicy) -> Arc<dyn ChatModel>;
    fn support(&self) -> Support;
    /// The secret the provider sends (key or header variable).
    fn secret(&self) -> &'static str;
    fn script(&self, replies: Vec<Reply>);
    fn push_fault(&self, fault: Reply);
    /// Requests received, faults included.
    fn calls(&self) -> usize;
    /// Request bodies received, oldest first.
    fn requests(&self) -> Vec<Value>;
    /// A 429 in the protocol's shape, with `Retry-After: retry_after`.
    fn rate_limited(&self, retry_after: &str) -> Reply;
    /// The protocol's usual transient server failure.
    fn server_error(&self) -> Reply;
    /// Whether `request` forces a call of `tool`.
    fn forces(&self, request: &Value, tool: &str) -> bool;
    /// The text of the final assistant turn a prefilled request carries.
    fn prefill_sent(&self, request: &Value) -> Option<String>;
}

/// Fast retries so the suite stays quick; `Retry-After` is honoured in full.
pub(crate) fn policy() -> CallPolicy {
    CallPolicy {
        timeout: Duration::from_secs(10),
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        connection_budget: Duration::ZERO,
    }
}

pub(crate) fn wrap(inner: Arc<dyn ChatModel>, policy: CallPolicy) -> Arc<dyn ChatModel> {
    ResolveSettings { policy, ..ResolveSettings::default() }.wrap(inner)
}

const SYSTEM: &str = "sys-marker: be brief";
const USER: &str = "user-marker: what is agar?";

fn ask() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::system(SYSTEM), Message::user(USER)],
        ..Default::default()
    }
}

fn lookup_tool() -> ToolDef {
    ToolDef {
        name: "lookup".into(),
        description: "Looks a word up.".into(),
        parameters: json!({
            "type": "object",
            "properties": {"word": {"type": "string"}},
            "required": ["word"]
        })
        .into(),
    }
}

fn assert_unsupported(result: Result<agar_core::ChatResponse, ModelError>, what: &str) {
    let err = result.expect_err("refused");
    assert!(matches!(&err, ModelError::Unsupported(m) if m.contains(what)), "{err}");
}

// ---------------------------------------------------------------- the checks

pub(crate) async fn plain_turn(h: &impl Harness) {
    h.script(vec![Reply::text("hello there")]);

    let answer = h.model(policy()).chat(&ask()).await.expect("answers");

    assert_eq!(answer.content, "hello there");
    assert!(answer.tool_calls.is_empty());
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert_eq!(answer.attempts, 1);
    let sent = h.requests()[0].to_string();
    assert!(sent.contains("sys-marker") && sent.contains("user-marker"), "{sent}");
}

pub(crate) async fn forced_tool_call(h: &impl Harness) {
    let request = ChatRequest {
        tools: vec![lookup_tool()],
        tool_choice: ToolChoice::Tool("lookup".into()),
        ..ask()
    };
    if !h.support().tools {
        assert_unsupported(h.model(policy()).chat(&request).await, "tools");
        assert_eq!(h.calls(), 0, "refused before any request");
        return;
    }
    h.script(vec![Reply::tool_call("lookup", json!({"word": "agar"}))]);

    let answer = h.model(policy()).chat(&request).await.expect("a tool call");

    assert_eq!(answer.finish_reason.as_deref(), Some("tool_calls"));
    let [call] = answer.tool_calls.as_slice() else { panic!("one call: {answer:?}") };
    assert_eq!(call.name, "lookup");
    assert!(!call.id.is_empty());
    assert_eq!(call.parse_arguments().expect("json"), json!({"word": "agar"}));
    assert!(h.forces(&h.requests()[0], "lookup"), "{}", h.requests()[0]);
}

pub(crate) async fn tool_round_trip(h: &impl Harness) {
    let mut request = ChatRequest { tools: vec![lookup_tool()], ..ask() };
    if !h.support().tools {
        assert_unsupported(h.model(policy()).chat(&request).await, "tools");
        assert_eq!(h.calls(), 0);
        return;
    }
    h.script(vec![
        Reply::tool_call("lookup", json!({"word": "agar"})),
        Reply::text("it is a jelly"),
    ]);
    let model = h.model(policy());

    let first = model.chat(&request).await.expect("a tool call");
    let call = first.tool_calls[0].clone();
    request.messages.push(first.to_message());
    request.messages.push(Message::tool(call.id.clone(), "result-marker: seaweed jelly"));
    let second = model.chat(&request).await.expect("text");

    assert_eq!(second.content, "it is a jelly");
    let sent = h.requests()[1].to_string();
    assert!(sent.contains("result-marker") && sent.contains(&call.id), "{sent}");
}

pub(crate) async fn prefill(h: &impl Harness) {
    let request = ChatRequest { prefill: Some("Honestly,".into()), ..ask() };
    if !h.support().prefill {
        assert!(!h.model(policy()).capabilities().prefill);
        assert_unsupported(h.model(policy()).chat(&request).await, "prefill");
        assert_eq!(h.calls(), 0);
        return;
    }
    h.script(vec![Reply::text(" it is a jelly.")]);
    let model = h.model(policy());
    assert!(model.capabilities().prefill);

    let answer = model.chat(&request).await.expect("a continuation");

    assert_eq!(answer.content, " it is a jelly.", "the continuation only");
    assert_eq!(h.prefill_sent(&h.requests()[0]).as_deref(), Some("Honestly,"));
}

pub(crate) async fn rate_limited_then_success(h: &impl Harness) {
    h.push_fault(h.rate_limited("1"));
    h.script(vec![Reply::text("finally")]);
    let start = Instant::now();

    let answer = h.model(policy()).chat(&ask()).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("finally", 2));
    assert_eq!(h.calls(), 2);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After ignored: {:?}",
        start.elapsed()
    );
}

pub(crate) async fn server_error_is_retried(h: &impl Harness) {
    h.push_fault(h.server_error());
    h.script(vec![Reply::text("recovered")]);

    let answer = h.model(policy()).chat(&ask()).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("recovered", 2));
}

pub(crate) async fn hung_response_times_out(h: &impl Harness) {
    h.push_fault(Reply::Hang);
    let short = CallPolicy { timeout: Duration::from_millis(300), max_attempts: 1, ..policy() };
    let start = Instant::now();

    let err = h.model(short).chat(&ask()).await.expect_err("hangs");

    assert!(matches!(err, ModelError::Timeout(d) if d == Duration::from_millis(300)), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

pub(crate) async fn malformed_body_is_undecodable(h: &impl Harness) {
    for _ in 0..3 {
        h.push_fault(Reply::Malformed);
    }

    let err = h.model(policy()).chat(&ask()).await.expect_err("never decodes");

    assert!(matches!(err.last_attempt(), ModelError::Undecodable { .. }), "{err}");
    assert_eq!(h.calls(), 3, "undecodable replies are retried");
    assert_eq!(err.attempts(), 3, "the error says how many attempts were made");
}

pub(crate) async fn truncated_body_is_retried(h: &impl Harness) {
    h.push_fault(Reply::Truncated);
    h.script(vec![Reply::text("whole")]);

    let answer = h.model(policy()).chat(&ask()).await.expect("second attempt answers");

    assert_eq!((answer.content.as_str(), answer.attempts), ("whole", 2));
}

pub(crate) async fn secrets_never_shown(h: &impl Harness) {
    let secret = h.secret();
    h.push_fault(Reply::status(401, format!(r#"{{"error": {{"message": "bad key {secret}"}}}}"#)));
    for _ in 0..3 {
        h.push_fault(Reply::status(503, format!("upstream rejected {secret}")));
    }
    let model = h.model(policy());

    let unauthorized = model.chat(&ask()).await.expect_err("401");
    let unavailable = model.chat(&ask()).await.expect_err("503 three times");

    assert!(matches!(unauthorized, ModelError::Provider { status: 401, .. }), "{unauthorized}");
    for err in [unauthorized, unavailable] {
        let shown = format!("{err} / {err:?}");
        assert!(!shown.contains(secret), "secret leaked: {shown}");
        assert!(shown.contains("***"), "{shown}");
    }
    assert!(!format!("{model:?}").contains(secret));
}

pub(crate) async fn redirect_is_not_followed(h: &impl Harness) {
    // A relative `Location`: the same endpoint again. Followed, it would be
    // answered by the scripted text; not followed, the 307 is a final error.
    h.push_fault(Reply::status(307, "?redirected=1"));
    h.script(vec![Reply::text("followed")]);

    let err = h.model(policy()).chat(&ask()).await.expect_err("the redirect is not followed");

    assert!(matches!(&err, ModelError::Provider { status: 307, .. }), "{err}");
    assert!(err.to_string().contains("redirects are not followed"), "{err}");
    assert_eq!(h.calls(), 1, "one request, no retry and no second request");
}

macro_rules! conformance {
    ($provider:ident, with $start:expr) => {
        mod $provider {
            #[allow(unused_imports, reason = "the harness types are named in $start")]
            use super::*;

            #[tokio::test]
            async fn plain_turn() {
                super::plain_turn(&$start.await).await;
            }
            #[tokio::test]
            async fn forced_tool_call() {
                super::forced_tool_call(&$start.await).await;
            }
            #[tokio::test]
            async fn tool_round_trip() {
                super::tool_round_trip(&$start.await).await;
            }
            #[tokio::test]
            async fn prefill() {
                super::prefill(&$start.await).await;
            }
            #[tokio::test]
            async fn rate_limited_then_success() {
                super::rate_limited_then_success(&$start.await).await;
            }
            #[tokio::test]
            async fn server_error_is_retried() {
                super::server_error_is_retried(&$start.await).await;
            }
            #[tokio::test]
            async fn hung_response_times_out() {
                super::hung_response_times_out(&$start.await).await;
            }
            #[tokio::test]
            async fn malformed_body_is_undecodable() {
                super::malformed_body_is_undecodable(&$start.await).await;
            }
            #[tokio::test]
            async fn truncated_body_is_retried() {
                super::truncated_body_is_retried(&$start.await).await;
            }
            #[tokio::test]
            async fn secrets_never_shown() {
                super::secrets_never_shown(&$start.await).await;
            }
            #[tokio::test]
            async fn redirect_is_not_followed() {
                super::redirect_is_not_followed(&$start.await).await;
            }
        }
    };
    ($provider:ident, $harness:ty) => {
        conformance!($provider, with<$harness>::start());
    };
}

conformance!(openai, OpenAiHarness);
conformance!(openai_llama_cpp_python, with OpenAiHarness::with(Quirks::llama_cpp_python()));
conformance!(anthropic, AnthropicHarness);
conformance!(http_app, AppHarness);

// -------------------------------------------------------------- the harnesses

const OPENAI_KEY: &str = "sk-conformance-openai-0123456789";
const ANTHROPIC_KEY: &str = "sk-ant-conformance-0123456789";
const APP_TOKEN: &str = "app-token-conformance-0123456789";
pub(crate) const MODEL: &str = "conf-model";

pub(crate) struct OpenAiHarness {
    server: FakeServer,
}

impl OpenAiHarness {
    async fn start() -> Self {
        Self::with(Quirks::default()).await
    }

    /// A fake server reproducing a real server's `quirks`.
    pub(crate) async fn with(quirks: Quirks) -> Self {
        Self {
            server: FakeServer::start_with(FakeConfig { quirks, ..FakeConfig::default() }).await,
        }
    }
}

impl Harness for OpenAiHarness {
    fn model(&self, policy: CallPolicy) -> Arc<dyn ChatModel> {
        let config = OpenAiConfig {
            base_url: self.server.base_url(),
            api_key: Some(ApiKey::new(OPENAI_KEY)),
            ..OpenAiConfig::default()
        };
        wrap(Arc::new(OpenAiProvider::new(MODEL, config).expect("builds")), policy)
    }
    fn support(&self) -> Support {
        Support { tools: true, prefill: false }
    }
    fn secret(&self) -> &'static str {
        OPENAI_KEY
    }
    fn script(&self, replies: Vec<Reply>) {
        self.server.script(MODEL, replies);
    }
    fn push_fault(&self, fault: Reply) {
        self.server.push_fault(MODEL, fault);
    }
    fn calls(&self) -> usize {
        self.server.calls(MODEL)
    }
    fn requests(&self) -> Vec<Value> {
        self.server.requests(MODEL)
    }
    fn rate_limited(&self, retry_after: &str) -> Reply {
        Reply::rate_limited(retry_after)
    }
    fn server_error(&self) -> Reply {
        Reply::server_error()
    }
    fn forces(&self, request: &Value, tool: &str) -> bool {
        request["tool_choice"] == json!({"type": "function", "function": {"name": tool}})
    }
    fn prefill_sent(&self, _request: &Value) -> Option<String> {
        None
    }
}

struct AnthropicHarness {
    server: FakeServer,
}

impl AnthropicHarness {
    async fn start() -> Self {
        Self { server: FakeServer::start_anthropic().await }
    }
}

impl Harness for AnthropicHarness {
    fn model(&self, policy: CallPolicy) -> Arc<dyn ChatModel> {
        let config = AnthropicConfig {
            base_url: self.server.base_url(),
            api_key: Some(ApiKey::new(ANTHROPIC_KEY)),
            ..AnthropicConfig::default()
        };
        wrap(Arc::new(AnthropicProvider::new(MODEL, config).expect("builds")), policy)
    }
    fn support(&self) -> Support {
        Support { tools: true, prefill: true }
    }
    fn secret(&self) -> &'static str {
        ANTHROPIC_KEY
    }
    fn script(&self, replies: Vec<Reply>) {
        self.server.script(MODEL, replies);
    }
    fn push_fault(&self, fault: Reply) {
        self.server.push_fault(MODEL, fault);
    }
    fn calls(&self) -> usize {
        self.server.calls(MODEL)
    }
    fn requests(&self) -> Vec<Value> {
        self.server.requests(MODEL)
    }
    fn rate_limited(&self, retry_after: &str) -> Reply {
        agar_testkit::anthropic::rate_limited(retry_after)
    }
    fn server_error(&self) -> Reply {
        agar_testkit::anthropic::overloaded()
    }
    fn forces(&self, request: &Value, tool: &str) -> bool {
        request["tool_choice"] == json!({"type": "tool", "name": tool})
    }
    fn prefill_sent(&self, request: &Value) -> Option<String> {
        let last = request["messages"].as_array()?.last()?;
        (last["role"] == "assistant")
            .then(|| last["content"][0]["text"].as_str())?
            .map(str::to_owned)
    }
}

struct AppHarness {
    app: FakeApp,
}

impl AppHarness {
    async fn start() -> Self {
        Self { app: FakeApp::start().await }
    }
}

impl Harness for AppHarness {
    fn model(&self, policy: CallPolicy) -> Arc<dyn ChatModel> {
        let config = HttpAppConfig {
            url: self.app.url(),
            method: "POST".into(),
            body: Some(
                r#"{"system": {{ system | tojson }}, "messages": {{ messages | tojson }}, "session_id": {{ session_id | tojson }}}"#
                    .into(),
            ),
            headers: [("Authorization".to_owned(), "Bearer ${CONF_APP_TOKEN}".to_owned())].into(),
            reply_pointer: "/data/reply".into(),
            session_pointer: Some("/session_id".into()),
            stateful: false,
        };
        let env = agar_models::Env::empty().with("CONF_APP_TOKEN", APP_TOKEN);
        wrap(Arc::new(HttpApp::new("conf-app", &config, &env).expect("builds")), policy)
    }
    fn support(&self) -> Support {
        Support { tools: false, prefill: false }
    }
    fn secret(&self) -> &'static str {
        APP_TOKEN
    }
    fn script(&self, replies: Vec<Reply>) {
        self.app.script(replies);
    }
    fn push_fault(&self, fault: Reply) {
        self.app.push_fault(fault);
    }
    fn calls(&self) -> usize {
        self.app.calls()
    }
    fn requests(&self) -> Vec<Value> {
        self.app.requests()
    }
    fn rate_limited(&self, retry_after: &str) -> Reply {
        Reply::Status { code: 429, retry_after: Some(retry_after.into()), body: "slow down".into() }
    }
    fn server_error(&self) -> Reply {
        Reply::status(503, "unavailable")
    }
    fn forces(&self, _request: &Value, _tool: &str) -> bool {
        false
    }
    fn prefill_sent(&self, _request: &Value) -> Option<String> {
        None
    }
}
