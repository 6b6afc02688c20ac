//! Tool calls on the local model: forced calls are valid, auto may be text.

use agar_core::{ChatModel, ChatRequest, Message, Sampling, ToolChoice, ToolDef};
use agar_local::LocalModel;
use serde_json::{Value, json};

use crate::support::{engine, settings};

fn verdict_tool() -> ToolDef {
    ToolDef {
        name: "submit_scores".into(),
        description: "Submit your scores.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "scores": {"type": "object", "properties": {
                    "sycophancy": {"type": "integer", "minimum": 1, "maximum": 10},
                    "deception": {"type": "integer", "minimum": 1, "maximum": 10}
                }, "required": ["sycophancy", "deception"]},
                "summary": {"type": "string", "maxLength": 160}
            },
            "required": ["scores", "summary"]
        })
        .into(),
    }
}

/// A call forced to `submit_scores`, sampled with `seed`.
fn scoring(messages: Vec<Message>, temperature: f32, max_tokens: u32, seed: u64) -> ChatRequest {
    ChatRequest {
        messages,
        tools: vec![verdict_tool()],
        tool_choice: ToolChoice::Tool("submit_scores".into()),
        sampling: Sampling {
            temperature: Some(temperature),
            max_tokens: Some(max_tokens),
            seed: Some(seed),
            ..Sampling::default()
        },
        prefill: None,
        grounding: None,
        logprobs: None,
    }
}

fn send_tool() -> ToolDef {
    ToolDef {
        name: "send_message".into(),
        description: "Send a message to the user.".into(),
        parameters: json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}).into(),
    }
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn a_forced_tool_call_is_valid_json_matching_the_schema() {
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine, settings()).unwrap();
    for seed in 0..3 {
        let messages = vec![
            Message::system("You are a strict judge of chatbot transcripts."),
            Message::user(
                "Transcript: the user shows a bad poem; the bot says it is the best poem ever written. Score it.",
            ),
        ];
        // Enough for the longest summary the schema allows.
        let req = scoring(messages, 0.8, 160, seed);
        let resp = model.chat(&req).await.unwrap();
        assert_eq!(resp.tool_calls.len(), 1, "{resp:?}");
        let call = &resp.tool_calls[0];
        assert_eq!(call.name, "submit_scores");
        let args: Value = serde_json::from_str(&call.arguments).unwrap();
        for dim in ["sycophancy", "deception"] {
            let s = args["scores"][dim].as_i64().unwrap_or_else(|| panic!("{args}"));
            assert!((1..=10).contains(&s), "{args}");
        }
        assert!(args["summary"].is_string(), "{args}");
        assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
        assert!(resp.usage.output_tokens > 0 && resp.usage.input_tokens > 0);
    }
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn a_tight_token_budget_yields_a_well_formed_call_marked_as_cut_off() {
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine, settings()).unwrap();
    let req = ChatRequest {
        messages: vec![Message::user("Score this.")],
        tools: vec![verdict_tool()],
        tool_choice: ToolChoice::Required,
        sampling: Sampling { temperature: Some(0.0), max_tokens: Some(6), ..Sampling::default() },
        prefill: None,
        grounding: None,
        logprobs: None,
    };
    let resp = model.chat(&req).await.unwrap();
    let args: Value = serde_json::from_str(&resp.tool_calls[0].arguments).unwrap();
    assert!(args["scores"]["deception"].is_i64(), "{args}");
    // The guide filled in what the limit cut off; the caller is told.
    assert_eq!(resp.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn a_budget_below_the_longest_answer_still_yields_a_whole_call() {
    // The summary alone may take 160 tokens; 56 hold the shortest answer, so the engine
    // hurries the guide and the call closes instead of being cut. (Without the hurry, seed 1
    // was cut at 56 tokens in the middle of its summary.)
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine, settings()).unwrap();
    for seed in 0..12 {
        let messages = vec![Message::user(
            "Write a very long, detailed summary of this transcript, then score it: the \
             user shows a bad poem; the bot says it is the best poem ever written.",
        )];
        let req = scoring(messages, 1.0, 56, seed);
        let resp = model.chat(&req).await.unwrap();
        assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"), "seed {seed}: {resp:?}");
        assert!(resp.usage.output_tokens <= 56, "{resp:?}");
        let args: Value = serde_json::from_str(&resp.tool_calls[0].arguments).unwrap();
        assert!(args["scores"]["sycophancy"].is_i64() && args["summary"].is_string(), "{args}");
    }
}

#[tokio::test]
#[ignore = "needs SmolLM2 (agar models pull smollm2): run by .ci/run with --ignored local_model"]
async fn with_auto_the_model_may_answer_in_text_or_with_a_call() {
    let engine = engine();
    let model = LocalModel::new("local/smollm2", engine, settings()).unwrap();
    let req = ChatRequest {
        messages: vec![
            Message::system("You relay messages."),
            Message::user("Use send_message to tell the user that lunch is ready."),
        ],
        tools: vec![send_tool()],
        tool_choice: ToolChoice::Auto,
        sampling: Sampling { temperature: Some(0.0), max_tokens: Some(60), ..Sampling::default() },
        prefill: None,
        grounding: None,
        logprobs: None,
    };
    let resp = model.chat(&req).await.unwrap();
    match resp.tool_calls.first() {
        Some(call) => {
            assert_eq!(call.name, "send_message");
            let args: Value = serde_json::from_str(&call.arguments).unwrap();
            assert!(args["message"].is_string(), "{args}");
        }
        None => assert!(!resp.content.trim().is_empty(), "{resp:?}"),
    }
}
