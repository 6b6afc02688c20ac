//! Model providers and the middleware every model call goes through.
//!
//! The rest of agar sees models only as `Arc<dyn ChatModel>` (from `agar-core`);
//! this crate is where a model reference such as `openai/gpt-4.1-mini` becomes one.
//!
//! - [`providers`]: the provider table ([`PROVIDERS`]): each provider's name,
//!   variables, [`Features`] (prefill, tools, thinking, logprobs, grounding)
//!   and builder. Everything that depends on which provider a model is reads it.
//! - [`config`]: `agar.toml` ([`Config`]): named models (`[models.NAME]`) and
//!   prices; [`resolve_with`] resolves a name or a plain reference.
//! - [`resolve()`]: turns a reference into a ready model: the provider wrapped in
//!   [`Resilient`], with the per-model limiter and [`UsageMeter`] kept in
//!   [`ResolveSettings::shared`].
//! - [`openai`]: the OpenAI-compatible provider ([`OpenAiProvider`]), built on
//!   async-openai with a transport of our own (no hidden retries, typed HTTP failures).
//! - [`anthropic`]: the Anthropic Messages API ([`AnthropicProvider`]): prefill,
//!   extended thinking kept and replayed, cache-aware usage, its error shapes.
//! - [`http_app`]: HTTP application targets ([`HttpApp`], configured by an
//!   [`HttpAppConfig`] in `agar.toml`): templated requests, JSON-pointer replies,
//!   session ids carried between turns, stateful apps marked as such.
//! - [`local`]: `local/NAME` and `local:/path/model.gguf`, the in-process
//!   models of `agar-local`, wrapped in the same middleware.
//! - `http`: the one HTTP transport every HTTP provider goes through (no
//!   redirects, a reply size cap, redaction, one status mapping, `Retry-After`).
//! - [`resilient`]: [`Resilient`], the stack around every provider: per-attempt
//!   timeout, retries with full-jitter backoff honouring `Retry-After`, a per-model
//!   concurrency limit and usage accounting, driven by a [`CallPolicy`].
//! - [`sampling`]: [`SamplingOverrides`], sampling per role and model from
//!   `agar.toml` (`[roles.NAME]`, `[models.NAME]`) and flags.
//! - [`probe`]: what a server says about itself ([`probe_openai`]): reachable,
//!   its models, its context window (vLLM `max_model_len`, llama.cpp `/props`).
//! - [`meter`]: [`UsageMeter`], lock-free counters of calls, retries and tokens.
//! - [`env`](mod@env): [`Env`], the environment variables a provider reads, passed in explicitly.
//! - [`secret`]: [`ApiKey`], which never prints its value.
//!
//! Data flow: audit loop / judge -> `Resilient` -> provider -> HTTP -> `ChatResponse`.

pub mod anthropic;
pub mod config;
pub mod env;
mod http;
pub mod http_app;
pub mod local;
pub mod meter;
pub mod openai;
pub mod probe;
pub mod providers;
pub mod resilient;
pub mod resolve;
pub mod sampling;
pub mod secret;

pub use anthropic::{AnthropicConfig, AnthropicProvider};
pub use config::{Config, ConfigError, ModelEntry, find_config, resolve_with};
pub use env::Env;
pub use http_app::{HttpApp, HttpAppConfig};
pub use meter::{UsageMeter, UsageSnapshot};
pub use openai::{OpenAiConfig, OpenAiProvider, ServerOptions, TokenLimitField};
pub use probe::{ServerInfo, probe_openai};
pub use providers::{Features, PROVIDERS, Provider};
pub use resilient::{CallPolicy, Resilient};
pub use resolve::{REQUEST_TIMEOUT_VAR, ResolveError, ResolveSettings, SharedModels, resolve};
pub use sampling::SamplingOverrides;
pub use secret::ApiKey;
