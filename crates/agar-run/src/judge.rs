//! The judge step shared by `agar audit`, `agar resume` and `agar judge`:
//! a verdict fitted to the judge model's context window, with the settings
//! of the run (or of `agar judge`'s flags), priced with the transcript.

use std::sync::Arc;

use agar_core::{ChatModel, Dimension, Transcript, Verdict};
use agar_judge::{JudgeSettings, judge_fitted};
use agar_models::{Config, Env};
use agar_prompts::Prompts;

use crate::{Pricing, RunError};

/// A judge model and its settings.
#[derive(Debug, Clone)]
pub struct JudgeStep {
    pub model: Arc<dyn ChatModel>,
    pub settings: JudgeSettings,
}

impl JudgeStep {
    /// The judge `reference` resolved as every command resolves models
    /// (request settings from the environment, `AGAR_REQUEST_TIMEOUT`
    /// included), with `samples` samples, the unverified-share limit and the
    /// model's context window from `agar.toml`.
    pub fn resolve(
        reference: &str,
        env: &Env,
        config: &Config,
        samples: u32,
        max_unverified_share: Option<f64>,
    ) -> Result<JudgeStep, RunError> {
        let request = crate::models::resolve_settings(env)?;
        let model = crate::models::resolve(reference, env, &request, config)?;
        let settings = JudgeSettings {
            context_window: crate::settings::judge_window(Some(reference), config),
            ..crate::settings::judge_settings(samples, max_unverified_share)
        };
        Ok(JudgeStep { model, settings })
    }

    /// A verdict on `transcript` over `dimensions` by this step's model.
    pub async fn verdict(
        &self,
        transcript: &Transcript,
        dimensions: &[Dimension],
        prompts: &Prompts,
    ) -> Verdict {
        self.verdict_with(self.model.as_ref(), transcript, dimensions, prompts).await
    }

    /// [`JudgeStep::verdict`] through `model` (this step's, wrapped).
    pub async fn verdict_with(
        &self,
        model: &dyn ChatModel,
        transcript: &Transcript,
        dimensions: &[Dimension],
        prompts: &Prompts,
    ) -> Verdict {
        judge_fitted(transcript, dimensions, model, prompts, &self.settings).await
    }
}

/// Appends `verdict` to `transcript` and prices it again (the verdict's
/// tokens count towards the audit's cost).
pub fn add_verdict(transcript: &mut Transcript, verdict: Verdict, pricing: &Pricing) {
    transcript.verdicts.push(verdict);
    if let Some(cost) = pricing.transcript_cost(transcript) {
        transcript.cost = Some(cost);
    }
}
