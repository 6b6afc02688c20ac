//! The llama-family transformer, written from candle's public pieces
//! (quantised matmuls, RMS norm, rotary embeddings, grouped-query attention)
//! so that the residual stream can be read and steered at any layer.
//!
//! Two GGUF architectures load: `llama` and `qwen2`. They share the block
//! (pre-norm attention and SwiGLU feed-forward) and differ in two places:
//! qwen2's query, key and value projections add a bias, and its rotary
//! embedding rotates the two halves of each head (NEOX style) where llama
//! rotates adjacent pairs. [`LlamaConfig::arch`] and [`LlamaConfig::rope`]
//! record which.
//!
//! [`Llama::forward`] runs a chunk of tokens through the model against a
//! [`KvCache`] and returns the last position's logits; [`Hooks`] say which
//! layers to capture and what vectors to add where (layer and position
//! conventions: [`crate::hooks`]). [`Llama::forward_all`] also returns the
//! captured layers at every position of the chunk.

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use crate::error::LocalError;
use crate::gguf::{GgufFile, Weight};
use crate::hooks::{Hooks, additions};
use crate::kernels::PackedMatrix;

/// The GGUF architectures agar can load (`Engine::load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `llama` (SmolLM2, Llama 2/3, ...).
    Llama,
    /// `qwen2` (Qwen2, Qwen2.5, Qwen2.5-Coder): biases on q/k/v, NEOX rotary embedding.
    Qwen2,
}

impl Architecture {
    /// The architecture named by `general.architecture`, if supported.
    pub fn from_gguf(name: &str) -> Option<Self> {
        match name {
            "llama" => Some(Self::Llama),
            "qwen2" => Some(Self::Qwen2),
            _ => None,
        }
    }

    /// The GGUF name, which also prefixes the architecture's metadata keys.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
        }
    }

    /// How this architecture applies its rotary embedding.
    pub fn rope_style(self) -> RopeStyle {
        match self {
            Self::Llama => RopeStyle::Interleaved,
            Self::Qwen2 => RopeStyle::Halves,
        }
    }
}

/// Which dimensions of a head the rotary embedding rotates together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs `(0, 1), (2, 3), ...` (llama.cpp's "normal" rope on
    /// GGUF llama weights, whose q/k rows the converter permuted).
    Interleaved,
    /// Dimension `i` with `i + head_dim / 2` (llama.cpp's NEOX rope).
    Halves,
}

/// The sizes of a llama-family model, from the GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct LlamaConfig {
    pub arch: Architecture,
    pub rope: RopeStyle,
    pub layers: usize,
    /// The residual stream's width.
    pub width: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub ffn: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
    pub context: usize,
    pub vocab: usize,
}

/// Inputs with at least this many rows (prompt chunks) are multiplied by
/// weights dequantised to f32 on the fly: candle's quantised kernels compute
/// one dot product at a time (about 14 GFLOPS on one AVX2 core), its f32
/// GEMM about 90, and dequantising one matrix costs far less than the product
/// saves. Fewer rows (generation) use the compact quantised weights, where
/// memory bandwidth, not arithmetic, is the limit.
const DENSE_MIN_ROWS: usize = 8;

/// [`DENSE_MIN_ROWS`] for k-quant weights (Q4_K, Q6_K), which the
/// crate's kernels multiply four rows at a time, unpacking each weight once
/// for the four. On Qwen2.5-Coder-1.5B Q4_K_M (one core) the two ways break
/// even near 96 rows; at 16 rows the kernels take 0.64 s, dequantising 1.35.
const DENSE_MIN_ROWS_K_QUANT: usize = 96;

fn dense_min_rows(p: &PackedMatrix) -> usize {
    if p.is_k_quant() { DENSE_MIN_ROWS_K_QUANT } else { DENSE_MIN_ROWS }
}

/// The most weights dequantised at once for a prompt chunk: 4 MB, which
/// the allocator reuses from one slab to the next.
const DENSE_SLAB: usize = 1 << 20;

/// A linear layer's weight, `(out, in)`.
#[derive(Debug)]
enum Linear {
    /// Q4_1, Q8_0, Q4_K, Q6_K, repacked for this crate's kernels.
    Packed(PackedMatrix),
    /// Anything else, through candle.
    Candle { weight: Arc<QTensor>, matmul: QMatMul },
}

impl Linear {
    fn new(weight: Weight) -> candle_core::Result<Self> {
        match weight {
            Weight::Packed(p) => Ok(Self::Packed(p)),
            Weight::Tensor(t) => Self::from_arc(Arc::new(t)),
        }
    }

    fn from_arc(weight: Arc<QTensor>) -> candle_core::Result<Self> {
        Ok(match PackedMatrix::pack(&weight)? {
            Some(p) => Self::Packed(p),
            None => Self::Candle { matmul: QMatMul::from_arc(weight.clone())?, weight },
        })
    }

    /// `x` is `(1, rows, in)`; returns `(1, rows, out)`.
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let rows = x.dim(1)?;
        let dense = match self {
            Self::Packed(p) if rows >= dense_min_rows(p) => {
                // Slabs of rows, so that no dequantised matrix needs fresh
                // pages from the OS (a whole one did, every chunk: a quarter
                // of a 1.5B model's prompt time went to page faults).
                let x = x.squeeze(0)?;
                let step = (DENSE_SLAB / p.cols()).max(1);
                let mut parts = Vec::with_capacity(p.rows().div_ceil(step));
                for first in (0..p.rows()).step_by(step) {
                    let n = step.min(p.rows() - first);
                    let w = p.dequantize_rows(first..first + n);
                    parts.push(x.matmul(&Tensor::from_vec(w, (n, p.cols()), &Device::Cpu)?.t()?)?);
                }
                let out = if parts.len() == 1 { parts.remove(0) } else { Tensor::cat(&parts, 1)? };
                return out.unsqueeze(0);
            }
            Self::Packed(p) => {
                let x = x.squeeze(0)?.to_vec2::<f32>()?;
                let xs: Vec<_> = x.iter().map(|r| p.quantize(r)).collect();
                let mut out = vec![0.0f32; rows * p.rows()];
                p.matmul(&xs, &mut out);
                return Tensor::from_vec(out, (1, rows, p.rows()), &Device::Cpu);
            }
            Self::Candle { weight, matmul: QMatMul::QTensor(_) } if rows >= DENSE_MIN_ROWS => {
                weight.dequantize(&Device::Cpu)?
            }
            Self::Candle { matmul, .. } => return matmul.forward(x),
        };
        x.squeeze(0)?.matmul(&dense.t()?)?.unsqueeze(0)
    }
}

#[derive(Debug)]
struct Layer {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    /// qwen2's projection biases (`None` for llama).
    bq: Option<Tensor>,
    bk: Option<Tensor>,
    bv: Option<Tensor>,
    wo: Linear,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A loaded llama-family model (architecture `llama` or `qwen2`).
#[derive(Debug)]
pub struct Llama {
    pub config: LlamaConfig,
    embed: Arc<QTensor>,
    layers: Vec<Layer>,
    norm: Tensor,
    output: Linear,
    cos: Tensor,
    sin: Tensor,
}

/// Per-layer keys and values of the positions seen so far, in preallocated
/// buffers that grow by doubling. `truncate` forgets a suffix, so a new
/// prompt sharing a prefix with the last one reuses its work.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    capacity: usize,
    len: usize,
    /// The tokens whose keys and values are stored, in order.
    pub(crate) tokens: Vec<u32>,
    /// [`Hooks::steering_key`] of the requests that filled it (0: unsteered).
    pub(crate) steering: u64,
}

impl KvCache {
    pub fn new(layers: usize) -> Self {
        Self {
            layers: (0..layers).map(|_| None).collect(),
            capacity: 0,
            len: 0,
            tokens: Vec::new(),
            steering: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// A cache that claims to hold `tokens` (no tensors), for tests of cache choice.
    #[cfg(test)]
    pub(crate) fn holding(layers: usize, tokens: &[u32]) -> Self {
        Self { len: tokens.len(), tokens: tokens.to_vec(), ..Self::new(layers) }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps only the first `len` positions.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
        self.tokens.truncate(self.len);
    }

    /// Bytes held by the buffers.
    pub fn bytes(&self) -> usize {
        self.layers.iter().flatten().map(|(k, v)| (k.elem_count() + v.elem_count()) * 4).sum()
    }

    /// Stores `k`, `v` (shape `(1, kv_heads, t, head_dim)`) of layer `layer`
    /// at positions `len..len + t`; returns all keys and values so far.
    fn append(
        &mut self,
        layer: usize,
        k: &Tensor,
        v: &Tensor,
        new_capacity: usize,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let t = k.dim(2)?;
        let slot = &mut self.layers[layer];
        let grow = match slot {
            Some((ck, _)) => ck.dim(2)? < new_capacity,
            None => true,
        };
        if grow {
            let (b, h, _, d) = k.dims4()?;
            let nk = Tensor::zeros((b, h, new_capacity, d), DType::F32, &Device::Cpu)?;
            let nv = Tensor::zeros((b, h, new_capacity, d), DType::F32, &Device::Cpu)?;
            if let Some((ck, cv)) = slot.as_ref()
                && self.len > 0
            {
                nk.slice_set(&ck.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
                nv.slice_set(&cv.narrow(2, 0, self.len)?.contiguous()?, 2, 0)?;
            }
            *slot = Some((nk, nv));
        }
        let Some((ck, cv)) = slot.as_ref() else {
            candle_core::bail!("kv cache slot missing");
        };
        ck.slice_set(k, 2, self.len)?;
        cv.slice_set(v, 2, self.len)?;
        Ok((ck.narrow(2, 0, self.len + t)?, cv.narrow(2, 0, self.len + t)?))
    }
}

/// Hidden states at every position of a chunk: `[capture index][position][width]`.
pub type AllPositions = Vec<Vec<Vec<f32>>>;

/// The result of one forward pass.
#[derive(Debug)]
pub struct Step {
    /// Logits of the last position, one per vocabulary entry.
    pub logits: Vec<f32>,
    /// The captured hidden states at the last position, in the order of
    /// [`Hooks::capture`].
    pub hidden: Vec<Vec<f32>>,
}

impl Llama {
    /// Loads a `llama` or `qwen2` GGUF.
    pub(crate) fn load(file: &mut GgufFile) -> Result<Self, LocalError> {
        let name = file.string("general.architecture")?;
        let Some(arch) = Architecture::from_gguf(&name) else {
            return Err(LocalError::UnsupportedArchitecture(name));
        };
        let key = |k: &str| format!("{}.{k}", arch.name());
        let width = file.u32(&key("embedding_length"))? as usize;
        let heads = file.u32(&key("attention.head_count"))? as usize;
        let kv_heads = if file.has(&key("attention.head_count_kv")) {
            file.u32(&key("attention.head_count_kv"))? as usize
        } else {
            heads
        };
        if heads == 0
            || kv_heads == 0
            || !heads.is_multiple_of(kv_heads)
            || !width.is_multiple_of(heads)
        {
            return Err(file.bad(format!("inconsistent heads: {heads} heads, {kv_heads} kv heads")));
        }
        let head_dim = width / heads;
        let rope_dim = if file.has(&key("rope.dimension_count")) {
            file.u32(&key("rope.dimension_count"))? as usize
        } else {
            head_dim
        };
        if rope_dim != head_dim {
            return Err(file.bad("partial rotary embeddings are not supported"));
        }
        let rope_base = if file.has(&key("rope.freq_base")) {
            file.f32(&key("rope.freq_base"))?
        } else {
            10_000.0
        };
        let embed = Arc::new(file.tensor("token_embd.weight")?);
        let vocab = embed.shape().dims().first().copied().unwrap_or(0);
        let config = LlamaConfig {
            arch,
            rope: arch.rope_style(),
            layers: file.u32(&key("block_count"))? as usize,
            width,
            heads,
            kv_heads,
            head_dim,
            ffn: file.u32(&key("feed_forward_length"))? as usize,
            rope_base,
            rms_eps: file.f32(&key("attention.layer_norm_rms_epsilon"))?,
            context: file.u32(&key("context_length"))? as usize,
            vocab,
        };
        let dense = |file: &mut GgufFile, name: &str| -> Result<Tensor, LocalError> {
            Ok(file.tensor(name)?.dequantize(&Device::Cpu)?)
        };
        let qmm = |file: &mut GgufFile, name: &str| -> Result<Linear, LocalError> {
            Ok(Linear::new(file.weight(name)?)?)
        };
        // qwen2 requires the q/k/v biases; llama files have none (and a
        // llama file that had them would be a different model, so they
        // are not read).
        let bias = |file: &mut GgufFile,
                    name: String,
                    width: usize|
         -> Result<Option<Tensor>, LocalError> {
            if arch != Architecture::Qwen2 {
                return Ok(None);
            }
            let b = dense(file, &name)?;
            if b.dims() != [width] {
                return Err(file.bad(format!("`{name}` has shape {:?}, not [{width}]", b.dims())));
            }
            Ok(Some(b))
        };
        let kv_width = kv_heads * head_dim;
        let mut layers = Vec::with_capacity(config.layers);
        for i in 0..config.layers {
            let p = |s: &str| format!("blk.{i}.{s}.weight");
            let b = |s: &str| format!("blk.{i}.{s}.bias");
            layers.push(Layer {
                attn_norm: dense(file, &p("attn_norm"))?,
                wq: qmm(file, &p("attn_q"))?,
                wk: qmm(file, &p("attn_k"))?,
                wv: qmm(file, &p("attn_v"))?,
                bq: bias(file, b("attn_q"), width)?,
                bk: bias(file, b("attn_k"), kv_width)?,
                bv: bias(file, b("attn_v"), kv_width)?,
                wo: qmm(file, &p("attn_output"))?,
                ffn_norm: dense(file, &p("ffn_norm"))?,
                gate: qmm(file, &p("ffn_gate"))?,
                up: qmm(file, &p("ffn_up"))?,
                down: qmm(file, &p("ffn_down"))?,
            });
        }
        let norm = dense(file, "output_norm.weight")?;
        let output = if file.has_tensor("output.weight") {
            qmm(file, "output.weight")?
        } else {
            Linear::from_arc(embed.clone())?
        };
        let (cos, sin) = rope_tables(&config)?;
        Ok(Self { config, embed, layers, norm, output, cos, sin })
    }

    /// Runs `tokens` (the positions after those in `cache`) through the
    /// model, appends them to `cache`, and returns the last position's logits
    /// and the hidden states `hooks` asked for.
    pub fn forward(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        hooks: &Hooks,
    ) -> Result<Step, LocalError> {
        Ok(self.run(tokens, cache, hooks, false)?.0)
    }

    /// [`Llama::forward`], also returning, for each layer of
    /// [`Hooks::capture`] (in that order), the hidden state at every
    /// position of `tokens`: `[capture index][position in tokens][width]`.
    pub fn forward_all(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        hooks: &Hooks,
    ) -> Result<(Step, AllPositions), LocalError> {
        self.run(tokens, cache, hooks, true)
    }

    fn run(
        &self,
        tokens: &[u32],
        cache: &mut KvCache,
        hooks: &Hooks,
        every_position: bool,
    ) -> Result<(Step, AllPositions), LocalError> {
        let c = &self.config;
        let t = tokens.len();
        if t == 0 {
            return Err(LocalError::Inference("forward pass of no tokens".into()));
        }
        let start = cache.len;
        if start + t > c.context {
            return Err(LocalError::ContextOverflow { tokens: start + t, context: c.context });
        }
        let capacity = if start + t <= cache.capacity {
            cache.capacity
        } else {
            (start + t).next_power_of_two().clamp(256, c.context.next_power_of_two())
        };
        let ids = Tensor::new(tokens, &Device::Cpu)?;
        let mut x = self.embed.embedding(&ids)?.reshape((1, t, c.width))?;
        let mask = if t > 1 { Some(causal_mask(t, start, c.heads / c.kv_heads)?) } else { None };
        let cos = self.cos.narrow(0, start, t)?;
        let sin = self.sin.narrow(0, start, t)?;
        let steer = additions(&hooks.steer, c.layers, start, t, c.width)?;
        let mut captured: Vec<(usize, Tensor)> = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &layer.attn_norm, c.rms_eps)?;
            let attn = self.attention(i, layer, &h, &cos, &sin, mask.as_ref(), cache, capacity)?;
            x = (x + attn)?;
            let h = candle_nn::ops::rms_norm(&x, &layer.ffn_norm, c.rms_eps)?;
            let ff = layer.down.forward(
                &(candle_nn::ops::silu(&layer.gate.forward(&h)?)? * layer.up.forward(&h)?)?,
            )?;
            x = (x + ff)?;
            if let Some(add) = &steer[i] {
                x = (x + add)?;
            }
            if hooks.capture.contains(&i) {
                captured.push((i, x.clone()));
            }
        }
        cache.len = start + t;
        cache.capacity = capacity;
        cache.tokens.extend_from_slice(tokens);
        let mut hidden = Vec::with_capacity(hooks.capture.len());
        let mut all = Vec::new();
        for l in &hooks.capture {
            if let Some((_, state)) = captured.iter().find(|(i, _)| i == l) {
                hidden.push(state.narrow(1, t - 1, 1)?.flatten_all()?.to_vec1::<f32>()?);
                if every_position {
                    all.push(state.squeeze(0)?.to_vec2::<f32>()?);
                }
            }
        }
        let last = x.narrow(1, t - 1, 1)?;
        let last = candle_nn::ops::rms_norm(&last, &self.norm, c.rms_eps)?;
        let logits = self.output.forward(&last)?.flatten_all()?.to_vec1::<f32>()?;
        Ok((Step { logits, hidden }, all))
    }

    #[expect(clippy::too_many_arguments, reason = "one layer's attention needs all of these")]
    fn attention(
        &self,
        index: usize,
        layer: &Layer,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut KvCache,
        capacity: usize,
    ) -> candle_core::Result<Tensor> {
        let c = &self.config;
        let (_, t, _) = x.dims3()?;
        let project = |w: &Linear, b: &Option<Tensor>, heads: usize| {
            let y = w.forward(x)?;
            let y = match b {
                Some(b) => y.broadcast_add(b)?,
                None => y,
            };
            y.reshape((1, t, heads, c.head_dim))?.transpose(1, 2)
        };
        let q = project(&layer.wq, &layer.bq, c.heads)?;
        let k = project(&layer.wk, &layer.bk, c.kv_heads)?;
        let v = project(&layer.wv, &layer.bv, c.kv_heads)?;
        let rope = match c.rope {
            RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i,
            RopeStyle::Halves => candle_nn::rotary_emb::rope,
        };
        let q = rope(&q.contiguous()?, cos, sin)?;
        let k = rope(&k.contiguous()?, cos, sin)?;
        let (k, v) = cache.append(index, &k, &v.contiguous()?, capacity)?;
        if t < DENSE_MIN_ROWS {
            // A few new positions (generation): read the cache rows in place.
            // Through candle's matmul every token would copy (pack) all keys
            // and values of every layer first.
            let out = attend_few(&q, &k, &v, c.heads)?;
            return layer.wo.forward(&out);
        }
        // Query heads sharing a key/value head are adjacent, so grouping them
        // as extra rows lets each kv head serve its queries without copies.
        let group = c.heads / c.kv_heads;
        let q = q.reshape((1, c.kv_heads, group * t, c.head_dim))?;
        let scale = 1.0 / (c.head_dim as f64).sqrt();
        let mut att = (q.matmul(&k.t()?)? * scale)?;
        if let Some(mask) = mask {
            att = att.broadcast_add(mask)?;
        }
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        let out = att.matmul(&v.contiguous()?)?;
        let out =
            out.reshape((1, c.heads, t, c.head_dim))?.transpose(1, 2)?.reshape((1, t, c.width))?;
        layer.wo.forward(&out)
    }
}

/// Causal attention of `q` `(1, heads, t, d)` over all cached keys and
/// values `(1, kv_heads, len, d)` (views into the cache's buffers; the last
/// `t` positions are the queries' own), computed row by row on the cache's
/// memory. Returns `(1, t, heads·d)`.
fn attend_few(q: &Tensor, k: &Tensor, v: &Tensor, heads: usize) -> candle_core::Result<Tensor> {
    let (_, _, t, d) = q.dims4()?;
    let (_, kv_heads, len, _) = k.dims4()?;
    let group = heads / kv_heads;
    let q = q.flatten_all()?.to_vec1::<f32>()?;
    let scale = 1.0 / (d as f32).sqrt();
    let mut out = vec![0.0f32; t * heads * d];
    let (k_store, k_layout) = k.storage_and_layout();
    let (v_store, v_layout) = v.storage_and_layout();
    let (candle_core::Storage::Cpu(k_cpu), candle_core::Storage::Cpu(v_cpu)) =
        (&*k_store, &*v_store)
    else {
        candle_core::bail!("the kv cache is not on the CPU");
    };
    let (k_all, v_all) = (k_cpu.as_slice::<f32>()?, v_cpu.as_slice::<f32>()?);
    // Row j of kv head h starts at offset + h·stride[1] + j·stride[2]; rows are contiguous.
    let row = |layout: &candle_core::Layout, h: usize, j: usize| {
        let st = layout.stride();
        layout.start_offset() + h * st[1] + j * st[2]
    };
    if k_layout.stride()[3] != 1 || v_layout.stride()[3] != 1 {
        candle_core::bail!("kv cache rows are not contiguous");
    }
    // One key/value head with the `group` query heads that share it: rows
    // `(group, t, d)`. Each cached key and value row is read once for the
    // whole group (memory traffic, not arithmetic, bounds long contexts).
    // Key/value heads are independent, so with several threads configured
    // they are shared out over rayon's pool.
    let one_kv_head = |kv: usize| -> Vec<f32> {
        let mut rows = vec![0.0f32; group * t * d];
        let mut scores = vec![0.0f32; group * len];
        for i in 0..t {
            // Query i is position len - t + i and sees keys 0..=that.
            let seen = len - t + i + 1;
            let query = |g: usize| &q[((kv * group + g) * t + i) * d..][..d];
            for j in 0..seen {
                let key = &k_all[row(k_layout, kv, j)..][..d];
                for g in 0..group {
                    scores[g * len + j] = dot(query(g), key) * scale;
                }
            }
            let mut totals = vec![0.0f32; group];
            for (g, total) in totals.iter_mut().enumerate() {
                let s = &mut scores[g * len..][..seen];
                let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                for x in s.iter_mut() {
                    *x = (*x - max).exp();
                    *total += *x;
                }
            }
            for j in 0..seen {
                let value = &v_all[row(v_layout, kv, j)..][..d];
                for g in 0..group {
                    let p = scores[g * len + j] / totals[g];
                    let o = &mut rows[(g * t + i) * d..][..d];
                    for (o, v) in o.iter_mut().zip(value) {
                        *o += p * v;
                    }
                }
            }
        }
        rows
    };
    let per_kv: Vec<Vec<f32>> = if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        (0..kv_heads).into_par_iter().map(one_kv_head).collect()
    } else {
        (0..kv_heads).map(one_kv_head).collect()
    };
    for (kv, rows) in per_kv.iter().enumerate() {
        for g in 0..group {
            let head = kv * group + g;
            for i in 0..t {
                out[(i * heads + head) * d..][..d].copy_from_slice(&rows[(g * t + i) * d..][..d]);
            }
        }
    }
    Tensor::from_vec(out, (1, t, heads * d), &Device::Cpu)
}

/// A dot product in eight independent lanes, which the compiler vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac.remainder().iter().zip(bc.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ac.zip(bc) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `(group * t, start + t)`: 0 where query row may attend, -inf after its position.
fn causal_mask(t: usize, start: usize, group: usize) -> candle_core::Result<Tensor> {
    let cols = start + t;
    let mut data = Vec::with_capacity(group * t * cols);
    for _ in 0..group {
        for row in 0..t {
            for col in 0..cols {
                data.push(if col > start + row { f32::NEG_INFINITY } else { 0.0 });
            }
        }
    }
    Tensor::from_vec(data, (group * t, cols), &Device::Cpu)
}

fn rope_tables(c: &LlamaConfig) -> Result<(Tensor, Tensor), LocalError> {
    let half = c.head_dim / 2;
    let inv: Vec<f32> =
        (0..half).map(|i| 1.0 / c.rope_base.powf(2.0 * i as f32 / c.head_dim as f32)).collect();
    let inv = Tensor::from_vec(inv, (1, half), &Device::Cpu)?;
    let pos = Tensor::arange(0u32, c.context as u32, &Device::Cpu)?
        .to_dtype(DType::F32)?
        .reshape((c.context, 1))?;
    let freqs = pos.broadcast_mul(&inv)?;
    Ok((freqs.cos()?, freqs.sin()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same attention through candle's ops (mask, softmax, matmul).
    fn reference(q: &Tensor, k: &Tensor, v: &Tensor, heads: usize) -> Tensor {
        let (_, _, t, d) = q.dims4().unwrap();
        let (_, kv_heads, len, _) = k.dims4().unwrap();
        let group = heads / kv_heads;
        let q = q.reshape((1, kv_heads, group * t, d)).unwrap();
        let att = (q.matmul(&k.t().unwrap()).unwrap() * (1.0 / (d as f64).sqrt())).unwrap();
        let att = att.broadcast_add(&causal_mask(t, len - t, group).unwrap()).unwrap();
        let att = candle_nn::ops::softmax_last_dim(&att).unwrap();
        let out = att.matmul(&v.contiguous().unwrap()).unwrap();
        out.reshape((1, heads, t, d))
            .unwrap()
            .transpose(1, 2)
            .unwrap()
            .reshape((1, t, heads * d))
            .unwrap()
    }

    #[test]
    fn attention_on_the_cache_in_place_matches_candles_ops() {
        let dev = Device::Cpu;
        let (heads, kv_heads, d, len, capacity) = (6, 2, 16, 11, 32);
        for t in [1, 3] {
            let q = Tensor::randn(0f32, 1.0, (1, heads, t, d), &dev).unwrap();
            // Keys and values as the cache holds them: views of a larger buffer.
            let kb = Tensor::randn(0f32, 1.0, (1, kv_heads, capacity, d), &dev).unwrap();
            let vb = Tensor::randn(0f32, 1.0, (1, kv_heads, capacity, d), &dev).unwrap();
            let (k, v) = (kb.narrow(2, 0, len).unwrap(), vb.narrow(2, 0, len).unwrap());
            let fast = attend_few(&q, &k, &v, heads).unwrap().flatten_all().unwrap();
            let slow = reference(&q, &k, &v, heads).flatten_all().unwrap();
            let diff = (fast - slow).unwrap().abs().unwrap().max(0).unwrap();
            assert!(diff.to_scalar::<f32>().unwrap() < 1e-5, "t = {t}");
        }
    }
}
