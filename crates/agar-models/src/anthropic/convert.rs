//! Conversion between agar-core's request/response types and the Anthropic
//! Messages API's JSON: the border of the Anthropic provider.
//!
//! Requests: system messages become the top-level `system`; tool results
//! become `tool_result` blocks in user turns; consecutive turns of the same
//! role are merged (the API wants user and assistant to alternate, with a
//! turn's tool results first); an assistant turn's kept thinking blocks are
//! replayed unchanged before its text and `tool_use` blocks; a prefill is a
//! final assistant turn. Responses: text blocks joined, `tool_use` blocks as
//! [`ToolCall`]s, `thinking` blocks as readable reasoning plus the blocks
//! themselves kept for replay, usage with its cache tokens.

use agar_core::{
    ChatRequest, ChatResponse, Message, ModelError, Role, ToolCall, ToolChoice, Usage,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The key of [`Message::provider_state`] under which an assistant turn's
/// thinking blocks (`thinking` with its signature, `redacted_thinking`) are kept.
pub const THINKING_STATE_KEY: &str = "anthropic_thinking";

/// What an empty turn is sent as: the API rejects empty text blocks.
const EMPTY_USER_TURN: &str = "(empty message)";
const EMPTY_ASSISTANT_TURN: &str = "(empty reply)";

/// How requests are built beyond what [`ChatRequest`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// `max_tokens` when the request's sampling leaves it unset (the API requires one).
    pub(crate) default_max_tokens: u32,
    /// Extended thinking with this budget, when the request allows it (the API
    /// refuses thinking together with a forced tool choice or a prefill).
    pub(crate) thinking_budget: Option<u32>,
    /// Mark the system prompt and the conversation so far for prompt caching
    /// (`cache_control`), so the next turn reads them from the cache.
    pub(crate) prompt_cache: bool,
}

/// The body of `POST /v1/messages`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireRequest {
    pub(crate) model: String,
    pub(crate) max_tokens: u32,
    /// A string, or one text block marked for caching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) system: Option<Value>,
    pub(crate) messages: Vec<WireTurn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tools: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stop_sequences: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) thinking: Option<Value>,
}

/// One turn: `user` or `assistant`, with its content blocks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct WireTurn {
    pub(crate) role: &'static str,
    pub(crate) content: Vec<Value>,
}

/// A successful reply's body (`"type": "message"`), or an error body sent with a 200.
#[derive(Debug, Deserialize)]
pub(crate) struct WireResponse {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) content: Vec<Value>,
    #[serde(default)]
    pub(crate) stop_reason: Option<String>,
    #[serde(default)]
    pub(crate) usage: Option<WireUsage>,
    #[serde(default)]
    pub(crate) error: Option<WireError>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireUsage {
    #[serde(default)]
    pub(crate) input_tokens: u64,
    #[serde(default)]
    pub(crate) output_tokens: u64,
    #[serde(default)]
    pub(crate) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(crate) cache_read_input_tokens: Option<u64>,
}

/// `{"type": "error", "error": {"type": "overloaded_error", "message": "..."}}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireError {
    #[serde(rename = "type", default)]
    pub(crate) kind: String,
}

/// The wire request for `model`. `prefill` is the text the answer must start
/// with, already stripped of trailing whitespace (the API refuses it).
pub(crate) fn to_wire(
    model: &str,
    request: &ChatRequest,
    prefill: Option<&str>,
    options: Options,
) -> Result<WireRequest, ModelError> {
    let system: Vec<&str> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.trim().is_empty())
        .map(|m| m.content.as_str())
        .collect();
    let mut turns: Vec<WireTurn> = Vec::new();
    for (index, m) in request.messages.iter().enumerate() {
        let (role, blocks) = match m.role {
            Role::System => continue,
            Role::User => ("user", vec![text_block(&m.content, EMPTY_USER_TURN)]),
            Role::Tool => ("user", vec![tool_result_block(index, m)?]),
            Role::Assistant => ("assistant", assistant_blocks(m)),
        };
        match turns.last_mut() {
            Some(last) if last.role == role => last.content.extend(blocks),
            _ => turns.push(WireTurn { role, content: blocks }),
        }
    }
    for turn in turns.iter_mut().filter(|t| t.role == "user") {
        // A user turn's tool results must come before anything else in it.
        turn.content.sort_by_key(|b| b["type"] != "tool_result");
    }
    if options.prompt_cache
        && let Some(block) =
            turns.iter_mut().rev().find(|t| t.role == "user").and_then(|t| t.content.last_mut())
    {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    if let Some(prefill) = prefill.filter(|p| !p.is_empty()) {
        let block = json!({"type": "text", "text": prefill});
        match turns.last_mut() {
            Some(last) if last.role == "assistant" => last.content.push(block),
            _ => turns.push(WireTurn { role: "assistant", content: vec![block] }),
        }
    }

    let tools: Vec<Value> = request
        .tools
        .iter()
        .map(|t| {
            let mut tool = json!({"name": t.name, "input_schema": t.parameters});
            if !t.description.is_empty() {
                tool["description"] = Value::String(t.description.to_string());
            }
            tool
        })
        .collect();
    let forced = matches!(request.tool_choice, ToolChoice::Required | ToolChoice::Tool(_));
    let tool_choice = match (&request.tool_choice, tools.is_empty()) {
        (ToolChoice::Auto, _) | (ToolChoice::None, true) => None,
        (ToolChoice::None, false) => Some(json!({"type": "none"})),
        (ToolChoice::Required, false) => Some(json!({"type": "any"})),
        (ToolChoice::Tool(name), false) => {
            if !request.tools.iter().any(|t| &t.name == name) {
                return Err(ModelError::Config(format!(
                    "tool_choice names the tool `{name}`, which the request does not offer"
                )));
            }
            Some(json!({"type": "tool", "name": name}))
        }
        (ToolChoice::Required | ToolChoice::Tool(_), true) => {
            return Err(ModelError::Config(
                "tool_choice requires a tool call but the request offers no tools".into(),
            ));
        }
    };

    let sampling = &request.sampling;
    let mut max_tokens = sampling.max_tokens.unwrap_or(options.default_max_tokens).max(1);
    // The API refuses thinking with a forced tool call or a prefilled answer;
    // those requests go without it.
    // A budget in the request wins over the provider's configured one.
    let requested = sampling.reasoning.as_ref().map(|r| r.budget().max(super::MIN_THINKING_BUDGET));
    let budget = requested.or(options.thinking_budget).filter(|_| !forced && prefill.is_none());
    let thinking = budget.map(|budget| {
        // The budget is part of `max_tokens`, which must exceed it.
        max_tokens = max_tokens.max(budget.saturating_add(1024));
        json!({"type": "enabled", "budget_tokens": budget})
    });
    Ok(WireRequest {
        model: model.to_owned(),
        max_tokens,
        system: Some(system.join("\n\n")).filter(|s| !s.is_empty()).map(|text| {
            if options.prompt_cache {
                json!([{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}])
            } else {
                Value::String(text)
            }
        }),
        messages: turns,
        tools,
        tool_choice,
        // With thinking on, the API accepts no sampling changes.
        temperature: sampling.temperature.filter(|_| thinking.is_none()),
        top_p: sampling.top_p.filter(|_| thinking.is_none()),
        stop_sequences: sampling.stop.clone(),
        thinking,
    })
}

fn text_block(text: &str, if_empty: &str) -> Value {
    let text = if text.trim().is_empty() { if_empty } else { text };
    json!({"type": "text", "text": text})
}

fn tool_result_block(index: usize, m: &Message) -> Result<Value, ModelError> {
    let Some(id) = &m.tool_call_id else {
        return Err(ModelError::Config(format!(
            "message {index} is a tool result without a tool_call_id"
        )));
    };
    let mut block = json!({"type": "tool_result", "tool_use_id": id});
    if !m.content.trim().is_empty() {
        block["content"] = Value::String(m.content.to_string());
    }
    Ok(block)
}

/// An assistant turn: its kept thinking blocks (unchanged), its text, its tool calls.
fn assistant_blocks(m: &Message) -> Vec<Value> {
    let mut blocks: Vec<Value> = m
        .provider_state
        .as_ref()
        .and_then(|s| s.get(THINKING_STATE_KEY))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !m.content.trim().is_empty() {
        blocks.push(json!({"type": "text", "text": m.content}));
    }
    for call in &m.tool_calls {
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": tool_input(&call.arguments),
        }));
    }
    if blocks.is_empty() {
        blocks.push(json!({"type": "text", "text": EMPTY_ASSISTANT_TURN}));
    }
    blocks
}

/// A call's arguments as the object `input` must be. Arguments that are not a
/// JSON object (another provider's malformed call, replayed) are passed as
/// written under `_unparsed_arguments`.
fn tool_input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Map::new());
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(object @ Value::Object(_)) => object,
        _ => json!({"_unparsed_arguments": arguments}),
    }
}

/// A successful reply's blocks as agar's answer (`attempts` is left at 1; the
/// middleware sets it).
pub(crate) fn from_wire(response: WireResponse) -> ChatResponse {
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    let mut reasoning: Vec<String> = Vec::new();
    let mut kept: Vec<Value> = Vec::new();
    for block in response.content {
        match block["type"].as_str().unwrap_or_default() {
            "text" => content.push_str(block["text"].as_str().unwrap_or_default()),
            "tool_use" => tool_calls.push(ToolCall {
                id: block["id"].as_str().unwrap_or_default().to_owned(),
                name: block["name"].as_str().unwrap_or_default().to_owned(),
                arguments: match &block["input"] {
                    // Kept as written, so a malformed call stays visible as one.
                    Value::String(raw) => raw.clone(),
                    Value::Null => "{}".to_owned(),
                    input => input.to_string(),
                },
            }),
            "thinking" => {
                reasoning.push(block["thinking"].as_str().unwrap_or_default().to_owned());
                kept.push(block);
            }
            "redacted_thinking" => {
                reasoning.push("[the provider redacted part of this reasoning]".to_owned());
                kept.push(block);
            }
            other => tracing::debug!(block = other, "ignoring an anthropic content block"),
        }
    }
    let usage = response.usage.unwrap_or_default();
    let cache_read = usage.cache_read_input_tokens.unwrap_or(0);
    let cache_write = usage.cache_creation_input_tokens.unwrap_or(0);
    ChatResponse {
        content,
        tool_calls,
        usage: Usage {
            // The API counts cached tokens apart; agar's input count holds them all.
            input_tokens: usage.input_tokens + cache_read + cache_write,
            output_tokens: usage.output_tokens,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
        },
        finish_reason: response.stop_reason.map(|r| finish_reason(&r)),
        attempts: 1,
        retry_wait_ms: 0,
        retried: Vec::new(),
        logprobs: Vec::new(),
        reasoning: Some(reasoning.join("\n\n")).filter(|r| !r.trim().is_empty()),
        provider_state: (!kept.is_empty()).then(|| json!({ THINKING_STATE_KEY: kept })),
    }
}

/// The API's `stop_reason` in the words the rest of agar uses.
fn finish_reason(reason: &str) -> String {
    match reason {
        "end_turn" | "stop_sequence" => "stop",
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        other => other,
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use agar_core::{Sampling, ToolDef};

    use super::*;

    const OPTIONS: Options =
        Options { default_max_tokens: 4096, thinking_budget: None, prompt_cache: false };

    fn wire(request: &ChatRequest, prefill: Option<&str>, options: Options) -> Value {
        serde_json::to_value(to_wire("claude-test", request, prefill, options).expect("converts"))
            .expect("serialises")
    }

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}).into(),
        }
    }

    fn call(id: &str) -> ToolCall {
        ToolCall { id: id.into(), name: "look".into(), arguments: r#"{"x":"a"}"#.into() }
    }

    #[test]
    fn system_tools_and_merged_tool_results_reach_the_wire() {
        let request = ChatRequest {
            messages: vec![
                Message::system("sys one"),
                Message::system("sys two"),
                Message::user("hi"),
                Message { tool_calls: vec![call("t1"), call("t2")], ..Message::assistant("") },
                Message::tool("t1", "one"),
                Message::tool("t2", ""),
                Message::user("and now?"),
            ],
            tools: vec![tool("look")],
            tool_choice: ToolChoice::Tool("look".into()),
            sampling: Sampling {
                temperature: Some(0.5),
                max_tokens: Some(100),
                seed: Some(3),
                stop: vec!["END".into()],
                reasoning: None,
                ..Sampling::default()
            },
            prefill: None,
            ..ChatRequest::default()
        };
        let j = wire(&request, None, OPTIONS);
        assert_eq!(j["system"], "sys one\n\nsys two");
        assert_eq!(j["max_tokens"], 100);
        assert_eq!(j["temperature"], 0.5);
        assert_eq!(j["stop_sequences"], json!(["END"]));
        assert!(j.get("seed").is_none() && j.get("thinking").is_none());
        assert_eq!(j["tool_choice"], json!({"type": "tool", "name": "look"}));
        assert_eq!(
            j["tools"][0],
            json!({"name": "look", "description": "d", "input_schema": tool("look").parameters})
        );
        assert_eq!(
            j["messages"],
            json!([
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "t1", "name": "look", "input": {"x": "a"}},
                    {"type": "tool_use", "id": "t2", "name": "look", "input": {"x": "a"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
                    {"type": "tool_result", "tool_use_id": "t2"},
                    {"type": "text", "text": "and now?"},
                ]},
            ])
        );
    }

    #[test]
    fn tool_choice_modes_and_their_errors() {
        let with = |choice| ChatRequest {
            tools: vec![tool("t")],
            tool_choice: choice,
            ..Default::default()
        };
        let choice = |r: &ChatRequest| wire(r, None, OPTIONS).get("tool_choice").cloned();
        assert_eq!(choice(&with(ToolChoice::Auto)), None);
        assert_eq!(choice(&with(ToolChoice::None)), Some(json!({"type": "none"})));
        assert_eq!(choice(&with(ToolChoice::Required)), Some(json!({"type": "any"})));
        let no_tools = ChatRequest { tool_choice: ToolChoice::Required, ..Default::default() };
        assert!(matches!(to_wire("m", &no_tools, None, OPTIONS), Err(ModelError::Config(_))));
        let unknown = with(ToolChoice::Tool("other".into()));
        assert!(matches!(to_wire("m", &unknown, None, OPTIONS), Err(ModelError::Config(_))));
        let orphan = ChatRequest {
            messages: vec![Message { role: Role::Tool, ..Message::default() }],
            ..Default::default()
        };
        assert!(matches!(to_wire("m", &orphan, None, OPTIONS), Err(ModelError::Config(_))));
    }

    #[test]
    fn a_prefill_is_a_final_assistant_turn_and_turns_off_thinking() {
        let request = ChatRequest { messages: vec![Message::user("hi")], ..Default::default() };
        let thinking = Options { thinking_budget: Some(2048), ..OPTIONS };
        let j = wire(&request, Some("Sure,"), thinking);
        assert_eq!(
            j["messages"][1],
            json!({"role": "assistant", "content": [{"type": "text", "text": "Sure,"}]})
        );
        assert!(j.get("thinking").is_none());
        let j = wire(&request, None, thinking);
        assert_eq!(j["thinking"], json!({"type": "enabled", "budget_tokens": 2048}));
        assert_eq!(j["max_tokens"], 4096, "the default already exceeds the budget");
        let small = ChatRequest {
            sampling: Sampling {
                max_tokens: Some(500),
                temperature: Some(0.2),
                ..Sampling::default()
            },
            ..request
        };
        let j = wire(&small, None, thinking);
        assert_eq!(j["max_tokens"], 2048 + 1024);
        assert!(j.get("temperature").is_none(), "thinking takes no sampling changes");
    }

    #[test]
    fn a_requested_reasoning_budget_turns_thinking_on_unless_a_tool_is_forced() {
        use agar_core::Reasoning;
        let tools = vec![ToolDef {
            name: "t".into(),
            description: Default::default(),
            parameters: json!({"type": "object"}).into(),
        }];
        let request = ChatRequest {
            messages: vec![Message::user("hi")],
            tools,
            sampling: Sampling { reasoning: Some(Reasoning::Budget(3000)), ..Sampling::default() },
            ..Default::default()
        };
        let j = wire(&request, None, OPTIONS);
        assert_eq!(j["thinking"], json!({"type": "enabled", "budget_tokens": 3000}));
        let effort = ChatRequest {
            sampling: Sampling {
                reasoning: Some(Reasoning::Effort("high".into())),
                ..Sampling::default()
            },
            ..request.clone()
        };
        assert_eq!(wire(&effort, None, OPTIONS)["thinking"]["budget_tokens"], 16384);
        let forced = ChatRequest { tool_choice: ToolChoice::Required, ..request };
        assert!(wire(&forced, None, OPTIONS).get("thinking").is_none());
    }

    #[test]
    fn thinking_blocks_are_kept_and_replayed_unchanged() {
        let body = json!({
            "type": "message", "role": "assistant", "stop_reason": "tool_use",
            "content": [
                {"type": "thinking", "thinking": "Let me look.", "signature": "sig-1"},
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "Looking"},
                {"type": "tool_use", "id": "t9", "name": "look", "input": {"x": "b"}},
                {"type": "server_tool_use", "id": "s1"}
            ],
            "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
        });
        let answer = from_wire(serde_json::from_value(body.clone()).expect("parses"));
        assert_eq!(answer.content, "Looking");
        assert_eq!(answer.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            answer.tool_calls,
            vec![ToolCall {
                id: "t9".into(),
                name: "look".into(),
                arguments: r#"{"x":"b"}"#.into()
            }]
        );
        let reasoning = answer.reasoning.clone().expect("reasoning");
        assert!(
            reasoning.starts_with("Let me look.") && reasoning.contains("redacted"),
            "{reasoning}"
        );
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 130,
                output_tokens: 7,
                cache_read_tokens: 100,
                cache_write_tokens: 20
            }
        );

        let request = ChatRequest {
            messages: vec![Message::user("go"), answer.to_message(), Message::tool("t9", "found")],
            ..Default::default()
        };
        let j = wire(&request, None, OPTIONS);
        let replayed = &j["messages"][1]["content"];
        assert_eq!(replayed[0], body["content"][0], "thinking block with its signature, unchanged");
        assert_eq!(replayed[1], body["content"][1]);
        assert_eq!(replayed[2], json!({"type": "text", "text": "Looking"}));
        assert_eq!(replayed[3]["type"], "tool_use");
    }

    #[test]
    fn awkward_turns_still_make_a_valid_request() {
        let request = ChatRequest {
            messages: vec![
                Message::user(" "),
                Message::assistant(""),
                Message {
                    tool_calls: vec![ToolCall {
                        id: "c".into(),
                        name: "f".into(),
                        arguments: "{\"a\":".into(),
                    }],
                    ..Message::assistant("")
                },
            ],
            ..Default::default()
        };
        let j = wire(&request, None, OPTIONS);
        assert_eq!(j["messages"][0]["content"][0]["text"], EMPTY_USER_TURN);
        let assistant = &j["messages"][1]["content"];
        assert_eq!(assistant[0]["text"], EMPTY_ASSISTANT_TURN);
        assert_eq!(assistant[1]["input"], json!({"_unparsed_arguments": "{\"a\":"}));
    }

    #[test]
    fn prompt_caching_marks_the_system_prompt_and_the_last_user_turn() {
        let request = ChatRequest {
            messages: vec![
                Message::system("sys"),
                Message::user("a"),
                Message::assistant("b"),
                Message::user("c"),
            ],
            ..Default::default()
        };
        let cached = Options { prompt_cache: true, ..OPTIONS };
        let j = wire(&request, Some("So"), cached);
        let marker = json!({"type": "ephemeral"});
        assert_eq!(j["system"][0]["text"], "sys");
        assert_eq!(j["system"][0]["cache_control"], marker);
        assert_eq!(j["messages"][2]["content"][0]["cache_control"], marker);
        assert!(j["messages"][0]["content"][0].get("cache_control").is_none());
        assert!(j["messages"][3]["content"][0].get("cache_control").is_none(), "not the prefill");
        assert_eq!(wire(&request, None, OPTIONS)["system"], "sys");
    }

    #[test]
    fn stop_reasons_use_agars_words() {
        for (wire, ours) in [
            ("end_turn", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("refusal", "refusal"),
        ] {
            assert_eq!(finish_reason(wire), ours);
        }
    }
}
