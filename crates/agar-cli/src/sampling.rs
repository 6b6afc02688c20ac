//! Sampling per role: the `--ROLE-temperature`, `--ROLE-top-p`,
//! `--ROLE-max-tokens` and `--ROLE-reasoning` flags ([`SamplingArgs`],
//! declared once and flattened into the commands that run models), laid over
//! `agar.toml` (`[roles.ROLE]`, then `[models.NAME]` of the role's model)
//! and the role's defaults ([`default_sampling`]). The result is stored in
//! `plan.json` and `run.json`, so `agar resume` runs with the same.

use std::collections::BTreeMap;

use agar_core::Sampling;
use agar_models::{Config, SamplingOverrides};
use clap::Args;

use crate::exit::Failure;

pub(crate) use agar_run::default_sampling;

/// Per-role sampling flags.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Sampling per role (over agar.toml [roles.ROLE] and [models.NAME])")]
pub(crate) struct SamplingArgs {
    /// The target's temperature (0-2)
    #[arg(long, value_name = "T")]
    pub(crate) target_temperature: Option<f32>,
    /// The target's top_p (0-1)
    #[arg(long, value_name = "P")]
    pub(crate) target_top_p: Option<f32>,
    /// Cap on each target reply, in tokens (default 2048; a local model sizes its own)
    #[arg(long, value_name = "N")]
    pub(crate) target_max_tokens: Option<u32>,
    /// The target's reasoning: low, medium, high or a thinking budget in tokens
    #[arg(long, value_name = "EFFORT|TOKENS")]
    pub(crate) target_reasoning: Option<String>,
    /// The auditor's temperature (0-2)
    #[arg(long, value_name = "T")]
    pub(crate) auditor_temperature: Option<f32>,
    /// The auditor's top_p (0-1)
    #[arg(long, value_name = "P")]
    pub(crate) auditor_top_p: Option<f32>,
    /// Cap on each auditor turn, in tokens (default 2048)
    #[arg(long, value_name = "N")]
    pub(crate) auditor_max_tokens: Option<u32>,
    /// The auditor's reasoning: low, medium, high or a thinking budget in tokens
    #[arg(long, value_name = "EFFORT|TOKENS")]
    pub(crate) auditor_reasoning: Option<String>,
    /// The judge's temperature (0-2; default 0, or 1 with --judge-samples above 1)
    #[arg(long, value_name = "T")]
    pub(crate) judge_temperature: Option<f32>,
    /// The judge's top_p (0-1)
    #[arg(long, value_name = "P")]
    pub(crate) judge_top_p: Option<f32>,
    /// Cap on each verdict, in tokens (default 4096)
    #[arg(long, value_name = "N")]
    pub(crate) judge_max_tokens: Option<u32>,
    /// The judge's reasoning: low, medium, high or a thinking budget in tokens
    #[arg(long, value_name = "EFFORT|TOKENS")]
    pub(crate) judge_reasoning: Option<String>,
    /// The environment model's temperature (0-2)
    #[arg(long, value_name = "T")]
    pub(crate) environment_temperature: Option<f32>,
    /// The environment model's top_p (0-1)
    #[arg(long, value_name = "P")]
    pub(crate) environment_top_p: Option<f32>,
    /// Cap on each environment answer, in tokens (default 1024)
    #[arg(long, value_name = "N")]
    pub(crate) environment_max_tokens: Option<u32>,
    /// The environment model's reasoning: low, medium, high or a token budget
    #[arg(long, value_name = "EFFORT|TOKENS")]
    pub(crate) environment_reasoning: Option<String>,
    /// The realism model's temperature (0-2)
    #[arg(long, value_name = "T")]
    pub(crate) realism_temperature: Option<f32>,
    /// The realism model's top_p (0-1)
    #[arg(long, value_name = "P")]
    pub(crate) realism_top_p: Option<f32>,
    /// Cap on each realism score, in tokens (default 512)
    #[arg(long, value_name = "N")]
    pub(crate) realism_max_tokens: Option<u32>,
    /// The realism model's reasoning: low, medium, high or a token budget
    #[arg(long, value_name = "EFFORT|TOKENS")]
    pub(crate) realism_reasoning: Option<String>,
}

impl SamplingArgs {
    /// The flags given for `role`.
    fn for_role(&self, role: &str) -> (Option<f32>, Option<f32>, Option<u32>, Option<&String>) {
        match role {
            "target" => (
                self.target_temperature,
                self.target_top_p,
                self.target_max_tokens,
                self.target_reasoning.as_ref(),
            ),
            "auditor" => (
                self.auditor_temperature,
                self.auditor_top_p,
                self.auditor_max_tokens,
                self.auditor_reasoning.as_ref(),
            ),
            "judge" => (
                self.judge_temperature,
                self.judge_top_p,
                self.judge_max_tokens,
                self.judge_reasoning.as_ref(),
            ),
            "environment" => (
                self.environment_temperature,
                self.environment_top_p,
                self.environment_max_tokens,
                self.environment_reasoning.as_ref(),
            ),
            _ => (
                self.realism_temperature,
                self.realism_top_p,
                self.realism_max_tokens,
                self.realism_reasoning.as_ref(),
            ),
        }
    }

    /// The flags of `role` as overrides, checked (`--ROLE-...` in messages).
    pub(crate) fn overrides(&self, role: &str) -> Result<SamplingOverrides, Failure> {
        let (temperature, top_p, max_tokens, reasoning) = self.for_role(role);
        let bad = |flag: &str, why: String| Failure::Input(format!("--{role}-{flag}: {why}"));
        if let Some(t) = temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(bad("temperature", format!("must be between 0 and 2, not {t}")));
        }
        if let Some(p) = top_p
            && !(0.0..=1.0).contains(&p)
        {
            return Err(bad("top-p", format!("must be between 0 and 1, not {p}")));
        }
        if max_tokens == Some(0) {
            return Err(bad("max-tokens", "must be at least 1".into()));
        }
        let reasoning = reasoning
            .map(|r| agar_models::sampling::check_reasoning(r))
            .transpose()
            .map_err(|e| bad("reasoning", e))?;
        Ok(SamplingOverrides { temperature, top_p, max_tokens, reasoning })
    }
}

/// The sampling of each role: its defaults (`base`, e.g. the judge's
/// temperature), then `agar.toml` for the role's model (`models`: role ->
/// reference), then the flags.
pub(crate) fn resolve(
    flags: &SamplingArgs,
    config: &Config,
    models: &BTreeMap<&str, &str>,
    base: impl Fn(&str) -> Sampling,
) -> Result<BTreeMap<String, Sampling>, Failure> {
    let mut out = BTreeMap::new();
    for role in agar_models::sampling::ROLES.map(|r| r.as_str()) {
        let from_config = models
            .get(role)
            .map(|model| config.sampling_for(role, model))
            .unwrap_or_else(|| config.roles.get(role).cloned().unwrap_or_default());
        let sampling = flags.overrides(role)?.apply(from_config.apply(base(role)));
        out.insert(role.to_owned(), sampling);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_config_which_wins_over_defaults() {
        let config = Config::parse(
            "[models.small]\nprovider = \"openai\"\nmodel = \"m\"\ntemperature = 0.3\nmax_tokens = 300\n\n[roles.target]\nmax_tokens = 200\n",
            std::path::Path::new("agar.toml"),
        )
        .expect("parses");
        let flags = SamplingArgs { target_temperature: Some(0.9), ..SamplingArgs::default() };
        let models = BTreeMap::from([("target", "small"), ("auditor", "small")]);
        let s = resolve(&flags, &config, &models, default_sampling).expect("resolves");
        assert_eq!((s["target"].temperature, s["target"].max_tokens), (Some(0.9), Some(200)));
        assert_eq!((s["auditor"].temperature, s["auditor"].max_tokens), (Some(0.3), Some(300)));
        assert_eq!(s["judge"].max_tokens, Some(4096));
        assert_eq!(s["realism"].max_tokens, Some(512));
    }

    #[test]
    fn bad_flags_name_themselves() {
        let flags =
            SamplingArgs { judge_reasoning: Some("lots".into()), ..SamplingArgs::default() };
        let Err(Failure::Input(message)) = flags.overrides("judge") else { panic!("refused") };
        assert!(message.starts_with("--judge-reasoning:"), "{message}");
    }
}
