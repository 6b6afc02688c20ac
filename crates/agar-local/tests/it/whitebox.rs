//! The white-box surface on SmolLM2 (issue 20): teacher-forced hidden
//! states, steering from a position, several vectors at once, next-token
//! log-probabilities under steering, and vector files tied to the model.
//! Ignored by default (they need the model); `.ci/run` runs them with
//! `--ignored local_model`.

use agar_local::logprobs::LogprobSpec;
use agar_local::{
    Engine, GenerateRequest, HiddenStates, Hooks, ModelIdentity, Steering, TeacherForce,
    VectorFile, VectorKind, VectorMeta,
};

use crate::support::engine;

const LAYERS: [usize; 4] = [0, 10, 20, 29];

fn prompt(engine: &Engine) -> Vec<u32> {
    asking(engine, "What do you like about autumn?")
}

/// A chat prompt. Tests that compare a generation with a fresh computation
/// ask a question of their own: the engine reuses cached prompt prefixes,
/// and a prefix another test cached would run part of the prompt through
/// the one-token path instead of the prompt chunk.
fn asking(engine: &Engine, question: &str) -> Vec<u32> {
    let text = format!("<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n");
    engine.tokenizer().encode(&text, true)
}

fn force(engine: &Engine, tokens: &[u32], steer: Vec<Steering>) -> HiddenStates {
    let request = TeacherForce {
        tokens: tokens.to_vec(),
        layers: LAYERS.to_vec(),
        steer,
        logprobs: Some(LogprobSpec { top: 3, ids: vec![42, 1000] }),
        stepwise_from: None,
    };
    engine.teacher_force_blocking(request).unwrap()
}

/// A direction the model's own states do not cancel: a captured state.
fn direction(engine: &Engine, layer: usize) -> Vec<f32> {
    let request =
        TeacherForce { tokens: prompt(engine), layers: vec![layer], ..TeacherForce::default() };
    let h = engine.teacher_force_blocking(request).unwrap();
    h.layer(layer).unwrap().last().unwrap().clone()
}

fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm).sqrt()
}

#[test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
fn local_model_teacher_forced_states_equal_those_captured_while_generating() {
    let engine = engine();
    let prompt = asking(&engine, "Which season has the longest nights?");
    let mut request = GenerateRequest::greedy(prompt.clone(), 12);
    request.hooks.capture = LAYERS.to_vec();
    request.ignore_eos = true;
    let g = engine.generate_blocking(request).unwrap();
    assert_eq!(g.tokens.len(), 12);
    let mut all = prompt.clone();
    all.extend(&g.tokens);
    // Run as generation ran it (the prompt in one chunk, then one token at
    // a time): bit for bit the captured states.
    let request = TeacherForce {
        tokens: all.clone(),
        layers: LAYERS.to_vec(),
        stepwise_from: Some(prompt.len()),
        ..TeacherForce::default()
    };
    let exact = engine.teacher_force_blocking(request).unwrap();
    for (k, captured) in g.hidden.iter().enumerate() {
        for (i, layer) in LAYERS.iter().enumerate() {
            assert_eq!(&captured[i], &exact.layer(*layer).unwrap()[prompt.len() - 1 + k]);
        }
    }
    // All in chunks (the default, faster): equal up to the rounding of the
    // one-token path.
    let h = force(&engine, &all, Vec::new());
    assert_eq!(h.states.len(), LAYERS.len());
    assert!(h.states.iter().all(|l| l.len() == all.len() && l.iter().all(|s| s.len() == 576)));
    // Generation captures, for its k-th token, the state at the position
    // whose logits chose it: prompt.len() - 1 + k.
    let mut worst = 0.0f64;
    for (i, layer) in LAYERS.iter().enumerate() {
        let mut row: Vec<f64> = Vec::new();
        for (k, captured) in g.hidden.iter().enumerate() {
            let forced = &h.layer(*layer).unwrap()[prompt.len() - 1 + k];
            row.push(relative_error(&captured[i], forced));
        }
        let shown: Vec<String> = row.iter().map(|e| format!("{e:.1e}")).collect();
        println!("layer {layer}: relative L2 difference per generated token {shown:?}");
        worst = row.into_iter().fold(worst, f64::max);
    }
    println!("worst relative L2 difference, generated vs teacher-forced: {worst:.2e}");
    // Generation multiplies one token at a time with activations rounded
    // to 8 bits; chunks use f32 products: close, not bit-equal (measured
    // worst 3.2e-2, at the last layer).
    assert!(worst < 0.06, "{worst}");
    // The prompt's last position runs the same way in both: equal.
    let last = prompt.len() - 1;
    for (i, layer) in LAYERS.iter().enumerate() {
        assert!(relative_error(&g.hidden[0][i], &h.layer(*layer).unwrap()[last]) < 1e-5);
    }
}

#[test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
fn local_model_a_zero_vector_changes_nothing() {
    let engine = engine();
    let tokens = prompt(&engine);
    let plain = force(&engine, &tokens, Vec::new());
    let zero = vec![Steering::new(10, vec![0.0; 576], 5.0), Steering::new(20, vec![0.0; 576], 1.0)];
    let steered = force(&engine, &tokens, zero.clone());
    assert_eq!(steered.states, plain.states);
    assert_eq!(steered.logprobs, plain.logprobs);
    let generate = |steer: Vec<Steering>| {
        let mut r = GenerateRequest::greedy(tokens.clone(), 10);
        r.hooks = Hooks { capture: Vec::new(), steer };
        engine.generate_blocking(r).unwrap().text
    };
    assert_eq!(generate(zero), generate(Vec::new()));
}

#[test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
fn local_model_steering_from_a_position_leaves_earlier_positions_unchanged() {
    let engine = engine();
    let tokens = prompt(&engine);
    let from = 8;
    let v = direction(&engine, 5);
    let plain = force(&engine, &tokens, Vec::new());
    let steered =
        force(&engine, &tokens, vec![Steering::new(5, v.clone(), -4.0).starting_at(from)]);
    for (i, layer) in LAYERS.iter().enumerate() {
        for p in 0..tokens.len() {
            let (a, b) = (&steered.states[i][p], &plain.states[i][p]);
            if p < from || *layer < 5 {
                assert_eq!(a, b, "layer {layer} position {p} must be untouched");
            } else {
                assert_ne!(a, b, "layer {layer} position {p} is steered");
            }
        }
    }
    assert_ne!(steered.logprobs, plain.logprobs);
    // Two vectors at one layer add up: two halves make the whole.
    let two = vec![
        Steering::new(5, v.clone(), -2.0).starting_at(from),
        Steering::new(5, v.clone(), -2.0).starting_at(from),
    ];
    let both = force(&engine, &tokens, two);
    assert!(relative_error(&both.states[2][from], &steered.states[2][from]) < 1e-5);
    // Generation steered only from its first new token: the prompt's
    // reading (the first token's log-probabilities) is untouched.
    let tokens = asking(&engine, "Name a bird that cannot fly.");
    let generated = |steer: Vec<Steering>| {
        let mut r = GenerateRequest::greedy(tokens.clone(), 6);
        r.hooks.steer = steer;
        r.logprobs = Some(LogprobSpec { top: 5, ids: Vec::new() });
        engine.generate_blocking(r).unwrap()
    };
    let unsteered = generated(Vec::new());
    let later = generated(vec![Steering::new(5, v.clone(), -8.0).starting_at(tokens.len())]);
    assert_eq!(later.logprobs, unsteered.logprobs);
    assert_ne!(later.text, unsteered.text, "the answer itself is steered");
}

#[test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
fn local_model_next_token_logprobs_under_steering() {
    let engine = engine();
    let tokens = prompt(&engine);
    let ids = vec![engine.tokenizer().encode("I", false)[0], 42];
    let v = direction(&engine, 15);
    let steer = vec![Steering::new(15, v, -3.0)];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let plain = runtime.block_on(engine.next_token_logprobs(tokens.clone(), ids.clone())).unwrap();
    let steered = runtime
        .block_on(engine.next_token_logprobs_steered(tokens.clone(), ids.clone(), steer.clone()))
        .unwrap();
    assert_eq!(steered.len(), 2);
    assert_ne!(steered, plain);
    // Teacher forcing reads the same distribution after the sequence.
    let forced = runtime
        .block_on(engine.teacher_force(TeacherForce {
            tokens,
            layers: Vec::new(),
            steer,
            logprobs: Some(LogprobSpec { top: 0, ids }),
            stepwise_from: None,
        }))
        .unwrap();
    let chosen: Vec<f64> = forced.logprobs.unwrap().chosen.iter().map(|(_, lp)| *lp).collect();
    for (a, b) in chosen.iter().zip(&steered) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
#[ignore = "needs the local model (agar models pull smollm2); run by .ci/run"]
fn local_model_a_vector_file_round_trips_and_is_refused_for_another_model() {
    let engine = engine();
    let model = ModelIdentity::of(&engine).unwrap();
    assert!(model.sha256.starts_with("b179c952"), "the pinned SmolLM2 file");
    assert_eq!((model.width, model.layers), (576, 30));
    let file = VectorFile {
        meta: VectorMeta {
            kind: VectorKind::Trait,
            name: "test".into(),
            model: model.clone(),
            counts: Default::default(),
            judge: None,
            extra: Default::default(),
        },
        layers: (0..30).map(|l| (l, direction(&engine, l))).collect(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.safetensors");
    file.save(&path).unwrap();
    assert_eq!(VectorFile::load_for(&path, &engine).unwrap(), file);
    let mut other = file.clone();
    other.meta.model.sha256 = "0".repeat(64);
    other.meta.model.name = "another model".into();
    other.save(&path).unwrap();
    let err = VectorFile::load_for(&path, &engine).unwrap_err().to_string();
    assert!(err.contains("made for another model"), "{err}");
}
