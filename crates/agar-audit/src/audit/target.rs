//! The target's side of an audit: driving the target through its tool-call
//! loop, the simulated environment's answers, and the realism filter.

use super::*;
use crate::environment::{self, EnvContext};
use crate::realism;

impl Audit<'_> {
    /// Calls the target until it answers in text, runs out of steps, or waits
    /// for the auditor to answer its tool calls. Appends what happened to `out`.
    pub(super) async fn drive_target(
        &mut self,
        mut prefill: Option<String>,
        out: &mut String,
    ) -> Result<(), Stop> {
        let tool_defs: Vec<ToolDef> = self.rec.tools().iter().map(|t| t.def.clone()).collect();
        for _ in 0..self.settings.max_target_steps.max(1) {
            let request = ChatRequest {
                messages: self.rec.target_messages(),
                tools: tool_defs.clone(),
                tool_choice: ToolChoice::Auto,
                sampling: self.settings.target_sampling.clone(),
                prefill: prefill.clone(),
                logprobs: None,
            };
            let resp = self.call(RoleName::Target, &request).await?;
            let mut reply = resp.to_message();
            if let Some(p) = &prefill {
                reply.content = format!("{p}{}", reply.content);
            }
            let reply_id = self.rec.target_message(reply.clone(), prefill.take(), None);
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
    /// invalid answers; after them, the raw text is used and the state kept.
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
        let ctx = EnvContext {
            scenario_environment: self.scenario.environment.as_deref(),
            tools: &tools,
            briefings: &self.briefings,
            state: &state,
            history,
            call,
        };
        let mut request =
            environment::request(self.prompts, &ctx, &self.settings.environment_sampling)
                .map_err(prompt_error)?;
        let mut last_text = String::new();
        let mut last_error = String::new();
        for _ in 0..self.settings.environment_attempts.max(1) {
            let resp = self.call_model(RoleName::Environment, &model, &request).await?;
            match environment::parse(&resp.tool_calls, &state) {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    last_error = e.clone();
                    last_text = resp.content.clone();
                    request.messages.push(resp.to_message());
                    for c in &resp.tool_calls {
                        request.messages.push(Message::tool(c.id.clone(), format!("error: {e}")));
                    }
                    if resp.tool_calls.is_empty() {
                        request.messages.push(Message::user(format!("error: {e}")));
                    }
                }
            }
        }
        let output = if last_text.trim().is_empty() {
            "Error: the service did not respond".to_string()
        } else {
            last_text
        };
        Ok(environment::EnvAnswer {
            output,
            is_error: false,
            state,
            note: Some(format!(
                "the environment gave no valid answer ({last_error}); its text was used"
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
                    out.push((c.clone(), r.content.clone()));
                }
            }
        }
        out
    }

    /// Runs the realism filter on a proposed action; `Some(message)` refuses it.
    pub(super) async fn realism_check(
        &mut self,
        tool: &str,
        proposal: &str,
    ) -> Result<Option<String>, Stop> {
        let Some(model) = self.models.realism.clone() else { return Ok(None) };
        let request = realism::request(
            self.prompts,
            &self.scenario.instructions,
            &self.rec.target_messages(),
            tool,
            proposal,
            &Sampling::default(),
        )
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
