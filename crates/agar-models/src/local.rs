//! `local/NAME` and `local:/path/to/model.gguf`: models run in-process by
//! `agar-local`, wrapped in the same middleware as every provider, with
//! settings suited to one CPU: one call at a time, a longer timeout, at most
//! one retry.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use agar_core::ChatModel;
use agar_local::LocalSettings;

use crate::env::Env;
use crate::providers::{Build, Built, Features, Provider};
use crate::resolve::{ResolveError, ResolveSettings};

/// Shortest per-attempt timeout for a local model: a long answer on a
/// small CPU takes minutes, and the wait behind other calls does not count.
pub const LOCAL_TIMEOUT: Duration = Duration::from_secs(600);

/// The prefix of a reference to a GGUF file on disk: `local:/path/model.gguf`.
pub const PATH_PREFIX: &str = "local:";

/// The local provider's entry in [`crate::providers::PROVIDERS`].
pub static PROVIDER: Provider = Provider {
    name: "local",
    summary: "an embedded model (local/NAME) or a GGUF file (local:/path), run in-process",
    plain_reference: true,
    base_url_var: None,
    default_base_url: None,
    default_shown: "in-process",
    api_key_var: None,
    other_vars: &[],
    features: Features {
        prefill: true,
        tools: true,
        thinking: false,
        logprobs: true,
        grounding: true,
        in_process: true,
        probe: false,
    },
    own_keys: None,
    build,
};

/// `local/NAME` (or an entry of provider `local`), wrapped with local settings.
fn build(b: &Build<'_>) -> Result<Built, ResolveError> {
    let reference = format!("{}/{}", PROVIDER.name, b.model);
    let model = resolve_local(&reference, LocalTarget::Named(b.model), b.env, b.settings)?;
    Ok(Built::Wrapped(model))
}

/// What a local reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalTarget<'a> {
    /// `local/NAME`: an embedded model.
    Named(&'a str),
    /// `local:/path/to/model.gguf`.
    Path(&'a str),
}

/// The local settings (cache directory, threads, token cap) from `env`.
pub fn local_settings(env: &Env) -> Result<LocalSettings, agar_local::LocalError> {
    LocalSettings::from_vars(|k| env.get(k).map(str::to_string))
}

/// Loads (once per file) and wraps a local model. Fetches an embedded model
/// into the cache first if it is not there yet.
pub(crate) fn resolve_local(
    reference: &str,
    target: LocalTarget<'_>,
    env: &Env,
    settings: &ResolveSettings,
) -> Result<Arc<dyn ChatModel>, ResolveError> {
    let err = |e: agar_local::LocalError| ResolveError::Local {
        reference: reference.to_owned(),
        reason: e.to_string(),
    };
    let local = local_settings(env).map_err(err)?;
    let models = settings.shared.local_models();
    // `?steer=FILE@LAYERxCOEF`: a steered target (agar-local reads the query).
    let (target, query) = match target {
        LocalTarget::Named(s) => {
            let (n, q) = s.split_once('?').map_or((s, None), |(n, q)| (n, Some(q)));
            (LocalTarget::Named(n.trim()), q)
        }
        LocalTarget::Path(s) => {
            let (p, q) = s.split_once('?').map_or((s, None), |(p, q)| (p, Some(q)));
            (LocalTarget::Path(p.trim()), q)
        }
    };
    let model = match target {
        LocalTarget::Named(name) => models.open_named(reference, name, &local),
        LocalTarget::Path("") => {
            return Err(ResolveError::MissingModel { reference: reference.to_owned() });
        }
        LocalTarget::Path(path) => models.open_path(reference, Path::new(path), &local),
    }
    .and_then(|m| match query {
        Some(q) => m.with_steer_query(q),
        None => Ok(m),
    })
    .map_err(err)?;
    let mut wrap = settings.clone();
    wrap.max_concurrency = 1;
    wrap.policy.timeout = wrap.policy.timeout.max(LOCAL_TIMEOUT);
    wrap.policy.max_attempts = wrap.policy.max_attempts.clamp(1, 2);
    Ok(wrap.wrap(Arc::new(model)))
}
