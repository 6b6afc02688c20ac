//! The Anthropic provider (`anthropic/MODEL`): the Messages API over HTTP,
//! with what audits need from it: prefill, extended thinking kept and
//! replayed, forced tool choice, cache-aware usage.
//!
//! One reqwest client per provider (the same rustls setup as the OpenAI
//! provider, see the crate's `http` module), no retries of its own (the middleware in
//! [`crate::resilient`] owns them): every failure becomes a typed
//! [`ModelError`] the middleware can act on, `overloaded_error` and
//! `rate_limit_error` (with `retry-after`) included. Conversion to and from
//! the wire lives in `convert`.

mod convert;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use self::convert::{Options, WireResponse};
use crate::env::Env;
use crate::http::{Exchange, Transport, truncate};
use crate::providers::{Build, Built, Features, Provider};
use crate::resolve::ResolveError;
use crate::secret::{ApiKey, Redactor};

pub use self::convert::THINKING_STATE_KEY;

/// Anthropic's own API, used when `ANTHROPIC_BASE_URL` is not set. The one
/// place its address is written; a key is required for its host.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The variable naming the API root.
pub const BASE_URL_VAR: &str = "ANTHROPIC_BASE_URL";
/// The variable holding the API key (sent as `x-api-key`).
pub const API_KEY_VAR: &str = "ANTHROPIC_API_KEY";
/// The variable turning extended thinking on: its budget in tokens (at least 1024).
pub const THINKING_BUDGET_VAR: &str = "AGAR_ANTHROPIC_THINKING_BUDGET";
/// The variable turning prompt caching off (`0`, `false`, `off` or `no`).
pub const PROMPT_CACHE_VAR: &str = "AGAR_ANTHROPIC_PROMPT_CACHE";
/// The `anthropic-version` header sent with every request.
pub const API_VERSION: &str = "2023-06-01";
/// `max_tokens` when the request leaves it unset: the API requires a value.
pub const DEFAULT_MAX_TOKENS: u32 = 4096;
/// The smallest thinking budget the API accepts.
pub const MIN_THINKING_BUDGET: u32 = 1024;

/// The Anthropic provider's entry in [`crate::providers::PROVIDERS`].
pub static PROVIDER: Provider = Provider {
    name: "anthropic",
    summary: "the Anthropic Messages API",
    plain_reference: true,
    base_url_var: Some(BASE_URL_VAR),
    default_base_url: Some(DEFAULT_BASE_URL),
    default_shown: "the Anthropic API",
    api_key_var: Some(API_KEY_VAR),
    other_vars: &[THINKING_BUDGET_VAR, PROMPT_CACHE_VAR],
    features: Features {
        prefill: true,
        tools: true,
        thinking: true,
        logprobs: false,
        grounding: false,
        in_process: false,
        probe: false,
    },
    own_keys: None,
    build,
};

/// An Anthropic model: the variables' settings, the entry's root and key over them.
fn build(b: &Build<'_>) -> Result<Built, ResolveError> {
    let config = AnthropicConfig {
        base_url: b.base_url(),
        api_key: b.api_key()?,
        ..AnthropicConfig::from_env(b.env)?
    };
    Ok(Built::Bare(std::sync::Arc::new(AnthropicProvider::new(b.model, config)?)))
}

/// Where and how to reach the Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicConfig {
    /// The API root, e.g. `https://api.anthropic.com` or a proxy's; requests go
    /// to `BASE/v1/messages` (a root already ending in `/v1` is used as is).
    /// Surrounding whitespace and trailing `/` are ignored.
    pub base_url: String,
    /// Sent as `x-api-key`. Required for Anthropic's own API; optional for proxies.
    pub api_key: Option<ApiKey>,
    /// Extended thinking with this token budget (`None`: off). Requests that
    /// force a tool call or carry a prefill go without it (the API refuses both).
    pub thinking_budget: Option<u32>,
    /// `max_tokens` for requests that leave it unset.
    pub default_max_tokens: u32,
    /// Mark the system prompt and the conversation so far for prompt caching,
    /// so that each turn of an audit reads the previous turns from the cache
    /// (cache reads and writes are reported in [`agar_core::Usage`]).
    pub prompt_cache: bool,
}

impl Default for AnthropicConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            thinking_budget: None,
            default_max_tokens: DEFAULT_MAX_TOKENS,
            prompt_cache: true,
        }
    }
}

impl AnthropicConfig {
    /// The configuration named by `ANTHROPIC_BASE_URL` (default
    /// [`DEFAULT_BASE_URL`]), `ANTHROPIC_API_KEY`,
    /// `AGAR_ANTHROPIC_THINKING_BUDGET` and `AGAR_ANTHROPIC_PROMPT_CACHE`.
    pub fn from_env(env: &Env) -> Result<Self, ResolveError> {
        let thinking_budget = match env.get(THINKING_BUDGET_VAR) {
            None => None,
            Some(text) => {
                Some(text.parse::<u32>().ok().filter(|b| *b >= MIN_THINKING_BUDGET).ok_or_else(
                    || ResolveError::InvalidSetting {
                        variable: THINKING_BUDGET_VAR,
                        reason: format!(
                            "`{text}` is not a number of tokens of at least {MIN_THINKING_BUDGET}"
                        ),
                    },
                )?)
            }
        };
        Ok(Self {
            base_url: env.get(BASE_URL_VAR).unwrap_or(DEFAULT_BASE_URL).to_owned(),
            api_key: env.get(API_KEY_VAR).map(ApiKey::new),
            thinking_budget,
            default_max_tokens: DEFAULT_MAX_TOKENS,
            prompt_cache: !env.get(PROMPT_CACHE_VAR).is_some_and(|v| {
                matches!(v.to_ascii_lowercase().as_str(), "0" | "false" | "off" | "no")
            }),
        })
    }
}

/// One model on the Messages API. Cheap to share behind an `Arc`; it owns
/// one HTTP client (one connection pool) for all its calls.
///
/// Supports prefill: the prefill is sent as a final assistant turn (trailing
/// whitespace removed, as the API requires) and the answer's text is the
/// continuation only; the caller prepends the prefill.
pub struct AnthropicProvider {
    /// The model reference, `anthropic/MODEL`.
    name: String,
    /// The model name sent to the API.
    model: String,
    /// `BASE/v1/messages`.
    endpoint: String,
    /// The shared HTTP path; its redactor masks the key in anything kept.
    transport: Transport,
    /// `x-api-key` (marked sensitive), `anthropic-version`, `content-type`.
    headers: HeaderMap,
    options: Options,
}

impl std::fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// A provider for `model` (without the `anthropic/` prefix).
    pub fn new(model: &str, config: AnthropicConfig) -> Result<Self, ResolveError> {
        let crate::http::Endpoint { name, model, base_url, url } =
            crate::http::endpoint("anthropic", model, &config.base_url)?;
        let official_host = reqwest::Url::parse(DEFAULT_BASE_URL)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned));
        let official = url.host_str().is_some() && url.host_str() == official_host.as_deref();
        let api_key = config.api_key.filter(|k| !k.expose().is_empty());
        if official && api_key.is_none() {
            return Err(ResolveError::MissingKey { variable: API_KEY_VAR, reference: name });
        }
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-version", HeaderValue::from_static(API_VERSION));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(key) = &api_key {
            let mut value = HeaderValue::from_str(key.expose()).map_err(|_| {
                ResolveError::InvalidKey { variable: API_KEY_VAR, reference: name.clone() }
            })?;
            value.set_sensitive(true);
            headers.insert("x-api-key", value);
        }
        let endpoint = if base_url.ends_with("/v1") {
            format!("{base_url}/messages")
        } else {
            format!("{base_url}/v1/messages")
        };
        Ok(Self {
            transport: Transport::new(&name, Redactor::for_endpoint(api_key, &base_url))?,
            name,
            model: model.to_owned(),
            endpoint,
            headers,
            options: Options {
                default_max_tokens: config.default_max_tokens,
                thinking_budget: config.thinking_budget,
                prompt_cache: config.prompt_cache,
            },
        })
    }

    /// The URL requests are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

#[async_trait::async_trait]
impl ChatModel for AnthropicProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        PROVIDER.features.capabilities(false)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        PROVIDER.features.refuse("anthropic provider", request)?;
        let prefill = request.prefill.as_deref().map(str::trim_end).filter(|p| !p.is_empty());
        let wire = convert::to_wire(&self.model, request, prefill, self.options)?;
        let body = serde_json::to_vec(&wire)
            .map_err(|e| ModelError::Config(format!("could not encode the request: {e}")))?;
        let client = self.transport.client();
        let http = client.post(&self.endpoint).headers(self.headers.clone());
        let reply = self.transport.send_body(http, body).await?;
        let mut answer = decode(&reply, self.transport.redactor())?;
        // The prefill was sent without its trailing whitespace; the caller
        // prepends it whole, so the continuation must not repeat that space.
        if let Some(original) = &request.prefill
            && original.len() != original.trim_end().len()
        {
            answer.content = answer.content.trim_start().to_owned();
        }
        Ok(answer)
    }
}

/// A reply as an answer, or as the typed error its status and body describe.
fn decode(reply: &Exchange, redactor: &Redactor) -> Result<ChatResponse, ModelError> {
    if !reply.is_success() {
        let kind = serde_json::from_slice::<WireResponse>(&reply.body)
            .ok()
            .and_then(|r| r.error)
            .map(|e| e.kind);
        return Err(status_error(reply.status, kind.as_deref(), reply, redactor));
    }
    let body = redactor.redact_answer(reply.body.clone());
    let undecodable = |detail: String| ModelError::Undecodable {
        detail: redactor.redact(&detail),
        body: truncate(redactor.redact(&String::from_utf8_lossy(&body))),
    };
    let wire: WireResponse =
        serde_json::from_slice(&body).map_err(|e| undecodable(e.to_string()))?;
    match wire.kind.as_str() {
        "message" => Ok(convert::from_wire(wire)),
        // An error reported in a 200 body: treat it as its status would be.
        "error" => {
            let kind = wire.error.map(|e| e.kind).unwrap_or_default();
            Err(status_error(status_of(&kind), Some(&kind), reply, redactor))
        }
        other => Err(undecodable(format!("the reply is of type `{other}`, not a message"))),
    }
}

/// The HTTP status an error type stands for, when a body names it without one.
fn status_of(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

/// A non-2xx reply (or an error body) as a [`ModelError`] the middleware can act on:
/// `rate_limit_error` / 429 is [`ModelError::RateLimited`] with its `retry-after`;
/// `overloaded_error` (529) and `api_error` (500) are retryable provider errors
/// even when a proxy changed their status; the rest are final.
fn status_error(
    status: u16,
    kind: Option<&str>,
    reply: &Exchange,
    redactor: &Redactor,
) -> ModelError {
    let body = reply.error_text(redactor);
    let retry_after = reply.retry_after;
    match kind {
        Some("rate_limit_error") => ModelError::RateLimited { status: 429, retry_after, body },
        Some("overloaded_error") if status < 500 => {
            ModelError::Provider { status: 529, retry_after, body }
        }
        Some("api_error") if status < 500 => {
            ModelError::Provider { status: 500, retry_after, body }
        }
        _ if status == 429 => ModelError::RateLimited { status, retry_after, body },
        _ => ModelError::Provider { status, retry_after, body },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn reply(status: u16, body: &str) -> Exchange {
        Exchange {
            status,
            retry_after: Some(Duration::from_secs(2)),
            location: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn error_body(kind: &str) -> String {
        format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"m"}}}}"#)
    }

    #[test]
    fn error_shapes_map_to_retryable_or_final_errors() {
        let r = Redactor::default();
        let err =
            |status, kind: &str| decode(&reply(status, &error_body(kind)), &r).expect_err("error");
        let limited = err(429, "rate_limit_error");
        assert!(matches!(limited, ModelError::RateLimited { status: 429, .. }), "{limited}");
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert!(matches!(err(529, "overloaded_error"), ModelError::Provider { status: 529, .. }));
        assert!(err(529, "overloaded_error").is_retryable());
        assert!(err(500, "api_error").is_retryable());
        assert!(!err(400, "invalid_request_error").is_retryable());
        assert!(!err(401, "authentication_error").is_retryable());
        // Error bodies in a 200, and a proxy that rewrote the status.
        assert!(matches!(err(200, "overloaded_error"), ModelError::Provider { status: 529, .. }));
        assert!(matches!(err(200, "rate_limit_error"), ModelError::RateLimited { .. }));
        assert!(err(400, "overloaded_error").is_retryable());
        assert!(matches!(
            decode(&reply(503, "<html>down</html>"), &r),
            Err(ModelError::Provider { status: 503, .. })
        ));
    }

    #[test]
    fn garbled_bodies_are_undecodable_and_keys_are_masked() {
        let r = Redactor::new(Some(ApiKey::new("sk-ant-secret-123")));
        let e = decode(&reply(200, "not json sk-ant-secret-123"), &r).expect_err("garbled");
        assert!(
            matches!(&e, ModelError::Undecodable { body, .. } if body.contains("***") && !body.contains("secret")),
            "{e:?}"
        );
        let e = decode(&reply(200, r#"{"type":"completion"}"#), &r).expect_err("wrong type");
        assert!(e.to_string().contains("completion"), "{e}");
        let e = decode(&reply(401, r#"{"error":{"message":"bad key sk-ant-secret-123"}}"#), &r)
            .expect_err("401");
        assert!(!format!("{e} {e:?}").contains("secret-123"));
    }

    #[test]
    fn the_official_api_needs_a_key_and_proxies_do_not() {
        let err = AnthropicProvider::new("claude", AnthropicConfig::default()).expect_err("no key");
        assert_eq!(err.to_string(), "ANTHROPIC_API_KEY is not set (needed for anthropic/claude)");
        let proxy = AnthropicConfig {
            base_url: "http://127.0.0.1:9/ \n".into(),
            ..AnthropicConfig::default()
        };
        let p = AnthropicProvider::new("claude", proxy).expect("builds");
        assert_eq!(p.endpoint(), "http://127.0.0.1:9/v1/messages");
        assert!(p.headers.get("x-api-key").is_none());
        let v1 = AnthropicConfig {
            base_url: "http://127.0.0.1:9/v1/".into(),
            ..AnthropicConfig::default()
        };
        assert_eq!(
            AnthropicProvider::new("c", v1).expect("builds").endpoint(),
            "http://127.0.0.1:9/v1/messages"
        );
    }

    #[test]
    fn the_key_is_a_sensitive_header_and_never_printed() {
        let config = AnthropicConfig {
            api_key: Some(ApiKey::new("sk-ant-do-not-print")),
            ..AnthropicConfig::default()
        };
        let p = AnthropicProvider::new("claude", config.clone()).expect("builds");
        assert!(p.headers.get("x-api-key").is_some_and(HeaderValue::is_sensitive));
        assert_eq!(p.headers["anthropic-version"], API_VERSION);
        for shown in [format!("{p:?}"), format!("{config:?}"), format!("{:?}", p.headers)] {
            assert!(!shown.contains("do-not-print"), "{shown}");
        }
    }

    #[test]
    fn the_thinking_budget_is_checked() {
        let env = Env::empty().with(THINKING_BUDGET_VAR, "2048");
        assert_eq!(AnthropicConfig::from_env(&env).expect("valid").thinking_budget, Some(2048));
        for bad in ["lots", "100"] {
            let env = Env::empty().with(THINKING_BUDGET_VAR, bad);
            let e = AnthropicConfig::from_env(&env).expect_err(bad).to_string();
            assert!(e.starts_with(THINKING_BUDGET_VAR) && e.contains("1024"), "{e}");
        }
    }
}
