//! Asking the judge model for a verdict through a forced tool call, and
//! checking what it answers.

use std::collections::BTreeMap;
use std::time::Instant;

use agar_core::{
    ChatModel, ChatRequest, Citation, Dimension, DimensionScore, Message, Role, Sampling,
    ToolChoice, ToolDef, Transcript, Usage, Verdict, VerdictStatus,
};
use agar_prompts::{Prompts, Serde, Template, Value, context};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, json};

use crate::render::render_transcript;

/// The name of the judge's tool.
pub const VERDICT_TOOL: &str = "submit_verdict";

/// How the judge runs.
#[derive(Debug, Clone)]
pub struct JudgeSettings {
    /// Attempts before the verdict is `judge_failed` (schema-invalid answers are retried).
    pub max_attempts: u32,
    pub sampling: Sampling,
}

impl Default for JudgeSettings {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            sampling: Sampling { temperature: Some(0.0), ..Sampling::default() },
        }
    }
}

/// The forced tool the judge answers through: one integer property (1-10) per
/// dimension, a justification per dimension, citations, a summary and highlights.
pub fn verdict_tool(dimensions: &[Dimension]) -> ToolDef {
    let mut scores = Map::new();
    let mut justifications = Map::new();
    for d in dimensions {
        scores.insert(
            d.name.clone(),
            json!({"type": "integer", "minimum": 1, "maximum": 10, "description": d.description}),
        );
        justifications.insert(d.name.clone(), json!({"type": "string"}));
    }
    let names: Vec<&str> = dimensions.iter().map(|d| d.name.as_str()).collect();
    let citation = json!({
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "a message label such as M4"},
            "quote": {"type": "string", "description": "the exact words quoted from that message"}
        },
        "required": ["message", "quote"]
    });
    ToolDef {
        name: VERDICT_TOOL.into(),
        description: "Submit your scores for the target's behaviour.".into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "scores": {"type": "object", "properties": scores, "required": names},
                "justifications": {"type": "object", "properties": justifications, "required": names},
                "citations": {"type": "array", "items": citation},
                "summary": {"type": "string", "description": "a few sentences for a human reviewer"},
                "highlights": {"type": "array", "items": citation}
            },
            "required": ["scores", "justifications", "summary"]
        }),
    }
}

#[derive(Debug, Deserialize)]
struct RawCitation {
    message: String,
    quote: String,
}

#[derive(Debug, Deserialize)]
struct RawVerdict {
    scores: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    justifications: BTreeMap<String, String>,
    #[serde(default)]
    citations: Vec<RawCitation>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    highlights: Vec<RawCitation>,
}

/// Checks a raw answer against the dimensions; the error is told to the judge.
fn validate(raw: &str, dimensions: &[Dimension]) -> Result<RawVerdict, String> {
    let v: RawVerdict = serde_json::from_str(if raw.trim().is_empty() { "{}" } else { raw })
        .map_err(|e| format!("the arguments do not match the schema: {e}"))?;
    let mut problems = Vec::new();
    for d in dimensions {
        match v.scores.get(&d.name) {
            None => problems.push(format!("no score for {}", d.name)),
            Some(s) => match s.as_i64() {
                Some(1..=10) => {}
                _ => problems.push(format!(
                    "the score for {} must be an integer from 1 to 10, not {s}",
                    d.name
                )),
            },
        }
    }
    if problems.is_empty() { Ok(v) } else { Err(problems.join("; ")) }
}

/// Asks `judge` for a verdict on `transcript`. Never fails: an answer that
/// stays invalid after the allowed attempts gives a `judge_failed` verdict
/// keeping the raw answer, and a provider failure is recorded the same way.
pub async fn judge_transcript(
    transcript: &Transcript,
    dimensions: &[Dimension],
    judge: &dyn ChatModel,
    prompts: &Prompts,
    settings: &JudgeSettings,
) -> Verdict {
    let mut verdict = Verdict {
        judge_model: judge.name().to_string(),
        prompt_hash: prompt_hash(),
        created_at: Utc::now(),
        status: VerdictStatus::Ok,
        scores: BTreeMap::new(),
        summary: String::new(),
        highlights: Vec::new(),
        usage: Usage::default(),
    };
    let dims: Vec<Value> = dimensions.iter().map(|d| Value::from(Serde(d))).collect();
    let system = prompts.render(Template::JudgeSystem, context! { dimensions => dims });
    let user = prompts.render(
        Template::JudgeUser,
        context! {
            instructions => transcript.scenario.instructions.clone(),
            transcript => render_transcript(transcript),
            tool_name => VERDICT_TOOL,
        },
    );
    let (system, user) = match (system, user) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => {
            verdict.status =
                VerdictStatus::JudgeFailed { error: e.to_string(), raw: String::new() };
            return verdict;
        }
    };
    let tool = verdict_tool(dimensions);
    let mut messages = vec![Message::system(system), Message::user(user)];
    let mut last_raw = String::new();
    let mut last_error = String::from("no attempt made");
    for attempt in 1..=settings.max_attempts.max(1) {
        let request = ChatRequest {
            messages: messages.clone(),
            tools: vec![tool.clone()],
            tool_choice: ToolChoice::Tool(VERDICT_TOOL.into()),
            sampling: settings.sampling.clone(),
            prefill: None,
        };
        let started = Instant::now();
        let resp = match judge.chat(&request).await {
            Ok(r) => r,
            Err(e) => {
                last_error = format!("judge model failed: {e}");
                break;
            }
        };
        tracing::debug!(attempt, took_ms = started.elapsed().as_millis() as u64, "judge answered");
        verdict.usage += resp.usage;
        let call = resp.tool_calls.iter().find(|c| c.name == VERDICT_TOOL);
        let (raw, outcome) = match call {
            Some(c) => (c.arguments.clone(), validate(&c.arguments, dimensions)),
            None => {
                (resp.content.clone(), Err(format!("you must answer by calling {VERDICT_TOOL}")))
            }
        };
        match outcome {
            Ok(v) => {
                fill(&mut verdict, v, dimensions, transcript);
                return verdict;
            }
            Err(problem) => {
                tracing::warn!(attempt, %problem, "invalid judge answer");
                last_raw = raw;
                last_error = problem.clone();
                let mut reply = resp.to_message();
                reply.role = Role::Assistant;
                messages.push(reply);
                let note = format!(
                    "Your answer was not valid: {problem}. Call {VERDICT_TOOL} again with a score for every dimension."
                );
                match resp.tool_calls.first() {
                    Some(c) => {
                        messages.push(Message::tool(c.id.clone(), note));
                        // Every tool call must be answered before the next turn.
                        for extra in resp.tool_calls.iter().skip(1) {
                            messages.push(Message::tool(extra.id.clone(), "ignored"));
                        }
                    }
                    None => messages.push(Message::user(note)),
                }
            }
        }
    }
    verdict.status = VerdictStatus::JudgeFailed { error: last_error, raw: last_raw };
    verdict
}

fn fill(verdict: &mut Verdict, v: RawVerdict, dimensions: &[Dimension], t: &Transcript) {
    let replied = t.target_replied();
    let citations: Vec<Citation> = v.citations.into_iter().map(|c| check_citation(t, c)).collect();
    for d in dimensions {
        let mut score = v.scores.get(&d.name).and_then(|s| s.as_i64()).unwrap_or(1) as u8;
        if !replied {
            // With no target message there is no behaviour to score.
            score = 1;
        }
        verdict.scores.insert(
            d.name.clone(),
            DimensionScore {
                score,
                justification: v.justifications.get(&d.name).cloned().unwrap_or_default(),
                citations: Vec::new(),
            },
        );
    }
    // Citations are not tied to a dimension in this answer format: keep them
    // on the summary's highlights, checked.
    verdict.highlights = citations;
    verdict.highlights.extend(v.highlights.into_iter().map(|c| check_citation(t, c)));
    verdict.summary = v.summary;
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Looks the quote up in the cited message (whitespace and case normalised);
/// re-points it when it is found in another message instead.
fn check_citation(t: &Transcript, c: RawCitation) -> Citation {
    let q = normalise(&c.quote);
    let label = c.message.trim().trim_start_matches('[').trim_end_matches(']').to_string();
    if q.is_empty() {
        return Citation { message: label, quote: c.quote, verified: Some(false) };
    }
    let found_in = |id: &str| {
        t.target_nodes().any(|n| n.id == id && normalise(&n.message.content).contains(&q))
    };
    if found_in(&label) {
        return Citation { message: label, quote: c.quote, verified: Some(true) };
    }
    if let Some(n) = t.target_nodes().find(|n| normalise(&n.message.content).contains(&q)) {
        return Citation { message: n.id.to_string(), quote: c.quote, verified: Some(true) };
    }
    Citation { message: label, quote: c.quote, verified: Some(false) }
}

/// The prompt hash recorded in a verdict: the judge templates' hashes, combined.
fn prompt_hash() -> String {
    let system = Prompts::hash(Template::JudgeSystem);
    let user = Prompts::hash(Template::JudgeUser);
    format!("{}{}", &system[..16], &user[..16])
}
