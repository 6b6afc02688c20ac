//! The conformance suite through a real OpenAI-compatible gateway (the
//! LiteLLM proxy, started by `scripts/gateway-conformance.sh`) in front of
//! the fake server, once per quirk profile.
//!
//! The script starts the gateway with a config pointing `conf-model` at
//! `http://127.0.0.1:$AGAR_GATEWAY_UPSTREAM_PORT/v1` and sets
//! `AGAR_GATEWAY_URL` (the gateway's `/v1` root) and `AGAR_GATEWAY_KEY`.
//! Without them the test prints why it did nothing. Each check gets a fresh
//! fake server on the upstream port, so the checks run one after the other
//! inside a single test.
//!
//! A gateway is not transparent to faults: it parses the upstream reply
//! itself (a malformed or cut body becomes its own 500) and talks to the
//! upstream with its own key, so the fault checks that depend on the exact
//! upstream bytes (malformed, secrets) are not run through it.

use std::sync::Arc;

use agar_core::ChatModel;
use agar_models::{ApiKey, CallPolicy, OpenAiConfig, OpenAiProvider};
use agar_testkit::{FakeConfig, FakeServer, Quirks, Reply};
use serde_json::{Value, json};

use crate::conformance::{self as c, Harness, MODEL, Support};

struct GatewayHarness {
    server: FakeServer,
    url: String,
    key: String,
}

impl Harness for GatewayHarness {
    fn model(&self, policy: CallPolicy) -> Arc<dyn ChatModel> {
        let config = OpenAiConfig {
            base_url: self.url.clone(),
            api_key: Some(ApiKey::new(self.key.clone())),
            ..OpenAiConfig::default()
        };
        c::wrap(Arc::new(OpenAiProvider::new(MODEL, config).expect("builds")), policy)
    }
    fn support(&self) -> Support {
        Support { tools: true, prefill: false }
    }
    fn secret(&self) -> &'static str {
        "unused"
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

/// The gateway's settings from the environment, or why there are none.
fn gateway() -> Result<(String, String, u16), String> {
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let port = var("AGAR_GATEWAY_UPSTREAM_PORT")?
        .parse()
        .map_err(|e| format!("AGAR_GATEWAY_UPSTREAM_PORT: {e}"))?;
    Ok((var("AGAR_GATEWAY_URL")?, var("AGAR_GATEWAY_KEY")?, port))
}

async fn harness(quirks: &Quirks, url: &str, key: &str, port: u16) -> GatewayHarness {
    let config = FakeConfig { port, quirks: quirks.clone(), ..FakeConfig::default() };
    let server = FakeServer::start_with(config).await;
    GatewayHarness { server, url: url.to_owned(), key: key.to_owned() }
}

/// Runs one check against a fresh upstream, and stops the upstream.
macro_rules! check {
    ($check:ident, $quirks:expr, $url:expr, $key:expr, $port:expr) => {{
        eprintln!("gateway [{}]: {}", $quirks.name, stringify!($check));
        let h = harness($quirks, $url, $key, $port).await;
        c::$check(&h).await;
        h.server.shutdown().await;
    }};
}

#[tokio::test]
#[ignore = "needs a running gateway: scripts/gateway-conformance.sh starts one and runs this (CI does)"]
async fn the_conformance_suite_passes_through_the_gateway() {
    // Run on purpose (`--ignored`), a missing gateway is a failure, not a skip.
    let (url, key, port) = gateway().unwrap_or_else(|why| {
        panic!("no gateway to test through ({why}); scripts/gateway-conformance.sh starts one")
    });
    let profiles =
        [Quirks { name: "none".into(), ..Quirks::default() }, Quirks::llama_cpp_python()];
    for quirks in &profiles {
        check!(plain_turn, quirks, &url, &key, port);
        check!(forced_tool_call, quirks, &url, &key, port);
        check!(tool_round_trip, quirks, &url, &key, port);
        check!(prefill, quirks, &url, &key, port);
        check!(server_error_is_retried, quirks, &url, &key, port);
        check!(hung_response_times_out, quirks, &url, &key, port);
        check!(truncated_body_is_retried, quirks, &url, &key, port);
    }
}
