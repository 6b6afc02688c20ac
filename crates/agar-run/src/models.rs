//! The models a run calls, resolved from the references its plan records
//! (config names first, see `agar.toml`), with the request timeout and
//! limits of `AGAR_REQUEST_TIMEOUT` and friends applied to every command
//! alike; and the [`Runtime`] a plan runs with.

use std::collections::BTreeMap;
use std::sync::Arc;

use agar_core::{ChatModel, RoleName};
use agar_models::{Config, Env, ResolveSettings, resolve_with};
use agar_prompts::Prompts;
use agar_store::{PlanSettings, RunPlan};

use crate::{Pricing, RunError};

/// The models of every role.
#[derive(Debug, Clone)]
pub struct RoleModels {
    pub auditor: Arc<dyn ChatModel>,
    pub target: Arc<dyn ChatModel>,
    pub environment: Option<Arc<dyn ChatModel>>,
    pub realism: Option<Arc<dyn ChatModel>>,
    pub judge: Option<Arc<dyn ChatModel>>,
}

impl RoleModels {
    /// The model reference per role, for `run.json`.
    pub fn names(&self) -> BTreeMap<RoleName, String> {
        let mut m = BTreeMap::new();
        m.insert(RoleName::Target, self.target.name().to_string());
        m.insert(RoleName::Auditor, self.auditor.name().to_string());
        for (role, model) in [
            (RoleName::Judge, &self.judge),
            (RoleName::Environment, &self.environment),
            (RoleName::Realism, &self.realism),
        ] {
            if let Some(model) = model {
                m.insert(role, model.name().to_string());
            }
        }
        m
    }
}

/// The request settings of every command that calls models: the defaults,
/// with `AGAR_REQUEST_TIMEOUT` (an invalid value is an input error).
pub fn resolve_settings(env: &Env) -> Result<ResolveSettings, RunError> {
    ResolveSettings::from_env(env).map_err(|e| RunError::Input(e.to_string()))
}

/// Resolves one model reference.
pub fn resolve(
    reference: &str,
    env: &Env,
    settings: &ResolveSettings,
    config: &Config,
) -> Result<Arc<dyn ChatModel>, RunError> {
    resolve_with(reference, env, settings, config).map_err(|e| RunError::Input(e.to_string()))
}

/// Resolves the models a plan names.
pub fn resolve_models(
    s: &PlanSettings,
    env: &Env,
    settings: &ResolveSettings,
    config: &Config,
) -> Result<RoleModels, RunError> {
    let model = |reference: &str| resolve(reference, env, settings, config);
    let auditor = model(&s.auditor)?;
    let target = model(&s.target)?;
    let environment = match &s.environment {
        None => None,
        Some(r) if r.trim() == s.auditor.trim() => Some(auditor.clone()),
        Some(r) => Some(model(r)?),
    };
    let realism = s.realism.as_deref().map(model).transpose()?;
    let judge = s.judge.as_deref().map(model).transpose()?;
    Ok(RoleModels { auditor, target, environment, realism, judge })
}

/// What a plan runs with besides its audits: the models, their request
/// settings (and meters), prices and prompt templates.
#[derive(Debug)]
pub struct Runtime {
    pub models: RoleModels,
    pub resolve_settings: ResolveSettings,
    pub pricing: Pricing,
    pub prompts: Prompts,
}

impl Runtime {
    /// The runtime of a stored plan, from the process environment and
    /// `agar.toml`: the templates the run began with (its plan records the
    /// override directory; a plan written before that field gets
    /// `[prompts] dir`) and the models it names.
    pub fn for_plan(plan: &RunPlan, env: &Env) -> Result<Runtime, RunError> {
        let pricing = Pricing::load(env)?;
        let resolve_settings = resolve_settings(env)?;
        let dir = match &plan.settings.prompts_dir {
            Some(dir) => Some(std::path::PathBuf::from(dir)),
            None => pricing.config.prompts_dir.clone(),
        };
        let prompts = crate::prompts::load(dir.as_deref())?;
        let models = resolve_models(&plan.settings, env, &resolve_settings, &pricing.config)?;
        Ok(Runtime { models, resolve_settings, pricing, prompts })
    }
}
