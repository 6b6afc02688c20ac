//! Conversion between agar-core's request/response types and async-openai's
//! chat-completions wire types: the border of the OpenAI provider.

use agar_core::{
    ChatRequest, ChatResponse, Message, ModelError, Role, TokenLogprob, TokenLogprobs, ToolCall,
    ToolChoice, Usage,
};
use async_openai::types::chat::ReasoningEffort;
use async_openai::types::chat::{
    ChatChoiceLogprobs, ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionNamedToolChoice, ChatCompletionRequestAssistantMessage,
    ChatCompletionRequestAssistantMessageContent, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestToolMessage,
    ChatCompletionRequestUserMessage, ChatCompletionTool, ChatCompletionToolChoiceOption,
    ChatCompletionTools, CreateChatCompletionRequest, CreateChatCompletionResponse, FinishReason,
    FunctionCall, FunctionName, FunctionObject, StopConfiguration, ToolChoiceOptions,
};

use super::options::ServerOptions;
pub(crate) use super::options::TokenLimitField;

/// The most `top_logprobs` the API accepts.
const MAX_TOP_LOGPROBS: u8 = 20;

/// The wire request for `model`, as real servers accept it: `tool_choice`
/// explicit whenever tools are offered (llama-cpp-python ignores tools
/// offered without one), `content: ""` on assistant turns made only of tool
/// calls, and a length cap on every request ([`ServerOptions::max_tokens`]).
pub(crate) fn to_wire(
    model: &str,
    request: &ChatRequest,
    limit_field: TokenLimitField,
    options: &ServerOptions,
) -> Result<CreateChatCompletionRequest, ModelError> {
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(index, m)| message_to_wire(index, m))
        .collect::<Result<Vec<_>, _>>()?;

    let tools: Vec<ChatCompletionTools> = request
        .tools
        .iter()
        .map(|t| {
            ChatCompletionTools::Function(ChatCompletionTool {
                function: FunctionObject {
                    name: t.name.clone(),
                    description: Some(t.description.clone()).filter(|d| !d.is_empty()),
                    parameters: Some(t.parameters.clone()),
                    strict: None,
                },
            })
        })
        .collect();

    let tool_choice = match (&request.tool_choice, tools.is_empty()) {
        (ToolChoice::Auto | ToolChoice::None, true) => None,
        (ToolChoice::Auto, false) => {
            Some(ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::Auto))
        }
        (ToolChoice::None, false) => {
            Some(ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::None))
        }
        // One tool offered: naming it means the same and every server knows it.
        (ToolChoice::Required, false) if request.tools.len() == 1 => {
            Some(ChatCompletionToolChoiceOption::Function(ChatCompletionNamedToolChoice {
                function: FunctionName { name: request.tools[0].name.clone() },
            }))
        }
        (ToolChoice::Required, false) if !options.tool_choice_required => {
            Some(ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::Auto))
        }
        (ToolChoice::Required, false) => {
            Some(ChatCompletionToolChoiceOption::Mode(ToolChoiceOptions::Required))
        }
        (ToolChoice::Tool(name), false) => {
            if !request.tools.iter().any(|t| &t.name == name) {
                return Err(ModelError::Config(format!(
                    "tool_choice names the tool `{name}`, which the request does not offer"
                )));
            }
            Some(ChatCompletionToolChoiceOption::Function(ChatCompletionNamedToolChoice {
                function: FunctionName { name: name.clone() },
            }))
        }
        (ToolChoice::Required | ToolChoice::Tool(_), true) => {
            return Err(ModelError::Config(
                "tool_choice requires a tool call but the request offers no tools".into(),
            ));
        }
    };

    let sampling = &request.sampling;
    let seed = sampling.seed.map(i64::try_from).transpose().map_err(|_| {
        ModelError::Config("seed does not fit the openai api's 64-bit signed integer".into())
    })?;

    let mut wire = CreateChatCompletionRequest {
        model: model.to_owned(),
        messages,
        tools: Some(tools).filter(|t| !t.is_empty()),
        tool_choice,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        stop: Some(sampling.stop.clone())
            .filter(|s| !s.is_empty())
            .map(StopConfiguration::StringArray),
        ..Default::default()
    };
    let prompt_chars = request.messages.iter().map(|m| m.content.len()).sum::<usize>()
        + request
            .tools
            .iter()
            .map(|t| t.description.len() + t.parameters.to_string().len())
            .sum::<usize>();
    let max_tokens = Some(options.max_tokens(sampling.max_tokens, prompt_chars));
    if limit_field == TokenLimitField::MaxCompletionTokens {
        wire.max_completion_tokens = max_tokens;
    }
    wire.reasoning_effort = sampling.reasoning.as_ref().map(|r| reasoning_effort(r.effort()));
    if let Some(lp) = &request.logprobs {
        wire.logprobs = Some(true);
        wire.top_logprobs = Some(lp.top.min(MAX_TOP_LOGPROBS));
    }
    set_deprecated_fields(&mut wire, seed, limit_field, max_tokens);
    Ok(wire)
}

/// The wire effort for agar's level; unknown words are `medium`.
fn reasoning_effort(effort: &str) -> ReasoningEffort {
    match effort {
        "none" => ReasoningEffort::None,
        "minimal" => ReasoningEffort::Minimal,
        "low" => ReasoningEffort::Low,
        "high" => ReasoningEffort::High,
        "xhigh" => ReasoningEffort::Xhigh,
        "max" => ReasoningEffort::Max,
        _ => ReasoningEffort::Medium,
    }
}

/// Sets the fields OpenAI marks deprecated but OpenAI-compatible servers still use.
#[expect(
    deprecated,
    reason = "`max_tokens` is what most OpenAI-compatible servers know; `seed` is still honoured by many"
)]
fn set_deprecated_fields(
    wire: &mut CreateChatCompletionRequest,
    seed: Option<i64>,
    limit_field: TokenLimitField,
    max_tokens: Option<u32>,
) {
    wire.seed = seed;
    if limit_field == TokenLimitField::MaxTokens {
        wire.max_tokens = max_tokens;
    }
}

fn message_to_wire(index: usize, m: &Message) -> Result<ChatCompletionRequestMessage, ModelError> {
    Ok(match m.role {
        Role::System => ChatCompletionRequestMessage::System(ChatCompletionRequestSystemMessage {
            content: m.content.clone().into(),
            name: None,
        }),
        Role::User => ChatCompletionRequestMessage::User(ChatCompletionRequestUserMessage {
            content: m.content.clone().into(),
            name: None,
        }),
        Role::Assistant => {
            let tool_calls: Vec<ChatCompletionMessageToolCalls> = m
                .tool_calls
                .iter()
                .map(|c| {
                    ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                        id: c.id.clone(),
                        function: FunctionCall {
                            name: c.name.clone(),
                            arguments: c.arguments.clone(),
                        },
                    })
                })
                .collect();
            // Always a string, `""` for a turn made only of tool calls: some
            // servers (llama-cpp-python 0.3) fail on a missing or null content,
            // and the official API accepts the empty string.
            let content =
                Some(ChatCompletionRequestAssistantMessageContent::Text(m.content.clone()));
            ChatCompletionRequestMessage::Assistant(ChatCompletionRequestAssistantMessage {
                content,
                tool_calls: Some(tool_calls).filter(|c| !c.is_empty()),
                ..Default::default()
            })
        }
        Role::Tool => {
            let Some(id) = m.tool_call_id.clone() else {
                return Err(ModelError::Config(format!(
                    "message {index} is a tool result without a tool_call_id"
                )));
            };
            ChatCompletionRequestMessage::Tool(ChatCompletionRequestToolMessage {
                content: m.content.clone().into(),
                tool_call_id: id,
            })
        }
    })
}

/// The first choice of a wire response as agar's answer (`attempts` is left
/// at 1; the middleware sets it).
pub(crate) fn from_wire(
    response: CreateChatCompletionResponse,
) -> Result<ChatResponse, ModelError> {
    let usage = response
        .usage
        .as_ref()
        .map(|u| Usage {
            input_tokens: u64::from(u.prompt_tokens),
            output_tokens: u64::from(u.completion_tokens),
            // OpenAI counts cached prompt tokens inside `prompt_tokens` too.
            cache_read_tokens: u
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .map_or(0, u64::from),
            cache_write_tokens: 0,
        })
        .unwrap_or_default();
    let Some(choice) = response.choices.into_iter().next() else {
        return Err(ModelError::Undecodable {
            detail: "the reply has no choices".into(),
            body: String::new(),
        });
    };
    let logprobs = logprobs_from_wire(choice.logprobs);
    let message = choice.message;
    // A refusal is what the model said; keep it as the answer's text.
    let content = message.content.or(message.refusal).unwrap_or_default();
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .map(|call| match call {
            ChatCompletionMessageToolCalls::Function(f) => {
                ToolCall { id: f.id, name: f.function.name, arguments: f.function.arguments }
            }
            ChatCompletionMessageToolCalls::Custom(c) => {
                ToolCall { id: c.id, name: c.custom_tool.name, arguments: c.custom_tool.input }
            }
        })
        .collect();
    Ok(ChatResponse {
        content,
        tool_calls,
        usage,
        finish_reason: choice.finish_reason.map(|r| finish_reason(r).to_owned()),
        attempts: 1,
        logprobs,
        ..ChatResponse::default()
    })
}

/// The answer's per-token log-probabilities, when the server sent them.
fn logprobs_from_wire(wire: Option<ChatChoiceLogprobs>) -> Vec<TokenLogprobs> {
    let content = wire.and_then(|l| l.content).unwrap_or_default();
    content
        .into_iter()
        .map(|t| TokenLogprobs {
            token: t.token,
            logprob: f64::from(t.logprob),
            top: t
                .top_logprobs
                .into_iter()
                .map(|a| TokenLogprob { token: a.token, logprob: f64::from(a.logprob) })
                .collect(),
            chosen: Vec::new(),
        })
        .collect()
}

fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Stop => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
        FinishReason::FunctionCall => "function_call",
    }
}

#[cfg(test)]
mod tests {
    use agar_core::{Sampling, ToolDef};
    use serde_json::json;

    use super::*;

    fn wire_json(request: &ChatRequest, field: TokenLimitField) -> serde_json::Value {
        let options = ServerOptions::default();
        serde_json::to_value(to_wire("m", request, field, &options).expect("converts"))
            .expect("serialises")
    }

    fn convert(request: &ChatRequest) -> Result<CreateChatCompletionRequest, ModelError> {
        to_wire("m", request, TokenLimitField::MaxTokens, &ServerOptions::default())
    }

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
        }
    }

    #[test]
    fn messages_tools_and_sampling_reach_the_wire() {
        let call =
            ToolCall { id: "c1".into(), name: "look".into(), arguments: "{\"x\":\"a\"}".into() };
        let request = ChatRequest {
            messages: vec![
                Message::system("sys"),
                Message::user("hi"),
                Message { tool_calls: vec![call], ..Message::assistant("") },
                Message::tool("c1", "result"),
            ],
            tools: vec![tool("look")],
            tool_choice: ToolChoice::Tool("look".into()),
            sampling: Sampling {
                temperature: Some(0.5),
                top_p: None,
                max_tokens: Some(100),
                seed: Some(7),
                stop: vec!["END".into()],
                reasoning: None,
            },
            prefill: None,
            ..ChatRequest::default()
        };
        let j = wire_json(&request, TokenLimitField::MaxTokens);
        assert_eq!(
            j["messages"],
            json!([
                {"role": "system", "content": "sys"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "", "tool_calls": [
                    {"type": "function", "id": "c1", "function": {"name": "look", "arguments": "{\"x\":\"a\"}"}}
                ]},
                {"role": "tool", "content": "result", "tool_call_id": "c1"},
            ])
        );
        assert_eq!(j["tools"][0]["type"], "function");
        assert_eq!(j["tools"][0]["function"]["name"], "look");
        assert_eq!(j["tools"][0]["function"]["parameters"]["type"], "object");
        assert_eq!(j["tool_choice"], json!({"type": "function", "function": {"name": "look"}}));
        assert_eq!(j["temperature"], 0.5);
        assert_eq!(j["max_tokens"], 100);
        assert!(j.get("max_completion_tokens").is_none());
        assert_eq!(j["seed"], 7);
        assert_eq!(j["stop"], json!(["END"]));
        assert!(j.get("top_p").is_none());
    }

    #[test]
    fn reasoning_becomes_an_effort() {
        let with = |r| ChatRequest {
            sampling: Sampling { reasoning: Some(r), ..Sampling::default() },
            ..Default::default()
        };
        let effort =
            |r| wire_json(&with(r), TokenLimitField::MaxTokens)["reasoning_effort"].clone();
        assert_eq!(effort(agar_core::Reasoning::Effort("high".into())), json!("high"));
        assert_eq!(effort(agar_core::Reasoning::Budget(2000)), json!("low"));
        let plain = wire_json(&ChatRequest::default(), TokenLimitField::MaxTokens);
        assert!(plain.get("reasoning_effort").is_none());
    }

    #[test]
    fn tool_choice_modes() {
        let with = |choice| ChatRequest {
            tools: vec![tool("t")],
            tool_choice: choice,
            ..Default::default()
        };
        let choice =
            |r: &ChatRequest| wire_json(r, TokenLimitField::MaxTokens).get("tool_choice").cloned();
        assert_eq!(choice(&with(ToolChoice::Auto)), Some(json!("auto")));
        assert_eq!(choice(&with(ToolChoice::None)), Some(json!("none")));
        assert_eq!(
            choice(&with(ToolChoice::Required)),
            Some(json!({"type": "function", "function": {"name": "t"}})),
            "one tool: named"
        );
        let two = ChatRequest {
            tools: vec![tool("t"), tool("u")],
            tool_choice: ToolChoice::Required,
            ..Default::default()
        };
        assert_eq!(choice(&two), Some(json!("required")));
        let lenient = ServerOptions { tool_choice_required: false, ..ServerOptions::default() };
        let sent = to_wire("m", &two, TokenLimitField::MaxTokens, &lenient).expect("converts");
        assert_eq!(serde_json::to_value(sent).expect("json")["tool_choice"], json!("auto"));
        assert_eq!(choice(&ChatRequest::default()), None, "no tools, no tool_choice");
        let no_tools = ChatRequest { tool_choice: ToolChoice::Required, ..Default::default() };
        assert!(matches!(convert(&no_tools), Err(ModelError::Config(_))));
        let unknown = with(ToolChoice::Tool("other".into()));
        assert!(matches!(convert(&unknown), Err(ModelError::Config(_))));
    }

    #[test]
    fn official_api_gets_max_completion_tokens() {
        let r = ChatRequest {
            sampling: Sampling { max_tokens: Some(9), ..Default::default() },
            ..Default::default()
        };
        let j = wire_json(&r, TokenLimitField::MaxCompletionTokens);
        assert_eq!(j["max_completion_tokens"], 9);
        assert!(j.get("max_tokens").is_none());
    }

    #[test]
    fn every_request_carries_a_length_cap() {
        let j = wire_json(&ChatRequest::default(), TokenLimitField::MaxTokens);
        assert_eq!(j["max_tokens"], super::super::options::FALLBACK_MAX_TOKENS);
    }

    #[test]
    fn tool_message_without_id_is_a_config_error() {
        let r = ChatRequest {
            messages: vec![Message { role: Role::Tool, ..Message::default() }],
            ..Default::default()
        };
        assert!(matches!(convert(&r), Err(ModelError::Config(_))));
    }

    #[test]
    fn response_keeps_raw_arguments_usage_and_finish_reason() {
        let body = json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "c9", "type": "function",
                    "function": {"name": "f", "arguments": "{\"a\": 1,"}}]
            }}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}
        });
        let wire: CreateChatCompletionResponse = serde_json::from_value(body).expect("parses");
        let r = from_wire(wire).expect("converts");
        assert_eq!(r.content, "");
        assert_eq!(
            r.tool_calls,
            vec![ToolCall { id: "c9".into(), name: "f".into(), arguments: "{\"a\": 1,".into() }]
        );
        assert_eq!(r.usage, Usage { input_tokens: 11, output_tokens: 3, ..Usage::default() });
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn logprobs_are_asked_for_and_read_back() {
        let request = ChatRequest {
            messages: vec![Message::user("q")],
            logprobs: Some(agar_core::LogprobRequest { top: 50, tokens: vec!["A".into()] }),
            ..ChatRequest::default()
        };
        let j = wire_json(&request, TokenLimitField::MaxTokens);
        assert_eq!((j["logprobs"].clone(), j["top_logprobs"].clone()), (json!(true), json!(20)));
        let plain = wire_json(&ChatRequest::default(), TokenLimitField::MaxTokens);
        assert!(plain.get("logprobs").is_none() && plain.get("top_logprobs").is_none());

        let body = json!({
            "id": "x", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "length",
                "message": {"role": "assistant", "content": "B"},
                "logprobs": {"content": [{"token": "B", "logprob": -0.5, "bytes": [66],
                    "top_logprobs": [{"token": "B", "logprob": -0.5, "bytes": [66]},
                                     {"token": "A", "logprob": -1.25, "bytes": [65]}]}]}
            }]
        });
        let wire: CreateChatCompletionResponse = serde_json::from_value(body).expect("parses");
        let r = from_wire(wire).expect("converts");
        assert_eq!(r.logprobs.len(), 1);
        assert_eq!((r.logprobs[0].token.as_str(), r.logprobs[0].logprob), ("B", -0.5));
        let top: Vec<(&str, f64)> =
            r.logprobs[0].top.iter().map(|t| (t.token.as_str(), t.logprob)).collect();
        assert_eq!(top, [("B", -0.5), ("A", -1.25)]);
    }
}
