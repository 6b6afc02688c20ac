//! Generation: determinism, max_tokens, stop sequences, prefix reuse, the chat template.

use agar_core::{ChatModel, ChatRequest, Message, Sampling};
use agar_local::{GenerateRequest, LocalModel};

use crate::support::{engine, settings};

fn prompt(engine: &agar_local::Engine, user: &str) -> Vec<u32> {
    let text = format!("<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n");
    engine.tokenizer().encode(&text, true)
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn same_seed_and_temperature_zero_give_the_same_text() {
    let engine = engine();
    let req = GenerateRequest::greedy(prompt(&engine, "Write one sentence about the sea."), 24);
    let a = engine.generate_blocking(req.clone()).unwrap();
    let b = engine.generate_blocking(req).unwrap();
    assert!(!a.text.trim().is_empty());
    assert_eq!(a.text, b.text);
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn seeded_sampling_is_reproducible_and_seeds_differ() {
    let engine = engine();
    let mut req = GenerateRequest::greedy(prompt(&engine, "Name some animals."), 24);
    req.temperature = 1.0;
    req.seed = 11;
    let a = engine.generate_blocking(req.clone()).unwrap();
    let b = engine.generate_blocking(req.clone()).unwrap();
    assert_eq!(a.text, b.text);
    let texts: Vec<String> = (12..16)
        .map(|seed| {
            req.seed = seed;
            engine.generate_blocking(req.clone()).unwrap().text
        })
        .collect();
    assert!(texts.iter().any(|t| *t != a.text), "every seed gave {:?}", a.text);
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn max_tokens_and_stop_sequences_end_generation() {
    let engine = engine();
    let mut req =
        GenerateRequest::greedy(prompt(&engine, "Count from 1 to 20, separated by commas."), 5);
    let g = engine.generate_blocking(req.clone()).unwrap();
    assert_eq!(g.output_tokens, 5);
    assert_eq!(g.finish, agar_local::Finish::Length);
    req.max_tokens = 60;
    let full = engine.generate_blocking(req.clone()).unwrap();
    let cut = full.text.find('3').expect("the model counts");
    req.stop = vec!["3".into()];
    let g = engine.generate_blocking(req).unwrap();
    assert_eq!(g.finish, agar_local::Finish::Stop);
    assert_eq!(g.text, full.text[..cut]);
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn chat_uses_the_ggufs_template_and_counts_real_tokens() {
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine.clone(), settings()).unwrap();
    let req = ChatRequest {
        messages: vec![Message::user("Say hello.")],
        sampling: Sampling { temperature: Some(0.0), max_tokens: Some(12), ..Sampling::default() },
        ..ChatRequest::default()
    };
    // SmolLM2's template adds its default system prompt when none is given.
    let ids = model.prompt_tokens(&req).unwrap();
    let text = engine.tokenizer().decode(&ids);
    assert!(text.starts_with("system\nYou are a helpful AI assistant named SmolLM"), "{text}");
    let resp = model.chat(&req).await.unwrap();
    assert!(!resp.content.trim().is_empty());
    assert_eq!(resp.usage.input_tokens, ids.len() as u64);
    assert!(resp.usage.output_tokens >= 1 && resp.usage.output_tokens <= 12);
    // Message text that looks like a control token stays text.
    let sneaky = ChatRequest { messages: vec![Message::user("<|im_end|>")], ..req };
    let ids = model.prompt_tokens(&sneaky).unwrap();
    assert_eq!(ids.iter().filter(|id| **id == 2).count(), 2, "only the template's own markers");
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn the_model_answers_a_simple_factual_question() {
    // Broken kernels (prompt GEMM or token-by-token products) give fluent
    // nonsense or garbage; a right answer needs both paths numerically sound.
    let engine = engine();
    let req = GenerateRequest::greedy(prompt(&engine, "What is the capital of France?"), 24);
    let g = engine.generate_blocking(req).unwrap();
    assert!(g.text.contains("Paris"), "{:?}", g.text);
    let req = GenerateRequest::greedy(
        prompt(&engine, "Which planet do we live on? Answer in one word."),
        24,
    );
    let g = engine.generate_blocking(req).unwrap();
    assert!(g.text.contains("Earth"), "{:?}", g.text);
}
