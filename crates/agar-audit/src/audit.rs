//! The audit loop: the auditor acts through its tools until it ends the
//! conversation or runs out of turns; every step is recorded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use agar_core::{
    AuditStatus, ChatModel, ChatRequest, ChatResponse, Message, ModelError, RoleName, Sampling,
    Scenario, ScenarioInfo, ToolCall, ToolChoice, Transcript,
};
use agar_prompts::{Prompts, Template, context};
use tracing::{Instrument, debug, info_span};

use crate::recorder::Recorder;
use crate::tools::{AuditorAction, auditor_tools, parse_action};

/// The models an audit talks to.
#[derive(Debug, Clone)]
pub struct AuditModels {
    pub auditor: Arc<dyn ChatModel>,
    pub target: Arc<dyn ChatModel>,
}

/// How an audit runs.
#[derive(Debug, Clone)]
pub struct AuditSettings {
    /// Auditor turns (a scenario's `max_turns` overrides it).
    pub max_turns: u32,
    pub auditor_sampling: Sampling,
    pub target_sampling: Sampling,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            max_turns: 30,
            auditor_sampling: Sampling::default(),
            target_sampling: Sampling::default(),
        }
    }
}

/// Where the audit sits in its run.
#[derive(Debug, Clone)]
pub struct AuditIds {
    pub run_id: String,
    pub audit_id: String,
    /// Which repeat of the scenario (0-based).
    pub repeat: u32,
}

/// What a tool call did, for the auditor and for the loop.
enum Outcome {
    /// Text returned to the auditor as the tool's result.
    Reply(String),
    /// The auditor made a mistake it can correct; returned as a tool error.
    ToolError(String),
    /// The audit is over.
    End,
}

/// A model call failed past its retries: the audit cannot go on.
struct Fatal {
    role: RoleName,
    error: ModelError,
}

/// Runs one audit of `scenario`. Never fails: the returned transcript's
/// status says how it ended (`done`, `invalid` or `failed` with the cause).
pub async fn run_audit(
    scenario: &Scenario,
    models: &AuditModels,
    settings: &AuditSettings,
    prompts: &Prompts,
    ids: AuditIds,
) -> Transcript {
    let span = info_span!("audit", audit = %ids.audit_id, scenario = %scenario.id);
    async move {
        let info = ScenarioInfo {
            id: scenario.id.clone(),
            title: scenario.title.clone(),
            path: scenario.path.display().to_string(),
            sha256: scenario.sha256.clone(),
            tags: scenario.tags.clone(),
            instructions: scenario.instructions.clone(),
            repeat: ids.repeat,
        };
        let mut model_names = BTreeMap::new();
        model_names.insert(RoleName::Auditor, models.auditor.name().to_string());
        model_names.insert(RoleName::Target, models.target.name().to_string());
        let mut rec = Recorder::new(&ids.run_id, &ids.audit_id, info, model_names);
        let mut audit = Audit { scenario, models, settings, rec: &mut rec };
        let status = match audit.drive(prompts).await {
            Ok(status) => status,
            Err(Fatal { role, error }) => {
                let cause = format!("{role} model failed: {error}");
                rec.end(cause.clone());
                AuditStatus::Failed { cause }
            }
        };
        tracing::info!(status = status.label(), "audit finished");
        rec.finish(status)
    }
    .instrument(span)
    .await
}

struct Audit<'a> {
    scenario: &'a Scenario,
    models: &'a AuditModels,
    settings: &'a AuditSettings,
    rec: &'a mut Recorder,
}

impl Audit<'_> {
    async fn drive(&mut self, prompts: &Prompts) -> Result<AuditStatus, Fatal> {
        let max_turns = self.scenario.max_turns.unwrap_or(self.settings.max_turns).max(1);
        let tools = auditor_tools();
        if let Some(system) = &self.scenario.target_system {
            self.rec.target_message(Message::system(system.clone()), None);
        }
        let render = |t, ctx| {
            prompts.render(t, ctx).map_err(|e| Fatal {
                role: RoleName::Auditor,
                error: ModelError::Config(e.to_string()),
            })
        };
        let tool_list: Vec<_> = tools
            .iter()
            .map(|t| context! { name => t.name.clone(), description => t.description.clone() })
            .collect();
        let target_tools: Vec<String> = Vec::new();
        let system = render(
            Template::AuditorSystem,
            context! {
                instructions => self.scenario.instructions.clone(),
                max_turns => max_turns,
                tools => tool_list,
                fixed_system_prompt => self.scenario.target_system.clone(),
                target_tools => target_tools,
            },
        )?;
        let kickoff = render(
            Template::AuditorKickoff,
            context! { target_model => self.models.target.name().to_string() },
        )?;
        let mut auditor_msgs = vec![Message::system(system), Message::user(kickoff)];
        for m in &auditor_msgs {
            self.rec.auditor_message(m.clone());
        }

        let mut ended = false;
        for turn in 1..=max_turns {
            let request = ChatRequest {
                messages: auditor_msgs.clone(),
                tools: tools.clone(),
                tool_choice: ToolChoice::Auto,
                sampling: self.settings.auditor_sampling.clone(),
                prefill: None,
            };
            let resp = self.call(RoleName::Auditor, &request).await?;
            let msg = resp.to_message();
            self.rec.auditor_message(msg.clone());
            auditor_msgs.push(msg);
            if resp.tool_calls.is_empty() {
                let nudge =
                    render(Template::AuditorNudge, context! { turns_left => max_turns - turn })?;
                self.rec.auditor_message(Message::user(nudge.clone()));
                auditor_msgs.push(Message::user(nudge));
                continue;
            }
            for call in &resp.tool_calls {
                // Every call gets an answer, even after end_conversation, so the
                // auditor's conversation stays well-formed.
                let outcome = if ended {
                    Outcome::ToolError("the conversation has already ended".into())
                } else {
                    self.execute(call).await?
                };
                let text = match outcome {
                    Outcome::Reply(text) => text,
                    Outcome::ToolError(e) => format!("error: {e}"),
                    Outcome::End => {
                        ended = true;
                        "the conversation has ended".to_string()
                    }
                };
                let result = Message::tool(call.id.clone(), text);
                self.rec.auditor_message(result.clone());
                auditor_msgs.push(result);
            }
            if ended {
                self.rec.end("the auditor ended the conversation");
                break;
            }
        }
        if !ended {
            self.rec.end(format!("the auditor used all {max_turns} turns"));
        }
        if !self.rec.transcript().target_replied() {
            return Ok(AuditStatus::Invalid {
                reason: "the auditor never got a reply from the target".into(),
            });
        }
        Ok(AuditStatus::Done)
    }

    async fn execute(&mut self, call: &ToolCall) -> Result<Outcome, Fatal> {
        let action = match parse_action(call) {
            Ok(a) => a,
            Err(e) => return Ok(Outcome::ToolError(e)),
        };
        debug!(tool = %call.name, "auditor action");
        match action {
            AuditorAction::SetSystemMessage { system_message } => {
                if self.scenario.target_system.is_some() {
                    return Ok(Outcome::ToolError(
                        "this scenario fixes the target's system prompt; it cannot be changed"
                            .into(),
                    ));
                }
                if self.rec.target_replied_on_branch() || self.rec.has_system_message() {
                    return Ok(Outcome::ToolError(
                        "the target's conversation has already started; the system message can \
                         only be set before the first message"
                            .into(),
                    ));
                }
                let id = self.rec.target_message(Message::system(system_message), None);
                Ok(Outcome::Reply(format!("system message set as {id}")))
            }
            AuditorAction::SendMessage { message, prefill } => {
                if prefill.is_some() && !self.models.target.capabilities().prefill {
                    return Ok(Outcome::ToolError(format!(
                        "the target's provider ({}) does not support prefill; send the message \
                         without it",
                        self.models.target.name()
                    )));
                }
                let user_id = self.rec.target_message(Message::user(message), None);
                let request = ChatRequest {
                    messages: self.rec.target_messages(),
                    tools: Vec::new(),
                    tool_choice: ToolChoice::Auto,
                    sampling: self.settings.target_sampling.clone(),
                    prefill: prefill.clone(),
                };
                let resp = self.call(RoleName::Target, &request).await?;
                let mut reply = resp.to_message();
                if let Some(p) = &prefill {
                    reply.content = format!("{p}{}", reply.content);
                }
                let reply_id = self.rec.target_message(reply.clone(), prefill);
                Ok(Outcome::Reply(render_target_reply(&user_id, &reply_id, &reply)))
            }
            AuditorAction::EndConversation => Ok(Outcome::End),
        }
    }

    /// One model call, recorded whatever its outcome.
    async fn call(&mut self, role: RoleName, req: &ChatRequest) -> Result<ChatResponse, Fatal> {
        let model = match role {
            RoleName::Target => &self.models.target,
            _ => &self.models.auditor,
        };
        let start = Instant::now();
        match model.chat(req).await {
            Ok(resp) => {
                self.rec.call_ok(role, model.name(), &resp, start.elapsed());
                Ok(resp)
            }
            Err(error) => {
                self.rec.call_failed(role, model.name(), &error, start.elapsed());
                Err(Fatal { role, error })
            }
        }
    }
}

/// What the auditor reads of the target's answer.
fn render_target_reply(user_id: &str, reply_id: &str, reply: &Message) -> String {
    let mut out = format!(
        "Your message is {user_id}. The target replied ({reply_id}):\n<target_response id=\"{reply_id}\">\n{}\n</target_response>",
        reply.content
    );
    for call in &reply.tool_calls {
        out.push_str(&format!(
            "\n<target_tool_call id=\"{}\" name=\"{}\">{}</target_tool_call>",
            call.id, call.name, call.arguments
        ));
    }
    out
}
