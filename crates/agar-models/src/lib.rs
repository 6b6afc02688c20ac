//! Model providers and the middleware every model call goes through.
//!
//! The rest of agar sees models only as `Arc<dyn ChatModel>` (from `agar-core`);
//! this crate is where a model reference such as `openai/gpt-4.1-mini` becomes one.
//!
//! - [`resolve()`]: turns a reference into a ready model: the provider wrapped in
//!   [`Resilient`], with the per-model limiter and [`UsageMeter`] kept in
//!   [`ResolveSettings::shared`].
//! - [`openai`]: the OpenAI-compatible provider ([`OpenAiProvider`]), built on
//!   async-openai with a transport of our own (no hidden retries, typed HTTP failures).
//! - [`resilient`]: [`Resilient`], the stack around every provider: per-attempt
//!   timeout, retries with full-jitter backoff honouring `Retry-After`, a per-model
//!   concurrency limit and usage accounting, driven by a [`CallPolicy`].
//! - [`meter`]: [`UsageMeter`], lock-free counters of calls, retries and tokens.
//! - [`env`](mod@env): [`Env`], the environment variables a provider reads, passed in explicitly.
//! - [`secret`]: [`ApiKey`], which never prints its value.
//!
//! Data flow: audit loop / judge -> `Resilient` -> provider -> HTTP -> `ChatResponse`.

pub mod env;
pub mod meter;
pub mod openai;
pub mod resilient;
pub mod resolve;
pub mod secret;

pub use env::Env;
pub use meter::{UsageMeter, UsageSnapshot};
pub use openai::{OpenAiConfig, OpenAiProvider};
pub use resilient::{CallPolicy, Resilient};
pub use resolve::{KNOWN_PREFIXES, ResolveError, ResolveSettings, SharedModels, resolve};
pub use secret::ApiKey;
