//! The simulated environment: a model that answers the target's tool calls
//! from the tool definitions, their hidden descriptions, the scenario's
//! `environment`, the auditor's briefings and an explicit world state, which
//! it returns updated with every answer.

use agar_core::scenario::TargetTool;
use agar_core::{ChatRequest, Message, Sampling, ToolCall, ToolChoice, ToolDef};
use agar_prompts::{PromptError, Prompts, Template, context};
use serde::Deserialize;
use serde_json::{Value, json};

/// The name of the environment's answering tool.
pub const RESPOND: &str = "respond";

/// What the environment answered for one call.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvAnswer {
    /// The tool's output, as the real tool would print it.
    pub output: String,
    pub is_error: bool,
    /// The whole world state after the call.
    pub state: Value,
    /// The environment's private note (why it answered so), if any.
    pub note: Option<String>,
}

#[derive(Deserialize)]
struct RawAnswer {
    output: String,
    #[serde(default)]
    is_error: bool,
    world_state: Option<Value>,
    #[serde(default)]
    note: Option<String>,
}

/// The tool the environment model is forced to call.
pub fn respond_tool() -> ToolDef {
    ToolDef {
        name: RESPOND.into(),
        description: "Give the tool's output and the updated world state.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "output": {"type": "string", "description": "Exactly what the tool returns to the agent."},
                "is_error": {"type": "boolean", "description": "The call failed (bad arguments, missing resource...)."},
                "world_state": {"type": "object", "description": "The complete world state after this call, as JSON."},
                "note": {"type": "string", "description": "Private: anything a reviewer should know about this answer."}
            },
            "required": ["output", "world_state"]
        }),
    }
}

/// Everything the environment is told for one call.
#[derive(Debug)]
pub struct EnvContext<'a> {
    pub scenario_environment: Option<&'a str>,
    pub tools: &'a [TargetTool],
    pub briefings: &'a [String],
    pub state: &'a Value,
    /// Earlier calls and their outputs on this branch, oldest first.
    pub history: Vec<(ToolCall, String)>,
    pub call: &'a ToolCall,
}

/// Builds the request to the environment model.
pub fn request(
    prompts: &Prompts,
    ctx: &EnvContext<'_>,
    sampling: &Sampling,
) -> Result<ChatRequest, PromptError> {
    let tools: Vec<_> = ctx
        .tools
        .iter()
        .map(|t| {
            context! {
                name => t.def.name.clone(),
                description => t.def.description.clone(),
                parameters => t.def.parameters.to_string(),
                environment => t.environment.clone(),
            }
        })
        .collect();
    let system = prompts.render(
        Template::EnvironmentSystem,
        context! {
            scenario_environment => ctx.scenario_environment,
            tools => tools,
            briefings => ctx.briefings.to_vec(),
        },
    )?;
    let history: Vec<_> = ctx
        .history
        .iter()
        .map(|(c, out)| context! { name => c.name.clone(), arguments => c.arguments.clone(), output => out.clone() })
        .collect();
    let state = serde_json::to_string_pretty(ctx.state).unwrap_or_else(|_| "{}".into());
    let user = prompts.render(
        Template::EnvironmentCall,
        context! {
            history => history,
            state => state,
            name => ctx.call.name.clone(),
            arguments => ctx.call.arguments.clone(),
        },
    )?;
    Ok(ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        tools: vec![respond_tool()],
        tool_choice: ToolChoice::Tool(RESPOND.into()),
        sampling: sampling.clone(),
        prefill: None,
        logprobs: None,
    })
}

/// Reads the environment's answer. A missing or non-object world state keeps
/// the previous one (said in the note); a missing call is an error to retry.
pub fn parse(calls: &[ToolCall], previous: &Value) -> Result<EnvAnswer, String> {
    let call = calls
        .iter()
        .find(|c| c.name == RESPOND)
        .ok_or_else(|| format!("answer by calling {RESPOND}"))?;
    let raw: RawAnswer = serde_json::from_str(&call.arguments)
        .map_err(|e| format!("the arguments of {RESPOND} are invalid: {e}"))?;
    let (state, note) = match raw.world_state {
        Some(s @ Value::Object(_)) => (s, raw.note),
        _ => (
            previous.clone(),
            Some(match raw.note {
                Some(n) => format!("{n} (no valid world state returned; the previous one is kept)"),
                None => "no valid world state returned; the previous one is kept".into(),
            }),
        ),
    };
    Ok(EnvAnswer { output: raw.output, is_error: raw.is_error, state, note })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: Value) -> ToolCall {
        ToolCall { id: "c".into(), name: RESPOND.into(), arguments: args.to_string() }
    }

    #[test]
    fn parses_an_answer_with_state() {
        let a = parse(
            &[call(json!({"output": "ok", "world_state": {"files": {"a": "1"}}}))],
            &json!({}),
        )
        .unwrap();
        assert_eq!(a.output, "ok");
        assert_eq!(a.state, json!({"files": {"a": "1"}}));
        assert!(!a.is_error);
    }

    #[test]
    fn keeps_the_previous_state_when_none_is_given() {
        let prev = json!({"x": 1});
        let a = parse(&[call(json!({"output": "ok", "world_state": "oops"}))], &prev).unwrap();
        assert_eq!(a.state, prev);
        assert!(a.note.unwrap().contains("previous one is kept"));
    }

    #[test]
    fn no_call_or_bad_json_is_an_error() {
        assert!(parse(&[], &json!({})).is_err());
        let bad = ToolCall { id: "c".into(), name: RESPOND.into(), arguments: "{".into() };
        assert!(parse(&[bad], &json!({})).is_err());
    }
}
