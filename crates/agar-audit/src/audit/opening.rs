//! The auditor's opening messages: its system prompt (the doctrine, with
//! the scenario, its tools and today's date) and the kickoff.

use super::*;

impl Audit<'_> {
    /// Renders and records the auditor's system prompt and kickoff message.
    pub(super) fn opening(
        &mut self,
        max_turns: u32,
        guided: bool,
        tools: &[ToolDef],
    ) -> Result<Vec<Message>, Stop> {
        // A guided auditor is told only of the tools the loop may choose.
        let tool_list: Vec<_> = tools
            .iter()
            .filter(|t| !guided || self.guided_tools().contains(&t.name.as_str()))
            .map(|t| context! { name => t.name.clone(), description => t.description.as_str() })
            .collect();
        let target_tools: Vec<String> =
            self.scenario.tools.iter().map(|t| t.def.name.clone()).collect();
        // Shared by the audits of one scenario (its repeats), not one copy each.
        let system = self
            .prompts
            .render_shared(
                Template::AuditorSystem,
                context! {
                    instructions => self.scenario.instructions.clone(),
                    scenario_environment => self.scenario.environment.clone(),
                    max_turns => max_turns,
                    tools => tool_list,
                    fixed_system_prompt => self.scenario.target_system.clone(),
                    target_tools => target_tools,
                    environment => self.models.environment.is_some(),
                    guided => guided,
                    prefill => self.tool_config().prefill,
                    today => self.settings.today.clone().unwrap_or_else(
                        || chrono::Utc::now().format("%Y-%m-%d").to_string()
                    ),
                },
            )
            .map_err(prompt_error)?;
        let kickoff = self
            .prompts
            .render(
                Template::AuditorKickoff,
                context! {
                    target_model => self.models.target.name().to_string(),
                    language => self.scenario.language.clone(),
                    language_name => agar_core::scenario::language_name(&self.scenario.language)
                        .map_or_else(|| self.scenario.language.clone(), str::to_string),
                },
            )
            .map_err(prompt_error)?;
        let msgs = vec![Message::system(system), Message::user(kickoff)];
        for m in &msgs {
            self.rec.auditor_message(m.clone());
        }
        Ok(msgs)
    }
}
