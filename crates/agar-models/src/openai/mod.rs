//! The OpenAI-compatible provider (`openai/MODEL`): OpenAI itself and every
//! server speaking its chat-completions API (vLLM, Ollama, llama.cpp,
//! OpenRouter, gateways).
//!
//! Requests go out through the crate's one HTTP transport: one reqwest
//! client per provider, no redirects followed, no hidden retries (the
//! middleware in [`crate::resilient`] owns them) and typed HTTP failures.
//! `convert` writes the request body straight from agar's types and reads
//! the reply into async-openai's response types; `errors` says what a
//! failure means for this API.

mod convert;
mod errors;
pub mod options;
mod schemas;

use agar_core::{Capabilities, ChatModel, ChatRequest, ChatResponse, ModelError};
use async_openai::types::chat::CreateChatCompletionResponse;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};

pub use self::options::{ServerOptions, TokenLimitField};
use crate::env::Env;
use crate::http::{Transport, truncate};
use crate::providers::{Build, Built, Features, Provider};
use crate::resolve::ResolveError;
use crate::secret::{ApiKey, Redactor};

/// OpenAI's own API, used when `OPENAI_BASE_URL` is not set.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// The variable naming the API root.
pub const BASE_URL_VAR: &str = "OPENAI_BASE_URL";
/// The variable holding the API key.
pub const API_KEY_VAR: &str = "OPENAI_API_KEY";

/// The OpenAI-compatible provider's entry in [`crate::providers::PROVIDERS`].
pub static PROVIDER: Provider = Provider {
    name: "openai",
    summary: "any OpenAI-compatible server",
    plain_reference: true,
    base_url_var: Some(BASE_URL_VAR),
    default_base_url: Some(DEFAULT_BASE_URL),
    default_shown: "the OpenAI API",
    api_key_var: Some(API_KEY_VAR),
    other_vars: &[],
    features: Features {
        prefill: false,
        tools: true,
        thinking: true,
        logprobs: true,
        grounding: false,
        in_process: false,
        probe: true,
    },
    own_keys: None,
    build,
};

/// An OpenAI-compatible model from a reference or an entry (its server options).
fn build(b: &Build<'_>) -> Result<Built, ResolveError> {
    let options = b.entry.map(|e| e.server.clone()).unwrap_or_default();
    let config = OpenAiConfig { base_url: b.base_url(), api_key: b.api_key()?, options };
    Ok(Built::Bare(std::sync::Arc::new(OpenAiProvider::new(b.model, config)?)))
}

/// Where and how to reach an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    /// Surrounding whitespace and trailing `/` are ignored.
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...`; with `None` no `Authorization`
    /// header is sent (local servers). Required for OpenAI's own API.
    pub api_key: Option<ApiKey>,
    /// What differs between servers: length-cap field, default cap, context
    /// window, `tool_choice: "required"`.
    pub options: ServerOptions,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            options: ServerOptions::default(),
        }
    }
}

impl OpenAiConfig {
    /// The configuration named by `OPENAI_BASE_URL` (default [`DEFAULT_BASE_URL`])
    /// and `OPENAI_API_KEY`.
    pub fn from_env(env: &Env) -> Self {
        Self {
            base_url: env.get(BASE_URL_VAR).unwrap_or(DEFAULT_BASE_URL).to_owned(),
            api_key: env.get(API_KEY_VAR).map(ApiKey::new),
            options: ServerOptions::default(),
        }
    }
}

/// One model on an OpenAI-compatible server. Cheap to share behind an `Arc`;
/// it owns one HTTP client (and so one connection pool) for all its calls.
///
/// Prefill is not supported: the chat-completions API cannot continue an
/// assistant turn, so a request with [`ChatRequest::prefill`] fails with
/// [`ModelError::Unsupported`].
pub struct OpenAiProvider {
    /// The model reference, `openai/MODEL`.
    name: String,
    /// The model name sent to the server.
    model: String,
    /// The normalised API root, for `Debug`.
    base_url: String,
    /// `BASE_URL/chat/completions`, parsed once.
    endpoint: reqwest::Url,
    /// `Authorization: Bearer KEY` (marked sensitive, so reqwest never
    /// prints it) when there is a key, and the content type.
    headers: HeaderMap,
    /// The client, its connection pool and the redactor masking the key in
    /// anything kept from the server's replies.
    transport: Transport,
    /// The JSON of the tool schemas already sent.
    schemas: convert::SchemaCache,
    /// The JSON of the long message texts (system prompts) already sent.
    texts: convert::TextCache,
    limit_field: TokenLimitField,
    options: ServerOptions,
}

impl std::fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenAiProvider {
    /// A provider for `model` (without the `openai/` prefix).
    pub fn new(model: &str, config: OpenAiConfig) -> Result<Self, ResolveError> {
        let crate::http::Endpoint { name, model, base_url, url } =
            crate::http::endpoint("openai", model, &config.base_url)?;
        let official = url.host_str() == Some("api.openai.com");
        let api_key = config.api_key.filter(|k| !k.expose().is_empty());
        if official && api_key.is_none() {
            return Err(ResolveError::MissingKey { variable: API_KEY_VAR, reference: name });
        }
        let authorization = match &api_key {
            Some(key) => {
                let mut value =
                    HeaderValue::from_str(&format!("Bearer {}", key.expose())).map_err(|_| {
                        ResolveError::InvalidKey { variable: API_KEY_VAR, reference: name.clone() }
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let redactor = Redactor::for_endpoint(api_key, &base_url);
        let transport = Transport::new(&name, redactor)?;
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(value) = authorization {
            headers.insert(AUTHORIZATION, value);
        }
        let endpoint =
            reqwest::Url::parse(&format!("{base_url}/chat/completions")).map_err(|e| {
                ResolveError::InvalidBaseUrl {
                    value: crate::secret::redact_url(&base_url),
                    reference: name.clone(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Self {
            name,
            model: model.to_owned(),
            endpoint,
            base_url,
            headers,
            transport,
            schemas: convert::SchemaCache::default(),
            texts: convert::TextCache::default(),
            limit_field: config
                .options
                .token_limit_field
                .unwrap_or_else(|| TokenLimitField::for_host(url.host_str())),
            options: config.options,
        })
    }
}

#[async_trait::async_trait]
impl ChatModel for OpenAiProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> Capabilities {
        PROVIDER.features.capabilities(false)
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        PROVIDER.features.refuse("openai provider", request)?;
        let wire =
            convert::to_wire(&self.model, request, self.limit_field, &self.options, &self.texts)?;
        let required = wire.requires_a_tool();
        let body = wire
            .body(&self.schemas)
            .map_err(|e| ModelError::Config(format!("could not encode the request: {e}")))?;
        drop(wire);
        let http =
            self.transport.client().post(self.endpoint.clone()).headers(self.headers.clone());
        let reply = self.transport.send_body(http, body).await?;
        let redactor = self.transport.redactor();
        if !reply.is_success() {
            return Err(errors::blame_required(reply.status_error(redactor), required));
        }
        let body = redactor.redact_answer(reply.body);
        let wire: CreateChatCompletionResponse =
            serde_json::from_slice(&body).map_err(|e| ModelError::Undecodable {
                detail: redactor.redact(&e.to_string()),
                body: truncate(redactor.redact(&String::from_utf8_lossy(&body))),
            })?;
        convert::from_wire(wire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_official_api_needs_a_key() {
        let err = OpenAiProvider::new("gpt-4o", OpenAiConfig::default()).expect_err("no key");
        assert_eq!(err.to_string(), "OPENAI_API_KEY is not set (needed for openai/gpt-4o)");
    }

    #[test]
    fn a_local_server_needs_no_key_and_sends_no_authorization() {
        let config = OpenAiConfig {
            base_url: "http://127.0.0.1:9/v1/ \n".into(),
            ..OpenAiConfig::default()
        };
        let p = OpenAiProvider::new("llama", config).expect("builds");
        assert_eq!(p.base_url, "http://127.0.0.1:9/v1");
        assert!(p.headers.get(AUTHORIZATION).is_none());
        assert_eq!(p.endpoint.as_str(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let config = OpenAiConfig {
            base_url: DEFAULT_BASE_URL.into(),
            api_key: Some(ApiKey::new("sk-do-not-print-me")),
            ..OpenAiConfig::default()
        };
        let p = OpenAiProvider::new("gpt-4o", config.clone()).expect("builds");
        for shown in [format!("{p:?}"), format!("{config:?}"), format!("{:?}", p.headers)] {
            assert!(!shown.contains("sk-do-not-print-me"), "{shown}");
        }
        assert!(p.headers.get(AUTHORIZATION).is_some_and(HeaderValue::is_sensitive));
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        for bad in ["not a url", "ftp://example.invalid/v1"] {
            let config = OpenAiConfig { base_url: bad.into(), ..OpenAiConfig::default() };
            let err = OpenAiProvider::new("m", config).expect_err(bad);
            assert!(matches!(err, ResolveError::InvalidBaseUrl { .. }), "{err}");
        }
    }
}
