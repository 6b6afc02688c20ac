//! The simulated environment: a model that answers the target's tool calls
//! from the tool definitions, their hidden descriptions, the scenario's
//! `environment`, the auditor's briefings, the target's system prompt and
//! recent conversation, and an explicit world state, which it changes with
//! an RFC 7396 merge patch in every answer.

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
    /// The whole world state after the call (the previous one with the
    /// answer's patch applied).
    pub state: Value,
    /// The environment's private note (why it answered so), if any.
    pub note: Option<String>,
}

#[derive(Deserialize)]
struct RawAnswer {
    output: String,
    #[serde(default)]
    is_error: bool,
    /// An RFC 7396 merge patch to the world state.
    #[serde(default)]
    state_patch: Option<Value>,
    /// A whole new world state (accepted in place of a patch).
    #[serde(default)]
    world_state: Option<Value>,
    #[serde(default)]
    note: Option<String>,
}

/// The tool the environment model is forced to call.
pub fn respond_tool() -> ToolDef {
    ToolDef {
        name: RESPOND.into(),
        description: "Give the tool's output and how the world state changes.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "output": {"type": "string", "description": "Exactly what the tool returns to the agent."},
                "is_error": {"type": "boolean", "description": "The call failed (bad arguments, missing resource...)."},
                "state_patch": {"type": "object", "description": "What this call changes in the world state, as a JSON merge patch (RFC 7396): keys to add or replace, null to delete; {} when nothing changes."},
                "note": {"type": "string", "description": "Private: anything a reviewer should know about this answer."}
            },
            "required": ["output", "state_patch"]
        }).into(),
    }
}

/// Everything the environment is told for one call.
#[derive(Debug)]
pub struct EnvContext<'a> {
    pub scenario_environment: Option<&'a str>,
    pub tools: &'a [TargetTool],
    pub briefings: &'a [String],
    /// The target's system prompt on this branch, if it has one.
    pub target_system: Option<&'a str>,
    /// The target's recent conversation up to the call, oldest first: (role, text).
    pub conversation: Vec<(String, String)>,
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
                description => t.def.description.as_str(),
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
            target_system => ctx.target_system,
        },
    )?;
    let history: Vec<_> = ctx
        .history
        .iter()
        .map(|(c, out)| context! { name => c.name.clone(), arguments => c.arguments.clone(), output => out.clone() })
        .collect();
    let state = serde_json::to_string_pretty(ctx.state).unwrap_or_else(|_| "{}".into());
    let conversation: Vec<_> = ctx
        .conversation
        .iter()
        .map(|(role, text)| context! { role => role.clone(), text => text.clone() })
        .collect();
    let user = prompts.render(
        Template::EnvironmentCall,
        context! {
            conversation => conversation,
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
        grounding: None,
        logprobs: None,
    })
}

/// Reads the environment's answer and applies its merge patch to `previous`.
/// A whole `world_state` object is accepted instead of a patch; with neither
/// (or a patch that is not an object) the previous state is kept and the
/// note says so. A missing call is an error to retry.
pub fn parse(calls: &[ToolCall], previous: &Value) -> Result<EnvAnswer, String> {
    let call = calls
        .iter()
        .find(|c| c.name == RESPOND)
        .ok_or_else(|| format!("answer by calling {RESPOND}"))?;
    let raw: RawAnswer = serde_json::from_str(&call.arguments)
        .map_err(|e| format!("the arguments of {RESPOND} are invalid: {e}"))?;
    let kept = |note: Option<String>| {
        Some(match note {
            Some(n) => format!("{n} (no valid state change returned; the previous state is kept)"),
            None => "no valid state change returned; the previous state is kept".into(),
        })
    };
    let (state, note) = match (raw.state_patch, raw.world_state) {
        (Some(patch @ Value::Object(_)), _) => {
            let mut state = previous.clone();
            json_patch::merge(&mut state, &patch);
            (state, raw.note)
        }
        (_, Some(s @ Value::Object(_))) => (s, raw.note),
        _ => (previous.clone(), kept(raw.note)),
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
        assert!(a.note.unwrap().contains("previous state is kept"));
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let prev = json!({"files": {"a.txt": "1", "b.txt": "2"}, "mail": {"unread": 3}});
        let patch = json!({"files": {"b.txt": null, "c.txt": "3"}, "mail": {"unread": 2}});
        let a = parse(&[call(json!({"output": "ok", "state_patch": patch}))], &prev).unwrap();
        assert_eq!(a.state, json!({"files": {"a.txt": "1", "c.txt": "3"}, "mail": {"unread": 2}}));
        let same = parse(&[call(json!({"output": "ok", "state_patch": {}}))], &prev).unwrap();
        assert_eq!(same.state, prev);
        assert_eq!(same.note, None);
    }

    #[test]
    fn no_call_or_bad_json_is_an_error() {
        assert!(parse(&[], &json!({})).is_err());
        let bad = ToolCall { id: "c".into(), name: RESPOND.into(), arguments: "{".into() };
        assert!(parse(&[bad], &json!({})).is_err());
    }
}
