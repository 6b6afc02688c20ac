//! What an OpenAI-compatible server's failures mean: a 5xx with no message
//! answering `tool_choice: "required"` is blamed on that setting (what
//! llama-cpp-python 0.3 does with it), with the `agar.toml` key that avoids
//! it. Every other failure is the shared transport's typed [`ModelError`].

use agar_core::ModelError;

/// A 5xx with an empty message, answering a request that sent
/// `tool_choice: "required"`: what llama-cpp-python 0.3 does with that
/// feature. The error then says so (and is final: the same request fails
/// the same way), with the setting that avoids it.
pub(crate) fn blame_required(error: ModelError, required: bool) -> ModelError {
    match error {
        ModelError::Provider { status, retry_after, body }
            if required && status >= 500 && message_is_empty(&body) =>
        {
            ModelError::Provider {
                status,
                retry_after,
                body: format!(
                    "{body} [agar: the request sent tool_choice \"required\", which is not supported \
                     by some servers (llama-cpp-python 0.3 answers HTTP 500 with no message); set \
                     `tool_choice_required = false` for this model in agar.toml]"
                ),
            }
        }
        other => other,
    }
}

/// Whether an error body carries no message: empty, or `{"error": {"message": ""}}`.
fn message_is_empty(body: &str) -> bool {
    if body.trim().is_empty() {
        return true;
    }
    serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| {
        let message = v.pointer("/error/message").or_else(|| v.get("message"));
        message.is_none_or(|m| m.as_str().is_some_and(|t| t.trim().is_empty()))
    })
}
