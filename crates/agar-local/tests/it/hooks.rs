//! White-box hooks: reading the residual stream and steering it.

use agar_local::{GenerateRequest, Hooks, Steering};

use crate::support::engine;

fn request(engine: &agar_local::Engine, hooks: Hooks) -> GenerateRequest {
    let text = "<|im_start|>user\nDescribe your weekend.<|im_end|>\n<|im_start|>assistant\n";
    let mut req = GenerateRequest::greedy(engine.tokenizer().encode(text, true), 16);
    req.hooks = hooks;
    req
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn captured_hidden_states_have_the_models_width() {
    let engine = engine();
    let width = engine.info().config.width;
    assert_eq!(width, 576, "SmolLM2-135M's residual stream");
    let g = engine
        .generate_blocking(request(&engine, Hooks { capture: vec![0, 15, 29], steer: Vec::new() }))
        .unwrap();
    assert_eq!(g.hidden.len(), g.output_tokens, "one capture per generated token");
    for step in &g.hidden {
        assert_eq!(step.len(), 3);
        assert!(step.iter().all(|h| h.len() == width && h.iter().all(|x| x.is_finite())));
    }
    // Different layers hold different states.
    assert_ne!(g.hidden[0][0], g.hidden[0][2]);
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn a_zero_steering_vector_changes_nothing_and_a_large_one_changes_the_text() {
    let engine = engine();
    let width = engine.info().config.width;
    let plain = engine.generate_blocking(request(&engine, Hooks::default())).unwrap();
    let steer = |vector: Vec<f32>, scale| Hooks {
        capture: Vec::new(),
        steer: vec![Steering::new(15, vector, scale)],
    };
    let zero = engine.generate_blocking(request(&engine, steer(vec![0.0; width], 1.0))).unwrap();
    assert_eq!(zero.text, plain.text);
    // A direction taken from the model's own hidden state, scaled up.
    let probe = engine
        .generate_blocking(request(&engine, Hooks { capture: vec![15], steer: Vec::new() }))
        .unwrap();
    let direction: Vec<f32> = probe.hidden[0][0].iter().map(|x| -x).collect();
    let steered = engine.generate_blocking(request(&engine, steer(direction, 4.0))).unwrap();
    assert_ne!(steered.text, plain.text);
}

#[test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
fn bad_hooks_are_errors_not_panics() {
    let engine = engine();
    let err = engine
        .generate_blocking(request(&engine, Hooks { capture: vec![30], steer: Vec::new() }))
        .unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
    let short = Hooks { capture: Vec::new(), steer: vec![Steering::new(1, vec![1.0; 3], 1.0)] };
    let err = engine.generate_blocking(request(&engine, short)).unwrap_err();
    assert!(err.to_string().contains("width is 576"), "{err}");
}
