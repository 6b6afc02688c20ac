//! Conversion between agar-core's request/response types and the
//! chat-completions wire format: the border of the OpenAI provider.
//!
//! The request is serialised straight from agar's [`ChatRequest`] through
//! borrowing wire structs ([`WireRequest`]): no message, tool schema or
//! JSON value is copied on the way to the body bytes (async-openai's typed
//! request cost a deep copy of the conversation and a `serde_json::Value` of
//! it per call). Replies are read into async-openai's response types.

use std::sync::Arc;

use agar_core::{
    ChatRequest, ChatResponse, Message, ModelError, Role, TokenLogprob, TokenLogprobs, ToolCall,
    ToolChoice, Usage,
};
use async_openai::types::chat::{
    ChatChoiceLogprobs, ChatCompletionMessageToolCalls, CreateChatCompletionResponse, FinishReason,
};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::options::ServerOptions;
pub(crate) use super::options::TokenLimitField;
pub(crate) use super::schemas::{SchemaCache, TextCache};

/// The most `top_logprobs` the API accepts.
const MAX_TOP_LOGPROBS: u8 = 20;

/// A chat-completions request body, borrowing everything from the
/// [`ChatRequest`] it was made from. Absent options are left out.
#[derive(Debug, Serialize)]
pub(crate) struct WireRequest<'a> {
    model: &'a str,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_logprobs: Option<u8>,
    /// Written by [`WireRequest::body`], with each schema's JSON from a
    /// [`SchemaCache`].
    #[serde(skip)]
    tools: Vec<WireTool<'a>>,
    #[serde(skip)]
    tool_choice: Option<WireToolChoice<'a>>,
}

impl WireRequest<'_> {
    /// The request body: the fields above through serde, then `tools` (each
    /// schema's JSON written once per schema by `schemas`, not once per
    /// request) and `tool_choice`.
    pub(crate) fn body(&self, schemas: &SchemaCache) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = serde_json::to_vec(self)?;
        if self.tools.is_empty() && self.tool_choice.is_none() {
            return Ok(out);
        }
        // Reopen the object: serde wrote `{"model":...,"messages":[...]...}`.
        out.pop();
        if !self.tools.is_empty() {
            out.extend_from_slice(b",\"tools\":[");
            for (i, t) in self.tools.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"type\":\"function\",\"function\":{\"name\":");
                serde_json::to_writer(&mut out, t.name)?;
                if let Some(d) = t.description {
                    out.extend_from_slice(b",\"description\":");
                    serde_json::to_writer(&mut out, d)?;
                }
                out.extend_from_slice(b",\"parameters\":");
                out.extend_from_slice(&schemas.json(t.parameters)?);
                out.extend_from_slice(b"}}");
            }
            out.push(b']');
        }
        if let Some(choice) = &self.tool_choice {
            out.extend_from_slice(b",\"tool_choice\":");
            serde_json::to_writer(&mut out, choice)?;
        }
        out.push(b'}');
        Ok(out)
    }

    /// Whether the request sends `tool_choice: "required"` (some servers fail on it).
    pub(crate) fn requires_a_tool(&self) -> bool {
        matches!(self.tool_choice, Some(WireToolChoice::Mode("required")))
    }
}

/// A message's text on the wire: escaped per request, or (a long text,
/// such as a system prompt) the JSON string a [`TextCache`] wrote once.
#[derive(Debug)]
enum WireText<'a> {
    Plain(&'a str),
    Escaped(Arc<RawValue>),
}

impl<'a> WireText<'a> {
    fn of(text: &'a agar_core::Text, texts: &TextCache) -> Self {
        texts.escaped(text).map_or(Self::Plain(text), Self::Escaped)
    }
}

impl Serialize for WireText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Plain(text) => serializer.serialize_str(text),
            Self::Escaped(json) => json.serialize(serializer),
        }
    }
}

/// One message on the wire, tagged by its role.
#[derive(Debug, Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum WireMessage<'a> {
    System {
        content: WireText<'a>,
    },
    User {
        content: WireText<'a>,
    },
    Assistant {
        content: WireText<'a>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<WireToolCall<'a>>,
    },
    Tool {
        content: WireText<'a>,
        tool_call_id: &'a str,
    },
}

#[derive(Debug, Serialize)]
struct WireToolCall<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    function: WireFunctionCall<'a>,
}

#[derive(Debug, Serialize)]
struct WireFunctionCall<'a> {
    name: &'a str,
    arguments: &'a str,
}

/// One offered tool, written by [`WireRequest::body`] as
/// `{"type":"function","function":{"name","description","parameters"}}`.
#[derive(Debug)]
struct WireTool<'a> {
    name: &'a str,
    description: Option<&'a str>,
    parameters: &'a Arc<serde_json::Value>,
}

/// `"auto"`, `"none"`, `"required"`, or one named function.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum WireToolChoice<'a> {
    Mode(&'static str),
    Function {
        #[serde(rename = "type")]
        kind: &'static str,
        function: WireName<'a>,
    },
}

#[derive(Debug, Serialize)]
struct WireName<'a> {
    name: &'a str,
}

fn named(name: &str) -> WireToolChoice<'_> {
    WireToolChoice::Function { kind: "function", function: WireName { name } }
}

/// The wire request for `model`, as real servers accept it: `tool_choice`
/// explicit whenever tools are offered (llama-cpp-python ignores tools
/// offered without one), `content: ""` on assistant turns made only of tool
/// calls, and a length cap on every request ([`ServerOptions::max_tokens`]).
/// Long texts come from `texts`, escaped once (see [`TextCache`]).
pub(crate) fn to_wire<'a>(
    model: &'a str,
    request: &'a ChatRequest,
    limit_field: TokenLimitField,
    options: &ServerOptions,
    texts: &TextCache,
) -> Result<WireRequest<'a>, ModelError> {
    let messages = request
        .messages
        .iter()
        .enumerate()
        .map(|(index, m)| message_to_wire(index, m, texts))
        .collect::<Result<Vec<_>, _>>()?;

    let tools: Vec<WireTool<'a>> = request
        .tools
        .iter()
        .map(|t| WireTool {
            name: &t.name,
            description: Some(t.description.as_str()).filter(|d| !d.is_empty()),
            parameters: &t.parameters,
        })
        .collect();

    let tool_choice = match (&request.tool_choice, tools.is_empty()) {
        (ToolChoice::Auto | ToolChoice::None, true) => None,
        (ToolChoice::Auto, false) => Some(WireToolChoice::Mode("auto")),
        (ToolChoice::None, false) => Some(WireToolChoice::Mode("none")),
        // One tool offered: naming it means the same and every server knows it.
        (ToolChoice::Required, false) if request.tools.len() == 1 => {
            Some(named(&request.tools[0].name))
        }
        (ToolChoice::Required, false) if !options.tool_choice_required => {
            Some(WireToolChoice::Mode("auto"))
        }
        (ToolChoice::Required, false) => Some(WireToolChoice::Mode("required")),
        (ToolChoice::Tool(name), false) => {
            if !request.tools.iter().any(|t| &t.name == name) {
                return Err(ModelError::Config(format!(
                    "tool_choice names the tool `{name}`, which the request does not offer"
                )));
            }
            Some(named(name))
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
    // The prompt's size only matters against a known context window.
    let prompt_chars = match options.context_window {
        None => 0,
        Some(_) => {
            request.messages.iter().map(|m| m.content.len()).sum::<usize>()
                + request
                    .tools
                    .iter()
                    .map(|t| t.description.len() + json_len(&t.parameters))
                    .sum::<usize>()
        }
    };
    let max_tokens = Some(options.max_tokens(sampling.max_tokens, prompt_chars));
    let (max_tokens, max_completion_tokens) = match limit_field {
        TokenLimitField::MaxTokens => (max_tokens, None),
        TokenLimitField::MaxCompletionTokens => (None, max_tokens),
    };
    Ok(WireRequest {
        model,
        messages,
        temperature: sampling.temperature,
        top_p: sampling.top_p,
        stop: &sampling.stop,
        max_tokens,
        max_completion_tokens,
        seed,
        reasoning_effort: sampling.reasoning.as_ref().map(|r| reasoning_effort(r.effort())),
        logprobs: request.logprobs.as_ref().map(|_| true),
        top_logprobs: request.logprobs.as_ref().map(|lp| lp.top.min(MAX_TOP_LOGPROBS)),
        tools,
        tool_choice,
    })
}

/// The length of `value` written as compact JSON, counted without writing it.
fn json_len(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a `Value` to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// The wire effort for agar's level; unknown words are `medium`.
fn reasoning_effort(effort: &str) -> &'static str {
    match effort {
        "none" => "none",
        "minimal" => "minimal",
        "low" => "low",
        "high" => "high",
        "xhigh" => "xhigh",
        "max" => "max",
        _ => "medium",
    }
}

fn message_to_wire<'a>(
    index: usize,
    m: &'a Message,
    texts: &TextCache,
) -> Result<WireMessage<'a>, ModelError> {
    let content = WireText::of(&m.content, texts);
    Ok(match m.role {
        Role::System => WireMessage::System { content },
        Role::User => WireMessage::User { content },
        // Always a string, `""` for a turn made only of tool calls: some
        // servers (llama-cpp-python 0.3) fail on a missing or null content,
        // and the official API accepts the empty string.
        Role::Assistant => WireMessage::Assistant {
            content,
            tool_calls: m
                .tool_calls
                .iter()
                .map(|c| WireToolCall {
                    kind: "function",
                    id: &c.id,
                    function: WireFunctionCall { name: &c.name, arguments: &c.arguments },
                })
                .collect(),
        },
        Role::Tool => {
            let Some(id) = m.tool_call_id.as_deref() else {
                return Err(ModelError::Config(format!(
                    "message {index} is a tool result without a tool_call_id"
                )));
            };
            WireMessage::Tool { content, tool_call_id: id }
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
        body_json(&to_wire("m", request, field, &options, &TextCache::default()).expect("converts"))
    }

    fn body_json(wire: &WireRequest<'_>) -> serde_json::Value {
        let body = wire.body(&SchemaCache::default()).expect("serialises");
        serde_json::from_slice(&body).expect("the body is JSON")
    }

    fn convert(request: &ChatRequest) -> Result<WireRequest<'_>, ModelError> {
        let texts = TextCache::default();
        to_wire("m", request, TokenLimitField::MaxTokens, &ServerOptions::default(), &texts)
    }

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"x": {"type": "string"}}}).into(),
        }
    }

    #[test]
    fn a_long_text_sent_twice_is_the_same_json_as_written_plainly() {
        let prompt = format!("Rules:\n\t\"be \\ careful\" \u{1F600}\n{}", "x".repeat(5000));
        let request = ChatRequest {
            messages: vec![Message::system(prompt.clone()), Message::user("hi")],
            ..Default::default()
        };
        // The audit's history holds the prompt too: it will be sent again.
        let _history = request.messages[0].content.clone();
        let texts = TextCache::default();
        let options = ServerOptions::default();
        let field = TokenLimitField::MaxTokens;
        for _ in 0..2 {
            let wire = to_wire("m", &request, field, &options, &texts).expect("converts");
            assert!(matches!(
                wire.messages[0],
                WireMessage::System { content: WireText::Escaped(_) }
            ));
            assert!(matches!(wire.messages[1], WireMessage::User { content: WireText::Plain(_) }));
            let body = body_json(&wire);
            assert_eq!(body["messages"][0]["content"], json!(prompt));
            assert_eq!(body["messages"][1]["content"], json!("hi"));
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
        let texts = TextCache::default();
        let sent =
            to_wire("m", &two, TokenLimitField::MaxTokens, &lenient, &texts).expect("converts");
        assert_eq!(body_json(&sent)["tool_choice"], json!("auto"));
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
