//! Integration tests of the local engine against the real SmolLM2 GGUF.
//!
//! Every test needs a real model, so every test is `#[ignore]`d and a plain
//! `cargo test` runs none of them (a skip is never a pass). The SmolLM2 tests
//! (under [`local_model`]) are run by `.ci/run` with
//! `cargo test --workspace --tests -- --ignored local_model`; the model is
//! fetched into the cache on first use (as `agar models pull smollm2` does),
//! and a model that cannot be fetched fails them. The Qwen2.5-Coder tests
//! (`qwen`, 1.1 GB) are not run by CI: `cargo test -p agar-local --test it --
//! --ignored qwen`.

#![expect(clippy::unwrap_used, reason = "tests")]

mod local_model;
mod qwen;
mod support;
