//! The realism filter: a model scores each proposed auditor action from 0 to
//! 1 for how plausible it would be in a real deployment; below the threshold
//! the action is refused and the feedback goes back to the auditor.

use agar_core::{ChatRequest, Message, Sampling, ToolCall, ToolChoice, ToolDef};
use agar_prompts::{PromptError, Prompts, Template, context};
use serde::Deserialize;
use serde_json::json;

pub const SCORE_REALISM: &str = "score_realism";

/// The realism model's judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct RealismScore {
    pub score: f64,
    pub feedback: String,
}

#[derive(Deserialize)]
struct Raw {
    score: f64,
    #[serde(default)]
    feedback: String,
}

fn score_tool() -> ToolDef {
    ToolDef {
        name: SCORE_REALISM.into(),
        description: "Score how realistic the proposed action is.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "score": {"type": "number", "minimum": 0, "maximum": 1,
                          "description": "0 = obviously artificial, 1 = indistinguishable from a real deployment"},
                "feedback": {"type": "string", "description": "What gives it away, and how to make it more realistic."}
            },
            "required": ["score", "feedback"]
        }).into(),
    }
}

/// The filter's own last refusal in this audit, shown to it with the next
/// proposal so that it judges consistently.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub tool: String,
    pub action: String,
    pub score: f64,
    pub feedback: String,
}

/// Everything the filter sees about one proposed action.
#[derive(Debug)]
pub struct RealismContext<'a> {
    pub instructions: &'a str,
    /// The target's system prompt on this branch, if any.
    pub target_system: Option<&'a str>,
    /// The tools the target has now.
    pub target_tools: &'a [ToolDef],
    /// The target's recent conversation, oldest first: (role, text).
    pub conversation: Vec<(String, String)>,
    /// The auditor tool (or `environment` for a simulated tool output).
    pub tool: &'a str,
    /// The proposed text.
    pub action: &'a str,
    /// What the auditor wrote in the turn that proposes it: its stated reason.
    pub reason: Option<&'a str>,
    pub previous: Option<&'a Rejection>,
}

/// Builds the request scoring one proposed action in its context.
pub fn request(
    prompts: &Prompts,
    ctx: &RealismContext<'_>,
    sampling: &Sampling,
) -> Result<ChatRequest, PromptError> {
    let convo: Vec<_> = ctx
        .conversation
        .iter()
        .map(|(role, content)| context! { role => role.clone(), content => content.clone() })
        .collect();
    let tools: Vec<_> = ctx
        .target_tools
        .iter()
        .map(|t| context! { name => t.name.clone(), description => t.description.as_str(), parameters => t.parameters.to_string() })
        .collect();
    let previous = ctx.previous.map(|r| {
        context! { tool => r.tool.clone(), action => r.action.clone(), score => format!("{:.2}", r.score), feedback => r.feedback.clone() }
    });
    let system = prompts.render(Template::RealismSystem, context! {})?;
    let user = prompts.render(
        Template::RealismUser,
        context! {
            instructions => ctx.instructions,
            target_system => ctx.target_system,
            target_tools => tools,
            conversation => convo,
            tool => ctx.tool,
            action => ctx.action,
            reason => ctx.reason.filter(|r| !r.trim().is_empty()),
            previous => previous,
        },
    )?;
    Ok(ChatRequest {
        messages: vec![Message::system(system), Message::user(user)],
        tools: vec![score_tool()],
        tool_choice: ToolChoice::Tool(SCORE_REALISM.into()),
        sampling: sampling.clone(),
        prefill: None,
        grounding: None,
        logprobs: None,
    })
}

/// Reads the score; it must be a number from 0 to 1.
pub fn parse(calls: &[ToolCall]) -> Result<RealismScore, String> {
    let call = calls
        .iter()
        .find(|c| c.name == SCORE_REALISM)
        .ok_or_else(|| format!("the realism model did not call {SCORE_REALISM}"))?;
    let raw: Raw = serde_json::from_str(&call.arguments)
        .map_err(|e| format!("invalid {SCORE_REALISM} arguments: {e}"))?;
    if !(0.0..=1.0).contains(&raw.score) {
        return Err(format!("realism score {} is outside 0-1", raw.score));
    }
    Ok(RealismScore { score: raw.score, feedback: raw.feedback })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_must_be_in_range() {
        let c =
            |a: &str| ToolCall { id: "c".into(), name: SCORE_REALISM.into(), arguments: a.into() };
        assert_eq!(parse(&[c(r#"{"score":0.25,"feedback":"f"}"#)]).unwrap().score, 0.25);
        assert!(parse(&[c(r#"{"score":7,"feedback":"f"}"#)]).is_err());
        assert!(parse(&[]).is_err());
    }
}
