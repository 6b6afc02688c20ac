//! The target's side of an audit: driving the target through its tool-call
//! loop, the simulated environment's answers, and the realism filter.

use super::*;
use agar_core::Origin;

use crate::environment::{self, EnvContext};
use crate::realism;

impl Audit<'_> {
    /// Calls the target until it answers in text, runs out of steps, or waits
    /// for the auditor to answer its tool calls. Appends what happened to `out`.
    pub(crate) async fn drive_target(
        &mut self,
        mut prefill: Option<String>,
        out: &mut String,
    ) -> Result<(), Stop> {
        // One request for the whole loop; each step lends it the target's
        // conversation for the call instead of copying it.
        let mut request = ChatRequest {
            messages: Vec::new(),
            tools: self.rec.tools().iter().map(|t| t.def.clone()).collect(),
            tool_choice: ToolChoice::Auto,
            sampling: self.settings.target_sampling.clone(),
            prefill: None,
            grounding: None,
            logprobs: None,
        };
        for _ in 0..self.settings.max_target_steps.max(1) {
            request.messages = self.rec.lend_target_messages();
            request.prefill.clone_from(&prefill);
            let resp = self.call(RoleName::Target, &request).await;
            self.rec.return_target_messages(std::mem::take(&mut request.messages));
            let resp = resp?;
            let mut reply = resp.to_message();
            if let Some(p) = &prefill {
                reply.content = format!("{p}{}", reply.content).into();
            }
            let reply_id = self.rec.target_message(reply.clone(), prefill.take(), None);
            if let Some(reasoning) = reply.reasoning.as_deref().filter(|r| !r.trim().is_empty()) {
                out.push_str(&format!(
                    "<target_reasoning id=\"{reply_id}\" visible_to_target_user=\"no\">\n\
                     (The target's private reasoning before this reply: its user never sees it.)\n\
                     {reasoning}\n</target_reasoning>\n"
                ));
            }
            out.push_str(&format!(
                "<target_response id=\"{reply_id}\">\n{}\n</target_response>\n",
                reply.content
            ));
            if reply.tool_calls.is_empty() {
                return Ok(());
            }
            for c in &reply.tool_calls {
                out.push_str(&format!(
                    "<target_tool_call id=\"{}\" name=\"{}\">{}</target_tool_call>\n",
                    c.id, c.name, c.arguments
                ));
            }
            if self.models.environment.is_none() {
                out.push_str(&format!(
                    "The target is waiting for the results of {}: answer each with send_tool_call_result.\n",
                    ids(&reply.tool_calls)
                ));
                return Ok(());
            }
            for c in &reply.tool_calls {
                let (output, is_error, state, note) = if self
                    .rec
                    .tools()
                    .iter()
                    .any(|t| t.def.name == c.name)
                {
                    let a = self.environment_answer(c).await?;
                    (a.output, a.is_error, Some(a.state), a.note)
                } else {
                    (format!("Error: no tool named {:?} is available", c.name), true, None, None)
                };
                let content = if is_error && !output.starts_with("Error") {
                    format!("Error: {output}")
                } else {
                    output
                };
                let id = self.rec.target_message(
                    Message::tool(c.id.clone(), content.clone()),
                    None,
                    Some(Origin::Environment),
                );
                if let Some(state) = state {
                    self.rec.set_world_state(&id, state, note);
                }
                out.push_str(&format!(
                    "<tool_result id=\"{id}\" call=\"{}\">\n{content}\n</tool_result>\n",
                    c.id
                ));
            }
        }
        out.push_str(&format!(
            "The target reached the limit of {} steps for one turn and was stopped.\n",
            self.settings.max_target_steps
        ));
        Ok(())
    }

    /// Asks the environment model to answer one call, with bounded retries for
    /// invalid (or, with the realism filter, unrealistic) answers; after them
    /// the target gets an explicit tool error and the state is kept.
    pub(super) async fn environment_answer(
        &mut self,
        call: &ToolCall,
    ) -> Result<environment::EnvAnswer, Stop> {
        let Some(model) = self.models.environment.clone() else {
            return Err(Stop::Fatal {
                role: RoleName::Environment,
                error: ModelError::Config("no environment model".into()),
            });
        };
        let state = self.rec.world_state().clone();
        let history = self.call_history();
        let tools = self.rec.tools().to_vec();
        let path = self.rec.path();
        let target_system =
            path.first().filter(|(_, m)| m.role == Role::System).map(|(_, m)| m.content.clone());
        let conversation = recent_conversation(path.iter().map(|(_, m)| m));
        let ctx = EnvContext {
            scenario_environment: self.scenario.environment.as_deref(),
            tools: &tools,
            briefings: &self.briefings,
            target_system: target_system.as_deref(),
            conversation,
            state: &state,
            history,
            call,
        };
        let mut request =
            environment::request(self.prompts, &ctx, &self.settings.environment_sampling)
                .map_err(prompt_error)?;
        let attempts = self.settings.environment_attempts.max(1);
        let mut last_error = String::new();
        for attempt in 1..=attempts {
            let resp = self.call_model(RoleName::Environment, &model, &request).await?;
            let e = match environment::parse(&resp.tool_calls, &state) {
                Ok(answer) => {
                    // With the realism filter on, the environment's outputs are
                    // scored too; a low score is sent back for another try while
                    // attempts remain.
                    let action =
                        format!("output of {}({}):\n{}", call.name, call.arguments, answer.output);
                    match self.realism_check("environment", &action).await? {
                        Some(refusal) if attempt < attempts => refusal,
                        _ => return Ok(answer),
                    }
                }
                Err(e) => {
                    last_error = e.clone();
                    e
                }
            };
            request.messages.push(resp.to_message());
            for c in &resp.tool_calls {
                request.messages.push(Message::tool(c.id.clone(), format!("error: {e}")));
            }
            if resp.tool_calls.is_empty() {
                request.messages.push(Message::user(format!("error: {e}")));
            }
        }
        // Never the model's raw text: the target gets an explicit tool error,
        // and the transcript says why.
        Ok(environment::EnvAnswer {
            output: "Error: the service did not return a response; try again later".to_string(),
            is_error: true,
            state,
            note: Some(format!(
                "environment failure: no valid answer after {attempts} attempts ({last_error}); \
                 the target was given a tool error"
            )),
        })
    }

    /// The tool calls and results on the current branch, oldest first.
    pub(super) fn call_history(&self) -> Vec<(ToolCall, String)> {
        let path = self.rec.path();
        let mut out = Vec::new();
        for (_, m) in path {
            for c in &m.tool_calls {
                if let Some((_, r)) =
                    path.iter().find(|(_, r)| r.tool_call_id.as_deref() == Some(&c.id))
                {
                    out.push((c.clone(), r.content.to_string()));
                }
            }
        }
        out
    }

    /// Runs the realism filter on a proposed action; `Some(message)` refuses it.
    pub(crate) async fn realism_check(
        &mut self,
        tool: &str,
        proposal: &str,
    ) -> Result<Option<String>, Stop> {
        let Some(model) = self.models.realism.clone() else { return Ok(None) };
        let path = self.rec.path();
        let target_system =
            path.first().filter(|(_, m)| m.role == Role::System).map(|(_, m)| m.content.clone());
        let target_tools: Vec<ToolDef> = self.rec.tools().iter().map(|t| t.def.clone()).collect();
        let ctx = realism::RealismContext {
            instructions: &self.scenario.instructions,
            target_system: target_system.as_deref(),
            target_tools: &target_tools,
            conversation: recent_conversation(path.iter().map(|(_, m)| m)),
            tool,
            action: proposal,
            reason: Some(self.auditor_reason.as_str()),
            previous: self.last_rejection.as_ref(),
        };
        let request = realism::request(self.prompts, &ctx, &self.settings.realism_sampling)
            .map_err(prompt_error)?;
        let start = Instant::now();
        let resp = match model.chat(&request).await {
            Ok(r) => {
                self.rec.call_ok(RoleName::Realism, model.name(), &r, start.elapsed());
                r
            }
            Err(e) => {
                self.rec.call_failed(RoleName::Realism, model.name(), &e, start.elapsed());
                self.rec.realism(tool, None, String::new(), true, Some(e.to_string()));
                return Ok(None);
            }
        };
        let parsed = if resp.finish_reason.as_deref() == Some("length") {
            Err("the realism model's answer was cut off at the token limit".to_string())
        } else {
            realism::parse(&resp.tool_calls)
        };
        match parsed {
            Ok(s) if s.score < self.settings.realism_threshold => {
                self.rec.realism(tool, Some(s.score), s.feedback.clone(), false, None);
                self.last_rejection = Some(realism::Rejection {
                    tool: tool.to_string(),
                    action: proposal.to_string(),
                    score: s.score,
                    feedback: s.feedback.clone(),
                });
                Ok(Some(format!(
                    "not sent: the realism filter scored it {:.2} (below {:.2}): {}. Revise it and try again.",
                    s.score, self.settings.realism_threshold, s.feedback
                )))
            }
            Ok(s) => {
                self.rec.realism(tool, Some(s.score), s.feedback, true, None);
                Ok(None)
            }
            Err(e) => {
                self.rec.realism(tool, None, String::new(), true, Some(e));
                Ok(None)
            }
        }
    }
}

/// How many of the target's latest messages the environment and the realism
/// filter see.
const RECENT_MESSAGES: usize = 12;

/// The last [`RECENT_MESSAGES`] user and assistant messages of `path` (tool
/// calls and results are given separately), as (role, text); the system
/// prompt is left out.
pub(super) fn recent_conversation<'m>(
    path: impl Iterator<Item = &'m Message>,
) -> Vec<(String, String)> {
    let all: Vec<(String, String)> = path
        .filter(|m| matches!(m.role, Role::User | Role::Assistant) && !m.content.trim().is_empty())
        .map(|m| (role_name(m.role).to_string(), m.content.to_string()))
        .collect();
    all[all.len().saturating_sub(RECENT_MESSAGES)..].to_vec()
}
