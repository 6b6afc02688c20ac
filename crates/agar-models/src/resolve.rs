//! Model references (`openai/gpt-4.1-mini`) resolved into ready models: the
//! provider wrapped in [`Resilient`], with its limiter and meter shared per reference.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use agar_core::ChatModel;
use tokio::sync::Semaphore;

use crate::env::Env;
use crate::local::LocalTarget;
use crate::meter::{UsageMeter, UsageSnapshot};
use crate::providers::{Build, Built};
use crate::resilient::{CallPolicy, Resilient};

/// Why a model reference did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "unknown model provider in `{reference}`: a model reference starts with {}",
        crate::providers::names_listed(true, "/")
    )]
    UnknownProvider { reference: String },
    #[error(
        "the {provider} provider is not built yet in this version (`{reference}`); use openai/MODEL for now"
    )]
    NotBuiltYet { provider: &'static str, reference: String },
    #[error("model reference `{reference}` names no model after the provider prefix")]
    MissingModel { reference: String },
    #[error("{variable} is not set (needed for {reference})")]
    MissingKey { variable: &'static str, reference: String },
    #[error("{variable} is not set (the api_key_env of {reference} in agar.toml)")]
    MissingKeyVariable { variable: String, reference: String },
    #[error("{variable} cannot be sent in an HTTP header (needed for {reference})")]
    InvalidKey { variable: &'static str, reference: String },
    #[error("{variable}: {reason}")]
    InvalidSetting { variable: &'static str, reason: String },
    #[error("{variable} is not set (named in the headers of {reference} in agar.toml)")]
    MissingHeaderVariable { variable: String, reference: String },
    #[error("http target {reference}: {reason}")]
    HttpTarget { reference: String, reason: String },
    #[error("invalid base url `{value}` for {reference}: {reason}")]
    InvalidBaseUrl { value: String, reference: String, reason: String },
    #[error("could not set up the HTTP client for {reference}: {reason}")]
    HttpClient { reference: String, reason: String },
    #[error("{reference}: {reason}")]
    Local { reference: String, reason: String },
}

/// How [`resolve`] builds models.
#[derive(Debug, Clone)]
pub struct ResolveSettings {
    /// Timeout, retries and backoff of every call.
    pub policy: CallPolicy,
    /// Attempts in flight at once per model reference (default 64). The first
    /// resolve of a reference fixes its limit; later ones share that limiter.
    pub max_concurrency: usize,
    /// The limiters and meters by model reference. Clones of these settings share it.
    pub shared: SharedModels,
}

impl Default for ResolveSettings {
    fn default() -> Self {
        Self { policy: CallPolicy::default(), max_concurrency: 64, shared: SharedModels::default() }
    }
}

/// Environment variable: the timeout of one attempt of a model call, in
/// seconds (decimals allowed); unset means [`CallPolicy::default`]'s.
pub const REQUEST_TIMEOUT_VAR: &str = "AGAR_REQUEST_TIMEOUT";

impl ResolveSettings {
    /// The defaults, with [`REQUEST_TIMEOUT_VAR`] applied when `env` sets it.
    pub fn from_env(env: &Env) -> Result<Self, ResolveError> {
        let mut settings = Self::default();
        if let Some(value) = env.get(REQUEST_TIMEOUT_VAR) {
            let invalid = || ResolveError::InvalidSetting {
                variable: REQUEST_TIMEOUT_VAR,
                reason: format!("`{value}` is not a positive number of seconds"),
            };
            let secs: f64 = value.parse().map_err(|_| invalid())?;
            settings.policy.timeout = std::time::Duration::try_from_secs_f64(secs)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(invalid)?;
        }
        Ok(settings)
    }

    /// `inner` wrapped in the middleware, with the limiter and meter kept for
    /// `inner.name()`: how any provider, present or future, gets the same stack.
    pub fn wrap(&self, inner: Arc<dyn ChatModel>) -> Arc<Resilient> {
        let slot = self.shared.slot(inner.name(), self.max_concurrency);
        Arc::new(Resilient::new(inner, self.policy.clone(), slot.limiter, slot.meter))
    }
}

/// Per-model state shared by every resolve of the same reference: the
/// concurrency limiter and the [`UsageMeter`]. Cloning shares the same map.
#[derive(Debug, Clone, Default)]
pub struct SharedModels {
    /// Reference -> its slot. Locked only to look up or insert a slot, never across an `.await`.
    slots: Arc<Mutex<BTreeMap<String, Slot>>>,
    /// Local models loaded in this process, one engine per GGUF file.
    local: agar_local::LocalModels,
}

#[derive(Debug, Clone)]
struct Slot {
    limiter: Arc<Semaphore>,
    meter: Arc<UsageMeter>,
}

impl SharedModels {
    pub fn new() -> Self {
        Self::default()
    }

    /// The local engines loaded so far (shared by every role naming one file).
    pub fn local_models(&self) -> &agar_local::LocalModels {
        &self.local
    }

    /// The meter of a resolved model reference (`None` if it was never resolved).
    pub fn meter(&self, reference: &str) -> Option<Arc<UsageMeter>> {
        self.lock().get(reference.trim()).map(|s| s.meter.clone())
    }

    /// Every resolved model's counters, by reference, for run summaries.
    pub fn snapshots(&self) -> Vec<(String, UsageSnapshot)> {
        self.lock().iter().map(|(name, slot)| (name.clone(), slot.meter.snapshot())).collect()
    }

    /// Closes every model's limiter: calls waiting for a permit, and calls
    /// started later, fail at once; attempts already running finish.
    pub fn close_all(&self) {
        for slot in self.lock().values() {
            slot.limiter.close();
        }
    }

    fn slot(&self, reference: &str, max_concurrency: usize) -> Slot {
        self.lock()
            .entry(reference.to_owned())
            .or_insert_with(|| Slot {
                limiter: Arc::new(Semaphore::new(max_concurrency.clamp(1, Semaphore::MAX_PERMITS))),
                meter: Arc::new(UsageMeter::new()),
            })
            .clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Slot>> {
        // The map holds no invariant a panicking holder could break.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The model a reference names, wrapped in the middleware.
///
/// `PROVIDER/MODEL` is built by that provider's entry in
/// [`crate::providers::PROVIDERS`] (from the variables it reads in `env`):
///
/// - `openai/MODEL`: [`crate::OpenAiProvider`], configured from `OPENAI_BASE_URL` and
///   `OPENAI_API_KEY` in `env`.
/// - `anthropic/MODEL`: [`crate::AnthropicProvider`], configured from
///   `ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY` and `AGAR_ANTHROPIC_THINKING_BUDGET`.
/// - `local/NAME` (an embedded model, fetched into the cache on first use)
///   and `local:/path/to/model.gguf`: run in-process by `agar-local`, one
///   call at a time; see [`crate::local`].
///
/// Resolving the same reference again (with the same `settings.shared`)
/// shares its concurrency limit and meter; read the meter with
/// `settings.shared.meter(reference)`.
pub fn resolve(
    reference: &str,
    env: &Env,
    settings: &ResolveSettings,
) -> Result<Arc<dyn ChatModel>, ResolveError> {
    let reference = reference.trim();
    if let Some(path) = reference.strip_prefix(crate::local::PATH_PREFIX) {
        return crate::local::resolve_local(
            reference,
            LocalTarget::Path(path.trim()),
            env,
            settings,
        );
    }
    let unknown = || ResolveError::UnknownProvider { reference: reference.to_owned() };
    let (prefix, model) = reference.split_once('/').ok_or_else(unknown)?;
    let provider =
        crate::providers::find(prefix).filter(|p| p.plain_reference).ok_or_else(unknown)?;
    let model = model.trim();
    if model.is_empty() {
        return Err(ResolveError::MissingModel { reference: reference.to_owned() });
    }
    let build = Build { provider, reference, model, entry: None, env, settings };
    Ok(match (provider.build)(&build)? {
        Built::Bare(inner) => settings.wrap(inner),
        Built::Wrapped(model) => model,
    })
}
