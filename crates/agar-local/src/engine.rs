//! [`Engine`]: one loaded model on its own thread. Requests queue on a
//! channel and are served one at a time, so the async runtime never runs
//! inference and concurrent callers share one copy of the weights.
//!
//! The thread keeps a few KV caches keyed by the tokens they hold; a prompt
//! that extends an earlier one (the next turn of the same conversation)
//! only pays for its new tokens.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::error::LocalError;
use crate::gguf::GgufFile;
use crate::guide::{Guide, Next, Schema};
use crate::logprobs::{LogprobSpec, NextLogprobs, next_logprobs};
use crate::model::{Hooks, KvCache, Llama, LlamaConfig};
use crate::sample::{Rng, SamplerConfig, pick};
use crate::tokenizer::Tokenizer;

/// KV caches kept between requests (one per interleaved conversation: in
/// an audit the auditor, the target, the environment and the judge).
const CACHES: usize = 4;
/// Prompt tokens run through the model per forward pass.
const PROMPT_CHUNK: usize = 256;

/// How the output is shaped.
#[derive(Debug, Clone, Default)]
pub enum OutputMode {
    /// Free text.
    #[default]
    Text,
    /// JSON matching the schema, enforced token by token.
    Json(Schema),
    /// Free text, unless the answer starts with `{`: then a tool call
    /// matching this schema (a [`Schema::ToolCall`]), enforced. The answer
    /// is a call whenever the model gives an opening `{` at least
    /// `call_threshold` probability at its first token (`0.5` and above:
    /// only when that is its likeliest choice).
    TextOrJson { schema: Schema, call_threshold: f32 },
}

/// One generation request, in tokens.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub prompt: Vec<u32>,
    pub max_tokens: usize,
    /// `0` is greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u64,
    /// Generation stops before any of these strings (free text only).
    pub stop: Vec<String>,
    pub hooks: Hooks,
    pub mode: OutputMode,
    /// Never end at an end-of-turn token (benchmarks: always `max_tokens`).
    pub ignore_eos: bool,
    /// Report the first generated position's log-probabilities
    /// ([`Generation::logprobs`]); with `max_tokens` 0 nothing is generated.
    pub logprobs: Option<LogprobSpec>,
}

impl GenerateRequest {
    /// Greedy, free text, no hooks.
    pub fn greedy(prompt: Vec<u32>, max_tokens: usize) -> Self {
        Self {
            prompt,
            max_tokens,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
            hooks: Hooks::default(),
            mode: OutputMode::Text,
            ignore_eos: false,
            logprobs: None,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// End-of-turn token or a stop string.
    Stop,
    /// `max_tokens` reached (constrained JSON is then completed with defaults).
    Length,
    /// The constrained JSON value is complete.
    Json,
}

/// Where the time went.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Prompt tokens actually run (the rest came from a cached prefix).
    pub prompt_tokens_run: usize,
    pub prompt: Duration,
    /// From the start of the request to the first generated token.
    pub first_token: Duration,
    /// Decoding after the first token.
    pub generation: Duration,
    /// Time in the queue before the request started.
    pub queued: Duration,
}

/// A finished generation.
#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    /// Whether `text` is the constrained JSON value (a tool call or the
    /// requested schema).
    pub json: bool,
    pub prompt_tokens: usize,
    /// Tokens the model produced, including ones the constraint wrote for it.
    pub output_tokens: usize,
    pub finish: Finish,
    /// For each sampled token, the hidden states [`Hooks::capture`] asked
    /// for, taken at the position whose logits chose the token.
    pub hidden: Vec<Vec<Vec<f32>>>,
    /// What [`GenerateRequest::logprobs`] asked for.
    pub logprobs: Option<NextLogprobs>,
    pub timings: Timings,
}

/// Facts about the loaded model.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub path: PathBuf,
    pub name: String,
    pub config: LlamaConfig,
    pub chat_template: Option<String>,
    pub load_time: Duration,
}

struct Job {
    request: GenerateRequest,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Generation, LocalError>>,
}

/// A model served by a dedicated thread. Clone the `Arc` to share it.
#[derive(Debug)]
pub struct Engine {
    jobs: mpsc::Sender<Job>,
    tokenizer: Arc<Tokenizer>,
    info: ModelInfo,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("prompt_tokens", &self.request.prompt.len()).finish()
    }
}

impl Engine {
    /// Loads a GGUF (blocking: reading and converting weights takes a
    /// second or so for a small model) and starts its thread.
    pub fn load(path: &Path) -> Result<Arc<Self>, LocalError> {
        let started = Instant::now();
        let mut file = GgufFile::open(path)?;
        let tokenizer = Arc::new(Tokenizer::new(file.tokenizer_spec()?)?);
        let chat_template = file.chat_template();
        let name = file.string("general.name").unwrap_or_else(|_| {
            path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
        });
        let counts = file.dtype_counts();
        let model = Llama::load(&mut file)?;
        if model.config.vocab != tokenizer.vocab_size() {
            return Err(file.bad(format!(
                "the vocabulary has {} tokens but the embedding has {} rows",
                tokenizer.vocab_size(),
                model.config.vocab
            )));
        }
        let info = ModelInfo {
            path: path.to_owned(),
            name,
            config: model.config.clone(),
            chat_template,
            load_time: started.elapsed(),
        };
        tracing::debug!(path = %path.display(), ?counts, took_ms = info.load_time.as_millis() as u64, "local model loaded");
        let (tx, rx) = mpsc::channel::<Job>();
        let worker_tokenizer = tokenizer.clone();
        std::thread::Builder::new()
            .name("agar-local".into())
            .spawn(move || serve(model, worker_tokenizer, rx))
            .map_err(|e| LocalError::Inference(format!("cannot start the model thread: {e}")))?;
        Ok(Arc::new(Self { jobs: tx, tokenizer, info }))
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    pub fn tokenizer(&self) -> &Arc<Tokenizer> {
        &self.tokenizer
    }

    /// Queues `request` and waits for it without blocking the runtime.
    /// Dropping the future cancels the request (it is skipped if still
    /// queued, stopped at the next token if running).
    pub async fn generate(&self, request: GenerateRequest) -> Result<Generation, LocalError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job { request, enqueued: Instant::now(), reply })
            .map_err(|_| LocalError::EngineStopped)?;
        rx.await.map_err(|_| LocalError::EngineStopped)?
    }

    /// [`Engine::generate`] for callers outside an async runtime.
    pub fn generate_blocking(&self, request: GenerateRequest) -> Result<Generation, LocalError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job { request, enqueued: Instant::now(), reply })
            .map_err(|_| LocalError::EngineStopped)?;
        rx.blocking_recv().map_err(|_| LocalError::EngineStopped)?
    }

    /// The natural-log probability of each of `ids` as the token right
    /// after `prompt` (nothing is generated; see [`crate::logprobs`]).
    pub async fn next_token_logprobs(
        &self,
        prompt: Vec<u32>,
        ids: Vec<u32>,
    ) -> Result<Vec<f64>, LocalError> {
        let request = GenerateRequest {
            logprobs: Some(LogprobSpec { top: 0, ids }),
            ..GenerateRequest::greedy(prompt, 0)
        };
        let g = self.generate(request).await?;
        Ok(g.logprobs.unwrap_or_default().chosen.into_iter().map(|(_, lp)| lp).collect())
    }
}

/// The model thread: serves jobs in order until every [`Engine`] handle is gone.
fn serve(model: Llama, tokenizer: Arc<Tokenizer>, jobs: mpsc::Receiver<Job>) {
    let mut caches: Vec<(KvCache, u64)> = Vec::new();
    let mut clock = 0u64;
    while let Ok(job) = jobs.recv() {
        if job.reply.is_closed() {
            continue;
        }
        clock += 1;
        let queued = job.enqueued.elapsed();
        let cancelled = || job.reply.is_closed();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            generate(&model, &tokenizer, &mut caches, clock, &job.request, &cancelled)
        }));
        let result = match run {
            Ok(r) => r.map(|mut g| {
                g.timings.queued = queued;
                g
            }),
            Err(_) => {
                caches.clear();
                Err(LocalError::Inference("the model thread hit an internal error".into()))
            }
        };
        let _ = job.reply.send(result);
    }
}

/// Log-softmax of `logits` at `id`.
fn log_prob(logits: &[f32], id: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|l| f64::from(*l - max).exp()).sum();
    f64::from(logits.get(id as usize).copied().unwrap_or(f32::NEG_INFINITY) - max) - sum.ln()
}

/// Picks a tool name by the mean log-probability of each name's tokens
/// (greedy at temperature 0, else sampled from the tempered scores); the
/// cache is left as it was.
#[expect(clippy::too_many_arguments, reason = "the decoding state it scores against")]
fn choose_name(
    model: &Llama,
    tok: &Tokenizer,
    cache: &mut KvCache,
    step: &crate::model::Step,
    names: &[String],
    sampler: SamplerConfig,
    rng: &mut Rng,
    hooks: &Hooks,
) -> Result<String, LocalError> {
    let base = cache.len();
    let mut scores = Vec::with_capacity(names.len());
    for name in names {
        let ids = tok.encode(&format!("{name}\""), false);
        let mut total = log_prob(&step.logits, ids[0]);
        for w in ids.windows(2) {
            let s = model.forward(&[w[0]], cache, hooks)?;
            total += log_prob(&s.logits, w[1]);
        }
        cache.truncate(base);
        scores.push(total / ids.len() as f64);
    }
    let logits: Vec<f32> = scores.iter().map(|s| *s as f32).collect();
    let index = pick(&logits, sampler, rng, |_| true).unwrap_or(0) as usize;
    tracing::debug!(?names, ?scores, chosen = %names[index], "tool name chosen");
    Ok(names[index].clone())
}

/// The softmax probability of the tokens `which` selects.
fn mass(logits: &[f32], which: impl Fn(u32) -> bool) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut all, mut some) = (0.0f64, 0.0f64);
    for (i, l) in logits.iter().enumerate() {
        let e = f64::from(*l - max).exp();
        all += e;
        if which(i as u32) {
            some += e;
        }
    }
    if all > 0.0 { (some / all) as f32 } else { 0.0 }
}

/// Runs prompt tokens not yet in `cache` through the model.
fn prefill(
    model: &Llama,
    cache: &mut KvCache,
    tokens: &[u32],
    hooks: &Hooks,
    cancelled: &dyn Fn() -> bool,
) -> Result<crate::model::Step, LocalError> {
    let mut last = None;
    for chunk in tokens.chunks(PROMPT_CHUNK) {
        if cancelled() {
            return Err(LocalError::Cancelled);
        }
        last = Some(model.forward(chunk, cache, hooks)?);
    }
    last.ok_or_else(|| LocalError::Inference("empty prompt".into()))
}

/// Picks the cache sharing the longest prefix with `prompt` and trims it to
/// that prefix, when at least half of what it holds is kept; otherwise a
/// free cache or the least recently used one. (Every conversation starts
/// with the same template tokens: reusing a cache for those alone would
/// throw away another conversation's work.)
fn choose_cache(
    caches: &mut Vec<(KvCache, u64)>,
    layers: usize,
    prompt: &[u32],
    clock: u64,
) -> usize {
    let common = |c: &KvCache| {
        c.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count().min(prompt.len() - 1)
    };
    // Longest shared prefix; on a tie, the cache with less to throw away.
    let best = caches
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (common(c), std::cmp::Reverse(c.tokens.len()), i))
        .max();
    let index = match best {
        Some((n, std::cmp::Reverse(held), i)) if n > 0 && 2 * n >= held => i,
        _ if caches.len() < CACHES => {
            caches.push((KvCache::new(layers), clock));
            caches.len() - 1
        }
        _ => caches.iter().enumerate().min_by_key(|(_, (_, used))| *used).map_or(0, |(i, _)| i),
    };
    let keep = common(&caches[index].0);
    caches[index].0.truncate(keep);
    caches[index].1 = clock;
    index
}

fn generate(
    model: &Llama,
    tok: &Tokenizer,
    caches: &mut Vec<(KvCache, u64)>,
    clock: u64,
    req: &GenerateRequest,
    cancelled: &dyn Fn() -> bool,
) -> Result<Generation, LocalError> {
    let started = Instant::now();
    let cfg = &model.config;
    req.hooks.validate(cfg)?;
    if req.prompt.is_empty() {
        return Err(LocalError::Inference("the prompt is empty".into()));
    }
    if req.prompt.len() >= cfg.context {
        return Err(LocalError::ContextOverflow { tokens: req.prompt.len(), context: cfg.context });
    }
    let max_tokens = req.max_tokens.min(cfg.context - req.prompt.len());
    // A steering vector changes every cached key: never share those caches.
    let mut scratch;
    let cache = if req.hooks.steer.is_some() {
        scratch = KvCache::new(cfg.layers);
        &mut scratch
    } else {
        let i = choose_cache(caches, cfg.layers, &req.prompt, clock);
        &mut caches[i].0
    };
    let reused = cache.len();
    tracing::debug!(prompt = req.prompt.len(), reused, "prompt tokens already in a cache");
    let mut step = prefill(model, cache, &req.prompt[reused..], &req.hooks, cancelled)?;
    let prompt_time = started.elapsed();
    let logprobs = req.logprobs.as_ref().map(|spec| next_logprobs(&step.logits, spec));

    let sampler = SamplerConfig { temperature: req.temperature, top_p: req.top_p };
    let mut rng = Rng::new(req.seed);
    let mut guide = match &req.mode {
        OutputMode::Json(schema) => Some(Guide::new(schema.clone())),
        _ => None,
    };
    let mut out = String::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut produced = 0usize;
    let mut hidden = Vec::new();
    let mut first_token = None;
    let mut finish = Finish::Length;
    let max_stop = req.stop.iter().map(String::len).max().unwrap_or(0);

    while produced < max_tokens {
        if cancelled() {
            return Err(LocalError::Cancelled);
        }
        if let Some(g) = guide.as_mut() {
            match g.next_step() {
                Next::Done => {
                    finish = Finish::Json;
                    break;
                }
                Next::Forced(text) => {
                    g.feed_str(&text);
                    out.push_str(&text);
                    let ids = tok.encode(&text, false);
                    let room = max_tokens - produced;
                    produced += ids.len().min(room);
                    if ids.len() > room || ids.is_empty() {
                        continue;
                    }
                    step = prefill(model, cache, &ids, &req.hooks, cancelled)?;
                    first_token.get_or_insert_with(|| started.elapsed());
                    continue;
                }
                Next::Open => {}
            }
            // Choosing a tool: score each whole name (mean log-probability
            // of its tokens) rather than trusting the first token alone.
            if let Some(names) = g.tool_name_choices() {
                let name =
                    choose_name(model, tok, cache, &step, &names, sampler, &mut rng, &req.hooks)?;
                let text = format!("{}\"", name);
                g.feed_str(&text);
                out.push_str(&text);
                let ids = tok.encode(&text, false);
                produced += ids.len();
                step = prefill(model, cache, &ids, &req.hooks, cancelled)?;
                first_token.get_or_insert_with(|| started.elapsed());
                continue;
            }
        }
        let chosen = match guide.as_ref() {
            Some(g) => pick(&step.logits, sampler, &mut rng, |id| {
                !tok.is_control(id)
                    && std::str::from_utf8(tok.bytes(id)).is_ok_and(|text| g.accepts(text))
            }),
            None => {
                pick(&step.logits, sampler, &mut rng, |id| !(req.ignore_eos && tok.is_control(id)))
            }
        };
        let Some(id) = chosen else {
            // Nothing the constraint allows: finish with defaults below.
            break;
        };
        first_token.get_or_insert_with(|| started.elapsed());
        if !req.hooks.capture.is_empty() {
            hidden.push(std::mem::take(&mut step.hidden));
        }
        if guide.is_none() && (tok.is_control(id) || Some(id) == tok.eos()) {
            finish = Finish::Stop;
            break;
        }
        // A free answer that opens with `{` becomes an enforced tool call.
        if let (None, OutputMode::TextOrJson { schema, call_threshold }) = (&guide, &req.mode)
            && String::from_utf8_lossy(&bytes).trim().is_empty()
        {
            let opens =
                |id: u32| String::from_utf8_lossy(tok.bytes(id)).trim_start().starts_with('{');
            let p_call = if opens(id) { 1.0 } else { mass(&step.logits, opens) };
            tracing::debug!(p_call, "probability that the answer is a tool call");
            if p_call >= *call_threshold {
                guide = Some(Guide::new(schema.clone()));
                out.clear();
                continue;
            }
        }
        produced += 1;
        match guide.as_mut() {
            Some(g) => {
                let text = String::from_utf8_lossy(tok.bytes(id)).into_owned();
                g.feed_str(&text);
                out.push_str(&text);
            }
            None => {
                let before = bytes.len();
                bytes.extend_from_slice(tok.bytes(id));
                if max_stop > 0 {
                    let text = String::from_utf8_lossy(&bytes);
                    let from = before.saturating_sub(max_stop);
                    let from = (0..=from).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                    if let Some(pos) =
                        req.stop.iter().filter_map(|s| text[from..].find(s.as_str())).min()
                    {
                        bytes.truncate(from + pos);
                        finish = Finish::Stop;
                        break;
                    }
                }
            }
        }
        step = model.forward(&[id], cache, &req.hooks)?;
    }
    let json = guide.is_some();
    if let Some(g) = guide.as_mut()
        && !g.is_done()
    {
        out.push_str(&g.completion());
        finish = Finish::Length;
    }
    if !json {
        out = String::from_utf8_lossy(&bytes).into_owned();
    }
    let first = first_token.unwrap_or_else(|| started.elapsed());
    Ok(Generation {
        text: out,
        json,
        prompt_tokens: req.prompt.len(),
        output_tokens: produced,
        finish,
        hidden,
        logprobs,
        timings: Timings {
            prompt_tokens_run: req.prompt.len() - reused,
            prompt: prompt_time,
            first_token: first,
            generation: started.elapsed().saturating_sub(first),
            queued: Duration::ZERO,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(tokens: &[u32]) -> KvCache {
        KvCache::holding(2, tokens)
    }

    #[test]
    fn the_cache_sharing_the_longest_prefix_is_reused_and_trimmed() {
        let mut caches = vec![(cache(&[1, 2, 3]), 1), (cache(&[1, 2, 9, 9, 9]), 2)];
        let i = choose_cache(&mut caches, 2, &[1, 2, 9, 9, 4, 5], 3);
        assert_eq!(i, 1);
        assert_eq!(caches[1].0.tokens, [1, 2, 9, 9]);
        assert_eq!(caches[1].1, 3);
        // A whole-prompt match keeps one token back to produce logits.
        let i = choose_cache(&mut caches, 2, &[1, 2, 3], 4);
        assert_eq!((i, caches[0].0.tokens.as_slice()), (0, &[1, 2][..]));
    }

    #[test]
    fn a_prompt_sharing_only_an_opening_leaves_a_longer_conversation_alone() {
        let mut caches = vec![(cache(&[1, 2, 3, 4, 5, 6]), 1)];
        assert_eq!(choose_cache(&mut caches, 2, &[1, 2, 7], 2), 1, "a new cache");
        assert_eq!(caches[0].0.tokens, [1, 2, 3, 4, 5, 6], "untouched");
        // The first conversation goes on where it was.
        assert_eq!(choose_cache(&mut caches, 2, &[1, 2, 3, 4, 5, 6, 8], 3), 0);
        assert_eq!(caches[0].0.tokens.len(), 6);
    }

    #[test]
    fn with_no_shared_prefix_a_new_cache_is_made_then_the_oldest_is_recycled() {
        let mut caches = vec![(cache(&[1]), 5), (cache(&[2]), 3), (cache(&[3]), 4)];
        assert_eq!(choose_cache(&mut caches, 2, &[7, 7], 6), 3);
        assert_eq!(caches.len(), CACHES);
        caches[3].0 = cache(&[7, 7]);
        assert_eq!(choose_cache(&mut caches, 2, &[8, 8], 7), 1, "least recently used");
        assert!(caches[1].0.tokens.is_empty());
    }
}
