//! The tokenizer built from GGUF metadata gives the same ids as llama.cpp
//! (reference ids recorded with llama.cpp 0.3.36 on the same file).

use crate::support::engine;

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn chatml_markers_and_newlines_have_their_own_ids() {
    let engine = engine();
    let tok = engine.tokenizer();
    assert_eq!(tok.token_id("<|im_start|>"), Some(1));
    assert_eq!(tok.token_id("<|im_end|>"), Some(2));
    assert_eq!(tok.eos(), Some(2));
    assert!(tok.is_control(1) && tok.is_control(2) && tok.is_control(0));
    assert_eq!(tok.encode("<|im_start|>user\nhi<|im_end|>\n", true), [1, 4093, 198, 6004, 2, 198]);
    // Without special parsing the markers are plain text.
    let plain = tok.encode("<|im_start|>", false);
    assert!(plain.len() > 1 && !plain.contains(&1), "{plain:?}");
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn ids_match_llama_cpp() {
    let engine = engine();
    let tok = engine.tokenizer();
    let cases: [(&str, &[u32]); 6] = [
        ("Hello world", &[19556, 905]),
        (
            "  two  spaces\n\nnewlines 12345 x",
            &[216, 827, 216, 5600, 198, 198, 2241, 5110, 216, 33, 34, 35, 36, 37, 1792],
        ),
        ("café naïve 😀", &[83, 1939, 2756, 15486, 46494, 40303, 218]),
        ("a\tb\r\nc", &[81, 197, 82, 201, 198, 83]),
        ("don't I'll", &[12420, 982, 339, 3060]),
        (
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
            &[
                1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018,
                411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47,
                2, 198, 1, 520, 9531, 198,
            ],
        ),
    ];
    for (text, ids) in cases {
        assert_eq!(tok.encode(text, true), ids, "{text:?}");
    }
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn decoding_round_trips() {
    let engine = engine();
    let tok = engine.tokenizer();
    for text in [
        "Hello world",
        "  two  spaces\n\nnewlines 12345",
        "café naïve 😀",
        "a\tb\r\nc {\"k\": [1, 2]}",
    ] {
        assert_eq!(tok.decode(&tok.encode(text, false)), text);
    }
    // Control tokens are left out of decoded text.
    assert_eq!(tok.decode(&tok.encode("<|im_start|>hi<|im_end|>", true)), "hi");
}
