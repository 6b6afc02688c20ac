//! Reading the error bodies of real OpenAI-compatible servers: which failures
//! are the request's fault (never worth retrying, whatever the status says),
//! which are a context window overflow (with the sizes the server named), and
//! which request feature the server's message blames.
//!
//! Servers seen in the wild: OpenAI (`context_length_exceeded`), vLLM
//! ("This model's maximum context length is N tokens. However, you requested
//! M tokens"), llama.cpp's server (`exceed_context_size_error`, "exceeds the
//! available context size"), llama-cpp-python ("Requested tokens (M) exceed
//! context window of N", or OpenAI's wording under HTTP 400; every other
//! validation failure under HTTP 500), LiteLLM (`ContextWindowExceededError`),
//! Anthropic ("prompt is too long").

/// Phrases that mark a context window overflow, lower-cased.
const CONTEXT_PHRASES: &[&str] = &[
    "context_length_exceeded",
    "maximum context length",
    "exceed_context_size_error",
    "exceeds the available context size",
    "exceed context window",
    "exceeds context window",
    "context window exceeded",
    "contextwindowexceedederror",
    "prompt is too long",
    "input is too long",
    "too many tokens",
];

/// Phrases that mark a request the server will never accept as sent, even
/// under a 5xx status (servers that answer every validation error with 500).
const INVALID_PHRASES: &[&str] = &[
    "invalid request",
    "validation error",
    "validationerror",
    "is not supported",
    "not supported",
    "unsupported",
    "field required",
    "must be",
    "typeerror",
    "keyerror",
    "valueerror",
    "jinja",
    "template",
    "'nonetype'",
];

/// Request features a server's message may blame, with the phrase that names
/// them (lower-cased): the final error says which one.
const FEATURES: &[(&str, &str)] = &[
    ("tool_choice", "tool_choice"),
    ("tool_calls", "tool_calls"),
    ("content", "`content` of a message"),
    ("max_completion_tokens", "max_completion_tokens"),
    ("max_tokens", "max_tokens"),
    ("response_format", "response_format"),
    ("tools", "tools"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("seed", "seed"),
    ("stop", "stop"),
];

/// Sizes a context-length error named, in tokens, where it named them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextSizes {
    /// The model's window.
    pub window: Option<u64>,
    /// What the request needed (prompt, plus the completion cap where counted).
    pub requested: Option<u64>,
}

impl std::fmt::Display for ContextSizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.requested, self.window) {
            (Some(r), Some(w)) => write!(f, "{r} tokens requested, window {w}"),
            (None, Some(w)) => write!(f, "window {w} tokens"),
            (Some(r), None) => write!(f, "{r} tokens requested"),
            (None, None) => write!(f, "sizes not given by the server"),
        }
    }
}

/// Whether `body` says the request overflowed the model's context window,
/// and the sizes it named.
pub fn context_overflow(body: &str) -> Option<ContextSizes> {
    let lower = body.to_lowercase();
    if !CONTEXT_PHRASES.iter().any(|p| lower.contains(p)) {
        return None;
    }
    Some(ContextSizes { window: window_size(&lower), requested: requested_size(&lower) })
}

/// Whether `body` says the request itself is invalid (so sending it again
/// cannot help), whatever the status.
pub fn invalid_request(body: &str) -> bool {
    let lower = body.to_lowercase();
    context_overflow(body).is_some() || INVALID_PHRASES.iter().any(|p| lower.contains(p))
}

/// The request feature `body` blames, if its message names one.
pub fn blamed_feature(body: &str) -> Option<&'static str> {
    let lower = body.to_lowercase();
    FEATURES.iter().find(|(needle, _)| lower.contains(needle)).map(|(_, shown)| *shown)
}

fn window_size(lower: &str) -> Option<u64> {
    number_after(lower, "maximum context length is")
        .or_else(|| number_after(lower, "context window of"))
        .or_else(|| number_after(lower, "\"n_ctx\":"))
        .or_else(|| number_after(lower, "available context size ("))
        .or_else(|| number_after(lower, "> "))
}

fn requested_size(lower: &str) -> Option<u64> {
    number_after(lower, "you requested")
        .or_else(|| number_after(lower, "requested tokens ("))
        .or_else(|| number_after(lower, "\"n_prompt_tokens\":"))
        .or_else(|| number_after(lower, "request ("))
        .or_else(|| number_after(lower, "prompt is too long:"))
}

/// The first unsigned integer after `marker` (spaces skipped).
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String =
        text[start..].trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_servers_context_errors_are_recognised_with_sizes() {
        let cases = [
            // llama-cpp-python 0.3.x, under HTTP 400
            (
                r#"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 3012 tokens (3012 in the messages, 0 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
                Some(2048),
                Some(3012),
            ),
            // vLLM
            (
                r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).","type":"BadRequestError","code":400}"#,
                Some(4096),
                Some(5000),
            ),
            // llama.cpp's server
            (
                r#"{"error":{"code":400,"message":"request (4476 tokens) exceeds the available context size (4096 tokens)","type":"exceed_context_size_error","n_prompt_tokens":4476,"n_ctx":4096}}"#,
                Some(4096),
                Some(4476),
            ),
            // llama-cpp-python's raw ValueError
            ("Requested tokens (3100) exceed context window of 2048", Some(2048), Some(3100)),
            // Anthropic
            (
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
                Some(200_000),
                Some(210_000),
            ),
        ];
        for (body, window, requested) in cases {
            let sizes = context_overflow(body).expect(body);
            assert_eq!((sizes.window, sizes.requested), (window, requested), "{body}");
            assert!(invalid_request(body));
        }
        assert_eq!(context_overflow(r#"{"error":{"message":"overloaded"}}"#), None);
    }

    #[test]
    fn validation_failures_under_500_are_invalid_and_name_the_feature() {
        let body = r#"{"error":{"message":"1 validation error: messages.2.content: Field required","type":"internal_server_error"}}"#;
        assert!(invalid_request(body));
        assert_eq!(blamed_feature(body), Some("`content` of a message"));
        assert!(!invalid_request(r#"{"error":{"message":"CUDA out of memory"}}"#));
        assert!(!invalid_request(""));
        assert_eq!(blamed_feature("tool_choice 'required' is not supported"), Some("tool_choice"));
    }
}
