//! [`LocalModel`]: a local engine as an `agar_core::ChatModel`. It turns a
//! [`ChatRequest`] into a prompt (the model's chat template, with a tools
//! section it writes itself), runs it, and turns the answer back into text
//! or a tool call.
//!
//! Tool calls: the prompt asks for `{"name": ..., "arguments": {...}}`. A
//! forced call (`ToolChoice::Tool` or `Required`) is generated under the
//! [`Guide`](crate::guide::Guide), so it is valid JSON matching the tool's
//! schema by construction; with `Auto` the model may answer in text, and an
//! answer that opens with `{` is completed under the guide. One exception:
//! when an offered tool is `end_conversation` (the caller is an agent whose
//! every turn is an action, such as agar's auditor), `Auto` is treated as
//! `Required`: small models otherwise drift into prose and never act.
//! Whatever comes
//! out is parsed and repaired against the schema (defaults for missing
//! required fields, integers clamped) before it leaves. A call the token
//! limit cut short (and the guide closed with defaults) keeps finish reason
//! `length`, as an API provider's would, so callers can refuse it. A forced
//! call with no `max_tokens` of its own gets [`FORCED_MAX_TOKENS`]: the
//! guide bounds every string and array, so it ends by itself.
//!
//! A request with [`Grounding`] (the judge's) is generated with its
//! citations bound to the transcript (see [`crate::guide::span`]): each
//! label is one that exists and each quote a span of that message, free
//! strings are capped, and words already written are penalised
//! ([`GROUNDED_REPEAT_PENALTY`]) so a small model does not loop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agar_core::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, Grounding, Message, ModelError, Role,
    ToolCall, ToolChoice, ToolDef, Usage,
};
use serde_json::Value;

use crate::engine::{Engine, Finish, GenerateRequest, Generation, OutputMode};
use crate::error::LocalError;
use crate::guide::{Schema, repair, span};
use crate::hooks::Hooks;
use crate::settings::LocalSettings;
use crate::template::{ChatTemplate, TemplateMessage};

/// A tool whose presence marks the caller as an agent that acts only
/// through tools (agar's auditor): `Auto` then means `Required`.
const ENDS_CONVERSATION: &str = "end_conversation";
/// `max_tokens` of a forced tool call whose request sets none (the cap
/// `AGAR_LOCAL_MAX_TOKENS` still applies).
pub(crate) const FORCED_MAX_TOKENS: usize = 8192;
/// Repetition penalty of a grounded request (1 is none): logits of word
/// tokens already generated are divided by it (see [`crate::engine`]).
pub(crate) const GROUNDED_REPEAT_PENALTY: f32 = 1.3;
/// Attempts for a forced tool call whose output could not be read as a call.
const FORCED_ATTEMPTS: u32 = 3;
/// Private-use markers around message contents while the template renders,
/// so that text inside a message is never read as a control token.
const OPEN: char = '\u{F8F0}';
const CLOSE: char = '\u{F8F1}';

/// A local model as a [`ChatModel`].
#[derive(Debug)]
pub struct LocalModel {
    reference: String,
    engine: Arc<Engine>,
    template: ChatTemplate,
    settings: LocalSettings,
    calls: AtomicU64,
    /// Steering applied to every request (`?steer=` references).
    steer: Vec<crate::hooks::Steering>,
}

impl LocalModel {
    /// `reference` is how agar names it (`local/smollm2`).
    pub fn new(
        reference: impl Into<String>,
        engine: Arc<Engine>,
        settings: LocalSettings,
    ) -> Result<Self, LocalError> {
        let tok = engine.tokenizer();
        let text = |id: Option<u32>| id.and_then(|i| tok.token(i)).unwrap_or("").to_string();
        let template = ChatTemplate::new(
            engine.info().chat_template.as_deref(),
            &text(tok.bos()),
            &text(tok.eos()),
        )?;
        Ok(Self {
            reference: reference.into(),
            engine,
            template,
            settings,
            calls: AtomicU64::new(0),
            steer: Vec::new(),
        })
    }

    /// The same model with `steer` added to every request (every position).
    pub fn with_steering(mut self, steer: Vec<crate::hooks::Steering>) -> Result<Self, LocalError> {
        crate::hooks::Hooks { capture: Vec::new(), steer: steer.clone() }
            .validate(&self.engine.info().config)?;
        self.steer = steer;
        Ok(self)
    }

    /// The same model steered as a reference's query says
    /// (`steer=FILE@LAYERxCOEF`, repeatable with `&`; see
    /// [`crate::vectors::parse_steer_query`]). Each file must have been
    /// made for this model.
    pub fn with_steer_query(self, query: &str) -> Result<Self, LocalError> {
        let mut steer = Vec::new();
        for (path, layer, coef) in crate::vectors::parse_steer_query(query)? {
            let file = crate::vectors::VectorFile::load_for(&path, &self.engine)?;
            steer.push(file.steering(layer, coef, 0)?);
        }
        self.with_steering(steer)
    }

    /// The steering every request gets.
    pub fn steering(&self) -> &[crate::hooks::Steering] {
        &self.steer
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The prompt tokens for `request`.
    pub fn prompt_tokens(&self, request: &ChatRequest) -> Result<Vec<u32>, LocalError> {
        let messages = template_messages(request);
        let mut contents = Vec::new();
        let marked: Vec<TemplateMessage> = messages
            .into_iter()
            .map(|m| {
                contents.push(m.content);
                TemplateMessage {
                    role: m.role,
                    content: format!("{OPEN}{}{CLOSE}", contents.len() - 1),
                }
            })
            .collect();
        let mut text = self.template.render(&marked)?;
        if let Some(p) = &request.prefill {
            text.push_str(p);
        }
        let tok = self.engine.tokenizer();
        let mut ids = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find(OPEN) {
            ids.extend(tok.encode(&rest[..start], true));
            let after = &rest[start + OPEN.len_utf8()..];
            let Some(end) = after.find(CLOSE) else {
                return Err(LocalError::Template("the chat template split a message".into()));
            };
            let index: usize = after[..end]
                .parse()
                .map_err(|_| LocalError::Template("the chat template altered a message".into()))?;
            // Message text is never read as control tokens.
            ids.extend(tok.encode(contents.get(index).map_or("", String::as_str), false));
            rest = &after[end + CLOSE.len_utf8()..];
        }
        ids.extend(tok.encode(rest, true));
        Ok(ids)
    }

    fn generate_request(
        &self,
        request: &ChatRequest,
        prompt: Vec<u32>,
        attempt: u32,
    ) -> Result<GenerateRequest, ModelError> {
        let s = &request.sampling;
        let default =
            if is_forced(request) { FORCED_MAX_TOKENS } else { self.settings.default_max_tokens };
        let mut max_tokens = s.max_tokens.map_or(default, |m| m as usize);
        if let Some(cap) = self.settings.max_tokens_cap {
            max_tokens = max_tokens.min(cap);
        }
        let seed = match s.seed {
            Some(seed) => seed.wrapping_add(u64::from(attempt)),
            None => fresh_seed(self.calls.fetch_add(1, Ordering::Relaxed)),
        };
        let offered: Vec<&ToolDef> = match &request.tool_choice {
            _ if request.tools.is_empty() => Vec::new(),
            ToolChoice::None => Vec::new(),
            ToolChoice::Tool(name) => {
                let t = request.tools.iter().find(|t| &t.name == name).ok_or_else(|| {
                    ModelError::Config(format!(
                        "the forced tool `{name}` is not among the tools offered"
                    ))
                })?;
                vec![t]
            }
            ToolChoice::Auto | ToolChoice::Required => request.tools.iter().collect(),
        };
        let pairs: Vec<(String, Value)> =
            offered.iter().map(|t| (t.name.clone(), (*t.parameters).clone())).collect();
        let acts_only = pairs.iter().any(|(name, _)| name == ENDS_CONVERSATION);
        let schema = || call_schema(&pairs, request.grounding.as_ref());
        let mode = match &request.tool_choice {
            _ if pairs.is_empty() => OutputMode::Text,
            ToolChoice::Auto if acts_only => OutputMode::Json(schema()),
            ToolChoice::Auto => OutputMode::TextOrJson {
                schema: schema(),
                call_threshold: self.settings.call_threshold,
            },
            _ => OutputMode::Json(schema()),
        };
        let repeat_penalty =
            if request.grounding.is_some() { GROUNDED_REPEAT_PENALTY } else { 1.0 };
        Ok(GenerateRequest {
            prompt,
            max_tokens,
            temperature: s.temperature.unwrap_or(self.settings.default_temperature).max(0.0),
            top_p: s.top_p.unwrap_or(1.0),
            seed,
            stop: s.stop.clone(),
            hooks: Hooks { capture: Vec::new(), steer: self.steer.clone() },
            mode,
            ignore_eos: false,
            repeat_penalty,
            logprobs: crate::logprobs::spec_for(request, self.engine.tokenizer()),
        })
    }
}

/// The schema of a call of one of `pairs`, bound to `grounding` if any.
fn call_schema(pairs: &[(String, Value)], grounding: Option<&Grounding>) -> Schema {
    let schema = Schema::tool_call(pairs);
    match grounding {
        Some(g) => span::grounded(schema, g),
        None => schema,
    }
}

fn fresh_seed(counter: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ counter.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn to_model_error(e: LocalError) -> ModelError {
    match e {
        LocalError::EngineStopped => ModelError::Connection(e.to_string()),
        LocalError::ContextOverflow { .. } => {
            ModelError::Provider { status: 400, retry_after: None, body: e.to_string() }
        }
        LocalError::Inference(_) | LocalError::Cancelled => ModelError::Unsupported(e.to_string()),
        other => ModelError::Config(other.to_string()),
    }
}

#[async_trait::async_trait]
impl ChatModel for LocalModel {
    fn name(&self) -> &str {
        &self.reference
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { prefill: true, ..Capabilities::default() }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let prompt = self.prompt_tokens(request).map_err(to_model_error)?;
        let forced = is_forced(request);
        let mut usage = Usage::default();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let req = self.generate_request(request, prompt.clone(), attempts - 1)?;
            let generation = self.engine.generate(req).await.map_err(to_model_error)?;
            usage.input_tokens += generation.prompt_tokens as u64;
            usage.output_tokens += generation.output_tokens as u64;
            let mut resp = answer(&generation, request, self.calls.fetch_add(1, Ordering::Relaxed));
            if let Some(next) = &generation.logprobs {
                resp.logprobs = crate::logprobs::to_response(next, self.engine.tokenizer());
            }
            if forced && resp.tool_calls.is_empty() && attempts < FORCED_ATTEMPTS {
                tracing::debug!(attempts, "local model gave no readable tool call; trying again");
                continue;
            }
            resp.usage = usage;
            return Ok(resp);
        }
    }
}

/// Whether the answer must be a tool call: a named or required tool, or
/// `Auto` for an agent that acts only through tools (see the module docs).
fn is_forced(request: &ChatRequest) -> bool {
    !request.tools.is_empty()
        && (matches!(request.tool_choice, ToolChoice::Tool(_) | ToolChoice::Required)
            || (request.tool_choice == ToolChoice::Auto
                && request.tools.iter().any(|t| t.name == ENDS_CONVERSATION)))
}

/// The [`ChatResponse`] for a finished generation.
fn answer(g: &Generation, request: &ChatRequest, call_number: u64) -> ChatResponse {
    let finish = match g.finish {
        Finish::Length => "length",
        Finish::Stop | Finish::Json => "stop",
    };
    let mut resp = ChatResponse {
        content: g.text.clone(),
        finish_reason: Some(finish.to_string()),
        ..ChatResponse::default()
    };
    if request.tools.is_empty() || request.tool_choice == ToolChoice::None {
        return resp;
    }
    let found = if g.json {
        serde_json::from_str::<Value>(&g.text).ok().map(|v| (0, v))
    } else {
        first_json_object(&g.text)
    };
    let Some((start, value)) = found else { return resp };
    let Some(name) = value.get("name").and_then(Value::as_str) else { return resp };
    let Some(tool) = request.tools.iter().find(|t| t.name == name) else { return resp };
    let args = value.get("arguments").or_else(|| value.get("parameters")).cloned();
    let args = repair(args.unwrap_or(Value::Null), &Schema::from_json(&tool.parameters));
    resp.content = if g.json { String::new() } else { g.text[..start].trim().to_string() };
    resp.tool_calls.push(ToolCall {
        id: format!("call_{call_number}"),
        name: tool.name.clone(),
        arguments: args.to_string(),
    });
    // A call cut off at the token limit was closed by the guide with
    // default values: say so, so callers never take those defaults for the
    // model's answer.
    let cut = g.finish == Finish::Length;
    resp.finish_reason = Some(if cut { "length" } else { "tool_calls" }.into());
    resp
}

/// The first JSON object in `text` and where it starts.
pub(crate) fn first_json_object(text: &str) -> Option<(usize, Value)> {
    for (i, _) in text.match_indices('{') {
        let mut it = serde_json::Deserializer::from_str(&text[i..]).into_iter::<Value>();
        if let Some(Ok(v @ Value::Object(_))) = it.next() {
            return Some((i, v));
        }
    }
    None
}

/// Messages as the template will see them: tools described in the system
/// message, tool calls and results written out as text, and consecutive
/// messages of one role merged (some templates insist on alternation).
fn template_messages(request: &ChatRequest) -> Vec<TemplateMessage> {
    let mut out: Vec<TemplateMessage> = Vec::new();
    let tools = tools_section(request);
    let mut names: HashMap<&str, &str> = HashMap::new();
    for m in &request.messages {
        for c in &m.tool_calls {
            names.insert(c.id.as_str(), c.name.as_str());
        }
    }
    let mut push = |role: &str, content: String| match out.last_mut() {
        Some(last) if last.role == role => {
            last.content.push_str("\n\n");
            last.content.push_str(&content);
        }
        _ => out.push(TemplateMessage { role: role.to_string(), content }),
    };
    let mut system_done = tools.is_none();
    for m in &request.messages {
        match m.role {
            Role::System => {
                let mut content = m.content.to_string();
                // Tools first: the caller's own instructions stay closest
                // to the answer, which small models follow better.
                if let Some(t) = &tools
                    && !system_done
                {
                    content = format!("{t}\n\n{content}");
                    system_done = true;
                }
                push("system", content);
            }
            Role::User => push("user", m.content.to_string()),
            Role::Assistant => push("assistant", assistant_text(m)),
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or("");
                let name = names.get(id).copied().unwrap_or("the tool");
                push("user", format!("Result of {name}:\n{}", m.content));
            }
        }
    }
    if let Some(t) = tools
        && !system_done
    {
        out.insert(0, TemplateMessage { role: "system".into(), content: t });
    }
    out
}

fn assistant_text(m: &Message) -> String {
    let mut text = m.content.to_string();
    for c in &m.tool_calls {
        let args: Value = c.parse_arguments().unwrap_or(Value::String(c.arguments.clone()));
        let call = serde_json::json!({"name": c.name, "arguments": args});
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&call.to_string());
    }
    text
}

/// The system-prompt section that presents the tools and the call format.
fn tools_section(request: &ChatRequest) -> Option<String> {
    if request.tools.is_empty() || request.tool_choice == ToolChoice::None {
        return None;
    }
    let mut s = String::from("# Tools\n\nYou can use these tools:\n");
    for t in &request.tools {
        s.push_str(&format!(
            "\n- {}: {}\n  arguments (JSON Schema): {}\n",
            t.name, t.description, t.parameters
        ));
    }
    s.push_str(
        "\nTo use a tool, reply with one JSON object and nothing else:\n{\"name\": \"TOOL_NAME\", \"arguments\": {...}}\n",
    );
    match &request.tool_choice {
        ToolChoice::Tool(name) => s.push_str(&format!("\nCall the tool {name} now.")),
        ToolChoice::Required => s.push_str("\nReply with a tool call now."),
        _ => s.push_str("\nOtherwise, reply in plain text."),
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use agar_core::Message;
    use serde_json::json;

    fn tool(name: &str) -> ToolDef {
        ToolDef {
            name: name.into(),
            description: format!("does {name}").into(),
            parameters: json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 5}}, "required": ["n"]}).into(),
        }
    }

    #[test]
    fn tools_go_into_the_system_message_and_results_become_user_turns() {
        let mut call_msg = Message::assistant("");
        call_msg.tool_calls.push(ToolCall {
            id: "c1".into(),
            name: "count".into(),
            arguments: "{\"n\":2}".into(),
        });
        let req = ChatRequest {
            messages: vec![
                Message::system("Be useful."),
                Message::user("Count."),
                call_msg,
                Message::tool("c1", "done"),
                Message::user("Again."),
            ],
            tools: vec![tool("count")],
            ..ChatRequest::default()
        };
        let msgs = template_messages(&req);
        let roles: Vec<&str> = msgs.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        assert!(msgs[0].content.starts_with("# Tools"));
        assert!(msgs[0].content.ends_with("\n\nBe useful."));
        assert!(msgs[0].content.contains("- count: does count"));
        assert_eq!(msgs[2].content, r#"{"arguments":{"n":2},"name":"count"}"#);
        assert_eq!(msgs[3].content, "Result of count:\ndone\n\nAgain.");
    }

    #[test]
    fn a_call_in_free_text_is_found_and_repaired() {
        let g = Generation {
            text: "Sure. {\"name\": \"count\", \"arguments\": {\"n\": 99}} ok".into(),
            json: false,
            prompt_tokens: 3,
            output_tokens: 4,
            tokens: Vec::new(),
            finish: Finish::Stop,
            hidden: Vec::new(),
            logprobs: None,
            timings: Default::default(),
        };
        let req = ChatRequest { tools: vec![tool("count")], ..ChatRequest::default() };
        let r = answer(&g, &req, 7);
        assert_eq!(r.content, "Sure.");
        assert_eq!(r.tool_calls.len(), 1);
        assert_eq!(r.tool_calls[0].id, "call_7");
        assert_eq!(r.tool_calls[0].arguments, r#"{"n":5}"#);
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
    }

    #[test]
    fn text_without_a_call_stays_text() {
        let g = Generation {
            text: "I would rather talk.".into(),
            json: false,
            prompt_tokens: 3,
            output_tokens: 4,
            tokens: Vec::new(),
            finish: Finish::Stop,
            hidden: Vec::new(),
            logprobs: None,
            timings: Default::default(),
        };
        let req = ChatRequest { tools: vec![tool("count")], ..ChatRequest::default() };
        let r = answer(&g, &req, 1);
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.content, "I would rather talk.");
    }
}
