//! Measures the local engine: prompt and generation tokens per second, time
//! to first token and peak RSS, as one JSON line.
//!
//! `cargo run --release -p agar-local --example bench -- MODEL.gguf [PROMPT_TOKENS] [GEN_TOKENS] [REPEATS]`
//! (threads: `CANDLE_NUM_THREADS`, set by `scripts/bench-local.sh`).

use std::time::Instant;

use agar_local::{Engine, GenerateRequest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        return Err("usage: bench MODEL.gguf [PROMPT_TOKENS] [GEN_TOKENS] [REPEATS]".into());
    };
    let n_prompt: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(128);
    let n_gen: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(64);
    let repeats: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(3);
    let engine = Engine::load(std::path::Path::new(path))?;
    let tok = engine.tokenizer();
    // A prompt of exactly n_prompt tokens of ordinary prose.
    let filler = "The quick brown fox jumps over the lazy dog while the river runs to the sea. ";
    let mut ids = tok.encode("<|im_start|>user\n", true);
    while ids.len() < n_prompt {
        ids.extend(tok.encode(filler, false));
    }
    ids.truncate(n_prompt);
    let mut best: Option<(f64, f64, f64)> = None;
    for i in 0..repeats + 1 {
        // Distinct first token each run so no cached prefix is reused.
        let mut prompt = ids.clone();
        prompt[0] = tok.encode(&format!("{i}"), false)[0];
        let mut req = GenerateRequest::greedy(prompt, n_gen);
        req.ignore_eos = true;
        let started = Instant::now();
        let g = engine.generate_blocking(req)?;
        let total = started.elapsed().as_secs_f64();
        if i == 0 {
            continue; // warm-up
        }
        // As llama.cpp's side measures: the first token comes right after
        // the prompt pass; each later one costs one forward pass.
        let ttft = g.timings.first_token.as_secs_f64();
        let gen_tokens = g.output_tokens.saturating_sub(1).max(1) as f64;
        let gen_tps = gen_tokens / (total - ttft).max(1e-9);
        let prompt_tps = n_prompt as f64 / ttft;
        if g.output_tokens < n_gen {
            eprintln!("note: stopped after {} tokens", g.output_tokens);
        }
        best = Some(match best {
            None => (prompt_tps, gen_tps, ttft),
            Some((p, q, t)) => (p.max(prompt_tps), q.max(gen_tps), t.min(ttft)),
        });
    }
    let (p, g, t) = best.unwrap_or_default();
    println!(
        "{{\"engine\": \"agar-local (candle)\", \"prompt_tokens\": {n_prompt}, \"gen_tokens\": {n_gen}, \"prompt_tps\": {p:.1}, \"gen_tps\": {g:.1}, \"ttft_ms\": {:.1}, \"peak_rss_mb\": {:.0}, \"load_ms\": {}}}",
        t * 1000.0,
        peak_rss_mb(),
        engine.info().load_time.as_millis()
    );
    Ok(())
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
