//! Next-token log-probabilities from the logits (issue 21): the engine's
//! reading agrees with what greedy decoding picks, and a chat request with
//! the answer prefix written gets the option letters' probabilities.

use agar_core::{ChatModel, ChatRequest, LogprobRequest, Message};
use agar_local::logprobs::LogprobSpec;
use agar_local::{GenerateRequest, LocalModel};

use crate::support::{engine, settings};

const PROMPT: &str = "<|im_start|>user\nIs the sky blue on a clear day?\n\n(A) Yes\n(B) No\n\nReply with the letter of one option only.<|im_end|>\n<|im_start|>assistant\nAnswer: (";

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn the_likeliest_next_token_is_the_one_greedy_decoding_picks() {
    let engine = engine();
    let tok = engine.tokenizer();
    let letters: Vec<u32> = ["A", "B"].iter().map(|l| tok.encode(l, false)[0]).collect();
    let request = GenerateRequest {
        logprobs: Some(LogprobSpec { top: 5, ids: letters.clone() }),
        ..GenerateRequest::greedy(tok.encode(PROMPT, true), 1)
    };
    let g = engine.generate_blocking(request).unwrap();
    let next = g.logprobs.expect("asked for");
    assert_eq!(next.top.len(), 5);
    assert!(next.top.windows(2).all(|w| w[0].1 >= w[1].1), "likeliest first");
    assert_eq!(tok.bytes(next.top[0].0), g.text.as_bytes(), "greedy picks the top token");
    let total: f64 = next.top.iter().map(|(_, lp)| lp.exp()).sum();
    assert!(total <= 1.0 + 1e-9 && next.top.iter().all(|(_, lp)| *lp <= 0.0));
    assert_eq!(next.chosen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), letters);
    for (id, lp) in &next.chosen {
        if let Some((_, top_lp)) = next.top.iter().find(|(t, _)| t == id) {
            assert!((lp - top_lp).abs() < 1e-12);
        }
    }
    println!("P(A) = {:.4}, P(B) = {:.4}", next.chosen[0].1.exp(), next.chosen[1].1.exp());
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn a_chat_request_gets_the_letters_probabilities_after_the_prefix() {
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine.clone(), settings()).unwrap();
    let request = ChatRequest {
        messages: vec![Message::user(
            "Is the sky blue on a clear day?\n\n(A) Yes\n(B) No\n\nReply with the letter of one option only.",
        )],
        prefill: Some("Answer: (".into()),
        logprobs: Some(LogprobRequest {
            top: 20,
            tokens: vec!["A".into(), "B".into(), "Zebra crossing".into()],
        }),
        sampling: agar_core::Sampling { max_tokens: Some(1), ..Default::default() },
        ..ChatRequest::default()
    };
    let prompt = model.prompt_tokens(&request).unwrap();
    let a = engine.tokenizer().encode("A", false)[0];
    let direct = engine.next_token_logprobs(prompt, vec![a]).await.unwrap();
    let r = model.chat(&request).await.unwrap();
    assert_eq!(r.logprobs.len(), 1);
    let first = &r.logprobs[0];
    assert_eq!(first.top.len(), 20);
    let chosen: Vec<&str> = first.chosen.iter().map(|t| t.token.as_str()).collect();
    assert_eq!(chosen, ["A", "B"], "a text of several tokens is left out");
    let p_a = first.chosen[0].logprob;
    assert!(p_a.is_finite() && p_a < 0.0);
    // The engine's own reading of the same prompt gives the same probability,
    // up to the numerics of a cached prefix (the second call runs only the
    // prompt's last token, through the matrix-vector kernels instead of the
    // prompt-chunk GEMM).
    assert!((p_a - direct[0]).abs() < 0.05, "{p_a} vs {}", direct[0]);
}
