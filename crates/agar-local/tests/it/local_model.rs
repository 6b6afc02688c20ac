//! The tests that need SmolLM2, under one module so that `local_model` is in
//! each test's path: they are `#[ignore]`d by `cargo test` and run on purpose
//! by `.ci/run` (`cargo test --workspace --tests -- --ignored local_model`),
//! which pulls the model first.

#[path = "chat.rs"]
mod chat;
#[path = "generation.rs"]
mod generation;
#[path = "hooks.rs"]
mod hooks;
#[path = "logprobs.rs"]
mod logprobs;
#[path = "tokenizer.rs"]
mod tokenizer;
#[path = "whitebox.rs"]
mod whitebox;
