//! Asking an OpenAI-compatible server what it is, best effort: whether it
//! answers, the models it lists, and the context window where the server
//! says (vLLM's `max_model_len` in `GET /v1/models`, llama.cpp's `n_ctx` in
//! `GET /props`). For `agar models --check` and for fitting the judge's
//! prompt when `agar.toml` gives no `context_window`.

use std::time::Duration;

use serde_json::Value;

use crate::http::{Exchange, Transport};
use crate::secret::{ApiKey, Redactor, redact_url};

/// How long each probe request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a server said about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerInfo {
    /// The model ids `GET /models` listed.
    pub models: Vec<String>,
    /// The context window of the model asked about, where the server said.
    pub context_window: Option<u32>,
}

/// Probes the server at `base_url` (its `/v1` root) about `model`. Errors
/// are one line, for people: unreachable, or the status it answered. Goes
/// through the shared transport (no redirects, size cap, key masked).
pub async fn probe_openai(
    base_url: &str,
    api_key: Option<&ApiKey>,
    model: Option<&str>,
) -> Result<ServerInfo, String> {
    let base = base_url.trim().trim_end_matches('/');
    let redactor = Redactor::for_endpoint(api_key.cloned(), base);
    let transport = Transport::new("probe", redactor).map_err(|e| e.to_string())?;
    let shown = redact_url(base);
    let list = get(&transport, api_key, &format!("{base}/models"))
        .await
        .map_err(|e| format!("unreachable: {e}"))?;
    if !list.is_success() {
        return Err(format!("GET {shown}/models answered HTTP {}", list.status));
    }
    let list: Value =
        serde_json::from_slice(&list.body).map_err(|e| format!("GET {shown}/models: {e}"))?;
    let data = list.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
    let models: Vec<String> = data
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let listed = data
        .iter()
        .find(|m| model.is_none_or(|name| m.get("id").and_then(Value::as_str) == Some(name)))
        .and_then(|m| m.get("max_model_len"))
        .and_then(as_window);
    let context_window = match listed {
        Some(w) => Some(w),
        None => props_window(&transport, api_key, base).await,
    };
    Ok(ServerInfo { models, context_window })
}

/// One `GET` under [`PROBE_TIMEOUT`], with the key when there is one.
async fn get(
    transport: &Transport,
    api_key: Option<&ApiKey>,
    url: &str,
) -> Result<Exchange, agar_core::ModelError> {
    let mut request = transport.client().get(url).timeout(PROBE_TIMEOUT);
    if let Some(key) = api_key {
        request = request.bearer_auth(key.expose());
    }
    transport.send(request).await
}

/// llama.cpp's `GET /props` (at the server's root, beside `/v1`).
async fn props_window(transport: &Transport, api_key: Option<&ApiKey>, base: &str) -> Option<u32> {
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let reply = get(transport, api_key, &format!("{root}/props")).await.ok()?;
    if !reply.is_success() {
        return None;
    }
    let props: Value = serde_json::from_slice(&reply.body).ok()?;
    props
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| props.get("n_ctx"))
        .and_then(as_window)
}

fn as_window(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0)
}
