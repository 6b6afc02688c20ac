//! [`ServerOptions`]: what differs between OpenAI-compatible servers and
//! agar cannot always tell from the URL: which field carries the length cap,
//! the cap sent when a request names none, the model's context window, and
//! whether `tool_choice: "required"` is understood.

use serde::{Deserialize, Serialize};

/// The cap on a reply sent when a request names none: every request carries
/// one, so a rambling model cannot fill its context or outlast the timeout.
pub const FALLBACK_MAX_TOKENS: u32 = 4096;

/// The fewest reply tokens a cap clipped to the context window leaves.
const MIN_REPLY_TOKENS: u32 = 64;

/// Which request field carries the length cap ([`agar_core::Sampling::max_tokens`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenLimitField {
    /// `max_tokens`: understood by every OpenAI-compatible server (vLLM,
    /// Ollama, llama.cpp, LiteLLM, OpenRouter...).
    MaxTokens,
    /// `max_completion_tokens`: required by OpenAI's own API for its reasoning
    /// models, which reject `max_tokens`.
    MaxCompletionTokens,
}

impl TokenLimitField {
    /// The field for an endpoint: `max_completion_tokens` on OpenAI's own API,
    /// `max_tokens` elsewhere.
    pub fn for_host(host: Option<&str>) -> Self {
        if host == Some("api.openai.com") {
            TokenLimitField::MaxCompletionTokens
        } else {
            TokenLimitField::MaxTokens
        }
    }

    /// Its name on the wire and in `agar.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenLimitField::MaxTokens => "max_tokens",
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
        }
    }

    /// Parses the wire name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "max_tokens" => Some(TokenLimitField::MaxTokens),
            "max_completion_tokens" => Some(TokenLimitField::MaxCompletionTokens),
            _ => None,
        }
    }
}

/// Per-server settings of the OpenAI-compatible provider (`[models.NAME]`
/// keys `max_tokens_field`, `max_tokens`, `context_window`, `tool_choice_required`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// Forces the length-cap field; `None` chooses per endpoint ([`TokenLimitField::for_host`]).
    pub token_limit_field: Option<TokenLimitField>,
    /// The cap sent when a request names none (default [`FALLBACK_MAX_TOKENS`]).
    pub default_max_tokens: u32,
    /// The model's context window in tokens, when known: the cap is clipped
    /// so that the prompt (estimated) and the reply fit in it.
    pub context_window: Option<u32>,
    /// Whether `tool_choice: "required"` is sent as such. Off for servers
    /// that fail on it (llama-cpp-python 0.3 answers HTTP 500): a request
    /// offering one tool then names it, and one offering several sends `"auto"`.
    pub tool_choice_required: bool,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            token_limit_field: None,
            default_max_tokens: FALLBACK_MAX_TOKENS,
            context_window: None,
            tool_choice_required: true,
        }
    }
}

impl ServerOptions {
    /// The cap to send: the request's, else the default, clipped to what the
    /// context window leaves after a prompt of `prompt_chars` characters
    /// (estimated generously at three characters a token).
    pub fn max_tokens(&self, requested: Option<u32>, prompt_chars: usize) -> u32 {
        let cap = requested.unwrap_or(self.default_max_tokens).max(1);
        let Some(window) = self.context_window else { return cap };
        let prompt = u32::try_from(prompt_chars.div_ceil(3)).unwrap_or(u32::MAX);
        let left = window.saturating_sub(prompt).max(MIN_REPLY_TOKENS);
        cap.min(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_always_set_and_clipped_to_the_window() {
        let open = ServerOptions::default();
        assert_eq!(open.max_tokens(None, 100_000), FALLBACK_MAX_TOKENS);
        assert_eq!(open.max_tokens(Some(300), 0), 300);
        let small = ServerOptions { context_window: Some(2048), ..ServerOptions::default() };
        assert_eq!(small.max_tokens(None, 3000), 2048 - 1000);
        assert_eq!(small.max_tokens(Some(200), 3000), 200);
        assert_eq!(small.max_tokens(None, 30_000), MIN_REPLY_TOKENS);
    }

    #[test]
    fn the_field_follows_the_endpoint() {
        assert_eq!(
            TokenLimitField::for_host(Some("api.openai.com")),
            TokenLimitField::MaxCompletionTokens
        );
        assert_eq!(TokenLimitField::for_host(Some("127.0.0.1")), TokenLimitField::MaxTokens);
        assert_eq!(
            TokenLimitField::parse("max_completion_tokens").map(TokenLimitField::as_str),
            Some("max_completion_tokens")
        );
        assert_eq!(TokenLimitField::parse("tokens"), None);
    }
}
