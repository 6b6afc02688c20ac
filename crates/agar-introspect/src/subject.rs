//! [`Subject`]: a model agar can read and inject into. The experiment needs
//! three things of it: its shape (layers, width), the hidden state at the
//! last token of a chat-templated prompt, and an answer generated while a
//! vector is added to its residual stream from a chosen point of the prompt
//! on. The CLI adapts agar-local's engine to it; tests use a fake.

use std::fmt::Debug;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Why the subject could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    /// The injection's start text is not in the prompt.
    #[error("the injection point {0:?} is not in the prompt")]
    NoInjectionPoint(String),
    /// A layer or a vector that does not fit the model.
    #[error("{0}")]
    Shape(String),
    /// The model failed (loading, tokenising, the forward pass).
    #[error("{0}")]
    Model(String),
}

/// What is added to the residual stream while the subject answers.
///
/// Layer `l` is the residual stream after transformer block `l` (0-based),
/// agar-local's convention. `vector * strength` is added at every position
/// from the token holding the first character of the prompt's last
/// occurrence of `from` through every generated token; positions before it
/// are untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct Injection {
    pub layer: usize,
    pub vector: Vec<f32>,
    pub strength: f32,
    pub from: String,
}

/// How an answer is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    pub temperature: f32,
    pub max_tokens: u32,
    pub seed: u64,
}

/// A generated answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    /// Tokens of the templated prompt.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub output_tokens: usize,
    /// The prompt position the injection started at (an injected answer only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injected_from: Option<usize>,
}

/// A model whose hidden states can be read and added to.
#[async_trait]
pub trait Subject: Send + Sync + Debug {
    /// How agar names it (`local/smollm2`).
    fn name(&self) -> &str;
    /// The sha256 of the model file, binding vectors to the weights they came from.
    fn model_sha256(&self) -> &str;
    /// Transformer blocks.
    fn layers(&self) -> usize;
    /// The residual stream's width.
    fn width(&self) -> usize;
    /// The hidden state after each of `layers` at the last token of `user`
    /// as one user message, chat-templated with the assistant's turn opened.
    async fn last_token_states(
        &self,
        user: &str,
        layers: &[usize],
    ) -> Result<Vec<Vec<f32>>, SubjectError>;
    /// The answer to `user` (one user message, chat-templated), with
    /// `injection` added if given.
    async fn answer(
        &self,
        user: &str,
        injection: Option<&Injection>,
        sampling: Sampling,
    ) -> Result<Reply, SubjectError>;
}

/// The position the injection starts at: the index of the token holding
/// the first byte of the last occurrence of `from` in the text the tokens
/// spell (`tokens` gives each token's bytes, in order), or `None` when the
/// text does not contain it.
pub fn injection_position<'a>(
    tokens: impl IntoIterator<Item = &'a [u8]>,
    from: &str,
) -> Option<usize> {
    let mut text: Vec<u8> = Vec::new();
    let mut starts = Vec::new();
    for bytes in tokens {
        starts.push(text.len());
        text.extend_from_slice(bytes);
    }
    let needle = from.as_bytes();
    if needle.is_empty() || needle.len() > text.len() {
        return None;
    }
    let at = (0..=text.len() - needle.len()).rev().find(|&i| text[i..].starts_with(needle))?;
    Some(starts.partition_point(|s| *s <= at) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_injection_starts_at_the_token_holding_the_point() {
        let toks: [&[u8]; 6] = [b"<s>", b"Hi", b" there", b"\n\nQu", b"estion", b":"];
        assert_eq!(injection_position(toks, "Question:"), Some(3));
        assert_eq!(injection_position(toks, "Hi"), Some(1));
        assert_eq!(injection_position(toks, " there"), Some(2));
        assert_eq!(injection_position(toks, "nowhere"), None);
        assert_eq!(injection_position(toks, ""), None);
        // The last occurrence counts.
        let twice: [&[u8]; 4] = [b"a", b"Q:", b"b", b"Q:"];
        assert_eq!(injection_position(twice, "Q:"), Some(3));
    }
}
